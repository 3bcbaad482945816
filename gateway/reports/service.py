"""Reports as a user may see them: one permission check here for the CLI, console and API.

* every role may see counts (analysts nothing else), always within its own provinces: a
  coordinator's report covers its provinces, a hub lead's its hub, secretariat and admin all;
* counts are suppressed unless the role is listed in ``AMIP_REPORT_UNSUPPRESSED_ROLES`` and
  the caller asks for it (such a view is audited);
* item exports need the right to read text, are audited, and carry stable pseudonyms only for
  the roles in ``AMIP_EXPORT_PSEUDONYM_ROLES`` (none by default).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from gateway.audit import service as audit
from gateway.auth.permissions import Perm, Principal, hub_provinces, require
from gateway.errors import AppError
from gateway.reports.counts import CountReport, Filters, Period, ReportError, counts
from gateway.reports.export import Export, export_items
from gateway.reports.suppression import PublishedTable, cross_table, suppress, unsuppressed
from gateway.reports.trends import ShareTrend, Waiting, falling_shares, longest_waiting
from gateway.settings import Settings

OUTSIDE = "outside your provinces"


# A report without dates covers the last twelve weeks (84 days including today).
DEFAULT_SPAN_DAYS = 83


def date_span(date_from: str | None, date_to: str | None) -> tuple[date, date]:
    """The report's [from, to] days from YYYY-MM-DD strings; AppError(400) if unreadable."""
    today = datetime.now(UTC).date()
    return (_day(date_from, today - timedelta(days=DEFAULT_SPAN_DAYS)), _day(date_to, today))


def _day(value: str | None, default: date) -> date:
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise AppError(400, "dates are YYYY-MM-DD") from None


@dataclass(frozen=True)
class Published:
    report: CountReport
    table: PublishedTable


@dataclass(frozen=True)
class Trend:
    key: str | None
    last_period: str
    earlier_share: float | None  # None: withheld (it would give a small count back)
    last_share: float | None


@dataclass(frozen=True)
class Highlights:
    languages: list[Trend]
    provinces: list[Trend]
    waiting: list[Waiting]
    show_items: bool  # item ids link to the console only for roles that may open items
    threshold: int | None


def _roles(value: str) -> set[str]:
    return {r.strip() for r in value.split(",") if r.strip()}


def may_unsuppress(principal: Principal, settings: Settings) -> bool:
    return principal.role.value in _roles(settings.report_unsuppressed_roles)


def may_see_pseudonyms(principal: Principal, settings: Settings) -> bool:
    return principal.role.value in _roles(settings.export_pseudonym_roles)


def scope(session: Session, principal: Principal, filters: Filters) -> frozenset[str] | None:
    """The principal's provinces; asking for a province or hub outside them is a 403."""
    wanted = set(filters.provinces)
    for hub in filters.hubs:
        provinces = hub_provinces(session, hub)
        if not provinces:
            raise AppError(400, "unknown hub")
        wanted |= provinces
    if principal.provinces is not None and not wanted <= principal.provinces:
        raise AppError(403, OUTSIDE)
    return principal.provinces


def report(session: Session, principal: Principal, settings: Settings, *, by: Sequence[str],
           date_from: date, date_to: date, period: Period | str | None = None,
           filters: Filters | None = None, show_small: bool = False) -> Published:
    """Counts within the principal's scope, suppressed unless it may and asks otherwise."""
    require(principal, Perm.COUNTS)
    filters = filters or Filters()
    if show_small and not may_unsuppress(principal, settings):
        raise AppError(403, "small counts are not shown to this role")
    provinces = scope(session, principal, filters)
    try:
        result = counts(session, by=by, date_from=date_from, date_to=date_to, period=period,
                        scope_provinces=provinces, filters=filters)
    except ReportError as exc:
        raise AppError(400, str(exc)) from None
    table = cross_table(result)
    if show_small:
        audit.record(session, principal, "report_unsuppressed",
                     after={"by": list(result.dims), "from": date_from.isoformat(),
                            "to": date_to.isoformat()})
        return Published(result, unsuppressed(table))
    return Published(result, suppress(table, settings.report_threshold))


