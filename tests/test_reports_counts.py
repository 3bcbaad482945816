"""Counts by any combination of dimensions agree with the database row by row (issue 6)."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from gateway.db import unit_of_work
from gateway.geography.models import ProvinceRow
from gateway.intake.models import Item
from gateway.reports.counts import Filters, Period, ReportError, available_dimensions, counts
from tests import reports_data

FROM, TO = date(2026, 1, 5), date(2026, 3, 29)


@pytest.fixture()
def generated(base_env: dict[str, str]) -> list[dict[str, Any]]:
    with unit_of_work() as session:
        rows = reports_data.generate(session, 10_000)
        hubs = {p: h for p, h in session.execute(select(ProvinceRow.pcode, ProvinceRow.hub))}
    for row in rows:
        row["hub"] = hubs.get(row["province"])
    return rows


def _monday(at: datetime) -> str:
    return (at.date() - timedelta(days=at.weekday())).isoformat()


def _expected(rows: list[dict[str, Any]], dims: list[str], period: str | None = None,
              date_from: date = FROM, date_to: date = TO) -> Counter[tuple[Any, ...]]:
    out: Counter[tuple[Any, ...]] = Counter()
    for r in rows:
        if not date_from <= r["received_at"].date() <= date_to:
            continue
        key = [r[d] for d in dims]
        if period == "week":
            key.append(_monday(r["received_at"]))
        elif period == "month":
            key.append(r["received_at"].strftime("%Y-%m-01"))
        elif period == "day":
            key.append(r["received_at"].date().isoformat())
        out[tuple(key)] += 1
    return out


@pytest.mark.parametrize("dims, period", [
    (["province", "language"], None),
    (["province", "language"], "week"),
    (["hub", "channel"], "month"),
    (["language"], "day"),
    (["status", "channel", "hub", "province", "language"], None),
])
def test_counts_equal_the_generated_rows(generated: list[dict[str, Any]], dims: list[str],
                                         period: str | None) -> None:
    with unit_of_work() as session:
        report = counts(session, by=dims, date_from=FROM, date_to=TO, period=period)
    got = {r.key: r.count for r in report.rows}
    assert got == dict(_expected(generated, dims, period))
    assert report.total == sum(1 for r in generated if FROM <= r["received_at"].date() <= TO)


def test_each_province_language_cell_equals_a_direct_count(
        generated: list[dict[str, Any]]) -> None:
    """Every cell of province × language against its own SELECT count(*) in the database."""
    with unit_of_work() as session:
        report = counts(session, by=["province", "language"], date_from=date(2026, 1, 1),
                        date_to=date(2026, 12, 31))
        provinces = {r.key[0] for r in report.rows}
        languages = {r.key[1] for r in report.rows}
        assert len(provinces - {None}) == 34 and {"fa", "ps", "uz", "tk", "en"} <= languages
        for row in report.rows:
            province, language = row.key
            direct = session.execute(select(func.count()).select_from(Item).where(
                Item.province.is_(None) if province is None else Item.province == province,
                Item.language.is_(None) if language is None else Item.language == language,
            )).scalar_one()
            assert row.count == direct, row.key
    assert report.total == 10_000


def test_scope_filters_and_date_range_narrow_the_counts(
        generated: list[dict[str, Any]]) -> None:
    herat_kandahar = {"AF32", "AF27"}
    with unit_of_work() as session:
        scoped = counts(session, by=["province"], date_from=date(2026, 2, 1),
                        date_to=date(2026, 2, 28), scope_provinces=herat_kandahar,
                        filters=Filters(languages={"ps"}, channels={"voice"}))
        nothing = counts(session, by=["province"], date_from=FROM, date_to=TO,
                         scope_provinces=set())
    expected = Counter(r["province"] for r in generated
                       if r["province"] in herat_kandahar and r["language"] == "ps"
                       and r["channel"] == "voice"
                       and date(2026, 2, 1) <= r["received_at"].date() <= date(2026, 2, 28))
    assert {r.key[0]: r.count for r in scoped.rows} == expected
    assert nothing.rows == []


def test_subscription_keywords_are_not_counted_unless_asked_for(base_env: dict[str, str]) -> None:
    with unit_of_work() as session:
        [contact] = reports_data.add_contacts(session, 1)
        at = datetime(2026, 2, 2, 9, tzinfo=reports_data.START.tzinfo)
        reports_data.add_items(session, [
            reports_data.item_row(contact, province="AF01", language="fa", received_at=at),
            reports_data.item_row(contact, province="AF01", language="fa", received_at=at,
                                  status="keyword")])
        default = counts(session, by=["status"], date_from=at.date(), date_to=at.date())
        asked = counts(session, by=["status"], date_from=at.date(), date_to=at.date(),
                       filters=Filters(statuses={"keyword"}))
    assert [(r.key, r.count) for r in default.rows] == [(("queued",), 1)]
    assert [(r.key, r.count) for r in asked.rows] == [(("keyword",), 1)]


def test_unknown_dimension_and_topic_before_tags_exist_say_why(base_env: dict[str, str]) -> None:
    with unit_of_work() as session, pytest.raises(ReportError, match="unknown dimension"):
        counts(session, by=["sender"], date_from=FROM, date_to=TO)
    with unit_of_work() as session, pytest.raises(ReportError, match="period"):
        counts(session, by=["period"], date_from=FROM, date_to=TO)
    if "topic" not in available_dimensions():
        with unit_of_work() as session, pytest.raises(ReportError, match="topics"):
            counts(session, by=["topic"], date_from=FROM, date_to=TO)


def test_weeks_start_on_monday_in_utc(base_env: dict[str, str]) -> None:
    tz = reports_data.START.tzinfo
    times = [datetime(2026, 3, 1, 23, 59, tzinfo=tz),  # a Sunday: the week of Feb 23
             datetime(2026, 3, 2, 0, 0, tzinfo=tz),  # Monday
             datetime(2026, 3, 8, 23, 0, tzinfo=tz)]  # the next Sunday
    with unit_of_work() as session:
        [contact] = reports_data.add_contacts(session, 1)
        reports_data.add_items(session, [reports_data.item_row(
            contact, province="AF10", language="fa", received_at=t) for t in times])
        report = counts(session, by=[], period=Period.WEEK, date_from=date(2026, 2, 1),
                        date_to=date(2026, 3, 31))
    assert [(r.key, r.count) for r in report.rows] == [(("2026-02-23",), 1),
                                                       (("2026-03-02",), 2)]


def test_topics_count_each_tag_and_filter(base_env: dict[str, str]) -> None:
    """With the console's tags, an item counts once per topic; untagged items under None."""
    from sqlalchemy import insert

    from gateway.console.models import ItemTag
    from gateway.reports.export import export_items

    at = datetime(2026, 2, 2, 9, tzinfo=reports_data.START.tzinfo)
    with unit_of_work() as session:
        [contact] = reports_data.add_contacts(session, 1)
        reports_data.add_items(session, [reports_data.item_row(
            contact, province="AF32", language="fa", received_at=at) for _ in range(3)])
        ids = sorted(session.scalars(select(Item.id)))
        session.execute(insert(ItemTag), [{"item_id": ids[0], "tag": "education"},
                                          {"item_id": ids[0], "tag": "security"},
                                          {"item_id": ids[1], "tag": "education"}])
        by_topic = counts(session, by=["topic"], date_from=at.date(), date_to=at.date())
        education = counts(session, by=["province"], date_from=at.date(), date_to=at.date(),
                           filters=Filters(topics={"education"}))
        exported = export_items(session, date_from=at.date(), date_to=at.date(),
                                scope_provinces=None)
    assert {r.key[0]: r.count for r in by_topic.rows} == {"education": 2, "security": 1,
                                                          None: 1}
    assert [(r.key, r.count) for r in education.rows] == [(("AF32",), 2)]
    assert [r["topics"] for r in exported.rows] == ["education;security", "education", ""]
