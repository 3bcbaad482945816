"""Hubs and provinces as rows, so the secretariat can regroup provinces without a deploy."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base


class HubRow(Base):
    __tablename__ = "hubs"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name_en: Mapped[str] = mapped_column(String(64))
    name_fa: Mapped[str] = mapped_column(String(64))
    name_ps: Mapped[str] = mapped_column(String(64))
    seat_en: Mapped[str] = mapped_column(String(64))


class ProvinceRow(Base):
    __tablename__ = "provinces"

    pcode: Mapped[str] = mapped_column(String(4), primary_key=True)
    name_en: Mapped[str] = mapped_column(String(64))
    name_fa: Mapped[str] = mapped_column(String(64))
    name_ps: Mapped[str] = mapped_column(String(64))
    capital_en: Mapped[str] = mapped_column(String(64))
    capital_fa: Mapped[str] = mapped_column(String(64))
    area_code: Mapped[str] = mapped_column(String(4))
    # Editable: the hub grouping is the secretariat's to change (seed never overwrites it).
    hub: Mapped[str] = mapped_column(ForeignKey("hubs.code"))
    aliases: Mapped[str] = mapped_column(Text, default="")
