"""Intake services: store an inbound SMS durably, then identify and route it.

``store_sms`` and ``process_item`` only flush; their callers own the transaction
(``gateway.db.unit_of_work``), so "committed before the reply" and "enqueued after the
commit" each live in exactly one place.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import exc as sa_exc
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from gateway import prompts
from gateway.channels.base import InboundMessage
from gateway.contacts.crypto import Vault
from gateway.contacts.models import Contact
from gateway.contacts.service import get_or_create_contact
from gateway.db import dialect_name, insert_ignore, unit_of_work
from gateway.geography.routing import route
from gateway.intake import pgstore, spool
from gateway.intake.models import Item
from gateway.intake.states import ItemStatus
from gateway.language.identify import Detection, identify
from gateway.language.normalize import normalized_copy
from gateway.outbound.keywords import parse as parse_keyword
from gateway.outbound.subscriptions import handle_keyword_item
from gateway.queue import (
    INTAKE,
    PendingJob,
    background_sender,
    enqueue_after_commit,
    reap_abandoned,
    send_job,
)
from gateway.settings import Settings

log = logging.getLogger(__name__)

PROCESS_JOB = "workers.intake.process_item"
# Errors that mean "the database is not reachable now", not "this request is bad".
DB_UNAVAILABLE = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)


@dataclass(frozen=True)
class Acceptance:
    item_id: int | None  # None when the message went to the spool
    duplicate: bool
    spooled: bool
    preferred_language: str | None = None  # what the sender chose; unknown when spooled


def intake_job_id(item_id: int) -> str:
    return f"intake-{item_id}"


def intake_job(item_id: int) -> PendingJob:
    return PendingJob(INTAKE, PROCESS_JOB, (item_id,), intake_job_id(item_id))


def store_sms(session: Session, *, msg: InboundMessage, vault: Vault, region: str,
              received_at: datetime) -> pgstore.Stored:
    """Insert the item once per provider id."""
    contact = get_or_create_contact(session, vault=vault, raw_number=msg.sender, region=region)
    meta = dict(msg.meta, num_media=str(msg.num_media))
    row = session.execute(insert_ignore(session, Item).values(
        channel="sms", provider=msg.provider, external_id=msg.external_id,
        contact_id=contact.id, raw_text=msg.body, num_segments=msg.num_segments, meta=meta,
        status=ItemStatus.RECEIVED.value, received_at=received_at,
    ).returning(Item.id)).first()
    if row is None:  # same provider id already stored: a retry, not an error
        existing = session.execute(select(Item.id).where(
            Item.provider == msg.provider, Item.external_id == msg.external_id)).scalar_one()
        return pgstore.Stored(existing, False, contact.preferred_language)
    enqueue_after_commit(session, INTAKE, PROCESS_JOB, row.id, job_id=intake_job_id(row.id))
    return pgstore.Stored(row.id, True, contact.preferred_language)


def commit_sms(msg: InboundMessage, *, vault: Vault, region: str,
               received_at: datetime) -> pgstore.Stored:
    """Store one message in its own transaction; committed when this returns.

    PostgreSQL takes the one-statement path (``pgstore``); the intake job is sent after it,
    as ``enqueue_after_commit`` does for the ORM path.
    """
    if dialect_name() == "postgresql":
        stored = pgstore.store_sms(msg, vault=vault, region=region, received_at=received_at)
        if stored.created:
            send_job(intake_job(stored.item_id))
        return stored
    with unit_of_work() as session:
        return store_sms(session, msg=msg, vault=vault, region=region, received_at=received_at)


def accept_sms(msg: InboundMessage, *, settings: Settings, vault: Vault) -> Acceptance:
    """Make the message durable: in the database, or in the local spool if it is down."""
    received_at = datetime.now(UTC)
    try:
        stored = commit_sms(msg, vault=vault, region=settings.default_region,
                            received_at=received_at)
    except DB_UNAVAILABLE as exc:
        return _spool(msg, settings=settings, vault=vault, received_at=received_at, why=exc)
    return Acceptance(item_id=stored.item_id, duplicate=not stored.created, spooled=False,
                      preferred_language=stored.preferred_language)


def _spool(msg: InboundMessage, *, settings: Settings, vault: Vault, received_at: datetime,
           why: Exception) -> Acceptance:
    spool.write(settings.spool_dir, vault, msg, received_at)
    log.warning("database unavailable; message spooled", extra={"error": type(why).__name__})
    return Acceptance(item_id=None, duplicate=False, spooled=True)


async def accept_sms_async(msg: InboundMessage, *, settings: Settings, vault: Vault,
                           writer: pgstore.SmsWriter | None) -> Acceptance:
    """``accept_sms`` for the webhook route: on PostgreSQL the statement runs on the event
    loop (``pgstore.SmsWriter``) and the intake job goes to the background sender; without
    a writer (SQLite) the synchronous path runs in the thread pool."""
    if writer is None:
        return await run_in_threadpool(accept_sms, msg, settings=settings, vault=vault)
    received_at = datetime.now(UTC)
    try:
        stored = await writer.store(msg, vault=vault, region=settings.default_region,
                                    received_at=received_at)
    except pgstore.UNAVAILABLE as exc:  # the spool's fsync: off the event loop
        return await run_in_threadpool(_spool, msg, settings=settings, vault=vault,
                                       received_at=received_at, why=exc)
    if stored.created:
        background_sender.submit(intake_job(stored.item_id))
    return Acceptance(item_id=stored.item_id, duplicate=not stored.created, spooled=False,
                      preferred_language=stored.preferred_language)


def acknowledgement(msg: InboundMessage, settings: Settings,
                    preferred_language: str | None = None) -> str | None:
    """The short reply in the sender's language, or None when replies are switched off.

    The language the sender chose with the LANGUAGE keyword wins, as for every other reply
    to them (keywords, bulletins); else the language of this message.
    """
    if not settings.sms_ack:
        return None
    if preferred_language and preferred_language in prompts.load_all():
        return prompts.text("sms", "ack", preferred_language)
    detection = identify(msg.body)  # identify() cleans the text itself
    tag = prompts.language_tag(detection.language, detection.script)
    return prompts.text("sms", "ack", tag, fallback=settings.default_language)


def _keypad_language(item: Item, text: Detection) -> Detection:
    """A caller's IVR language choice (voice) outranks whatever the text suggests."""
    meta = item.meta or {}
    if meta.get("ivr_language"):
        return Detection(meta["ivr_language"], 1.0, text.script, "keypad")
    if text.language == "und" and meta.get("ivr_default_language"):  # no key, no words
        return Detection(meta["ivr_default_language"], 0.0, text.script, "ivr_default")
    return text


