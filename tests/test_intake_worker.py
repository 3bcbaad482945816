"""An intake worker killed in the middle of a job: the message is processed exactly once by
another worker once the dead one's heartbeat has run out (~90 s), not after RQ's ten-minute
maintenance, and never while the first worker is still alive."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer
from sqlalchemy import update

from gateway.db import get_engine
from gateway.intake.models import Item
from gateway.intake.service import intake_job_id, requeue_stuck
from gateway.queue import background_sender, get_redis
from gateway.settings import get_settings, reset_settings_cache
from tests import support

# RQ renews a running job's heartbeat for 90 s (job_monitoring_interval 30 s + 60 s).
HEARTBEAT_RUN_OUT = 91


@contextmanager
def row_locked(item_id: int) -> Iterator[None]:
    """Hold a write lock on the item's row: the job's status UPDATE waits on it (PostgreSQL:
    the row; SQLite: the database), so the worker is mid-job when it is killed."""
    with get_engine().connect() as conn:
        trans = conn.begin()
        conn.execute(update(Item).where(Item.id == item_id).values(status=Item.status))
        try:
            yield
        finally:
            trans.rollback()


def wait_for(predicate: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def let_redis_keys_expire(seconds: float) -> None:
    """Do to Redis what ``seconds`` of waiting would: drop every key that expires by then
    (the dead worker's heartbeat-bound keys). Sorted-set scores are the caller's ``at``."""
    connection = get_redis()
    for key in connection.scan_iter():
        if 0 <= connection.pttl(key) <= seconds * 1000:
            connection.delete(key)


def job_status(item_id: int) -> JobStatus:
    job = Job.fetch(intake_job_id(item_id), connection=get_redis(), serializer=JSONSerializer)
    return job.get_status()


@pytest.mark.parametrize("retries", ["0", "5"])
def test_a_message_whose_worker_was_killed_mid_job_is_processed_once_by_another(
        client: support.SignedClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        retries: str) -> None:
    monkeypatch.setenv("AMIP_JOB_RETRIES", retries)
    reset_settings_cache()
    assert client.post("/twilio/sms", support.sms_form("سلام، از هرات می‌نویسم")).status_code == 200
    assert background_sender.flush(10)
    [item] = support.items()
    settings = get_settings()

    with row_locked(item["id"]), support.worker_process(
            "intake", log=tmp_path / "first.log") as worker:
        wait_for(lambda: job_status(item["id"]) == JobStatus.STARTED)
        time.sleep(0.5)  # the job is waiting on the lock now
        assert requeue_stuck(settings) == 0  # a live worker's job is left alone
        support.kill_tree(worker.pid)
    assert job_status(item["id"]) == JobStatus.STARTED  # orphaned, as after an OOM kill
    [item] = support.items()
    assert item["status"] == "received"
    # Within the heartbeat the dead worker cannot be told from a slow one: nothing is sent.
    assert requeue_stuck(settings) == 0
    assert job_status(item["id"]) == JobStatus.STARTED

    # Once it has run out, the next sweep sends the job again at once (no waiting for RQ's
    # scheduler, which the dead worker may have been running), whatever retries are left.
    let_redis_keys_expire(HEARTBEAT_RUN_OUT)
    assert requeue_stuck(settings, reap_at=time.time() + HEARTBEAT_RUN_OUT) == 1
    assert job_status(item["id"]) == JobStatus.QUEUED
    with support.worker_process("intake", log=tmp_path / "second.log"):
        wait_for(lambda: support.items()[0]["status"] == "queued")
        wait_for(lambda: job_status(item["id"]) == JobStatus.FINISHED)
    [item] = support.items()
    assert (item["language"], item["province"]) == ("fa", "AF32")
    # Processed once: a later sweep finds nothing stuck and sends nothing.
    assert requeue_stuck(settings, reap_at=time.time() + HEARTBEAT_RUN_OUT) == 0
