"""A language losing its voice and a queue left waiting are visible at a glance (issue 6)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from gateway.db import unit_of_work
from gateway.reports.counts import Period
from gateway.reports.trends import falling_shares, longest_waiting
from tests import reports_data

MONDAY = datetime(2026, 3, 2, 10, tzinfo=UTC)


def _week(contact: int, week: int, mix: dict[str, int], province: str = "AF21") -> list[dict]:
    return [reports_data.item_row(contact, province=province, language=lang,
                                  received_at=MONDAY + timedelta(weeks=week, hours=i))
            for lang, n in mix.items() for i in range(n)]


def test_a_language_whose_share_falls_is_flagged(base_env: dict[str, str]) -> None:
    with unit_of_work() as session:
        [c] = reports_data.add_contacts(session, 1)
        rows = []
        for week in range(3):  # Uzbek: a steady 20 % …
            rows += _week(c, week, {"fa": 50, "ps": 30, "uz": 20})
        rows += _week(c, 3, {"fa": 30, "ps": 16, "uz": 2})  # … then 4 % in the last week
        reports_data.add_items(session, rows)
        trends = falling_shares(session, dim="language", date_from=date(2026, 3, 1),
                                date_to=date(2026, 3, 29), period=Period.WEEK)
    assert [t.key for t in trends] == ["uz"]
    [uz] = trends
    assert uz.last_period == "2026-03-23" and uz.last_count == 2 and uz.last_total == 48
    assert round(uz.previous_share, 2) == 0.20 and round(uz.last_share, 3) == 0.042


def test_items_waiting_longest_per_province(base_env: dict[str, str]) -> None:
    with unit_of_work() as session:
        [c] = reports_data.add_contacts(session, 1)
        old = MONDAY - timedelta(days=9)
        reports_data.add_items(session, [
            reports_data.item_row(c, province="AF32", language="fa", received_at=old),
            reports_data.item_row(c, province="AF32", language="fa", received_at=MONDAY),
            reports_data.item_row(c, province="AF32", language="fa", received_at=old,
                                  status="triaged"),
            reports_data.item_row(c, province="AF27", language="ps",
                                  received_at=MONDAY - timedelta(days=2), status="escalated"),
            reports_data.item_row(c, province="AF01", language="fa", received_at=old,
                                  status="discarded"),
        ])
        everyone = longest_waiting(session)
        kandahar_only = longest_waiting(session, scope_provinces={"AF27"})
    assert [(w.province, w.waiting, len(w.oldest_item_ids)) for w in everyone] == [
        ("AF32", 2, 2), ("AF27", 1, 1)]
    assert round(everyone[0].age_hours(MONDAY)) == 9 * 24
    assert [w.province for w in kandahar_only] == ["AF27"]
