"""/console/reports and /api/reports under the console's roles (issue 6)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from gateway.db import unit_of_work
from tests import reports_data
from tests.consolekit import (
    HERAT,
    KANDAHAR,
    audit_rows,
    bearer,
    csrf_of,
    login,
    make_token,
    make_user,
)

pytest_plugins = ["tests.consolekit"]  # the web / api client fixtures

DARI = "REPORT-TEXT ما در هرات مکتب می‌خواهیم"
SPAN = "from=2026-02-01&to=2026-02-28"
ROLES = [("ada", "admin", [], None), ("sami", "secretariat", [], None),
         ("wali", "hub_lead", [], "west"), ("hamid", "coordinator", [HERAT], None),
         ("ana", "analyst", [], None)]
SEES = {"ada": {HERAT, KANDAHAR}, "sami": {HERAT, KANDAHAR}, "wali": {HERAT},
        "hamid": {HERAT}, "ana": {HERAT, KANDAHAR}}


@pytest.fixture()
def tokens(base_env: dict[str, str]) -> Iterator[dict[str, str]]:
    """Four weeks of February: Uzbek in Herat stops in the last week; 3 Turkmen in Herat."""
    week = [datetime(2026, 2, d, 9, tzinfo=UTC) for d in (2, 9, 16, 23)]
    rows = []
    with unit_of_work() as session:
        [c] = reports_data.add_contacts(session, 1)
        for n, monday in enumerate(week):
            mix = {(HERAT, "fa"): 10, (HERAT, "ps"): 4, (HERAT, "uz"): 0 if n == 3 else 6,
                   (KANDAHAR, "ps"): 15, (KANDAHAR, "fa"): 3, (HERAT, "tk"): 3 if n == 0 else 0}
            for (province, language), count in mix.items():
                rows += [reports_data.item_row(c, province=province, language=language,
                                               received_at=monday + timedelta(hours=i),
                                               text=DARI) for i in range(count)]
        reports_data.add_items(session, rows)
    for name, role, provinces, hub in ROLES:
        make_user(name, role, provinces=provinces, hub=hub)
    yield {name: make_token(name) for name, *_ in ROLES}


def _get(api: TestClient, token: str, path: str) -> object:
    return api.get(path, headers=bearer(token))


def test_api_reports_stay_within_each_roles_provinces(api: TestClient,
                                                      tokens: dict[str, str]) -> None:
    for name, token in tokens.items():
        got = _get(api, token, f"/api/reports?by=province&{SPAN}")
        assert got.status_code == 200, (name, got.text)  # type: ignore[attr-defined]
        assert {c["province"] for c in got.json()["cells"]} == SEES[name], name  # type: ignore[attr-defined]
    refused = _get(api, tokens["hamid"], f"/api/reports?by=language&province={KANDAHAR}&{SPAN}")
    assert refused.status_code == 403  # type: ignore[attr-defined]
    hub = _get(api, tokens["wali"], f"/api/reports?by=language&hub=south&{SPAN}")
    assert hub.status_code == 403  # type: ignore[attr-defined]


def test_api_small_counts_and_exports_follow_the_rights(api: TestClient,
                                                        tokens: dict[str, str]) -> None:
    path = f"/api/reports?by=province,language&{SPAN}"
    suppressed = _get(api, tokens["ana"], path).json()  # type: ignore[attr-defined]
    cell = {(c["province"], c["language"]): c["count"] for c in suppressed["cells"]}
    assert cell[(HERAT, "tk")] == "<5"
    assert _get(api, tokens["ana"], path + "&unsuppressed=true").status_code == 403  # type: ignore[attr-defined]
    shown = _get(api, tokens["sami"], path + "&unsuppressed=true").json()  # type: ignore[attr-defined]
    assert {(c["province"], c["language"]): c["count"] for c in shown["cells"]}[(HERAT, "tk")] == 3
    assert _get(api, tokens["ana"], f"/api/reports/export?{SPAN}").status_code == 403  # type: ignore[attr-defined]
    export = _get(api, tokens["hamid"], f"/api/reports/export?format=csv&{SPAN}")
    assert export.status_code == 200  # type: ignore[attr-defined]
    body = export.content  # type: ignore[attr-defined]
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert {r["province"] for r in rows} == {HERAT} and rows[0]["text"] == DARI
    [entry] = audit_rows("export")
    assert (entry.user_name, entry.via, entry.after["items"]) == ("hamid", "api", len(rows))


def test_api_highlights_show_the_falling_language_and_the_waits(
        api: TestClient, tokens: dict[str, str]) -> None:
    got = _get(api, tokens["ana"], f"/api/reports/highlights?{SPAN}").json()  # type: ignore[attr-defined]
    # Uzbek stopped in the last week (as did the 3 Turkmen of the first week).
    assert {x["key"] for x in got["languages"]} == {"uz", "tk"}
    # Turkmen's 3 of the first week are withheld in the tables, so is the share they make.
    assert {x["key"]: x["earlier_share"] for x in got["languages"]}["tk"] is None
    waits = {w["province"]: w for w in got["waiting"]}
    assert set(waits) == {HERAT, KANDAHAR} and "oldest_item_ids" not in waits[HERAT]
    mine = _get(api, tokens["hamid"], f"/api/reports/highlights?{SPAN}").json()  # type: ignore[attr-defined]
    assert [w["province"] for w in mine["waiting"]] == [HERAT]
    assert len(mine["waiting"][0]["oldest_item_ids"]) == 3


def test_console_page_for_an_analyst_has_counts_and_charts_but_no_text(
        web: TestClient, tokens: dict[str, str]) -> None:
    login(web, "ana")
    page = web.get(f"/console/reports?rows=province&columns=language&{SPAN}")
    assert page.status_code == 200
    html = page.text
    assert "&lt;5" in html and "<svg" in html and "Herat" in html and "Kandahar" in html
    assert "REPORT-TEXT" not in html and "/console/reports/export" not in html
    assert "Uzbek" in html or "uz" in html  # the falling language is highlighted
    assert len(page.content) < 100_000
    csv_table = web.get(f"/console/reports/table.csv?rows=province&columns=language&{SPAN}")
    assert csv_table.content.startswith(b"\xef\xbb\xbf") and b"<5" in csv_table.content
    assert web.post("/console/reports/export", data={"csrf": csrf_of(html), "format": "csv"},
                    follow_redirects=False).status_code == 403


def test_console_page_for_a_coordinator_shows_own_province_and_exports(
        web: TestClient, tokens: dict[str, str]) -> None:
    login(web, "hamid")
    html = web.get(f"/console/reports?rows=province&columns=language&{SPAN}").text
    assert "Herat" in html and "Kandahar" not in html
    assert web.get(f"/console/reports?rows=language&province={KANDAHAR}&{SPAN}"
                   ).status_code == 403
    export = web.post("/console/reports/export",
                      data={"csrf": csrf_of(html), "format": "json", "from": "2026-02-01",
                            "to": "2026-02-28"})
    assert export.status_code == 200
    assert {i["province"] for i in export.json()["items"]} == {HERAT}
    assert [e.via for e in audit_rows("export")] == ["console"]
    # Without the form's CSRF token nothing is exported.
    assert web.post("/console/reports/export", data={"format": "csv"}).status_code == 403


def test_console_page_renders_right_to_left_in_dari(base_env: dict[str, str],
                                                   web: TestClient) -> None:
    make_user("farid", "secretariat", language="fa")
    login(web, "farid")
    html = web.get(f"/console/reports?{SPAN}").text
    assert 'dir="rtl"' in html and "گزارش‌ها" in html


def test_console_page_by_week_and_every_language_has_every_string(
        web: TestClient, tokens: dict[str, str]) -> None:
    from gateway.reports.views import _strings

    login(web, "sami")
    html = web.get(f"/console/reports?rows=language&columns=&period=week&{SPAN}").text
    assert "2026-02-23" in html and "<polyline" in html
    strings = _strings()
    assert set(strings["fa"]) == set(strings["ps"]) == set(strings["en"])
