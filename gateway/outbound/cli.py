"""`amip bulletin …` and `amip fake-twilio` (registered in gateway/cli.py)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import typer

bulletin_app = typer.Typer(help="Write, approve, send and follow SMS bulletins.",
                           no_args_is_help=True)
T = TypeVar("T")

AsUser = Annotated[str, typer.Option(
    "--as", help="Your user name: an enabled user with role comms or admin.")]


def _run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a service in one transaction; a refused action exits 1 with its reason."""
    from gateway.db import unit_of_work
    from gateway.errors import AppError

    try:
        with unit_of_work() as session:
            return fn(session, *args, **kwargs)
    except AppError as exc:
        typer.echo(f"error: {exc.reason}", err=True)
        raise typer.Exit(1) from None


def _as(fn: Callable[..., T], user: str, *args: Any, **kwargs: Any) -> T:
    """Run an action as an existing, enabled user allowed to handle bulletins (audited)."""
    from gateway.outbound import actions

    def act(session: Any) -> T:
        return fn(session, actions.principal_named(session, user), *args, **kwargs)

    return _run(act)


def _texts(pairs: list[str]) -> dict[str, str]:
    texts = {}
    for pair in pairs:
        lang, sep, text = pair.partition("=")
        if not sep or not lang.strip():
            typer.echo("error: --text takes LANG=TEXT", err=True)
            raise typer.Exit(2)
        texts[lang.strip()] = text
    return texts


@bulletin_app.command()
def create(
    title: Annotated[str, typer.Option(help="Title (for staff; not sent).")],
    text: Annotated[list[str], typer.Option(help="LANG=TEXT, once per language.")],
    as_user: AsUser,
    fallback: Annotated[str | None, typer.Option(help="Text for other languages.")] = None,
    province: Annotated[list[str] | None, typer.Option(help="Province p-code.")] = None,
    hub: Annotated[list[str] | None, typer.Option(help="Hub code.")] = None,
    language: Annotated[list[str] | None, typer.Option(help="Only these languages.")] = None,
) -> None:
    """Create a draft bulletin; prints its id."""
    from gateway.outbound import actions

    bulletin = _as(actions.create, as_user, title=title, texts=_texts(text),
                   fallback=fallback, provinces=province, hubs=hub, languages=language)
    typer.echo(bulletin.id)


@bulletin_app.command()
def preview(bulletin_id: Annotated[int, typer.Argument(metavar="ID")],
            as_json: Annotated[bool, typer.Option("--json")] = False,
            as_user: Annotated[str | None, typer.Option("--as")] = None) -> None:
    """Recipients and, per language, encoding, characters and segments; total segments."""
    from gateway.outbound import actions, bulletins

    data = (_as(actions.preview, as_user, bulletin_id) if as_user
            else _run(bulletins.preview, bulletin_id))
    if as_json:
        _dump(data)
        return
    typer.echo(f"bulletin {data['id']} ({data['status']}): {data['recipients']} recipients, "
               f"{data['total_segments']} segments in all")
    for lang, v in data["languages"].items():
        typer.echo(f"  {lang:<8} {v['encoding']:<6} {v['characters']:>5} chars "
                   f"{v['segments']:>2} segment(s) × {v['recipients']} recipients")


@bulletin_app.command()
def approve(bulletin_id: Annotated[int, typer.Argument(metavar="ID")], as_user: AsUser) -> None:
    """Approve a draft (someone other than its author)."""
    from gateway.outbound import actions

    _as(actions.approve, as_user, bulletin_id)
    typer.echo(f"bulletin {bulletin_id} approved by {as_user}")


@bulletin_app.command()
def send(bulletin_id: Annotated[int, typer.Argument(metavar="ID")],
         as_user: AsUser,
         at: Annotated[str | None, typer.Option(help="ISO time to send at, e.g. "
                                                     "2026-12-04T06:00+04:30.")] = None) -> None:
    """Send an approved bulletin now, or at a scheduled time."""
    from gateway.outbound import actions

    when = None
    if at:
        try:
            when = datetime.fromisoformat(at)
        except ValueError:
            typer.echo("error: --at takes an ISO time, e.g. 2026-12-04T06:00+04:30", err=True)
            raise typer.Exit(2) from None
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
    bulletin = _as(actions.send, as_user, bulletin_id, at=when)
    typer.echo(f"bulletin {bulletin_id} {bulletin.status}")


@bulletin_app.command()
def cancel(bulletin_id: Annotated[int, typer.Argument(metavar="ID")], as_user: AsUser) -> None:
    """Cancel a bulletin; what is not yet handed to Twilio is not sent."""
    from gateway.outbound import actions

    _as(actions.cancel, as_user, bulletin_id)
    typer.echo(f"bulletin {bulletin_id} cancelled")


@bulletin_app.command()
def status(bulletin_id: Annotated[int, typer.Argument(metavar="ID")],
           as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Delivery counts: queued, sent, delivered, failed by error code."""
    from gateway.outbound import bulletins

    data = _run(bulletins.status, bulletin_id)
    if as_json:
        _dump(data)
        return
    c = data["counts"]
    typer.echo(f"bulletin {data['id']} {data['status']}: {data['recipients']} recipients; "
               f"queued {c['queued']}, sent {c['sent']}, delivered {c['delivered']}, "
               f"failed {c['failed']} {data['failed_by_error'] or ''}, skipped {c['skipped']}")


def _dump(data: Any) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")


def fake_twilio(
    port: Annotated[int, typer.Option(help="TCP port on 127.0.0.1.")] = 8089,
    latency: Annotated[float, typer.Option(help="Seconds per create request.")] = 0.0,
    error: Annotated[list[str] | None, typer.Option(
        help="CODE[:PROBABILITY], e.g. 429:0.05, 21610, timeout:0.01.")] = None,
    callbacks: Annotated[bool, typer.Option(help="Send status callbacks.")] = True,
) -> None:
    """Run the loopback Twilio REST server (Messages create/fetch/list, status callbacks)."""
    from gateway.settings import get_settings
    from gateway.simulator.twilio_rest import ErrorRule, serve

    settings = get_settings()
    rules = []
    for spec in error or []:
        code, _, prob = spec.partition(":")
        rules.append(ErrorRule(int(code) if code.isdigit() else code,
                               probability=float(prob) if prob else 1.0))
    token = settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else ""
    if not settings.twilio_account_sid or not token:
        typer.echo("set AMIP_TWILIO_ACCOUNT_SID and AMIP_TWILIO_AUTH_TOKEN", err=True)
        raise typer.Exit(2)
    serve(port, account_sid=settings.twilio_account_sid, auth_token=token, latency=latency,
          errors=rules, callbacks=callbacks)
