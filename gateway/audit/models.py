"""Audit rows: who did or saw what, when, with the state before and after."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base


class AuditEntry(Base):
    # No foreign keys on purpose: the trail outlives users and items it mentions.
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_item_id_at", "item_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    user_id: Mapped[int | None] = mapped_column(Integer)
    user_name: Mapped[str] = mapped_column(String(64))
    via: Mapped[str] = mapped_column(String(8))  # console | api | cli
    action: Mapped[str] = mapped_column(String(32), index=True)
    item_id: Mapped[int | None] = mapped_column(Integer)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
