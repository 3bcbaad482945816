"""Bulletins, their deliveries (one per bulletin × contact) and parked status callbacks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base


class Bulletin(Base):
    __tablename__ = "bulletins"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    texts: Mapped[dict[str, str]] = mapped_column(JSON)  # language tag -> text
    fallback_language: Mapped[str] = mapped_column(String(8))
    # Audience: (provinces ∪ provinces of hubs), empty = the whole country; languages
    # restrict it further (empty = every language). Frozen into deliveries at fan-out.
    provinces: Mapped[list[str]] = mapped_column(JSON, default=list)
    hubs: Mapped[list[str]] = mapped_column(JSON, default=list)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    # draft → approved → (scheduled →) sending → sent; cancelled from any but sent.
    status: Mapped[str] = mapped_column(String(12), default="draft", index=True)
    # User names (the console's user model may replace these with foreign keys).
    created_by: Mapped[str] = mapped_column(String(64))
    approved_by: Mapped[str | None] = mapped_column(String(64))
    cancelled_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    scheduled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Delivery(Base):
    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("bulletin_id", "contact_id"),  # every subscriber exactly once
        Index("ix_deliveries_bulletin_status", "bulletin_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    bulletin_id: Mapped[int] = mapped_column(ForeignKey("bulletins.id"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    language: Mapped[str] = mapped_column(String(8))  # which of the bulletin's texts
    segments: Mapped[int] = mapped_column(Integer)
    # pending → claimed (a sender owns it) → queued/sending/sent → delivered | undelivered
    # | failed; or skipped (opted out at send time), rejected (refused at create),
    # cancelled. See gateway.outbound.states.
    status: Mapped[str] = mapped_column(String(12), default="pending")
    message_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    error_code: Mapped[int | None] = mapped_column(Integer)
    claimed_by: Mapped[str | None] = mapped_column(String(40))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ParkedStatus(Base):
    """A status callback for a MessageSid no delivery carries yet (the create response
    was lost or is not committed yet); applied when the delivery gets that sid."""

    __tablename__ = "parked_statuses"
    __table_args__ = (UniqueConstraint("message_sid", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_sid: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16))
    error_code: Mapped[int | None] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                  server_default=func.now())
