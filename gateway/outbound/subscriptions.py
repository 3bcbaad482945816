"""Keyword messages: change the contact's subscription and answer in their language.

The webhook decides cheaply whether a message is a keyword, so that its TwiML reply is the
confirmation; the intake job then applies it here instead of routing it to triage.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import exc as sa_exc
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gateway import prompts
from gateway.channels.base import InboundMessage
from gateway.contacts.crypto import Vault, to_e164
from gateway.contacts.models import Contact
from gateway.db import unit_of_work
from gateway.geography.reference import provinces_by_pcode
from gateway.intake.models import Item
from gateway.intake.states import ItemStatus
from gateway.language.normalize import normalized_copy
from gateway.outbound.keywords import Keyword, parse
from gateway.settings import Settings

ACTIVE, STOPPED, NONE = "active", "stopped", "none"


def apply_keyword(contact: Contact, keyword: Keyword) -> None:
    """Change the contact's subscription, language or province as the keyword says."""
    now = datetime.now(UTC)
    if keyword.action == "stop":
        contact.subscription, contact.subscription_changed_at = STOPPED, now
        return
    if keyword.target_language:
        contact.preferred_language = keyword.target_language
    if keyword.province:
        contact.home_province = keyword.province
    if keyword.action == "join":
        contact.subscription, contact.subscription_changed_at = ACTIVE, now


def opt_out(session: Session, contact_id: int) -> None:
    """The provider says this person opted out (error 21610): never send to them again."""
    session.execute(update(Contact).where(Contact.id == contact_id).values(
        subscription=STOPPED, subscription_changed_at=datetime.now(UTC)))


def handle_keyword_item(session: Session, item: Item, keyword: Keyword | None) -> bool:
    """If the item is a keyword (``keyword``: its text parsed), apply it and close the item
    (status keyword); else False.

    HELP is the exception: "کمک", "مرسته", "help" on its own may be a person asking for
    help, not for the instructions. They get the instructions as the reply (the webhook's
    job), and the message still goes to triage, where a coordinator sees it.
    """
    if keyword is None or keyword.action == "help":
        return False
    # Same handled marker as routing: of two racing workers, one updates.
    result = session.execute(update(Item).where(
        Item.id == item.id, Item.status == ItemStatus.RECEIVED.value).values(
        status=ItemStatus.KEYWORD.value, normalized_text=normalized_copy(item.raw_text),
        routing_reason="keyword", routing_detail=keyword.action,
        processed_at=datetime.now(UTC)).execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return True
    contact = session.get(Contact, item.contact_id)
    assert contact is not None  # FK
    apply_keyword(contact, keyword)
    session.flush()
    return True


def reply_language(keyword: Keyword, preferred: str | None, detected: str | None,
                   default: str) -> str:
    """The contact's language: a language just chosen, the one chosen before, the one they
    write in, the keyword's own language, else the default."""
    tables = prompts.load_all()
    for tag in (keyword.target_language, preferred, detected, keyword.phrase_language):
        if tag and tag in tables:
            return tag
    return default


def confirmation(keyword: Keyword, language: str) -> str:
    """The confirmation text for a keyword, in ``language``."""
    key = {"stop": "stopped", "help": "help", "join": "joined",
           "language": "language_set", "province": "province_set"}[keyword.action]
    if keyword.action == "join" and keyword.province:
        key = "joined_province"
    if keyword.action == "language" and not keyword.target_language:
        key = "language_choices"
    return prompts.text("keywords", key, language).format(
        province=province_name(keyword.province, language))


def province_name(pcode: str | None, language: str) -> str:
    if not pcode:
        return ""
    province = provinces_by_pcode()[pcode]
    return {"fa": province.name_fa, "ps": province.name_ps}.get(language, province.name_en)


def webhook_reply(session: Session | None, *, body: str, sender: str, vault: Vault,
                  region: str, default_language: str) -> str | None:
    """The keyword confirmation for an inbound SMS, or None if it is not a keyword.

    ``session`` None means the database is down (the message was spooled): the reply is
    then in the keyword's own language.
    """
    keyword = parse(body)
    if keyword is None:
        return None
    preferred = detected = None
    if session is not None:
        row = session.execute(select(Contact.preferred_language, Contact.language).where(
            Contact.phone_hash == vault.lookup_hash(to_e164(sender, region)))).first()
        if row is not None:
            preferred, detected = row
    return confirmation(keyword, reply_language(keyword, preferred, detected, default_language))


def keyword_reply(msg: InboundMessage, settings: Settings, *, spooled: bool) -> str | None:
    """The TwiML reply text for a keyword (after the message is durable), else None."""
    if parse(msg.body) is None:  # the common case costs no database round trip
        return None
    from gateway.contacts.crypto import get_vault

    kwargs = {"body": msg.body, "sender": msg.sender, "vault": get_vault(),
              "region": settings.default_region, "default_language": settings.default_language}
    if not spooled:
        try:
            with unit_of_work() as session:
                return webhook_reply(session, **kwargs)  # type: ignore[arg-type]
        except (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError):
            pass  # the message is stored; only the reply's language falls back
    return webhook_reply(None, **kwargs)  # type: ignore[arg-type]
