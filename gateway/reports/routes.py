"""/console/reports and /api/reports: validate, call one service, render (issue 6)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape

from gateway.api.deps import ApiPrincipal
from gateway.auth.permissions import Perm, Principal
from gateway.console.i18n import Translator
from gateway.console.web import ConsoleDep, ConsolePostDep, ConsoleRoute
from gateway.db import unit_of_work
from gateway.errors import AppError
from gateway.geography.reference import load_hubs, load_provinces
from gateway.reports import render as tables
from gateway.reports import service, views
from gateway.reports.counts import DIMENSIONS, Filters, Period, available_dimensions
from gateway.reports.export import Export, csv_bytes, export_json
from gateway.webhooks import SettingsDep

console_router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
api_router = APIRouter(prefix="/api/reports", tags=["reports"])
LANGUAGES = ("fa", "ps", "uz", "tk", "en", "und")
Many = Annotated[list[str] | None, Query()]
# As the console's pages: counts of participants' messages are never cached or framed.
PAGE_HEADERS = {
    "cache-control": "no-store", "x-frame-options": "DENY", "referrer-policy": "no-referrer",
    "content-security-policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; "
                               "form-action 'self'; frame-ancestors 'none'"}


def _period(value: str | None) -> Period | None:
    if not value:
        return None
    try:
        return Period(value)
    except ValueError:
        raise AppError(400, "period is day, week or month") from None


def _span(date_from: str | None, date_to: str | None) -> tuple[date, date]:
    return service.date_span(date_from, date_to)


def _filters(**values: list[str] | str | None) -> Filters:
    def many(v: list[str] | str | None) -> frozenset[str]:
        items = [v] if isinstance(v, str) else v or []
        return frozenset(x.strip() for raw in items for x in raw.split(",") if x.strip())

    return Filters(provinces=frozenset(p.upper() for p in many(values.get("province"))),
                   hubs=many(values.get("hub")), languages=many(values.get("language")),
                   channels=many(values.get("channel")), statuses=many(values.get("status")),
                   topics=many(values.get("topic")))


def _download(export: Export, fmt: str) -> Response:
    stamp = export.created_at.strftime("%Y%m%d-%H%M")
    if fmt == "csv":
        body, media = b"".join(csv_bytes(export.fields, export.rows)), "text/csv; charset=utf-8"
    else:
        body, media = export_json(export).encode(), "application/json"
    return Response(body, media_type=media, headers={
        "content-disposition": f'attachment; filename="amip-items-{stamp}.{fmt}"',
        "cache-control": "no-store"})


# --- console -----------------------------------------------------------------------------

@dataclass(frozen=True)
class PageQuery:
    rows: str
    columns: str | None
    period: str | None
    date_from: date
    date_to: date
    province: str | None
    language: str | None
    channel: str | None
    small: bool

    @property
    def by(self) -> list[str]:
        return [self.rows] + ([self.columns] if self.columns else [])

    @property
    def args(self) -> dict[str, str]:
        return {k: v for k, v in {
            "rows": self.rows, "columns": self.columns or "", "period": self.period or "",
            "from": self.date_from.isoformat(), "to": self.date_to.isoformat(),
            "province": self.province or "", "language": self.language or "",
            "channel": self.channel or "", "small": "1" if self.small else ""}.items() if v}


def _page_query(rows: str, columns: str | None, period: str | None, date_from: str | None,
                date_to: str | None, province: str | None, language: str | None,
                channel: str | None, small: str | None) -> PageQuery:
    start, end = _span(date_from, date_to)
    for dim in (rows, columns):
        if dim and dim not in DIMENSIONS:
            raise AppError(400, "unknown dimension")
    return PageQuery(rows, columns or None, period or None, start, end, province or None,
                     language or None, channel or None, small == "1")


@functools.cache
def _templates() -> Environment:
    from gateway.console.web import templates

    console = templates()
    env = Environment(loader=ChoiceLoader([PackageLoader("gateway.reports", "templates"),
                                           console.loader]),  # type: ignore[list-item]
                      autoescape=select_autoescape(["html"]), trim_blocks=True,
                      lstrip_blocks=True)
    env.filters.update(console.filters)
    return env


QueryArg = Annotated[str | None, Query()]
FromArg = Annotated[str | None, Query(alias="from")]


def _console_page(user: Any, settings: Any, q: PageQuery) -> Response:
    p: Principal = user.principal
    with unit_of_work() as session:
        page = service.page(session, p, settings, by=q.by, date_from=q.date_from,
                            date_to=q.date_to, period=_period(q.period),
                            filters=_filters(province=q.province, language=q.language,
                                             channel=q.channel), show_small=q.small)
    view = views.build(page, lang=p.ui_language, now=datetime.now(UTC), show_small=q.small)
    t = Translator(p.ui_language)
    html = _templates().get_template("reports.html").render(
        t=t, lang=t.lang, dir=t.dir, r=functools.partial(views.text, t.lang), v=view, q=q,
        dims=available_dimensions(), languages=LANGUAGES, provinces=load_provinces(),
        hubs=load_hubs(), may_unsuppress=service.may_unsuppress(p, settings), user=p,
        csrf=user.csrf, Perm=Perm, back_url="/console/reports")
    return HTMLResponse(html, headers=PAGE_HEADERS)


@console_router.get("/reports", response_class=HTMLResponse)
def reports_page(user: ConsoleDep, settings: SettingsDep, rows: str = "province",
                 columns: QueryArg = "language", period: QueryArg = None,
                 date_from: FromArg = None, to: QueryArg = None, province: QueryArg = None,
                 language: QueryArg = None, channel: QueryArg = None,
                 small: QueryArg = None) -> Response:
    """Counts, charts and highlights, within the user's provinces and rights."""
    q = _page_query(rows, columns, period, date_from, to, province, language, channel, small)
    return _console_page(user, settings, q)


