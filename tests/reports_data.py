"""Generated items for report tests: every province and language, bulk-inserted."""

from __future__ import annotations

import random
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from gateway.contacts.models import Contact
from gateway.geography.reference import load_provinces
from gateway.intake.models import Item

LANGUAGES = ("fa", "ps", "uz", "tk", "en", "und")
STATUSES = ("queued", "claimed", "triaged", "escalated", "discarded")
START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday


def add_contacts(session: Session, n: int) -> list[int]:
    rows = [{"phone_hash": secrets.token_hex(32), "phone_encrypted": b"x",
             "pseudonym": f"P-{i:05d}-{secrets.token_hex(2)}"} for i in range(n)]
    session.execute(insert(Contact), rows)
    session.flush()
    return list(session.scalars(
        Contact.__table__.select().with_only_columns(Contact.id).order_by(Contact.id)))


def item_row(contact_id: int, *, province: str | None, language: str | None,
             received_at: datetime, channel: str = "sms", status: str = "queued",
             text: str = "") -> dict[str, Any]:
    return {"channel": channel, "provider": "twilio", "external_id": "SM" + secrets.token_hex(16),
            "contact_id": contact_id, "raw_text": text, "language": language,
            "province": province, "status": status, "meta": {}, "received_at": received_at}


def add_items(session: Session, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), 2000):
        session.execute(insert(Item), rows[start:start + 2000])
    session.flush()


def generate(session: Session, n: int, *, seed: int = 6, days: int = 84) -> list[dict[str, Any]]:
    """``n`` items over ``days`` days from START, across all 34 provinces and every language
    (some unrouted, some of unknown language), with a skew so that minorities are small."""
    rng = random.Random(seed)
    provinces = [p.pcode for p in load_provinces()] + [None]
    contacts = add_contacts(session, 300)
    weights = [40, 30, 8, 4, 6, 12]
    rows = []
    for _ in range(n):
        rows.append(item_row(
            rng.choice(contacts), province=rng.choice(provinces),
            language=rng.choices(LANGUAGES, weights)[0] if rng.random() > 0.02 else None,
            received_at=START + timedelta(seconds=rng.randrange(days * 86400)),
            channel="voice" if rng.random() < 0.2 else "sms", status=rng.choice(STATUSES)))
    add_items(session, rows)
    return rows
