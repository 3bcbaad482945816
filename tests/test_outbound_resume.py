"""A worker killed in the middle of a bulletin: every subscriber still gets it exactly once
(counted on the loopback Twilio server), issue 5."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.db import unit_of_work
from gateway.outbound import bulletins
from gateway.outbound.models import Delivery
from gateway.outbound.sending import sweep
from gateway.queue import redis_url
from gateway.settings import get_settings
from gateway.simulator.twilio_rest import FakeTwilio
from tests import support
from tests.test_outbound_bulletins import add_subscribers, approved, fake_env, number

ROOT = Path(__file__).resolve().parent.parent
SUBSCRIBERS = 40


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


def test_worker_killed_after_half_a_bulletin(monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    fake = FakeTwilio(support.ACCOUNT_SID, support.AUTH_TOKEN, latency=0.02,
                      callbacks=False).start()
    try:
        fake_env(monkeypatch, fake, AMIP_OUTBOUND_SEGMENTS_PER_SECOND="10",
                 AMIP_OUTBOUND_LEASE_SECONDS="1")
        add_subscribers(SUBSCRIBERS)
        bulletin_id = approved()
        worker = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "worker", "--queues", "outbound"],
            cwd=ROOT, env=dict(os.environ, AMIP_REDIS_URL=redis_url()),
            stdout=subprocess.DEVNULL, stderr=(tmp_path / "worker.log").open("w"),
            start_new_session=True)
        try:
            with unit_of_work() as session:
                bulletins.send(session, bulletin_id)
            deadline = time.monotonic() + 60
            while len(fake.received) < SUBSCRIBERS // 2 and time.monotonic() < deadline:
                assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-2000:]
                time.sleep(0.02)
        finally:
            kill_tree(worker.pid)  # the worker and its work-horse, mid-send
            worker.wait()
        sent_before = len(fake.received)
        assert SUBSCRIBERS // 2 <= sent_before < SUBSCRIBERS
        time.sleep(1.2)  # the dead sender's lease runs out
        assert sweep(get_settings()) == 1  # the sweeper sees nobody sending it
        support.run_jobs(("outbound",))
        assert fake.received_by() == {number(n): 1 for n in range(1, SUBSCRIBERS + 1)}
        with unit_of_work() as session:
            assert bulletins.status(session, bulletin_id)["status"] == "sent"
            sids = session.execute(select(Delivery.message_sid)).scalars().all()
        assert sorted(sids) == sorted(r["sid"] for r in fake.received)
    finally:
        fake.stop()