@console_router.get("/reports/table.{fmt}")
def reports_table(user: ConsoleDep, settings: SettingsDep, fmt: str, rows: str = "province",
                  columns: QueryArg = "language", period: QueryArg = None,
                  date_from: FromArg = None, to: QueryArg = None, province: QueryArg = None,
                  language: QueryArg = None, channel: QueryArg = None,
                  small: QueryArg = None) -> Response:
    """The page's table as CSV or JSON, with the same suppression."""
    if fmt not in ("csv", "json"):
        raise AppError(404, "not found")
    q = _page_query(rows, columns, period, date_from, to, province, language, channel, small)
    with unit_of_work() as session:
        published = service.report(
            session, user.principal, settings, by=q.by, date_from=q.date_from,
            date_to=q.date_to, period=_period(q.period),
            filters=_filters(province=q.province, language=q.language, channel=q.channel),
            show_small=q.small)
    if fmt == "json":
        return JSONResponse(tables.as_json(published.table, published.report),
                            headers={"cache-control": "no-store"})
    return Response(b"".join(tables.as_csv(published.table)),
                    media_type="text/csv; charset=utf-8", headers={
                        "content-disposition": 'attachment; filename="amip-report.csv"',
                        "cache-control": "no-store"})


@console_router.post("/reports/export")
def console_export(user: ConsolePostDep, settings: SettingsDep,
                   fmt: Annotated[str, Form(alias="format")] = "csv",
                   date_from: Annotated[str | None, Form(alias="from")] = None,
                   to: Annotated[str | None, Form()] = None,
                   province: Annotated[str | None, Form()] = None,
                   language: Annotated[str | None, Form()] = None,
                   channel: Annotated[str | None, Form()] = None) -> Response:
    """An audited download of items with their text (never phone numbers)."""
    if fmt not in ("csv", "json"):
        raise AppError(400, "format is csv or json")
    start, end = _span(date_from, to)
    with unit_of_work() as session:
        result = service.export(session, user.principal, settings, fmt=fmt, date_from=start,
                                date_to=end, filters=_filters(province=province,
                                                              language=language,
                                                              channel=channel))
    return _download(result, fmt)


# --- JSON API ----------------------------------------------------------------------------

@api_router.get("")
def api_report(principal: ApiPrincipal, settings: SettingsDep,
               by: Annotated[str, Query(description="Dimensions, comma-separated: hub, "
                                        "province, language, channel, topic, status.")]
               = "province",
               date_from: FromArg = None, to: QueryArg = None, period: QueryArg = None,
               province: Many = None, hub: Many = None, language: Many = None,
               channel: Many = None, status: Many = None, topic: Many = None,
               unsuppressed: bool = False) -> dict[str, Any]:
    """Counts (``<5`` and ``x`` where suppressed), within the caller's provinces."""
    start, end = _span(date_from, to)
    with unit_of_work() as session:
        published = service.report(
            session, principal, settings, by=by.split(","), date_from=start, date_to=end,
            period=_period(period), show_small=unsuppressed,
            filters=_filters(province=province, hub=hub, language=language, channel=channel,
                             status=status, topic=topic))
    return tables.as_json(published.table, published.report)


@api_router.get("/highlights")
def api_highlights(principal: ApiPrincipal, settings: SettingsDep, date_from: FromArg = None,
                   to: QueryArg = None, period: QueryArg = "week",
                   province: Many = None) -> dict[str, Any]:
    """Falling shares of languages and provinces; the longest waits per province."""
    start, end = _span(date_from, to)
    with unit_of_work() as session:
        h = service.highlights(session, principal, settings, date_from=start, date_to=end,
                               period=_period(period) or Period.WEEK,
                               filters=_filters(province=province))
    now = datetime.now(UTC)

    def trend(x: Any) -> dict[str, Any]:
        return {"key": x.key, "last_period": x.last_period,
                "earlier_share": None if x.earlier_share is None else round(x.earlier_share, 4),
                "last_share": None if x.last_share is None else round(x.last_share, 4)}

    return {"languages": [trend(x) for x in h.languages],
            "provinces": [trend(x) for x in h.provinces],
            "waiting": [{"province": w.province,
                         "waiting": service.count_label(w.waiting, h.threshold)
                         if 0 < w.waiting < (h.threshold or 0) else w.waiting,
                         "oldest_age_hours": round(w.age_hours(now), 1),
                         **({"oldest_item_ids": w.oldest_item_ids} if h.show_items else {})}
                        for w in h.waiting]}


@api_router.get("/export")
def api_export(principal: ApiPrincipal, settings: SettingsDep,
               fmt: Annotated[str, Query(alias="format")] = "json",
               date_from: FromArg = None, to: QueryArg = None, province: Many = None,
               hub: Many = None, language: Many = None, channel: Many = None,
               status: Many = None, topic: Many = None) -> Response:
    """Items with text for analysis (audited; 403 for analysts)."""
    if fmt not in ("csv", "json"):
        raise AppError(400, "format is csv or json")
    start, end = _span(date_from, to)
    with unit_of_work() as session:
        result = service.export(session, principal, settings, fmt=fmt, date_from=start,
                                date_to=end, filters=_filters(
                                    province=province, hub=hub, language=language,
                                    channel=channel, status=status, topic=topic))
    return _download(result, fmt)
