"""Calls, recordings and transcripts: one row per provider event (DESIGN invariant 3)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base


class Call(Base):
    """One inbound call and the caller's keypad choices so far (kept on hang-up)."""

    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    step: Mapped[str] = mapped_column(String(16))  # language | hub | province | record | done
    tries: Mapped[int] = mapped_column(Integer, default=0)  # failed attempts at this step
    language: Mapped[str | None] = mapped_column(String(8))
    language_chosen: Mapped[bool] = mapped_column(Boolean, default=False)  # False: default
    hub: Mapped[str | None] = mapped_column(String(16))
    province: Mapped[str | None] = mapped_column(ForeignKey("provinces.pcode"))
    status: Mapped[str] = mapped_column(String(16), default="in-progress")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Recording(Base):
    """One voicemail recording, fetched once into the content-addressed audio store."""

    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_sid: Mapped[str] = mapped_column(String(64), unique=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"), unique=True)
    media_url: Mapped[str] = mapped_column(String(512))
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    # pending → stored | failed (error says why: not_found, too_large, host_not_allowed, …)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    error: Mapped[str | None] = mapped_column(String(32))
    audio_key: Mapped[str | None] = mapped_column(String(128))
    sha256: Mapped[str | None] = mapped_column(String(64))
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    stored_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_at_provider: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Transcript(Base):
    """The one speech-to-text result of a recording (status says why there is no text)."""

    __tablename__ = "transcripts"

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id"), unique=True)
    status: Mapped[str] = mapped_column(String(16))  # done|no_speech|no_model|audio_unreadable
    language: Mapped[str | None] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text, default="")
    words: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    model_id: Mapped[str | None] = mapped_column(String(64))
    audio_seconds: Mapped[float | None] = mapped_column(Float)
    real_time_factor: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
