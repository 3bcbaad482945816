"""Item exports for analysis: text, language, place, topics, dates — never who sent it.

No phone number ever leaves, and no stable pseudonym unless the user holds that right: each
export numbers its items with fresh random references, so two exports cannot be joined to
follow one person (or one item) across them.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from gateway.contacts.models import Contact
from gateway.geography.models import ProvinceRow
from gateway.intake.models import Item
from gateway.reports.counts import Filters, day_bounds, topic_table

FIELDS = ("ref", "received_on", "channel", "language", "province", "province_name", "hub",
          "status", "topics", "text")
SENDER_FIELD = "sender"  # the stable pseudonym, only with that right
# Spam and subscription keywords are not voices for the table (unless asked for by status).
LEFT_OUT = ("discarded", "keyword")
# Spreadsheets run a cell that starts like a formula; a sender must not be able to do that.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Export:
    export_id: str
    fields: tuple[str, ...]
    rows: list[dict[str, str]]
    created_at: datetime


def export_items(session: Session, *, date_from: date, date_to: date,
                 scope_provinces: Collection[str] | None, filters: Filters | None = None,
                 with_pseudonyms: bool = False, batch: int = 2000) -> Export:
    """The items in scope received in [date_from, date_to], oldest first."""
    filters = filters or Filters()
    start, end = day_bounds(date_from, date_to)
    query = (select(Item.id, Item.received_at, Item.channel, Item.language, Item.province,
                    ProvinceRow.name_en, ProvinceRow.hub, Item.status, _text_column(),
                    Contact.pseudonym)
             .outerjoin(ProvinceRow, ProvinceRow.pcode == Item.province)
             .join(Contact, Contact.id == Item.contact_id)
             .where(Item.received_at >= start, Item.received_at < end)
             .order_by(Item.received_at, Item.id))
    query = query.where(*_conditions(scope_provinces, filters))
    refs: set[str] = set()
    rows: list[dict[str, str]] = []
    fields = FIELDS + ((SENDER_FIELD,) if with_pseudonyms else ())
    result = session.execute(query.execution_options(yield_per=batch))
    for chunk in result.partitions():
        topics = _topics(session, [r[0] for r in chunk])
        for (item_id, received_at, channel, language, province, province_name, hub, status,
             text, pseudonym) in chunk:
            row = {"ref": _fresh_ref(refs), "received_on": received_at.date().isoformat(),
                   "channel": channel, "language": language or "", "province": province or "",
                   "province_name": province_name or "", "hub": hub or "", "status": status,
                   "topics": ";".join(topics.get(item_id, [])), "text": text or ""}
            if with_pseudonyms:
                row[SENDER_FIELD] = pseudonym
            rows.append(row)
    return Export(secrets.token_hex(8), fields, rows, datetime.now(UTC))


def _text_column() -> ColumnElement[Any]:
    """The latest text: a coordinator's correction when there is one (console), else the
    text as received or transcribed."""
    edited = Item.__table__.c.get("edited_text")
    raw = Item.raw_text.expression
    return func.coalesce(edited, raw) if edited is not None else raw


def _conditions(scope: Collection[str] | None, f: Filters) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if scope is not None:
        conds.append(Item.province.in_(sorted(scope)))
    if not f.statuses:
        conds.append(Item.status.not_in(LEFT_OUT))
    for column, wanted in ((Item.province, f.provinces), (Item.language, f.languages),
                           (Item.channel, f.channels), (Item.status, f.statuses),
                           (ProvinceRow.hub, f.hubs)):
        if wanted:
            conds.append(column.in_(sorted(wanted)))
    if f.topics:
        tags = topic_table()
        if tags is not None:
            conds.append(Item.id.in_(select(tags.c.item_id)
                                     .where(tags.c.tag.in_(sorted(f.topics)))))
    return conds


def _topics(session: Session, item_ids: list[int]) -> dict[int, list[str]]:
    tags = topic_table()
    if tags is None or not item_ids:
        return {}
    out: dict[int, list[str]] = {}
    for item_id, tag in session.execute(select(tags.c.item_id, tags.c.tag)
                                        .where(tags.c.item_id.in_(item_ids))
                                        .order_by(tags.c.item_id, tags.c.tag)):
        out.setdefault(item_id, []).append(tag)
    return out


def _fresh_ref(taken: set[str]) -> str:
    while True:
        ref = secrets.token_hex(6)
        if ref not in taken:
            taken.add(ref)
            return ref


def _cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def csv_bytes(fields: Iterable[str], rows: Iterable[dict[str, str]]) -> Iterator[bytes]:
    """UTF-8 with a byte-order mark (spreadsheets then show Dari and Pashto), CRLF rows."""
    fields = list(fields)
    return csv_lines(fields, ([row.get(f, "") for f in fields] for row in rows))


def csv_lines(head: list[str], rows: Iterable[list[str]]) -> Iterator[bytes]:
    yield "\ufeff".encode()
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(head)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
        if buf.tell() > 64 * 1024:
            yield buf.getvalue().encode()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue().encode()


def export_json(export: Export) -> str:
    return json.dumps({"export": export.export_id, "created_at": export.created_at.isoformat(),
                       "fields": list(export.fields), "items": export.rows},
                      ensure_ascii=False, indent=1)
