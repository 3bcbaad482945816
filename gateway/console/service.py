"""Triage actions on one item, shared by the console and the API.

Every function takes the acting principal, checks it through ``gateway.auth.permissions``,
changes the item with a compare-and-set UPDATE (so two people acting at once cannot both
win), and appends an audit entry in the same transaction. Services flush; callers commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from gateway.audit import service as audit
from gateway.auth.permissions import (
    NOT_FOUND,
    Perm,
    Principal,
    require,
    require_item,
    require_province,
)
from gateway.console.models import ItemNote, ItemTag, ItemVersion
from gateway.db import is_postgres
from gateway.errors import AppError
from gateway.intake.models import Item
from gateway.intake.states import IllegalTransition, ItemStatus, check_transition

LANGUAGES = ("fa", "ps", "uz", "tk", "en", "und")
MAX_TEXT = 10_000
MAX_REASON = 100


def topic_tags() -> tuple[str, ...]:
    from gateway.settings import get_settings

    return tuple(t.strip() for t in get_settings().topic_tags.split(",") if t.strip())


def load_item(session: Session, principal: Principal, item_id: int, perm: Perm, *,
              lock: bool = False) -> Item:
    """The item if the principal may ``perm`` it; 403/404 otherwise.

    ``lock`` takes the row lock on PostgreSQL with SKIP LOCKED: a second person acting on
    the same item at the same moment is told at once instead of queueing behind the first.
    """
    require(principal, perm)
    query = select(Item).where(Item.id == item_id).execution_options(populate_existing=True)
    item = None
    if lock and is_postgres(session):
        item = session.execute(query.with_for_update(skip_locked=True)).scalar_one_or_none()
        if item is None:
            exists = session.execute(select(Item.province).where(Item.id == item_id)).first()
            if exists is None or not principal.sees(exists.province):
                raise AppError(404, NOT_FOUND)
            raise AppError(409, "someone else is working on this item right now")
    else:
        item = session.execute(query).scalar_one_or_none()
    if item is None:
        raise AppError(404, NOT_FOUND)
    require_item(principal, perm, item.province)
    return item


def current_text(item: Item) -> str:
    """What coordinators read: the latest edit, else the text as received or transcribed."""
    return item.edited_text if item.edited_text is not None else item.raw_text


def _check_not_claimed_by_other(principal: Principal, item: Item) -> None:
    if (item.status == ItemStatus.CLAIMED.value and item.claimed_by not in (None, principal.user_id)
            and not principal.can(Perm.OVERRIDE_CLAIM)):
        raise AppError(409, "claimed by someone else")


def _compare_and_set(session: Session, item: Item, values: dict[str, Any]) -> None:
    """UPDATE only if status and claim are still what we read; 409 if someone was faster."""
    claimed = (Item.claimed_by.is_(None) if item.claimed_by is None
               else Item.claimed_by == item.claimed_by)
    result = session.execute(update(Item).where(
        Item.id == item.id, Item.status == item.status, claimed,
        Item.province.is_(None) if item.province is None else Item.province == item.province,
    ).values(**values).execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise AppError(409, "the item changed meanwhile; reload it")
    session.expire(item)


def _move(session: Session, principal: Principal, item_id: int, target: ItemStatus,
          action: str, values: dict[str, Any] | None = None) -> dict[str, Any]:
    item = load_item(session, principal, item_id, Perm.WORK, lock=True)
    try:
        check_transition(item.status, target)
    except IllegalTransition:
        raise AppError(409, f"not possible while the item is {item.status}") from None
    _check_not_claimed_by_other(principal, item)
    before = {"status": item.status, "claimed_by": item.claimed_by}
    after = {"status": target.value, **(values or {})}
    _compare_and_set(session, item, {"status": target.value, **(values or {})})
    audit.record(session, principal, action, item_id=item_id, before=before, after=after)
    return after


def claim(session: Session, principal: Principal, item_id: int) -> dict[str, Any]:
    """Take the item: of two people claiming at once, exactly one wins (the other gets 409)."""
    item = load_item(session, principal, item_id, Perm.WORK, lock=True)
    if item.status == ItemStatus.CLAIMED.value:
        raise AppError(409, "already claimed")
    return _move(session, principal, item_id, ItemStatus.CLAIMED, "claim",
                 {"claimed_by": principal.user_id, "claimed_at": datetime.now(UTC)})


def release(session: Session, principal: Principal, item_id: int) -> dict[str, Any]:
    """Give a claimed item back to the queue."""
    return _move(session, principal, item_id, ItemStatus.QUEUED, "release",
                 {"claimed_by": None, "claimed_at": None})


def triage(session: Session, principal: Principal, item_id: int) -> dict[str, Any]:
    """Mark the item handled."""
    return _move(session, principal, item_id, ItemStatus.TRIAGED, "triage")


def escalate(session: Session, principal: Principal, item_id: int) -> dict[str, Any]:
    """Send the item up to the hub lead (claim dropped so the hub can take it)."""
    return _move(session, principal, item_id, ItemStatus.ESCALATED, "escalate",
                 {"claimed_by": None, "claimed_at": None})


def discard(session: Session, principal: Principal, item_id: int) -> dict[str, Any]:
    """Discard as spam (kept, but closed)."""
    return _move(session, principal, item_id, ItemStatus.DISCARDED, "discard")


def reroute(session: Session, principal: Principal, item_id: int, *, province: str,
            reason: str) -> dict[str, Any]:
    """Move the item to another province's queue, with the reason given."""
    reason = " ".join(reason.split())[:MAX_REASON]
    if not reason:
        raise AppError(400, "a reason is required")
    require_province(principal, province)
    item = load_item(session, principal, item_id, Perm.WORK, lock=True)
    if item.status in (ItemStatus.TRIAGED.value, ItemStatus.DISCARDED.value,
                       ItemStatus.RECEIVED.value):
        raise AppError(409, f"not possible while the item is {item.status}")
    if item.province == province:
        raise AppError(409, "the item is already in that province")
    _check_not_claimed_by_other(principal, item)
    before = {"province": item.province, "status": item.status,
              "routing_reason": item.routing_reason}
    # A claimed item goes back to the new province's queue; an escalated one stays escalated.
    status = ItemStatus.QUEUED.value if item.status == ItemStatus.CLAIMED.value else item.status
    values = {"province": province, "status": status, "claimed_by": None, "claimed_at": None,
              "routing_reason": "rerouted",
              "routing_detail": f"{item.province or '-'}>{province}: {reason}"[:128]}
    _compare_and_set(session, item, values)
    after = {"province": province, "status": status, "reason": reason}
    audit.record(session, principal, "reroute", item_id=item_id, before=before, after=after)
    return after