def process_item(session: Session, item_id: int, *, again: bool = False) -> str:
    """Identify the language, route to a province, mark queued; a handled item is skipped.

    ``again``: re-run both on a still-queued item whose text came later (a voice transcript).
    """
    item = session.get(Item, item_id)
    statuses = [ItemStatus.RECEIVED.value] + ([ItemStatus.QUEUED.value] if again else [])
    if item is None or item.status not in statuses:
        return "skipped"
    keyword = parse_keyword(item.raw_text) if item.channel == "sms" else None
    if handle_keyword_item(session, item, keyword):  # STOP, JOIN…: gateway.outbound
        return "keyword"
    contact = session.get(Contact, item.contact_id)
    assert contact is not None  # FK
    detection = _keypad_language(item, identify(item.raw_text))
    decision = route(ivr_province=item.meta.get("ivr_province"), text=item.raw_text,
                     last_province=contact.last_province, area_code=contact.area_code)
    # The status condition is the handled marker: of two racing workers, one updates.
    result = session.execute(update(Item).where(
        Item.id == item_id, Item.status.in_(statuses)).values(
        normalized_text=normalized_copy(item.raw_text),
        language=detection.language, language_confidence=round(detection.confidence, 4),
        script=detection.script, language_method=detection.method,
        province=decision.pcode, routing_reason=decision.reason,
        routing_detail=decision.detail[:128], status=ItemStatus.QUEUED.value,
        processed_at=datetime.now(UTC),
    ).execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return "skipped"
    # A bare HELP, the one keyword that reaches triage, is a single word: too short to tell
    # a language by ("HELP" reads as English, the Dari "مدد" as Urdu). It must not replace
    # the language the contact's own messages showed, the one bulletins are sent in.
    if detection.language != "und" and not (keyword is not None and contact.language):
        contact.language = detection.language
    if decision.pcode and decision.reason != "contact_history":
        contact.last_province = decision.pcode
    session.flush()
    return "queued"


def replay_spool(settings: Settings, vault: Vault) -> int:
    """Move spooled webhooks into the database (idempotent; stops while it is down)."""
    def store(msg: InboundMessage, received_at: datetime) -> object:
        return commit_sms(msg, vault=vault, region=settings.default_region,
                          received_at=received_at)

    try:
        return spool.replay(settings.spool_dir, vault, store)
    except DB_UNAVAILABLE:
        return 0


def stuck_item_ids(session: Session, *, older_than: timedelta, limit: int = 1000) -> list[int]:
    """Items committed but never processed (Redis was down, a worker died)."""
    cutoff = datetime.now(UTC) - older_than
    return list(session.execute(select(Item.id).where(
        Item.status == ItemStatus.RECEIVED.value, Item.received_at < cutoff,
    ).order_by(Item.id).limit(limit)).scalars())


def requeue_stuck(settings: Settings, *, reap_at: float | None = None) -> int:
    """Enqueue the intake job again for every stuck item; returns how many were sent.

    First the jobs of workers that died mid-job are dropped (``reap_abandoned``), so a
    killed worker delays its item by about 90 s plus one sweep, not 13 minutes.
    """
    reap_abandoned((INTAKE,), at=reap_at)
    with unit_of_work() as session:
        ids = stuck_item_ids(session, older_than=timedelta(seconds=settings.stuck_after_seconds))
    return sum(send_job(intake_job(i), unless_pending=True) for i in ids)
