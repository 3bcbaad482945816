"""Finding or creating the contact behind a phone number, race-free."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.contacts.crypto import Vault, to_e164
from gateway.contacts.models import Contact
from gateway.db import insert_ignore
from gateway.geography.routing import landline_area_code


def get_or_create_contact(session: Session, *, vault: Vault, raw_number: str,
                          region: str) -> Contact:
    """The one contact for this number, created if new (unique hash, conflict = exists)."""
    e164 = to_e164(raw_number, region)
    phone_hash = vault.lookup_hash(e164)
    by_hash = select(Contact).where(Contact.phone_hash == phone_hash)
    # Most senders are known: one SELECT, no encryption, no INSERT. The look-up is only a
    # shortcut; uniqueness is still decided by the constraint (two first messages racing
    # both reach the INSERT, one of them does nothing, both then read the same row).
    contact = session.execute(by_hash).scalar_one_or_none()
    if contact is not None:
        return contact
    values = new_contact_values(vault, e164)
    for variant in range(PSEUDONYM_VARIANTS):
        if variant:  # nothing inserted and still no row: another number holds the pseudonym
            values["pseudonym"] = vault.pseudonym(e164, variant)
        session.execute(insert_ignore(session, Contact).values(**values))
        contact = session.execute(by_hash).scalar_one_or_none()
        if contact is not None:
            return contact
    raise RuntimeError("no free pseudonym for a new contact")


# Pseudonyms tried for one new number: a second collision of 50-bit names is as good as
# impossible; a third try makes the bound explicit.
PSEUDONYM_VARIANTS = 3


def new_contact_values(vault: Vault, e164: str) -> dict[str, Any]:
    """What a new contact row holds: hash, encrypted number, pseudonym, area code."""
    return {
        "phone_hash": vault.lookup_hash(e164),
        "phone_encrypted": vault.encrypt(e164),
        "pseudonym": vault.pseudonym(e164),
        "area_code": landline_area_code(e164),
    }
