"""A worker killed in the middle of a bulletin: every subscriber still gets it exactly once
(counted on the loopback Twilio server), issue 5."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.db import unit_of_work
from gateway.outbound import bulletins
from gateway.outbound.models import Delivery
from gateway.outbound.sending import sweep
from gateway.settings import get_settings
from gateway.simulator.twilio_rest import FakeTwilio
from tests import support
from tests.test_outbound_bulletins import add_subscribers, approved, fake_env, number

SUBSCRIBERS = 40


def test_worker_killed_after_half_a_bulletin(monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    fake = FakeTwilio(support.ACCOUNT_SID, support.AUTH_TOKEN, latency=0.02,
                      callbacks=False).start()
    try:
        fake_env(monkeypatch, fake, AMIP_OUTBOUND_SEGMENTS_PER_SECOND="10",
                 AMIP_OUTBOUND_LEASE_SECONDS="1")
        add_subscribers(SUBSCRIBERS)
        bulletin_id = approved()
        with support.worker_process("outbound", log=tmp_path / "worker.log") as worker:
            with unit_of_work() as session:
                bulletins.send(session, bulletin_id)
            deadline = time.monotonic() + 60
            while len(fake.received) < SUBSCRIBERS // 2 and time.monotonic() < deadline:
                assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-2000:]
                time.sleep(0.02)
            support.kill_tree(worker.pid)  # the worker and its work-horse, mid-send
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
