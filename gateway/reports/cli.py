"""`amip report` and `amip export`: the same permission rules as the console and API."""

from __future__ import annotations

import sys
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gateway.reports.counts import Filters, Period

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from gateway.auth.permissions import Principal


class TableFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


class ExportFormat(StrEnum):
    CSV = "csv"
    JSON = "json"


def _span(date_from: str | None, date_to: str | None) -> tuple[date, date]:
    """The report's days; a usage error (exit 2) when a date is unreadable."""
    from gateway.errors import AppError
    from gateway.reports.service import date_span

    try:
        return date_span(date_from, date_to)
    except AppError as exc:
        typer.echo(exc.reason, err=True)
        raise typer.Exit(2) from None


def _split(values: list[str] | None) -> frozenset[str]:
    """Repeatable options that also take comma-separated lists."""
    return frozenset(v.strip() for raw in values or [] for v in raw.split(",") if v.strip())


def _filters(province: list[str] | None, hub: list[str] | None, language: list[str] | None,
             channel: list[str] | None, status: list[str] | None,
             topic: list[str] | None) -> Filters:
    return Filters(provinces=frozenset(p.upper() for p in _split(province)), hubs=_split(hub),
                   languages=_split(language), channels=_split(channel),
                   statuses=_split(status), topics=_split(topic))


Province = Annotated[list[str] | None, typer.Option(help="Province p-code(s), e.g. AF32.")]
Hub = Annotated[list[str] | None, typer.Option(help="Hub code(s), e.g. west.")]
Language = Annotated[list[str] | None, typer.Option(help="Language(s): fa, ps, uz, tk, en…")]
Channel = Annotated[list[str] | None, typer.Option(help="sms or voice.")]
Status = Annotated[list[str] | None, typer.Option(help="Item status(es).")]
Topic = Annotated[list[str] | None, typer.Option(help="Topic tag(s).")]
From = Annotated[str | None, typer.Option("--from", help="First day, YYYY-MM-DD (UTC).")]
To = Annotated[str | None, typer.Option("--to", help="Last day, YYYY-MM-DD (UTC).")]


def report(
    by: Annotated[str, typer.Option(help="Dimensions, comma-separated: hub, province, "
                                         "language, channel, topic, status.")] = "province",
    date_from: From = None, date_to: To = None,
    period: Annotated[Period | None, typer.Option(help="Also by day, week or month.")] = None,
    fmt: Annotated[TableFormat, typer.Option("--format", help="table, json or csv.")]
    = TableFormat.TABLE,
    as_user: Annotated[str | None, typer.Option("--as", help="Report as this console user "
                                                "(its provinces and rights).")] = None,
    show_small: Annotated[bool, typer.Option("--unsuppressed", help="Show counts below the "
                                             "threshold (allowed roles only; audited).")]
    = False,
    province: Province = None, hub: Hub = None, language: Language = None,
    channel: Channel = None, status: Status = None, topic: Topic = None,
) -> None:
    """Counts of items by any dimensions over a date range; small counts shown as <5."""
    from gateway.db import unit_of_work
    from gateway.errors import AppError
    from gateway.reports import render, service
    from gateway.settings import get_settings

    start, end = _span(date_from, date_to)
    filters = _filters(province, hub, language, channel, status, topic)
    settings = get_settings()
    try:
        with unit_of_work() as session:
            principal = _principal(session, as_user)
            published = service.report(
                session, principal, settings, by=[d for d in by.split(",") if d.strip()],
                date_from=start, date_to=end, period=period, filters=filters,
                show_small=show_small)
    except AppError as exc:
        typer.echo(f"error: {exc.reason}", err=True)
        raise typer.Exit(1) from None
    if fmt is TableFormat.CSV:
        for chunk in render.as_csv(published.table):
            sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()
    elif fmt is TableFormat.JSON:
        sys.stdout.write(render.as_json_text(published.table, published.report))
    else:
        sys.stdout.write(render.as_text(published.table, published.report))


def export(
    as_user: Annotated[str, typer.Option("--as", help="The console user exporting "
                                         "(its provinces and rights; audited).")],
    fmt: Annotated[ExportFormat, typer.Option("--format", help="csv or json.")]
    = ExportFormat.CSV,
    output: Annotated[Path | None, typer.Option(help="Write here instead of standard "
                                                "output.")] = None,
    date_from: From = None, date_to: To = None,
    province: Province = None, hub: Hub = None, language: Language = None,
    channel: Channel = None, status: Status = None, topic: Topic = None,
) -> None:
    """Items with text/transcript, language, place, topics and dates — never a phone number."""
    from gateway.db import unit_of_work
    from gateway.errors import AppError
    from gateway.reports import export as exports
    from gateway.reports import service
    from gateway.settings import get_settings

    start, end = _span(date_from, date_to)
    filters = _filters(province, hub, language, channel, status, topic)
    try:
        # The audit entry commits with the export; nothing is written out if it cannot.
        with unit_of_work() as session:
            principal = _principal(session, as_user, required=True)
            result = service.export(session, principal, get_settings(), fmt=fmt.value,
                                    date_from=start, date_to=end, filters=filters)
    except AppError as exc:
        typer.echo(f"error: {exc.reason}", err=True)
        raise typer.Exit(1) from None
    data = (b"".join(exports.csv_bytes(result.fields, result.rows)) if fmt is ExportFormat.CSV
            else (exports.export_json(result) + "\n").encode())
    if output:
        output.write_bytes(data)
        typer.echo(f"{len(result.rows)} items written to {output} (export {result.export_id})",
                   err=True)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()


def _principal(session: Session, name: str | None, *, required: bool = False) -> Principal:
    """The named user's principal (via cli); without a name, a national analyst's view."""
    from gateway.auth import service as auth
    from gateway.auth.permissions import Principal, Role  # noqa: F811 - at run time
    from gateway.errors import AppError

    if name is None:
        if required:
            raise AppError(400, "--as USER is required")
        # An operator at the server already holds the database; it gets what analysts get.
        return Principal(user_id=0, name="cli", role=Role.ANALYST, provinces=None, via="cli")
    user = auth.get_user(session, name)
    if user is None or user.disabled:
        raise AppError(403, "no such enabled user")
    return auth.principal_for(session, user, "cli")
