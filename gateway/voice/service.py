"""Voice services: keypad state per call, and recordings that become intake items.

Like the intake services these only flush; the route or job owns the transaction, so a
2xx goes back to Twilio only after the call state or recording is committed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gateway.contacts.crypto import Vault
from gateway.contacts.service import get_or_create_contact
from gateway.db import insert_ignore, unit_of_work
from gateway.errors import AppError
from gateway.intake.models import Item
from gateway.intake.service import PROCESS_JOB, intake_job_id
from gateway.intake.states import ItemStatus
from gateway.queue import INTAKE, MEDIA, STT, PendingJob, enqueue_after_commit, get_redis, send_job
from gateway.settings import Settings
from gateway.voice import ivr
from gateway.voice.models import Call, Recording, Transcript

log = logging.getLogger(__name__)
FETCH_JOB = "workers.media.fetch_recording"
TRANSCRIBE_JOB = "workers.stt.transcribe"
PENDING = "pending"


@dataclass(frozen=True)
class CallerId:
    call_sid: str
    from_number: str


def media_job_id(recording_id: int) -> str:
    return f"media-{recording_id}"


def stt_job_id(recording_id: int) -> str:
    return f"stt-{recording_id}"


def get_or_start_call(session: Session, caller: CallerId, *, vault: Vault, settings: Settings,
                      now: datetime) -> tuple[Call, bool]:
    """The call row for this CallSid, created on first sight; returns (call, created)."""
    contact = get_or_create_contact(session, vault=vault, raw_number=caller.from_number,
                                    region=settings.default_region)
    row = session.execute(insert_ignore(session, Call).values(
        call_sid=caller.call_sid, contact_id=contact.id, step=ivr.LANGUAGE, tries=0,
        language=settings.default_language, language_chosen=False, status="in-progress",
        started_at=now, updated_at=now,
    ).returning(Call.id)).first()
    call = session.execute(select(Call).where(Call.call_sid == caller.call_sid)).scalar_one()
    return call, row is not None


def answer_menu(session: Session, call: Call, step: str, digits: str | None, *,
                settings: Settings, now: datetime) -> ivr.Twiml:
    """Apply one keypad answer to the call and return the next step's TwiML."""
    if step != call.step:  # a stale or replayed request: just say where the call is now
        return _render(call, settings)
    options = _option_count(call, settings)
    choice = ivr.parse_choice(digits, options, skippable=step in (ivr.HUB, ivr.PROVINCE))
    if choice.index is None and not choice.skip:
        call.tries += 1
        call.updated_at = now
        if call.tries < ivr.MAX_TRIES:
            session.flush()
            return _render(call, settings, invalid=choice.invalid)
        _apply_default(call)
    else:
        _apply_choice(call, settings, choice)
    call.tries = 0
    call.updated_at = now
    session.flush()
    return _render(call, settings)


def _option_count(call: Call, settings: Settings) -> int:
    if call.step == ivr.LANGUAGE:
        return len(ivr.languages(settings))
    if call.step == ivr.HUB:
        return len(ivr.hub_codes())
    return len(ivr.provinces_of(call.hub or ""))


def _apply_choice(call: Call, settings: Settings, choice: ivr.Choice) -> None:
    if call.step == ivr.LANGUAGE and choice.index is not None:
        call.language = ivr.languages(settings)[choice.index]
        call.language_chosen = True
        call.step = ivr.HUB
    elif call.step == ivr.HUB:
        call.hub = None if choice.skip else ivr.hub_codes()[choice.index or 0]
        call.step = ivr.RECORD if choice.skip else ivr.PROVINCE
    elif call.step == ivr.PROVINCE:
        call.province = None if choice.skip else ivr.provinces_of(call.hub or "")[choice.index or 0]
        call.step = ivr.RECORD


def _apply_default(call: Call) -> None:
    # The safe defaults: Dari (the configured default language, already set), unrouted.
    call.step = ivr.HUB if call.step == ivr.LANGUAGE else ivr.RECORD


def _render(call: Call, settings: Settings, *, invalid: bool = False) -> ivr.Twiml:
    return ivr.menu(settings, step=call.step, language=call.language or "fa", hub=call.hub,
                    invalid=invalid)


def finish_call(session: Session, call: Call, *, now: datetime) -> None:
    call.step = ivr.DONE
    call.updated_at = now
    session.flush()


def mark_call_status(session: Session, call_sid: str, status: str, *, now: datetime) -> None:
    """Record how the call ended; the keypad choices made so far are kept."""
    session.execute(update(Call).where(Call.call_sid == call_sid).values(
        status=status[:16], updated_at=now))


