"""Database stopped during a stream of webhooks: every message exactly once afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from gateway.intake.models import Item
from tests import support
from tests.outage import SqliteLock, TcpProxy
from tests.support import SignedClient, sms_form


@pytest.fixture()
def outage(base_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    url = make_url(base_env["AMIP_DATABASE_URL"])
    if url.get_backend_name() == "postgresql":
        proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
        proxy.start()
        monkeypatch.setenv("AMIP_DATABASE_URL",
                           url.set(host="127.0.0.1", port=proxy.port).render_as_string(False))
        switch: Any = proxy
    else:
        monkeypatch.setenv("AMIP_SQLITE_BUSY_TIMEOUT_MS", "200")
        switch = SqliteLock(str(url.database))
    support.reset_caches()
    yield switch
    switch.start()
    monkeypatch.undo()
    support.reset_caches()


def stored_sids() -> list[str]:
    from gateway.db import unit_of_work

    with unit_of_work() as session:
        return list(session.execute(select(Item.external_id)).scalars())


def test_database_outage_loses_nothing_and_duplicates_nothing(outage: Any) -> None:
    from fastapi.testclient import TestClient

    from gateway import maintenance
    from gateway.app import create_app
    from gateway.settings import get_settings

    forms = [sms_form(f"message {i} from Kabul") for i in range(15)]
    with TestClient(create_app(background=False)) as http:
        client = SignedClient(http)
        for form in forms[:5]:
            assert client.post("/twilio/sms", form).status_code == 200
        outage.stop()
        for form in forms[5:10]:
            assert client.post("/twilio/sms", form).status_code == 200
        # Twilio retries one of them while the database is still down.
        assert client.post("/twilio/sms", forms[7]).status_code == 200
        spool_files = list(get_settings().spool_dir.glob("*.spool"))
        assert len(spool_files) == 6
        for path in spool_files:  # encrypted at rest: no number, no text
            raw = path.read_bytes()
            assert b"message" not in raw and b"701234567" not in raw
        outage.start()
        moved, _ = maintenance.run_once(get_settings())
        assert moved == 6
        for form in forms[10:]:
            assert client.post("/twilio/sms", form).status_code == 200
        assert client.post("/twilio/sms", forms[8]).status_code == 200  # late retry
    sids = stored_sids()
    assert sorted(sids) == sorted({dict(f)["MessageSid"] for f in forms})
    assert not list(get_settings().spool_dir.glob("*.spool"))
    support.run_jobs()
    assert all(i["status"] == "queued" for i in support.items())
    from gateway.db import unit_of_work

    with unit_of_work() as session:
        assert session.execute(select(func.count(Item.id))).scalar_one() == 15


def test_connections_killed_by_a_database_restart_are_replaced_not_spooled(
        base_env: dict[str, str]) -> None:
    # The webhook's PostgreSQL connections are not pinged before use (a round trip per
    # request). After a restart every pooled connection is dead: the first statement on one
    # fails, the pool is invalidated, and the statement runs again on a fresh connection.
    if make_url(base_env["AMIP_DATABASE_URL"]).get_backend_name() != "postgresql":
        pytest.skip("the single-statement path and its connection pool are PostgreSQL's")
    from fastapi.testclient import TestClient
    from sqlalchemy import text

    from gateway.app import create_app
    from gateway.db import get_engine
    from gateway.settings import get_settings

    with TestClient(create_app(background=False)) as http:
        client = SignedClient(http)
        assert client.post("/twilio/sms", sms_form("before the restart")).status_code == 200
        with get_engine().connect() as conn:  # what a restart does to every other backend
            killed = conn.execute(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar_one()
        assert killed >= 1
        assert client.post("/twilio/sms", sms_form("after the restart")).status_code == 200
    assert not list(get_settings().spool_dir.glob("*.spool"))
    assert sorted(i["text"] for i in support.items()) == ["after the restart",
                                                           "before the restart"]


def test_a_restarted_gateway_replays_its_spool_at_once(
        outage: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # The gateway spooled messages during an outage and was then restarted (a deploy, a
    # crash). Its maintenance pass must not wait a whole interval before moving them into
    # the database: coordinators would see them that much later.
    import time

    from fastapi.testclient import TestClient

    from gateway.app import create_app
    from gateway.settings import get_settings

    forms = [sms_form(f"spooled before the restart {i}") for i in range(3)]
    with TestClient(create_app(background=False)) as http:
        outage.stop()
        for form in forms:
            assert SignedClient(http).post("/twilio/sms", form).status_code == 200
    assert len(list(get_settings().spool_dir.glob("*.spool"))) == 3
    outage.start()
    monkeypatch.setenv("AMIP_MAINTENANCE_INTERVAL_SECONDS", "3600")
    support.reset_caches()
    with TestClient(create_app(background=True)):
        deadline = time.monotonic() + 10
        while len(stored_sids()) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert sorted(stored_sids()) == sorted(dict(f)["MessageSid"] for f in forms)
    assert not list(get_settings().spool_dir.glob("*.spool"))
