"""`amip report` and `amip export` with the console's users and rights (issue 6)."""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from gateway.cli import app
from gateway.db import unit_of_work
from tests import reports_data
from tests.consolekit import HERAT, KANDAHAR, audit_rows, make_user

DARI = "ما در هرات مکتب دختران را می‌خواهیم"
PASHTO = "موږ په کندهار کې سوله غواړو"
START = datetime(2026, 2, 2, tzinfo=UTC)
SPAN = ["--from", "2026-02-01", "--to", "2026-02-28"]


@pytest.fixture()
def seeded(base_env: dict[str, str]) -> None:
    rng = random.Random(1)
    mix = {HERAT: {"fa": 40, "ps": 12, "tk": 3, "uz": 9}, KANDAHAR: {"fa": 9, "ps": 55, "uz": 6}}
    texts = {"fa": DARI, "ps": PASHTO}
    with unit_of_work() as session:
        contacts = reports_data.add_contacts(session, 20)
        reports_data.add_items(session, [
            reports_data.item_row(rng.choice(contacts), province=province, language=language,
                                  received_at=START + timedelta(hours=rng.randrange(500)),
                                  text=texts.get(language, "salam"))
            for province, langs in mix.items() for language, n in langs.items()
            for _ in range(n)])
    make_user("herat", "coordinator", provinces=[HERAT])
    make_user("ana", "analyst")
    make_user("sec", "secretariat")
    make_user("westlead", "hub_lead", hub="west")


def run(*args: str) -> object:
    return CliRunner().invoke(app, list(args))


def _cells(result: object) -> dict[tuple[str, str], object]:
    doc = json.loads(result.stdout)  # type: ignore[attr-defined]
    return {(c["province"], c["language"]): c["count"] for c in doc["cells"]}


def test_report_is_suppressed_by_default(seeded: None) -> None:
    result = run("report", "--by", "province,language", *SPAN, "--format", "json")
    assert result.exit_code == 0, result.output
    cells = _cells(result)
    assert cells[(HERAT, "tk")] == "<5" and cells[(HERAT, "fa")] == 40
    doc = json.loads(result.stdout)
    assert doc["suppression"]["threshold"] == 5 and doc["total"] == 134
    assert 3 not in [t["count"] for t in doc["row_totals"] + doc["column_totals"]]


def test_a_coordinator_cannot_report_on_another_province(seeded: None) -> None:
    refused = run("report", "--by", "language", *SPAN, "--as", "herat", "--province", KANDAHAR)
    assert refused.exit_code == 1 and "outside your provinces" in refused.output
    own = run("report", "--by", "province,language", *SPAN, "--as", "herat", "--format", "json")
    assert {p for p, _ in _cells(own)} == {HERAT}
    west = run("report", "--by", "province", *SPAN, "--as", "westlead", "--format", "json")
    assert {c["province"] for c in json.loads(west.stdout)["cells"]} == {HERAT}


def test_small_counts_only_for_allowed_roles_and_audited(seeded: None) -> None:
    for who in (("--as", "ana"), ("--as", "herat"), ()):
        refused = run("report", "--by", "province,language", *SPAN, *who, "--unsuppressed")
        assert refused.exit_code == 1 and "small counts" in refused.output
    shown = run("report", "--by", "province,language", *SPAN, "--as", "sec", "--unsuppressed",
                "--format", "json")
    assert _cells(shown)[(HERAT, "tk")] == 3
    assert [e.user_name for e in audit_rows("report_unsuppressed")] == ["sec"]


def test_report_table_and_csv(seeded: None) -> None:
    table = run("report", "--by", "province,language", *SPAN)
    assert "AF32 Herat" in table.stdout and "<5" in table.stdout and "total" in table.stdout
    out = run("report", "--by", "language", *SPAN, "--period", "week", "--format", "csv")
    assert out.stdout_bytes.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(out.stdout_bytes.decode("utf-8-sig"))))
    assert rows[0][:2] == ["language", "2026-02-02"] and rows[-1][0] == "total"


def test_export_needs_the_right_to_read_text_and_is_audited(seeded: None) -> None:
    refused = run("export", "--as", "ana", *SPAN)
    assert refused.exit_code == 1 and "not allowed" in refused.output
    assert run("export", *SPAN).exit_code != 0  # --as is required
    out = run("export", "--as", "herat", *SPAN, "--format", "csv")
    assert out.exit_code == 0, out.output
    rows = list(csv.DictReader(io.StringIO(out.stdout_bytes.decode("utf-8-sig"))))
    assert {r["province"] for r in rows} == {HERAT} and len(rows) == 64
    assert DARI in {r["text"] for r in rows} and "sender" not in rows[0]
    [entry] = audit_rows("export")
    assert entry.user_name == "herat" and entry.via == "cli"
    assert entry.after["items"] == 64 and entry.after["format"] == "csv"
    doc = json.loads(run("export", "--as", "sec", *SPAN, "--format", "json",
                         "--language", "ps").stdout)
    assert {i["text"] for i in doc["items"]} == {PASHTO} and len(doc["items"]) == 67
