"""Delivery states, which only move forward (DESIGN invariant 6).

Rank 5 states are final: a late ``sent`` or ``queued`` never overwrites ``delivered``,
``undelivered`` or ``failed``, and a second final state does not replace the first.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from gateway.db import insert_ignore
from gateway.outbound.models import Delivery, ParkedStatus
from gateway.outbound.provider import OPTED_OUT
from gateway.outbound.subscriptions import opt_out

RANK: dict[str, int] = {
    "pending": 0,
    "claimed": 1,  # a sender owns it; the request may be in flight
    "unknown": 1,  # the request may have been accepted: look it up before anything else
    "accepted": 2, "scheduled": 2, "queued": 2,
    "sending": 3,
    "sent": 4,
    "delivered": 5, "undelivered": 5, "failed": 5, "read": 5, "canceled": 5,
    "skipped": 5, "rejected": 5, "cancelled": 5,  # ours: never reached Twilio
}
PROVIDER_STATES = {"accepted", "scheduled", "queued", "sending", "sent", "delivered",
                   "undelivered", "failed", "read", "canceled"}
FAILED = ("failed", "undelivered", "rejected")


def below(status: str) -> list[str]:
    return [s for s, r in RANK.items() if r < RANK[status]]


def apply_status(session: Session, *, sid: str, status: str,
                 error_code: int | None) -> str:
    """Apply one provider status to the delivery with this sid: applied | stale | parked."""
    if status not in PROVIDER_STATES:
        return "stale"
    values: dict[str, object] = {"status": status, "updated_at": datetime.now(UTC)}
    if error_code is not None:
        values["error_code"] = error_code
    # One conditional UPDATE: two callbacks racing cannot move the state backwards.
    result = session.execute(update(Delivery).where(
        Delivery.message_sid == sid, Delivery.status.in_(below(status))).values(**values)
        .execution_options(synchronize_session=False))
    if result.rowcount == 1:  # type: ignore[attr-defined]
        if error_code == OPTED_OUT:
            contact_id = session.execute(select(Delivery.contact_id).where(
                Delivery.message_sid == sid)).scalar_one()
            opt_out(session, contact_id)
        return "applied"
    if session.execute(select(Delivery.id).where(Delivery.message_sid == sid)).first():
        return "stale"
    session.execute(insert_ignore(session, ParkedStatus).values(
        message_sid=sid, status=status, error_code=error_code))
    return "parked"


def record_accepted(session: Session, *, delivery_id: int, owner: str, sid: str,
                    status: str | None) -> bool:
    """Store the MessageSid of a claimed delivery, then apply any callbacks parked for it."""
    initial = status if status in ("accepted", "queued", "sending", "sent") else "queued"
    result = session.execute(update(Delivery).where(
        Delivery.id == delivery_id, Delivery.claimed_by == owner,
        Delivery.status.in_(("claimed", "unknown"))).values(
        message_sid=sid, status=initial, accepted_at=datetime.now(UTC),
        updated_at=datetime.now(UTC)).execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    apply_parked(session, sid)
    return True


def apply_parked(session: Session, sid: str) -> None:
    """Callbacks that arrived before the sid was stored, applied in rank order."""
    parked = session.execute(select(ParkedStatus).where(ParkedStatus.message_sid == sid)
                             ).scalars().all()
    for event in sorted(parked, key=lambda e: RANK.get(e.status, 0)):
        apply_status(session, sid=sid, status=event.status, error_code=event.error_code)
    if parked:
        session.execute(delete(ParkedStatus).where(ParkedStatus.message_sid == sid))


def apply_all_parked(session: Session, limit: int = 1000) -> int:
    """Sweep: parked callbacks whose delivery has appeared since (a commit race)."""
    sids = session.execute(select(ParkedStatus.message_sid).join(
        Delivery, Delivery.message_sid == ParkedStatus.message_sid).distinct().limit(limit)
    ).scalars().all()
    for sid in sids:
        apply_parked(session, sid)
    return len(sids)
