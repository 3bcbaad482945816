"""Bulletin actions by a staff member, shared by the console and ``amip bulletin``.

Every function takes the acting principal, checks it through ``gateway.auth.permissions``
(role ``comms`` or ``admin``), calls the bulletin service, and appends an audit entry in the
same transaction. Services flush; callers commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from gateway.audit import service as audit
from gateway.auth import service as auth
from gateway.auth.permissions import Perm, Principal, require
from gateway.errors import AppError
from gateway.outbound import bulletins
from gateway.outbound.models import Bulletin

NO_USER = "no such user, or the user is disabled"


def principal_named(session: Session, name: str, via: str = "cli") -> Principal:
    """The principal of an existing, enabled user allowed to handle bulletins (``--as``)."""
    user = auth.get_user(session, name)
    if user is None or user.disabled:
        raise AppError(403, NO_USER)
    principal = auth.principal_for(session, user, via)
    require(principal, Perm.BULLETINS)
    return principal


def _record(session: Session, principal: Principal, action: str, bulletin: Bulletin,
            before: str | None, **extra: Any) -> None:
    # The audit log's item_id is for intake items; the bulletin goes in the entry itself.
    audit.record(session, principal, action,
                 before={"bulletin": bulletin.id, "status": before} if before else None,
                 after={"bulletin": bulletin.id, "status": bulletin.status, **extra})


def create(session: Session, principal: Principal, *, title: str, texts: dict[str, str],
           fallback: str | None = None, provinces: list[str] | None = None,
           hubs: list[str] | None = None, languages: list[str] | None = None) -> Bulletin:
    """A draft bulletin written by the principal."""
    require(principal, Perm.BULLETINS)
    bulletin = bulletins.create(session, title=title, texts=texts, author=principal.name,
                                fallback=fallback, provinces=provinces, hubs=hubs,
                                languages=languages)
    _record(session, principal, "bulletin_create", bulletin, None,
            languages=sorted(texts), provinces=bulletin.provinces, hubs=bulletin.hubs,
            audience_languages=bulletin.languages)
    return bulletin


def get(session: Session, principal: Principal, bulletin_id: int) -> Bulletin:
    require(principal, Perm.BULLETINS)
    return bulletins.get(session, bulletin_id)


def listing(session: Session, principal: Principal) -> list[dict[str, Any]]:
    """Every bulletin, newest first, with its delivery counts."""
    require(principal, Perm.BULLETINS)
    return bulletins.listing(session)


def preview(session: Session, principal: Principal, bulletin_id: int) -> dict[str, Any]:
    require(principal, Perm.BULLETINS)
    return bulletins.preview(session, bulletin_id)


def details(session: Session, principal: Principal,
            bulletin_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The preview, and the bulletin as written (texts, fallback, audience, who)."""
    require(principal, Perm.BULLETINS)
    b = bulletins.get(session, bulletin_id)
    written = {"texts": dict(b.texts), "fallback": b.fallback_language,
               "provinces": list(b.provinces), "hubs": list(b.hubs),
               "languages": list(b.languages), "created_by": b.created_by,
               "approved_by": b.approved_by, "scheduled_at": b.scheduled_at}
    return bulletins.preview(session, bulletin_id), written


def status(session: Session, principal: Principal, bulletin_id: int) -> dict[str, Any]:
    require(principal, Perm.BULLETINS)
    return bulletins.status(session, bulletin_id)


def approve(session: Session, principal: Principal, bulletin_id: int) -> Bulletin:
    """Approve a draft; the service refuses its author (four eyes)."""
    require(principal, Perm.BULLETINS)
    bulletin = bulletins.approve(session, bulletin_id, principal.name)
    _record(session, principal, "bulletin_approve", bulletin, "draft")
    return bulletin


def send(session: Session, principal: Principal, bulletin_id: int, *,
         at: datetime | None = None) -> Bulletin:
    """Send now, or schedule for ``at``."""
    require(principal, Perm.BULLETINS)
    before = bulletins.get(session, bulletin_id).status
    bulletin = bulletins.send(session, bulletin_id, at=at)
    action = "bulletin_schedule" if bulletin.status == "scheduled" else "bulletin_send"
    _record(session, principal, action, bulletin, before,
            at=at.isoformat() if bulletin.status == "scheduled" and at else None)
    return bulletin


def cancel(session: Session, principal: Principal, bulletin_id: int) -> Bulletin:
    """Cancel a bulletin; nothing not yet handed to Twilio is sent."""
    require(principal, Perm.BULLETINS)
    before = bulletins.get(session, bulletin_id).status
    bulletin = bulletins.cancel(session, bulletin_id, principal.name)
    _record(session, principal, "bulletin_cancel", bulletin, before)
    return bulletin
