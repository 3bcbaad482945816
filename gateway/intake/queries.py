"""Read models of the triage queues (the `amip items` contract; keep it stable)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.geography.models import ProvinceRow
from gateway.intake.models import Item


def list_items(session: Session, *, province: str | None = None, status: str | None = None,
               channel: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """Items as plain dicts, oldest first; never a phone number."""
    query = (select(Item, ProvinceRow.hub)
             .outerjoin(ProvinceRow, ProvinceRow.pcode == Item.province)
             .order_by(Item.received_at, Item.id))
    if province:
        query = query.where(Item.province == province)
    if status:
        query = query.where(Item.status == status)
    if channel:
        query = query.where(Item.channel == channel)
    if limit:
        query = query.limit(limit)
    return [_as_dict(item, hub) for item, hub in session.execute(query)]


def _as_dict(item: Item, hub: str | None) -> dict[str, Any]:
    return {
        "id": item.id,
        "channel": item.channel,
        "province": item.province,
        "hub": hub,
        "language": item.language,
        "language_confidence": item.language_confidence,
        "status": item.status,
        "routing_reason": item.routing_reason,
        "text": item.raw_text,
        "received_at": item.received_at.isoformat() if item.received_at else None,
        # Voice (issue 3): where the transcript is, and the audio store key (never a number).
        "transcript_status": (item.meta or {}).get("transcript_status"),
        "audio": (item.meta or {}).get("audio"),
    }