@dataclass(frozen=True)
class RecordingEvent:
    call_sid: str
    recording_sid: str
    url: str
    duration_seconds: int | None


def accept_recording(session: Session, event: RecordingEvent, *,
                     now: datetime) -> tuple[int, bool]:
    """One recording row and one voice item per RecordingSid; jobs go out after commit."""
    call = session.execute(select(Call).where(Call.call_sid == event.call_sid)).scalar_one_or_none()
    if call is None:
        raise AppError(404, "unknown call")
    row = session.execute(insert_ignore(session, Recording).values(
        recording_sid=event.recording_sid, call_id=call.id, media_url=event.url[:512],
        duration_seconds=event.duration_seconds, status=PENDING, created_at=now,
    ).returning(Recording.id)).first()
    if row is None:
        existing = session.execute(select(Recording.id).where(
            Recording.recording_sid == event.recording_sid)).scalar_one()
        return existing, False
    meta = {"ivr_language": call.language if call.language_chosen else None,
            "ivr_default_language": None if call.language_chosen else call.language,
            "ivr_province": call.province, "ivr_hub": call.hub,
            "transcript_status": PENDING, "audio": None, "recording_id": row.id,
            "duration_seconds": event.duration_seconds}
    item_id = session.execute(insert_ignore(session, Item).values(
        channel="voice", provider="twilio", external_id=event.recording_sid,
        contact_id=call.contact_id, raw_text="", meta=meta,
        language=call.language, status=ItemStatus.RECEIVED.value, received_at=now,
    ).returning(Item.id)).scalar_one()
    session.execute(update(Recording).where(Recording.id == row.id).values(item_id=item_id))
    # Routed and listed at once on the keypad's choices; the transcript refines it later.
    enqueue_after_commit(session, INTAKE, PROCESS_JOB, item_id, job_id=intake_job_id(item_id))
    enqueue_after_commit(session, MEDIA, FETCH_JOB, row.id, job_id=media_job_id(row.id))
    return row.id, True


def set_item_meta(session: Session, item_id: int | None, **values: object) -> None:
    """Merge values into a voice item's meta (a new dict: JSON columns track assignment)."""
    if item_id is None:
        return
    item = session.get(Item, item_id)
    if item is not None:
        item.meta = {**(item.meta or {}), **values}
        session.flush()


def requeue_stuck_recordings(settings: Settings, *, older_than: timedelta | None = None,
                             abandoned_after: timedelta | None = None) -> int:
    """Re-send fetch and STT jobs for recordings that stopped half-way (Redis down, a
    worker killed mid-job); a job still running within its timeout is left alone."""
    # RQ itself kills a work-horse at timeout + 60 s; past that a "started" job is orphaned.
    grace = abandoned_after if abandoned_after is not None else timedelta(
        seconds=settings.stt_job_timeout_seconds + 90)
    cutoff = datetime.now(UTC) - (older_than if older_than is not None
                                  else timedelta(seconds=settings.stuck_after_seconds))
    with unit_of_work() as session:
        pending = list(session.execute(select(Recording.id).where(
            Recording.status == PENDING, Recording.created_at < cutoff).limit(500)).scalars())
        untranscribed = list(session.execute(
            select(Recording.id).outerjoin(Transcript, Transcript.recording_id == Recording.id)
            .where(Recording.status == "stored", Transcript.id.is_(None),
                   Recording.stored_at < cutoff).limit(500)).scalars())
    jobs = [PendingJob(MEDIA, FETCH_JOB, (i,), media_job_id(i)) for i in pending]
    jobs += [PendingJob(STT, TRANSCRIBE_JOB, (i,), stt_job_id(i)) for i in untranscribed]
    for job in jobs:
        _forget_if_abandoned(job.job_id, grace)
    return sum(send_job(job, unless_pending=True) for job in jobs)


def _forget_if_abandoned(job_id: str, grace: timedelta) -> None:
    """Drop a job 'started' longer ago than its timeout allows: its worker is dead."""
    try:
        job = Job.fetch(job_id, connection=get_redis(), serializer=JSONSerializer)
    except (NoSuchJobError, RedisError):  # Redis down: send_job reports it, the next pass retries
        return
    started = job.started_at
    if job.get_status() == JobStatus.STARTED and started is not None:
        if started.tzinfo is None:
            started = started.replace(tzinfo=UTC)
        if datetime.now(UTC) - started >= grace:
            # Not job.delete(): it raises while the dead worker's execution keys are half
            # expired (see gateway.queue.reap_abandoned).
            get_redis().delete(Job.key_for(job_id))
