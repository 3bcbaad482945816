"""Exports carry the voices, never the people: text intact, no numbers, no linkable ids."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime

from sqlalchemy import select

from gateway.contacts.models import Contact
from gateway.db import unit_of_work
from gateway.reports.counts import Filters
from gateway.reports.export import SENDER_FIELD, csv_bytes, export_items, export_json
from tests import reports_data

DARI = "سلام، ما در هرات آب آشامیدنی نداریم و مکتب دختران بسته است"
PASHTO = "زه د کندهار یم، زموږ ښوونځي وتړل شول، سوله غواړو"
AT = datetime(2026, 2, 3, 8, 30, tzinfo=UTC)


def _seed() -> None:
    with unit_of_work() as session:
        first, second = reports_data.add_contacts(session, 2)
        reports_data.add_items(session, [
            reports_data.item_row(first, province="AF32", language="fa", received_at=AT,
                                  text=DARI),
            reports_data.item_row(second, province="AF27", language="ps", received_at=AT,
                                  text=PASHTO, channel="voice"),
            reports_data.item_row(second, province="AF27", language="en", received_at=AT,
                                  text="=HYPERLINK(\"http://x\")"),
            reports_data.item_row(second, province="AF27", language="en", received_at=AT,
                                  text="buy now", status="discarded"),
        ])


def _export(**kwargs: object) -> tuple[list[str], list[dict[str, str]]]:
    with unit_of_work() as session:
        export = export_items(session, date_from=date(2026, 2, 1), date_to=date(2026, 2, 28),
                              scope_provinces=None, **kwargs)  # type: ignore[arg-type]
    return list(export.fields), export.rows


def test_csv_round_trips_dari_and_pashto_with_a_byte_order_mark(base_env: dict[str, str]) -> None:
    _seed()
    fields, rows = _export()
    data = b"".join(csv_bytes(fields, rows))
    assert data.startswith(b"\xef\xbb\xbf")  # what spreadsheets look for to read UTF-8
    parsed = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert [r["text"] for r in parsed[:2]] == [DARI, PASHTO]
    assert parsed[0]["province_name"] == "Herat" and parsed[1]["hub"] == "south"
    assert parsed[1]["channel"] == "voice" and parsed[0]["received_on"] == "2026-02-03"
    # A message written like a formula is never run by the spreadsheet.
    assert parsed[2]["text"] == "'=HYPERLINK(\"http://x\")"
    assert len(parsed) == 3  # spam is left out unless asked for by status


def test_exports_carry_no_number_and_cannot_be_linked_to_each_other(
        base_env: dict[str, str]) -> None:
    _seed()
    fields, first = _export()
    _, second = _export()
    with unit_of_work() as session:
        pseudonyms = set(session.scalars(select(Contact.pseudonym)))
    dumped = json.dumps(first, ensure_ascii=False)
    assert SENDER_FIELD not in fields
    assert not any(p in dumped for p in pseudonyms)
    assert "+93" not in dumped and "phone" not in dumped
    # Fresh references per export: the same item has different ids in two exports.
    assert {r["ref"] for r in first}.isdisjoint({r["ref"] for r in second})
    assert len({r["ref"] for r in first}) == len(first)


def test_pseudonyms_only_when_the_right_is_granted(base_env: dict[str, str]) -> None:
    _seed()
    fields, rows = _export(with_pseudonyms=True)
    assert fields[-1] == SENDER_FIELD
    assert rows[1][SENDER_FIELD] == rows[2][SENDER_FIELD] != rows[0][SENDER_FIELD]


def test_json_export_keeps_text_and_filters_apply(base_env: dict[str, str]) -> None:
    _seed()
    with unit_of_work() as session:
        export = export_items(session, date_from=date(2026, 2, 1), date_to=date(2026, 2, 28),
                              scope_provinces={"AF27"}, filters=Filters(languages={"ps"}))
    doc = json.loads(export_json(export))
    assert [i["text"] for i in doc["items"]] == [PASHTO]
    assert doc["fields"] == list(export.fields)
