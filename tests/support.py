"""Helpers for tests: signing like Twilio, Twilio-shaped forms, state resets."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import text
from starlette.datastructures import ImmutableMultiDict
from twilio.request_validator import RequestValidator

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = secrets.token_hex(16)
PUBLIC_BASE = "https://amip.example.org"
SHORTCODE = "+93799000111"

Pairs = Sequence[tuple[str, str]]
ROOT = Path(__file__).resolve().parent.parent


def reset_caches() -> None:
    from gateway import prompts
    from gateway.contacts.crypto import get_vault
    from gateway.db import dispose_engines
    from gateway.settings import reset_settings_cache

    reset_settings_cache()
    get_vault.cache_clear()
    prompts.load_all.cache_clear()
    dispose_engines()


def truncate_tables() -> None:
    from gateway.db import get_engine, is_postgres  # noqa: F401

    engine = get_engine()
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE items, contacts RESTART IDENTITY CASCADE"))
            conn.execute(text("TRUNCATE users, audit_log RESTART IDENTITY CASCADE"))  # console
            conn.execute(text("TRUNCATE bulletins, parked_statuses RESTART IDENTITY CASCADE"))
        else:
            for table in ("deliveries", "bulletins", "parked_statuses"):  # outbound (issue 5)
                conn.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - fixed names
            for table in ("transcripts", "recordings", "calls"):  # voice (issue 3)
                conn.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - fixed names
            for table in ("item_versions", "item_tags", "item_notes"):  # console (issue 4)
                conn.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - fixed names
            conn.execute(text("DELETE FROM items"))
            conn.execute(text("DELETE FROM contacts"))
            for table in ("web_sessions", "api_tokens", "user_provinces", "users", "audit_log"):
                conn.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - console (issue 4)


def flush_redis() -> None:
    from gateway.queue import get_redis

    get_redis().flushdb()


def clear_spool(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def message_sid() -> str:
    return "SM" + secrets.token_hex(16)


def sms_form(body: str = "salam", sender: str = "+93701234567", sid: str | None = None,
             **extra: str) -> list[tuple[str, str]]:
    """A form shaped like Twilio's inbound SMS webhook."""
    sid = sid or message_sid()
    form = [
        ("ToCountry", "AF"), ("ToState", ""), ("SmsMessageSid", sid), ("NumMedia", "0"),
        ("ToCity", ""), ("FromZip", ""), ("SmsSid", sid), ("FromState", ""),
        ("SmsStatus", "received"), ("FromCity", ""), ("Body", body), ("FromCountry", "AF"),
        ("To", SHORTCODE), ("ToZip", ""), ("NumSegments", "1"), ("MessageSid", sid),
        ("AccountSid", ACCOUNT_SID), ("From", sender), ("ApiVersion", "2010-04-01"),
    ]
    form.extend(extra.items())
    return form


def signature(url: str, form: Pairs, token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, ImmutableMultiDict(list(form)))


class SignedClient:
    """Posts forms signed for the public URL, as Twilio would."""

    def __init__(self, http: Any) -> None:
        self.http = http

    def post(self, path: str, form: Pairs, *, public_url: str | None = None,
             sign: bool = True, headers: dict[str, str] | None = None) -> Any:
        url = public_url or PUBLIC_BASE + path
        all_headers = {"content-type": "application/x-www-form-urlencoded"}
        if sign:
            all_headers["x-twilio-signature"] = signature(url, form)
        all_headers.update(headers or {})
        return self.http.post(path, content=urlencode(list(form)), headers=all_headers)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.http.get(path, **kwargs)


def run_jobs(queues: Sequence[str] = ("intake",)) -> None:
    """Run queued jobs in-process until the queues are empty (rq's SimpleWorker)."""
    from rq import SimpleWorker
    from rq.serializers import JSONSerializer

    from gateway.queue import background_sender, get_queue, get_redis

    # On PostgreSQL the webhook hands its job to a sender thread and answers; wait for it.
    assert background_sender.flush(10)
    worker = SimpleWorker([get_queue(q) for q in queues], connection=get_redis(),
                          serializer=JSONSerializer)
    worker.work(burst=True)


def items() -> list[dict[str, Any]]:
    from gateway.db import unit_of_work
    from gateway.intake.queries import list_items

    with unit_of_work() as session:
        return list_items(session)


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def kill_tree(pid: int) -> None:
    """SIGKILL a process and its descendants (RQ's work-horse runs in its own session)."""
    for child in children(pid):
        kill_tree(child)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def worker_process(queues: str, *, log: Path | None = None,
                   **env: str) -> Iterator[subprocess.Popen[bytes]]:
    """A real `amip worker` (forking, with RQ's scheduler, like production) in a session of
    its own, on this test's database and Redis; killed with its work-horse at the end."""
    from gateway.queue import redis_url

    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "worker", "--queues", queues], cwd=ROOT,
        env={**os.environ, "AMIP_REDIS_URL": redis_url(), **env}, start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w") if log is not None else subprocess.DEVNULL)
    try:
        yield proc
    finally:
        kill_tree(proc.pid)
        proc.wait(timeout=10)
