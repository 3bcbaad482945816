"""What should catch the eye: groups losing their share of voice, queues left waiting."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.intake.models import Item
from gateway.reports.counts import Filters, Period, counts

# Not yet triaged or discarded: someone still owes the sender a reading.
WAITING = ("received", "queued", "claimed", "escalated")


@dataclass(frozen=True)
class ShareTrend:
    key: str | None  # a language or a province p-code
    last_period: str  # first day of the last period
    last_count: int
    last_total: int
    last_share: float  # 0…1
    previous_share: float  # mean share over the earlier periods


@dataclass(frozen=True)
class Waiting:
    province: str | None  # None: the national unrouted queue
    waiting: int
    oldest_at: datetime
    oldest_item_ids: list[int]  # oldest first

    def age_hours(self, now: datetime) -> float:
        return (now - _aware(self.oldest_at)).total_seconds() / 3600


def falling_shares(session: Session, *, dim: str, date_from: date, date_to: date,
                   period: Period = Period.WEEK, scope_provinces: Collection[str] | None = None,
                   filters: Filters | None = None, min_drop: float = 0.25) -> list[ShareTrend]:
    """Groups whose share in the last period fell by ``min_drop`` (relative) or more against
    their mean share of the earlier periods; the steepest fall first.

    Shares, not counts: the last period is usually still running, and a share stays
    comparable while the count grows.
    """
    report = counts(session, by=[dim], date_from=date_from, date_to=date_to, period=period,
                    scope_provinces=scope_provinces, filters=filters)
    by_period: dict[str, dict[str | None, int]] = defaultdict(dict)
    for row in report.rows:
        key, start = row.key
        assert start is not None
        by_period[start][key] = row.count
    periods = sorted(by_period)
    if len(periods) < 2:
        return []
    *earlier, last = periods
    totals = {p: sum(by_period[p].values()) for p in periods}
    keys = {k for p in periods for k in by_period[p]}
    trends: list[ShareTrend] = []
    for key in keys:
        previous = sum(by_period[p].get(key, 0) / totals[p] for p in earlier) / len(earlier)
        count = by_period[last].get(key, 0)
        share = count / totals[last]
        if previous > 0 and share <= previous * (1 - min_drop):
            trends.append(ShareTrend(key, last, count, totals[last], share, previous))
    return sorted(trends, key=lambda t: (t.last_share / t.previous_share, str(t.key)))


def longest_waiting(session: Session, *, scope_provinces: Collection[str] | None = None,
                    per_province: int = 3) -> list[Waiting]:
    """Per province, how many items wait and the oldest of them; the longest wait first."""
    ranked = (select(Item.province, Item.id, Item.received_at,
                     func.row_number().over(partition_by=Item.province,
                                            order_by=(Item.received_at, Item.id)).label("rank"),
                     func.count().over(partition_by=Item.province).label("waiting"))
              .where(Item.status.in_(WAITING)))
    if scope_provinces is not None:
        ranked = ranked.where(Item.province.in_(sorted(scope_provinces)))
    sub = ranked.subquery()
    rows = session.execute(select(sub.c.province, sub.c.id, sub.c.received_at, sub.c.waiting)
                           .where(sub.c.rank <= per_province)
                           .order_by(sub.c.received_at, sub.c.id))
    out: dict[str | None, Waiting] = {}
    for province, item_id, received_at, waiting in rows:
        if province not in out:
            out[province] = Waiting(province, int(waiting), received_at, [])
        out[province].oldest_item_ids.append(int(item_id))
    return list(out.values())  # ordered by the oldest item, as selected


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything stored is UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)