def edit_text(session: Session, principal: Principal, item_id: int, text: str) -> int:
    """Save a corrected text or transcript as a new version; returns its number."""
    if len(text) > MAX_TEXT:
        raise AppError(413, "text too long")
    item = load_item(session, principal, item_id, Perm.WORK)
    _check_not_claimed_by_other(principal, item)
    require(principal, Perm.READ_TEXT)
    if text == current_text(item):
        raise AppError(409, "the text is unchanged")
    now = datetime.now(UTC)
    latest = session.execute(select(func.max(ItemVersion.version))
                             .where(ItemVersion.item_id == item_id)).scalar_one()
    if latest is None:  # first edit: keep what was received as version 1
        session.add(ItemVersion(item_id=item_id, version=1, text=current_text(item),
                                user_id=None, created_at=item.processed_at or item.received_at))
        latest = 1
    # The unique (item_id, version) makes two simultaneous edits fail rather than interleave.
    session.add(ItemVersion(item_id=item_id, version=latest + 1, text=text,
                            user_id=principal.user_id, created_at=now))
    item.edited_text = text
    session.flush()
    audit.record(session, principal, "edit_text", item_id=item_id,
                 before={"version": latest}, after={"version": latest + 1})
    return latest + 1


def set_language(session: Session, principal: Principal, item_id: int, language: str) -> None:
    """Correct the detected language."""
    if language not in LANGUAGES:
        raise AppError(400, "unknown language")
    item = load_item(session, principal, item_id, Perm.WORK)
    _check_not_claimed_by_other(principal, item)
    before = {"language": item.language, "method": item.language_method}
    item.language, item.language_method, item.language_confidence = language, "manual", 1.0
    session.flush()
    audit.record(session, principal, "set_language", item_id=item_id, before=before,
                 after={"language": language, "method": "manual"})


def set_tags(session: Session, principal: Principal, item_id: int,
             tags: Sequence[str]) -> list[str]:
    """Replace the item's topic tags (from the configured list)."""
    allowed = topic_tags()
    wanted = sorted(set(tags))
    unknown = [t for t in wanted if t not in allowed]
    if unknown:
        raise AppError(400, "unknown topic tag")
    load_item(session, principal, item_id, Perm.WORK)
    before = sorted(session.execute(select(ItemTag.tag).where(ItemTag.item_id == item_id))
                    .scalars())
    session.execute(delete(ItemTag).where(ItemTag.item_id == item_id))
    session.add_all([ItemTag(item_id=item_id, tag=t) for t in wanted])
    session.flush()
    audit.record(session, principal, "set_tags", item_id=item_id, before={"tags": before},
                 after={"tags": wanted})
    return wanted


def add_note(session: Session, principal: Principal, item_id: int, body: str) -> int:
    """Attach a coordinator's note."""
    body = body.strip()
    if not body:
        raise AppError(400, "the note is empty")
    if len(body) > MAX_TEXT:
        raise AppError(413, "note too long")
    load_item(session, principal, item_id, Perm.WORK)
    note = ItemNote(item_id=item_id, user_id=principal.user_id, body=body,
                    created_at=datetime.now(UTC))
    session.add(note)
    session.flush()
    audit.record(session, principal, "add_note", item_id=item_id, after={"note_id": note.id})
    return note.id
