"""Background upkeep in each gateway process: replay the spool, re-enqueue stuck items."""

from __future__ import annotations

import logging
import threading

from gateway.contacts.crypto import get_vault
from gateway.intake import service
from gateway.outbound.sending import sweep as outbound_sweep
from gateway.settings import Settings
from gateway.voice.service import requeue_stuck_recordings

log = logging.getLogger(__name__)


def run_once(settings: Settings) -> tuple[int, int]:
    """One pass; returns (spooled messages moved, stuck items re-enqueued)."""
    moved = service.replay_spool(settings, get_vault())
    try:
        requeued = service.requeue_stuck(settings)
        requeued += requeue_stuck_recordings(settings)  # voicemail fetch / transcription
    except service.DB_UNAVAILABLE:
        requeued = 0
    if requeued:
        log.info("stuck items re-enqueued", extra={"count": requeued})
    outbound_sweep(settings)  # scheduled bulletins, parked callbacks, dead senders
    return moved, requeued


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
            except Exception:  # a failed pass must not kill the loop; the next one retries
                log.exception("maintenance pass failed")
            stop.wait(settings.maintenance_interval_seconds)

    threading.Thread(target=loop, name="amip-maintenance", daemon=True).start()
    return stop
