"""Background upkeep in each gateway process: replay the spool, re-enqueue stuck items."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar

import redis

from gateway.contacts.crypto import get_vault
from gateway.intake import service
from gateway.outbound.sending import sweep as outbound_sweep
from gateway.settings import Settings
from gateway.voice.service import requeue_stuck_recordings

log = logging.getLogger(__name__)
T = TypeVar("T")


class PassIncomplete(RuntimeError):
    """One or more steps of a maintenance pass failed (each logged); ``errors`` in order."""

    def __init__(self, errors: list[tuple[str, Exception]]) -> None:
        super().__init__("maintenance steps failed: " + ", ".join(name for name, _ in errors))
        self.errors = errors


def run_once(settings: Settings) -> tuple[int, int]:
    """One pass; returns (spooled messages moved, stuck items re-enqueued).

    Each step runs even when an earlier one failed: a spool file that breaks the replay must
    not also stop stuck items being re-sent and scheduled bulletins going out (it did, for
    every pass, until the file was removed). A failed step is logged; ``PassIncomplete``
    is raised after the last step.
    """
    failed: list[tuple[str, Exception]] = []
    moved = _step("spool replay", failed, lambda: service.replay_spool(settings, get_vault()))
    requeued = _step("stuck items", failed, lambda: _requeue_stuck(settings))
    _step("outbound sweep", failed, lambda: outbound_sweep(settings))  # bulletins, callbacks
    if failed:
        raise PassIncomplete(failed)
    return moved, requeued


def _requeue_stuck(settings: Settings) -> int:
    try:
        requeued = service.requeue_stuck(settings)
        requeued += requeue_stuck_recordings(settings)  # voicemail fetch / transcription
    except service.DB_UNAVAILABLE:
        return 0  # the database is down: the next pass retries
    if requeued:
        log.info("stuck items re-enqueued", extra={"count": requeued})
    return requeued


def _step(name: str, failed: list[tuple[str, Exception]], run: Callable[[], T]) -> T | int:
    try:
        return run()
    except (*service.DB_UNAVAILABLE, redis.ConnectionError, redis.TimeoutError) as exc:
        # A service that is down is an outage, not a bug: one line, no traceback.
        log.warning("maintenance step skipped: a service is unavailable",
                    extra={"step": name, "error": type(exc).__name__})
        failed.append((name, exc))
    except Exception as exc:
        log.exception("maintenance step failed", extra={"step": name})
        failed.append((name, exc))
    return 0


def start(settings: Settings) -> threading.Event:
    """Run ``run_once`` now and then every interval in a daemon thread; set the event to
    stop it.

    The first pass runs at once: a gateway restarted after an outage replays its spool
    without waiting an interval, and the first pass's one-off costs (imports, compiling the
    ORM's queries, ~0.1 s) fall on start-up rather than on webhooks being answered.
    """
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                run_once(settings)
            except PassIncomplete:
                pass  # each failed step is logged; the next pass retries
            except Exception:  # a failed pass must not kill the loop; the next one retries
                log.exception("maintenance pass failed")
            stop.wait(settings.maintenance_interval_seconds)

    threading.Thread(target=loop, name="amip-maintenance", daemon=True).start()
    return stop
