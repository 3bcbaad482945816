"""The send loop ("pump") of one bulletin in one worker process.

Exactly once, whatever dies when:

* a delivery is *claimed* (``status='claimed'``, ``claimed_by`` = this pump) in its own
  committed transaction before its request is made; only pending rows can be claimed, so
  two pumps never send the same row;
* each pump heartbeats in Redis; a claimed row whose pump has stopped heartbeating is an
  orphan: its request may or may not have reached Twilio, so it is *looked up* (messages
  to that number with that body since the claim) and either recorded or released;
* a create that fails ambiguously (timeout, reset, 5xx) is looked up the same way before
  it is ever retried; 429 backs off and retries; 21610 opts the contact out.

The rate is one Redis token bucket in segments per second shared by every pump.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from gateway.contacts.crypto import get_vault
from gateway.contacts.models import Contact
from gateway.db import is_postgres, unit_of_work
from gateway.outbound import bulletins
from gateway.outbound.delivery import record_accepted
from gateway.outbound.models import Bulletin, Delivery
from gateway.outbound.provider import OPTED_OUT, LookupUnavailable, Outcome, TwilioSender
from gateway.outbound.ratelimit import TokenBucket
from gateway.outbound.subscriptions import ACTIVE, opt_out
from gateway.queue import OUTBOUND, PendingJob, get_redis, send_job
from gateway.settings import Settings

log = logging.getLogger(__name__)

CLAIM_BATCH = 2
MAX_THROTTLED = 8
LOOKUP_GRACE_SECONDS = 1.0  # let an accepted message become visible before looking it up


def pumps_key(bulletin_id: int) -> str:
    return f"amip:outbound:pumps:{bulletin_id}"


def live_pumps(bulletin_id: int, lease: float) -> set[str]:
    conn = get_redis()
    members = conn.zrangebyscore(pumps_key(bulletin_id), time.time() - lease, "+inf")
    return {m.decode() if isinstance(m, bytes) else str(m) for m in members}


class Heartbeat:
    """Tells other pumps (and the sweeper) that this pump is alive."""

    def __init__(self, bulletin_id: int, pump: str, lease: float) -> None:
        self.key, self.pump, self.lease = pumps_key(bulletin_id), pump, lease
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="amip-heartbeat")

    def _beat(self) -> None:
        conn = get_redis()
        conn.zadd(self.key, {self.pump: time.time()})
        conn.expire(self.key, int(self.lease * 10) + 60)

    def _run(self) -> None:
        while not self._stop.wait(self.lease / 3):
            try:
                self._beat()
            except Exception:  # Redis blip: the next beat may succeed within the lease
                log.warning("heartbeat failed")

    def __enter__(self) -> Heartbeat:
        self._beat()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        try:
            get_redis().zrem(self.key, self.pump)
        except Exception:
            log.warning("heartbeat removal failed")


class Claimed(NamedTuple):
    id: int
    language: str
    segments: int
    claimed_at: datetime | None
    contact_id: int
    subscription: str
    phone_encrypted: bytes
    bulletin_status: str


@dataclass
class Pump:
    bulletin_id: int
    settings: Settings
    sender: TwilioSender
    bucket: TokenBucket
    pump: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    texts: dict[str, str] = field(default_factory=dict)
    sent: int = 0
    # SQLite has one writer: queue this pump's threads on a lock rather than in SQLite's
    # busy handler, whose back-off sleeps (up to 100 ms) would throttle the send rate.
    _sqlite_lock: threading.Lock = field(default_factory=threading.Lock)

    @contextmanager
    def tx(self) -> Iterator[Session]:
        if self.settings.resolved_database_url.startswith("sqlite"):
            with self._sqlite_lock, unit_of_work() as session:
                yield session
        else:
            with unit_of_work() as session:
                yield session

    # --- claiming -----------------------------------------------------------------------

    def claim(self, limit: int = CLAIM_BATCH) -> list[Claimed]:
        """Take up to ``limit`` pending rows of this bulletin for this pump (committed), with
        what sending them needs — read in the claim's transaction, i.e. at send time."""
        with self.tx() as session:
            pick = (select(Delivery.id).where(Delivery.bulletin_id == self.bulletin_id,
                                              Delivery.status == "pending")
                    .order_by(Delivery.id).limit(limit))
            if is_postgres(session):
                pick = pick.with_for_update(skip_locked=True)
            ids = list(session.execute(pick).scalars())
            if not ids:
                return []
            # The status condition makes the claim safe on SQLite too (no SKIP LOCKED).
            claimed = list(session.execute(update(Delivery).where(
                Delivery.id.in_(ids), Delivery.status == "pending").values(
                status="claimed", claimed_by=self.pump, claimed_at=datetime.now(UTC),
                attempts=Delivery.attempts + 1).returning(Delivery.id)).scalars())
            if not claimed:
                return []
            rows = session.execute(
                select(Delivery.id, Delivery.language, Delivery.segments, Delivery.claimed_at,
                       Contact.id, Contact.subscription, Contact.phone_encrypted,
                       Bulletin.status)
                .join(Contact, Contact.id == Delivery.contact_id)
                .join(Bulletin, Bulletin.id == Delivery.bulletin_id)
                .where(Delivery.id.in_(claimed)).order_by(Delivery.id)).all()
            return [Claimed(*row) for row in rows]

    # --- one message --------------------------------------------------------------------

    def send_one(self, row: Claimed) -> None:
        if row.bulletin_status != "sending":
            self.finish(row.id, "cancelled")
            return
        if row.subscription != ACTIVE:  # opted out since the fan-out: never send
            self.finish(row.id, "skipped")
            return
        to, body = get_vault().decrypt(row.phone_encrypted), self.texts[row.language]
        outcome = self.deliver(to, body, row.segments, row.claimed_at or datetime.now(UTC))
        self.record(row.id, row.contact_id, outcome)

    def deliver(self, to: str, body: str, segments: int, since: datetime) -> Outcome | None:
        """Create the message; None means "not known whether Twilio has it"."""
        throttled = 0
        while True:
            self.bucket.acquire(segments)
            outcome = self.sender.create(to, body)
            if outcome.kind == "throttled" and throttled < MAX_THROTTLED:
                throttled += 1
                time.sleep(min(8.0, 0.25 * 2 ** throttled) * (0.5 + random.random()))
                continue
            if outcome.kind != "ambiguous":
                return outcome
            # It may have been accepted: look before sending again (never blindly resend).
            time.sleep(LOOKUP_GRACE_SECONDS)
            try:
                found = self.sender.find(to, body, since)
            except LookupUnavailable:
                return None
            if found is not None:
                return found

    def record(self, delivery_id: int, contact_id: int, outcome: Outcome | None) -> None:
        if outcome is None:
            self.finish(delivery_id, "unknown")
        elif outcome.kind == "accepted" and outcome.sid:
            with self.tx() as session:
                record_accepted(session, delivery_id=delivery_id, owner=self.pump,
                                sid=outcome.sid, status=outcome.status)
            self.sent += 1
        elif outcome.kind == "throttled":
            self.finish(delivery_id, "pending")  # try again later, still exactly once
        else:
            with self.tx() as session:
                if outcome.error_code == OPTED_OUT:
                    opt_out(session, contact_id)
                self._set(session, delivery_id, "rejected", error_code=outcome.error_code)

    def finish(self, delivery_id: int, state: str) -> None:
        with self.tx() as session:
            self._set(session, delivery_id, state)

    def _set(self, session: Session, delivery_id: int, state: str, *,
             error_code: int | None = None) -> None:
        values: dict[str, object] = {"status": state, "updated_at": datetime.now(UTC)}
        if error_code is not None:
            values["error_code"] = error_code
        if state == "pending":
            values["claimed_by"] = None  # released: any pump may claim it again
        session.execute(update(Delivery).where(
            Delivery.id == delivery_id, Delivery.claimed_by == self.pump,
            Delivery.status.in_(("claimed", "unknown"))).values(**values))

    # --- orphans ------------------------------------------------------------------------

    def recover(self) -> tuple[int, int]:
        """Resolve rows of dead pumps and unknown rows: (recovered, still held by others)."""
        live = live_pumps(self.bulletin_id, self.settings.outbound_lease_seconds) | {self.pump}
        with self.tx() as session:
            rows = session.execute(select(Delivery.id, Delivery.claimed_by, Delivery.status)
                                   .where(Delivery.bulletin_id == self.bulletin_id,
                                          Delivery.status.in_(("claimed", "unknown")))).all()
        held = sum(1 for _, owner, st in rows if st == "claimed" and owner in live
                   and owner != self.pump)
        orphans = [(i, owner) for i, owner, st in rows if owner not in live or st == "unknown"]
        recovered = sum(self.reconcile(i, owner) for i, owner in orphans)
        return recovered, held

    def reconcile(self, delivery_id: int, owner: str | None) -> bool:
        """Take an orphan over, look it up at Twilio; record it or release it to pending."""
        with self.tx() as session:
            taken = session.execute(update(Delivery).where(
                Delivery.id == delivery_id, Delivery.claimed_by == owner,
                Delivery.status.in_(("claimed", "unknown"))).values(
                claimed_by=self.pump, status="unknown").returning(
                Delivery.claimed_at, Delivery.contact_id, Delivery.language)).first()
            if taken is None:
                return False
            claimed_at, contact_id, language = taken
            encrypted = session.get(Contact, contact_id).phone_encrypted  # type: ignore[union-attr]
        try:
            found = self.sender.find(get_vault().decrypt(encrypted), self.texts[language],
                                     claimed_at or datetime.now(UTC))
        except LookupUnavailable:
            return False  # stays unknown; looked up again on the next pass
        if found is not None:
            self.record(delivery_id, contact_id, found)
        else:
            self.finish(delivery_id, "pending")
        return True

    # --- the loop -----------------------------------------------------------------------

    def work(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            ids = self.claim()
            if not ids:
                return
            for row in ids:
                try:
                    self.send_one(row)
                except Exception:  # one bad row must not stop the bulletin
                    log.exception("delivery failed", extra={"delivery_id": row.id})
                    self.finish(row.id, "unknown")

    def run(self) -> int:
        """Send until nothing of the bulletin is left; returns how many this pump sent."""
        with self.tx() as session:
            bulletin = session.get(Bulletin, self.bulletin_id)
            if bulletin is None or bulletin.status != "sending":
                return 0
            self.texts = dict(bulletin.texts)
            has_rows = session.execute(select(func.count()).select_from(Delivery).where(
                Delivery.bulletin_id == self.bulletin_id)).scalar_one()
            if not has_rows:
                bulletins.fan_out(session, bulletin)
        lease = self.settings.outbound_lease_seconds
        # RQ kills a job after its timeout: a pump works for a slice, then hands over to a
        # fresh job (same exactly-once rules), so any bulletin size fits any job timeout.
        deadline = time.monotonic() + self.settings.outbound_slice_seconds
        with Heartbeat(self.bulletin_id, self.pump, lease):
            while True:
                threads = self.settings.outbound_concurrency
                with ThreadPoolExecutor(threads, thread_name_prefix="amip-send") as pool:
                    for _ in range(threads):
                        pool.submit(self.work, deadline)
                if time.monotonic() >= deadline:
                    self.continue_later()
                    return self.sent
                recovered, held = self.recover()
                if recovered:
                    continue  # released rows are pending again
                if held:
                    time.sleep(lease / 3)  # another live pump is finishing its rows
                    continue
                break
        self.close_if_done()
        return self.sent

    def continue_later(self) -> None:
        send_job(PendingJob(OUTBOUND, bulletins.PUMP_JOB, (self.bulletin_id,),
                            f"outbound-{self.bulletin_id}-{self.pump}-next"))

    def close_if_done(self) -> None:
        with self.tx() as session:
            open_rows = session.execute(select(func.count()).select_from(Delivery).where(
                Delivery.bulletin_id == self.bulletin_id,
                Delivery.status.in_(("pending", "claimed", "unknown")))).scalar_one()
            if not open_rows:
                session.execute(update(Bulletin).where(
                    Bulletin.id == self.bulletin_id, Bulletin.status == "sending").values(
                    status="sent", finished_at=datetime.now(UTC)))


def send_bulletin(bulletin_id: int, settings: Settings,
                  sender: TwilioSender | None = None) -> int:
    """Run one pump for a bulletin (an RQ job calls this)."""
    pump = Pump(bulletin_id, settings, sender or TwilioSender(settings),
                TokenBucket(get_redis(), settings.outbound_segments_per_second,
                            burst_seconds=settings.outbound_burst_seconds))
    return pump.run()


def sweep(settings: Settings) -> int:
    """Start due scheduled bulletins, apply parked callbacks, restart bulletins whose pumps
    all died (worker killed); returns how many pump jobs were enqueued."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job, JobStatus
    from rq.serializers import JSONSerializer

    from gateway.outbound.delivery import apply_all_parked

    with unit_of_work() as session:
        for bulletin in bulletins.due_scheduled(session, datetime.now(UTC)):
            bulletins.start(session, bulletin)
    with unit_of_work() as session:
        apply_all_parked(session)
        sending = list(session.execute(select(Bulletin.id).where(
            Bulletin.status == "sending")).scalars())
    conn, started = get_redis(), 0
    for bulletin_id in sending:
        if live_pumps(bulletin_id, settings.outbound_lease_seconds):
            continue
        marker = f"amip:outbound:sweepjob:{bulletin_id}"
        last = conn.get(marker)
        if last:
            try:
                job = Job.fetch(last.decode() if isinstance(last, bytes) else str(last),
                                connection=conn, serializer=JSONSerializer)
                if job.get_status() in (JobStatus.QUEUED, JobStatus.SCHEDULED,
                                        JobStatus.DEFERRED):
                    continue  # a restart is already waiting for a worker
            except NoSuchJobError:
                pass
        job_id = f"outbound-{bulletin_id}-sweep-{conn.incr(marker + ':n')}"
        if send_job(PendingJob(OUTBOUND, bulletins.PUMP_JOB, (bulletin_id,), job_id)):
            conn.set(marker, job_id, ex=7 * 24 * 3600)
            started += 1
    return started
