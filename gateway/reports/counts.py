"""Counts of items by any combination of dimensions, computed by the database (GROUP BY)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Select,
    Table,
    cast,
    func,
    literal,
    literal_column,
    select,
)
from sqlalchemy.orm import Session

import gateway.models  # noqa: F401  (every table registered: the topic table may exist)
from gateway.db import Base, is_postgres
from gateway.geography.models import ProvinceRow
from gateway.intake.models import Item


class Period(StrEnum):
    DAY = "day"
    WEEK = "week"  # ISO weeks, starting on Monday (UTC)
    MONTH = "month"


DIMENSIONS = ("hub", "province", "language", "channel", "topic", "status", "period")
TOPIC_TABLE = "item_tags"  # the console's topic tags (issue 4): item_id, tag
KEYWORD_STATUS = "keyword"  # gateway.outbound's handled subscription keywords


class ReportError(ValueError):
    """A report that cannot be computed as asked; the message says why (no user data)."""


@dataclass(frozen=True)
class CountRow:
    key: tuple[str | None, ...]  # one value per dimension of the report, in order
    count: int


@dataclass(frozen=True)
class Filters:
    """Optional restrictions; an empty collection means no restriction."""

    provinces: Collection[str] = ()
    hubs: Collection[str] = ()
    languages: Collection[str] = ()
    channels: Collection[str] = ()
    statuses: Collection[str] = ()
    topics: Collection[str] = ()


@dataclass(frozen=True)
class CountReport:
    dims: tuple[str, ...]
    rows: list[CountRow]
    date_from: date
    date_to: date
    period: Period | None
    filters: Filters = field(default_factory=Filters)

    @property
    def total(self) -> int:
        return sum(r.count for r in self.rows)


def topic_table() -> Table | None:
    """The console's tag table, or None while the console (issue 4) has not landed."""
    return Base.metadata.tables.get(TOPIC_TABLE)


def available_dimensions() -> tuple[str, ...]:
    return tuple(d for d in DIMENSIONS if d != "topic" or topic_table() is not None)


def counts(session: Session, *, by: Sequence[str], date_from: date, date_to: date,
           period: Period | str | None = None, scope_provinces: Collection[str] | None = None,
           filters: Filters | None = None) -> CountReport:
    """Items received in [date_from, date_to] (UTC days, inclusive) counted by ``by``.

    ``scope_provinces`` is the caller's permission scope (None = the whole country; unrouted
    items are national, so any scope excludes them). With ``topic`` in ``by`` an item counts
    once per topic it carries (untagged items under None), so topic totals exceed item totals.
    Subscription keywords (STOP, JOIN…) are left out unless statuses are filtered explicitly.
    """
    period = Period(period) if period else None
    dims = _dimensions(by, period)
    filters = filters or Filters()
    if date_to < date_from:
        raise ReportError("the end date is before the start date")
    columns = [_column(session, d, period).label(d) for d in dims]
    query: Select[Any] = select(*columns, func.count().label("n")).select_from(Item)
    if "hub" in dims or filters.hubs:
        query = query.outerjoin(ProvinceRow, ProvinceRow.pcode == Item.province)
    if "topic" in dims:
        tags = _require_topics()
        query = query.outerjoin(tags, tags.c.item_id == Item.id)
    query = query.where(*_conditions(date_from, date_to, scope_provinces, filters))
    if dims:
        query = query.group_by(*columns).order_by(*columns)
    rows = [CountRow(key=tuple(_text(v) for v in row[:-1]), count=int(row[-1]))
            for row in session.execute(query)]
    if not dims:  # a bare total: one row, even when it is zero
        rows = rows or [CountRow(key=(), count=0)]
    return CountReport(dims=dims, rows=[r for r in rows if r.count or not dims],
                       date_from=date_from, date_to=date_to, period=period, filters=filters)


def _dimensions(by: Sequence[str], period: Period | None) -> tuple[str, ...]:
    dims = tuple(dict.fromkeys(d.strip() for d in by if d.strip()))
    unknown = [d for d in dims if d not in DIMENSIONS]
    if unknown:
        raise ReportError(f"unknown dimension; choose from {', '.join(DIMENSIONS)}")
    if "topic" in dims:
        _require_topics()
    if "period" in dims and period is None:
        raise ReportError("the period dimension needs --period day|week|month")
    if period is not None and "period" not in dims:
        dims += ("period",)
    return dims


def _require_topics() -> Table:
    tags = topic_table()
    if tags is None:
        raise ReportError("topics are not available yet: items carry no topic tags "
                          "until the coordinator console is installed")
    return tags


def _column(session: Session, dim: str, period: Period | None) -> ColumnElement[Any]:
    if dim == "hub":
        return ProvinceRow.hub.expression
    if dim == "topic":
        return _require_topics().c.tag
    if dim == "period":
        assert period is not None
        return period_start(session, period)
    return getattr(Item, dim).expression  # type: ignore[no-any-return]


def period_start(session: Session, period: Period) -> ColumnElement[Any]:
    """The first day of the item's period as 'YYYY-MM-DD', in UTC, on either database."""
    if is_postgres(session):
        # Literals, not bound parameters: the planner then matches the expression to the
        # statistics migration 0005 keeps on it (about 52 weeks, not a million timestamps)
        # and hashes the groups in memory instead of sorting every row to disk.
        utc = func.timezone(literal_column("'UTC'"), Item.received_at)
        return cast(func.date_trunc(literal_column(f"'{period.value}'"), utc), Date)
    # SQLite keeps the UTC timestamp as ISO text; 'weekday 0' then -6 days is Monday.
    if period is Period.DAY:
        return func.strftime("%Y-%m-%d", Item.received_at)
    if period is Period.MONTH:
        return func.strftime("%Y-%m-01", Item.received_at)
    return func.date(Item.received_at, "weekday 0", "-6 days")


def day_bounds(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    """[start, end) in UTC for inclusive calendar days."""
    return (datetime.combine(date_from, time(), UTC),
            datetime.combine(date_to + timedelta(days=1), time(), UTC))


def _conditions(date_from: date, date_to: date, scope: Collection[str] | None,
                f: Filters) -> list[ColumnElement[bool]]:
    start, end = day_bounds(date_from, date_to)
    conds: list[ColumnElement[bool]] = [Item.received_at >= start, Item.received_at < end]
    if scope is not None:
        conds.append(Item.province.in_(sorted(scope)) if scope else literal(False))
    if not f.statuses:  # STOP/JOIN keywords are subscription admin, not voices to report
        conds.append(Item.status != KEYWORD_STATUS)
    for column, wanted in ((Item.province, f.provinces), (Item.language, f.languages),
                           (Item.channel, f.channels), (Item.status, f.statuses)):
        if wanted:
            conds.append(column.in_(sorted(wanted)))
    if f.hubs:
        conds.append(ProvinceRow.hub.in_(sorted(f.hubs)))
    if f.topics:
        tags = _require_topics()
        conds.append(Item.id.in_(select(tags.c.item_id).where(tags.c.tag.in_(sorted(f.topics)))))
    return conds


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


__all__ = ["DIMENSIONS", "CountReport", "CountRow", "Filters", "Period", "ReportError",
           "available_dimensions", "counts", "day_bounds"]
