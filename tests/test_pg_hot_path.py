"""The PostgreSQL SMS hot path (gateway/intake/pgstore.py) against a real server under stress.

Each test runs the app under a real uvicorn (the async route, its connection pool and the
lifespan that opens it) and asserts what Twilio and a coordinator would see.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from gateway.contacts.models import Contact
from tests import support
from tests.outage import TcpProxy
from tests.support import PUBLIC_BASE, signature, sms_form

URL = PUBLIC_BASE + "/twilio/sms"
TWILIO_TIMEOUT_SECONDS = 15  # Twilio gives up on a webhook after this and does not retry


@pytest.fixture()
def postgres(base_env: dict[str, str]) -> None:
    if make_url(base_env["AMIP_DATABASE_URL"]).get_backend_name() != "postgresql":
        pytest.skip("the single-statement path and its connection pool are PostgreSQL's")


@pytest.fixture()
def serve(base_env: dict[str, str]) -> Iterator[Any]:
    """Start the app (settings as the environment has them now) under a real uvicorn."""
    import uvicorn

    from gateway.app import create_app

    servers: list[tuple[Any, threading.Thread]] = []

    def start() -> int:
        support.reset_caches()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        srv = uvicorn.Server(uvicorn.Config(create_app(background=False), log_config=None,
                                            access_log=False))
        thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        while not srv.started and thread.is_alive():
            time.sleep(0.01)
        servers.append((srv, thread))
        return int(sock.getsockname()[1])

    yield start
    for srv, thread in servers:
        srv.should_exit = True
        thread.join(10)


def post(port: int, form: list[tuple[str, str]]) -> httpx.Response:
    with httpx.Client(timeout=TWILIO_TIMEOUT_SECONDS) as http:
        return http.post(f"http://127.0.0.1:{port}/twilio/sms", content=urlencode(form),
                         headers={"content-type": "application/x-www-form-urlencoded",
                                  "x-twilio-signature": signature(URL, form)})


def spool_files() -> list[Any]:
    from gateway.settings import get_settings

    return list(get_settings().spool_dir.glob("*.spool"))


@pytest.mark.usefixtures("postgres")
def test_a_locked_items_table_spools_within_the_deadline_instead_of_hanging(
        serve: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # A migration or an operator's LOCK TABLE blocks every insert into items. Without a
    # deadline the webhook waits for as long as the lock is held; past Twilio's timeout the
    # message is gone (Twilio does not retry an SMS webhook). It must be spooled instead.
    monkeypatch.setenv("AMIP_DB_STATEMENT_TIMEOUT_SECONDS", "1")
    port = serve()
    from gateway.db import get_engine
    from gateway.settings import get_settings

    assert post(port, sms_form("before the lock")).status_code == 200
    holder = get_engine().connect()
    held = holder.begin()
    holder.execute(text("LOCK TABLE items IN EXCLUSIVE MODE"))
    from gateway import maintenance

    replayed: dict[str, Any] = {}
    try:
        started = time.monotonic()
        r = post(port, sms_form("while the table is locked"))
        waited = time.monotonic() - started
        # The maintenance pass tries to replay that spooled message meanwhile. It must give
        # up at the same deadline, not wait for the lock: a pass stuck for as long as a
        # migration runs replays nothing and re-enqueues nothing.
        replay = threading.Thread(daemon=True, target=lambda: replayed.update(
            moved=maintenance.run_once(get_settings())[0]))
        replay.start()
        replay.join(4)
    finally:
        held.rollback()
        holder.close()
    assert r.status_code == 200
    assert waited < 3, f"answered after {waited:.1f} s"
    assert replayed.get("moved") == 0, "the spool replay waited for the lock"
    assert len(spool_files()) == 1
    # The lock gone, the statement's connection is usable again and the spool replays.
    assert post(port, sms_form("after the lock")).status_code == 200
    assert maintenance.run_once(get_settings())[0] == 1
    assert sorted(i["text"] for i in support.items()) == [
        "after the lock", "before the lock", "while the table is locked"]



@pytest.mark.usefixtures("postgres")
def test_a_server_that_stops_answering_spools_within_the_deadline(
        serve: Any, base_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    # A hung server or a network blackhole: connections stay open, nothing comes back.
    # Cancelling the query needs the server too, so psycopg's cancel would wait 10 s more;
    # the answer must still come well before Twilio's timeout, with the message spooled.
    url = make_url(base_env["AMIP_DATABASE_URL"])
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    proxy.start()
    monkeypatch.setenv("AMIP_DATABASE_URL",
                       url.set(host="127.0.0.1", port=proxy.port).render_as_string(False))
    monkeypatch.setenv("AMIP_DB_STATEMENT_TIMEOUT_SECONDS", "1")
    try:
        port = serve()
        assert post(port, sms_form("before the freeze")).status_code == 200
        proxy.freeze()
        started = time.monotonic()
        r = post(port, sms_form("while the server is silent"))
        waited = time.monotonic() - started
        proxy.thaw()
        assert r.status_code == 200
        assert waited < 4, f"answered after {waited:.1f} s"
        assert len(spool_files()) == 1
        assert post(port, sms_form("after the thaw")).status_code == 200
        assert len(spool_files()) == 1
    finally:
        proxy.thaw()
        proxy.stop()
        monkeypatch.undo()
        support.reset_caches()
    from gateway import maintenance
    from gateway.settings import get_settings

    assert maintenance.run_once(get_settings())[0] == 1
    assert sorted(i["text"] for i in support.items()) == [
        "after the thaw", "before the freeze", "while the server is silent"]


@contextmanager
def read_only_database() -> Iterator[None]:
    """The test database set read-only (new sessions), as a standby after a failover is."""
    from sqlalchemy import create_engine

    from gateway.settings import get_settings

    target = make_url(get_settings().resolved_database_url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")

    def read_only(on: bool) -> None:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{target.database}" '
                              f"SET default_transaction_read_only = {'on' if on else 'off'}"))

    read_only(True)
    try:
        yield
    finally:
        read_only(False)
        admin.dispose()


@pytest.mark.usefixtures("postgres")
def test_a_read_only_server_spools_instead_of_answering_500(serve: Any) -> None:
    # After a failover the address can reach a server that is (still) a standby, or an
    # operator sets the database read-only for maintenance: every insert fails with
    # "cannot execute INSERT in a read-only transaction". That is the database being
    # unavailable for writes, not a bug in the message: spool it and answer 200.
    with read_only_database():
        port = serve()
        r = post(port, sms_form("during the failover"))
    assert r.status_code == 200
    assert len(spool_files()) == 1
    from gateway import maintenance
    from gateway.settings import get_settings

    assert maintenance.run_once(get_settings())[0] == 1
    assert [i["text"] for i in support.items()] == ["during the failover"]


def test_a_new_number_whose_pseudonym_is_taken_is_still_stored(
        base_env: dict[str, str]) -> None:
    # Pseudonyms are 50 bits of an HMAC: two numbers sharing one is rare but certain to
    # happen eventually. That participant's messages must still be stored (not a 500).
    from fastapi.testclient import TestClient

    from gateway.app import create_app
    from gateway.contacts.crypto import get_vault, to_e164
    from gateway.db import unit_of_work

    vault = get_vault()
    with unit_of_work() as session:  # another number that happens to own the pseudonym
        session.add(Contact(phone_hash="0" * 64, phone_encrypted=vault.encrypt("+93799999999"),
                            pseudonym=vault.pseudonym(to_e164("+93701234567")), area_code=None))
    with TestClient(create_app(background=False), raise_server_exceptions=False) as http:
        r = support.SignedClient(http).post("/twilio/sms", sms_form("my first message"))
    assert r.status_code == 200
    assert [i["text"] for i in support.items()] == ["my first message"]
    with unit_of_work() as session:  # both contacts keep distinct pseudonyms
        pseudonyms = session.scalars(select(Contact.pseudonym)).all()
    assert len(pseudonyms) == len(set(pseudonyms)) == 2


@pytest.mark.usefixtures("postgres")
def test_a_keyword_waiting_for_the_database_does_not_stall_other_messages(serve: Any) -> None:
    # The webhook is async: a keyword's reply-language look-up (an ORM session) must not run
    # on the event loop. With the ORM pool busy (console and report requests hold every
    # connection), one participant's JOIN would freeze every other webhook of the process
    # until a connection frees up, past Twilio's timeout.
    port = serve()
    from gateway.db import get_engine

    engine = get_engine()
    busy = engine.pool.size() + engine.pool._max_overflow  # type: ignore[attr-defined]
    held = [engine.connect() for _ in range(busy)]
    answers: dict[str, float] = {}

    def timed_post(name: str, body: str) -> None:
        started = time.monotonic()
        if post(port, sms_form(body, sender="+93701230000")).status_code == 200:
            answers[name] = time.monotonic() - started

    keyword = threading.Thread(target=timed_post, args=("keyword", "JOIN"))
    plain = threading.Thread(target=timed_post, args=("plain", "a plain message meanwhile"))
    try:
        keyword.start()
        time.sleep(0.3)  # the keyword is waiting for an ORM connection now
        plain.start()
        plain.join(4)
    finally:
        for conn in held:
            conn.close()
    keyword.join(TWILIO_TIMEOUT_SECONDS)
    plain.join(TWILIO_TIMEOUT_SECONDS)
    assert answers.get("plain", 99) < 2, f"a plain message was answered after {answers}"
    assert "keyword" in answers
    assert sorted(i["text"] for i in support.items()) == ["JOIN", "a plain message meanwhile"]


@pytest.mark.usefixtures("postgres")
def test_spool_replay_waits_out_a_read_only_server_instead_of_failing_the_pass(
        serve: Any) -> None:
    # The webhook spools while the server is read-only (above); the maintenance pass that
    # replays the spool then met the same "read-only transaction" error as a crash: a
    # traceback every interval, the stuck-item sweep and the outbound sweep skipped with
    # it, and `amip sweep` dying. It must wait, like for a server that is down.
    from gateway import maintenance
    from gateway.settings import get_settings

    port = serve()
    with read_only_database():
        assert post(port, sms_form("kept through the maintenance")).status_code == 200
        support.reset_caches()  # the replay's connections are opened read-only too
        assert maintenance.run_once(get_settings()) == (0, 0)
        assert len(spool_files()) == 1
    support.reset_caches()
    assert maintenance.run_once(get_settings())[0] == 1
    assert [i["text"] for i in support.items()] == ["kept through the maintenance"]
