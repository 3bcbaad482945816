"""Writing and browsing the audit log. There is no update or delete here on purpose."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.audit.models import AuditEntry
from gateway.auth.permissions import Perm, Principal, require


def record(session: Session, actor: Principal | None, action: str, *,
           item_id: int | None = None, before: dict[str, Any] | None = None,
           after: dict[str, Any] | None = None, via: str | None = None) -> None:
    """Append one entry in the caller's transaction: the action and its trail commit together."""
    session.add(AuditEntry(
        at=datetime.now(UTC), user_id=actor.user_id if actor else None,
        user_name=actor.name if actor else "system", via=via or (actor.via if actor else "cli"),
        action=action, item_id=item_id, before=_jsonable(before), after=_jsonable(after),
    ))


def _jsonable(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in value.items()}


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    page: int
    has_next: bool


def browse(session: Session, principal: Principal, *, item_id: int | None = None,
           user_name: str | None = None, action: str | None = None, page: int = 1,
           page_size: int = 100) -> AuditPage:
    """Newest first; admins only."""
    require(principal, Perm.AUDIT)
    query = select(AuditEntry).order_by(AuditEntry.id.desc())
    if item_id is not None:
        query = query.where(AuditEntry.item_id == item_id)
    if user_name:
        query = query.where(AuditEntry.user_name == user_name)
    if action:
        query = query.where(AuditEntry.action == action)
    page = max(page, 1)
    rows = list(session.execute(query.offset((page - 1) * page_size).limit(page_size + 1))
                .scalars())
    return AuditPage(rows[:page_size], page, len(rows) > page_size)