def export(session: Session, principal: Principal, settings: Settings, *, fmt: str,
           date_from: date, date_to: date, filters: Filters | None = None) -> Export:
    """Items with their text for analysis; recorded in the audit log with what was taken."""
    require(principal, Perm.READ_TEXT)  # analysts: counts only, never text
    filters = filters or Filters()
    provinces = scope(session, principal, filters)
    result = export_items(session, date_from=date_from, date_to=date_to,
                          scope_provinces=provinces, filters=filters,
                          with_pseudonyms=may_see_pseudonyms(principal, settings))
    audit.record(session, principal, "export", after={
        "export": result.export_id, "format": fmt, "items": len(result.rows),
        "from": date_from.isoformat(), "to": date_to.isoformat(),
        "provinces": sorted(filters.provinces), "hubs": sorted(filters.hubs),
        "languages": sorted(filters.languages), "pseudonyms": "sender" in result.fields})
    return result


def highlights(session: Session, principal: Principal, settings: Settings, *, date_from: date,
               date_to: date, period: Period = Period.WEEK, filters: Filters | None = None,
               show_small: bool = False) -> Highlights:
    """Falling shares of languages and provinces, and the longest waits per province."""
    require(principal, Perm.COUNTS)
    if show_small and not may_unsuppress(principal, settings):
        raise AppError(403, "small counts are not shown to this role")
    filters = filters or Filters()
    provinces = scope(session, principal, filters)
    waiting = longest_waiting(session, scope_provinces=set(filters.provinces) or provinces)
    threshold = None if show_small else settings.report_threshold
    by_dim = {}
    for dim in ("language", "province"):
        args = {"date_from": date_from, "date_to": date_to, "period": period,
                "scope_provinces": provinces, "filters": filters}
        trends = falling_shares(session, dim=dim, **args)  # type: ignore[arg-type]
        withheld = _withheld(counts(session, by=[dim], **args), threshold)  # type: ignore[arg-type]
        by_dim[dim] = [_masked(t, withheld) for t in trends]
    return Highlights(languages=by_dim["language"], provinces=by_dim["province"],
                      waiting=waiting, show_items=principal.can(Perm.QUEUE),
                      threshold=threshold)


def _withheld(report: CountReport, threshold: int | None) -> set[tuple[str | None, str | None]]:
    """(key, period) cells the published dimension × period table withholds."""
    if threshold is None:
        return set()
    published = suppress(cross_table(report), threshold)
    t = published.table
    return {(rk[0], ck) for rk, row in zip(t.row_keys, published.cells, strict=True)
            for ck, p in zip(t.col_keys, row, strict=True) if p.value is None}


def _masked(t: ShareTrend, withheld: set[tuple[str | None, str | None]]) -> Trend:
    """A share times its published period total is the count: a share is shown only where
    the same count is shown in the dimension × period table."""
    earlier = {p for k, p in withheld if k == t.key and p is not None and p < t.last_period}
    return Trend(t.key, t.last_period, None if earlier else t.previous_share,
                 None if (t.key, t.last_period) in withheld else t.last_share)


@dataclass(frozen=True)
class Page:
    main: Published
    timeline: Published  # the columns' dimension over time, for the line chart
    highlights: Highlights


def page(session: Session, principal: Principal, settings: Settings, *, by: Sequence[str],
         date_from: date, date_to: date, period: Period | None, filters: Filters,
         show_small: bool) -> Page:
    """Everything the console's reports page shows, under one set of rights."""
    main = report(session, principal, settings, by=by, date_from=date_from, date_to=date_to,
                  period=period, filters=filters, show_small=show_small)
    over_time = [d for d in main.report.dims if d != "period"][-1:]
    timeline = report(session, principal, settings, by=over_time, date_from=date_from,
                      date_to=date_to, period=period or Period.WEEK, filters=filters,
                      show_small=show_small)
    lights = highlights(session, principal, settings, date_from=date_from, date_to=date_to,
                        period=period or Period.WEEK, filters=filters, show_small=show_small)
    return Page(main, timeline, lights)


def count_label(n: int, threshold: int | None) -> str:
    """One count outside a table (a wait, a trend) with the same rule as in tables."""
    return f"<{threshold}" if threshold and 0 < n < threshold else str(n)


def now() -> datetime:
    return datetime.now(UTC)
