"""Contact rows: no phone number in clear, ever (DESIGN invariant 5)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, LargeBinary, String, func
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone_hash: Mapped[str] = mapped_column(String(64), unique=True)
    phone_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    pseudonym: Mapped[str] = mapped_column(String(16), unique=True)
    # Landline area code (2 digits) kept apart from the number so routing never decrypts.
    area_code: Mapped[str | None] = mapped_column(String(4))
    language: Mapped[str | None] = mapped_column(String(8))
    last_province: Mapped[str | None] = mapped_column(ForeignKey("provinces.pcode"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Bulletin subscription (gateway/outbound): none | active | stopped. A STOP is kept
    # forever (never sent to again) until the same person sends JOIN.
    subscription: Mapped[str] = mapped_column(String(8), default="none", server_default="none",
                                              index=True)
    subscription_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Chosen by keyword; unlike ``language`` (the last detected one) it is never overwritten.
    preferred_language: Mapped[str | None] = mapped_column(String(8))
    home_province: Mapped[str | None] = mapped_column(ForeignKey("provinces.pcode"))
