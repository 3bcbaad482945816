"""`amip user …` and `amip token …`: console accounts and API tokens."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

import typer
from sqlalchemy.orm import Session

user_app = typer.Typer(help="Console users: add, set-password, disable, list.",
                       no_args_is_help=True)
token_app = typer.Typer(help="API tokens for the JSON API.", no_args_is_help=True)


def _read_password(from_stdin: bool) -> str:
    if not from_stdin:
        typer.echo("pass the password on standard input with --password-stdin", err=True)
        raise typer.Exit(2)
    # One line: `printf '%s\n' "$PW" | amip user add …`; never a command-line argument.
    return sys.stdin.readline().rstrip("\r\n")


def _run(action: str, func: Callable[[Session], dict[str, object]]) -> None:
    from gateway.audit import service as audit
    from gateway.auth.service import UserError
    from gateway.db import unit_of_work

    try:
        with unit_of_work() as session:
            detail = func(session)
            audit.record(session, None, action, after=detail, via="cli")
    except UserError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


@user_app.command("add")
def add(name: str,
        role: Annotated[str, typer.Option(help="admin, secretariat, hub_lead, coordinator, "
                                               "analyst, comms (bulletins)")],
        province: Annotated[list[str] | None, typer.Option(
            help="Province p-code (repeatable), e.g. AF32.")] = None,
        hub: Annotated[str | None, typer.Option(help="Hub code for a hub lead.")] = None,
        language: Annotated[str, typer.Option(help="UI language: fa, ps or en.")] = "en",
        password_stdin: Annotated[bool, typer.Option("--password-stdin",
                                                     help="Read the password from stdin.")]
        = False) -> None:
    """Create a console user."""
    from gateway.auth import service

    password = _read_password(password_stdin)

    def create(session: Session) -> dict[str, object]:
        service.add_user(session, name=name, role=role, password=password,
                         provinces=[p.upper() for p in province or []], hub=hub,
                         ui_language=language)
        return {"user": name, "role": role, "provinces": province or [], "hub": hub}

    _run("user_add", create)
    typer.echo(f"user {name} added ({role})")


@user_app.command("set-password")
def set_password(name: str, password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the password from stdin.")] = False) -> None:
    """Set a new password (unlocks the account, ends its sessions)."""
    from gateway.auth import service

    password = _read_password(password_stdin)

    def change(session: Session) -> dict[str, object]:
        service.set_password(session, name, password)
        return {"user": name}

    _run("user_set_password", change)
    typer.echo(f"password of {name} changed")


@user_app.command("disable")
def disable(name: str) -> None:
    """Disable a user: sessions and API tokens stop working at once."""
    from gateway.auth import service

    def off(session: Session) -> dict[str, object]:
        service.disable_user(session, name)
        return {"user": name}

    _run("user_disable", off)
    typer.echo(f"user {name} disabled")


@user_app.command("list")
def list_users() -> None:
    """All users with role, hub, provinces and state."""
    from gateway.auth import service
    from gateway.db import unit_of_work

    with unit_of_work() as session:
        users = service.list_users(session)
    for u in users:
        provinces = ",".join(u["provinces"]) or "-"  # type: ignore[arg-type]
        state = "disabled" if u["disabled"] else "active"
        typer.echo(f"{u['name']:<20} {u['role']:<12} {u['hub'] or '-':<10} {provinces:<20} "
                   f"{u['ui_language']:<3} {state}")


@token_app.command("create")
def create_token(name: Annotated[str, typer.Argument(help="The user the token acts as.")],
                 label: Annotated[str, typer.Option(help="What the token is for.")] = "api",
                 ) -> None:
    """Create an API token for a user; it is printed once and stored only as a hash."""
    from gateway.auth import service

    issued: list[str] = []

    def make(session: Session) -> dict[str, object]:
        issued.append(service.create_token(session, name, label=label,
                                           now=datetime.now(UTC)))
        return {"user": name, "label": label}

    _run("token_create", make)
    typer.echo(issued[0])
