"""Items: one inbound message or voicemail, unique per provider event (invariant 3)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base
from gateway.intake.states import ItemStatus


class Item(Base):
    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("provider", "external_id"),
        # The triage queue: a province's items by status, oldest first.
        Index("ix_items_queue", "province", "status", "received_at"),
        Index("ix_items_status_received_at", "status", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(8))  # sms | voice
    provider: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))  # MessageSid / RecordingSid
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    raw_text: Mapped[str] = mapped_column(Text, default="")  # byte-exact as received
    normalized_text: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(8))
    language_confidence: Mapped[float | None] = mapped_column(Float)
    script: Mapped[str | None] = mapped_column(String(4))
    language_method: Mapped[str | None] = mapped_column(String(16))
    province: Mapped[str | None] = mapped_column(ForeignKey("provinces.pcode"))
    routing_reason: Mapped[str | None] = mapped_column(String(32))
    routing_detail: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default=ItemStatus.RECEIVED.value)
    num_segments: Mapped[int | None] = mapped_column(Integer)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Console (issue 4): who works on the item, and the latest coordinator-edited text
    # (every version is kept in item_versions; raw_text stays byte-exact).
    claimed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    edited_text: Mapped[str | None] = mapped_column(Text)
