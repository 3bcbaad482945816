"""Read models for the queue and item pages (and the API): scoped, paged, text only if allowed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select, true
from sqlalchemy.orm import Session

from gateway.audit import service as audit
from gateway.auth.models import User
from gateway.auth.permissions import Perm, Principal, narrow, require
from gateway.console.models import ItemNote, ItemTag, ItemVersion
from gateway.console.service import current_text, load_item
from gateway.contacts.models import Contact
from gateway.errors import AppError
from gateway.intake.models import Item
from gateway.intake.states import ItemStatus

OPEN = (ItemStatus.QUEUED.value, ItemStatus.CLAIMED.value, ItemStatus.ESCALATED.value)
# What a coordinator triages (subscription keywords and the like are handled elsewhere).
TRIAGE = ("received", "queued", "claimed", "triaged", "escalated", "discarded")
STATUS_FILTERS = ("open", *TRIAGE, "all")
PREVIEW = 90


@dataclass(frozen=True)
class QueueFilter:
    province: str | None = None
    hub: str | None = None
    status: str = "open"
    language: str | None = None
    channel: str | None = None
    topic: str | None = None
    since: date | None = None
    until: date | None = None
    page: int = 1

    def query_args(self, **override: Any) -> dict[str, str]:
        """The filter as query-string arguments (for paging links), empty ones left out."""
        values = {k: getattr(self, k) for k in ("province", "hub", "status", "language",
                                                 "channel", "topic", "since", "until", "page")}
        values.update(override)
        return {k: str(v) for k, v in values.items() if v not in (None, "")}


@dataclass
class QueuePage:
    filter: QueueFilter
    provinces: frozenset[str] | None
    counts: dict[str, int]
    rows: list[dict[str, Any]] = field(default_factory=list)
    has_next: bool = False
    total: int = 0


def _status_clause(status: str) -> ColumnElement[bool]:
    if status == "open":
        return Item.status.in_(OPEN)
    if status == "all":
        return true()
    if status not in STATUS_FILTERS:
        raise AppError(400, "unknown status")
    return Item.status == status


def _filters(f: QueueFilter, provinces: frozenset[str] | None) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [Item.status.in_(TRIAGE)]
    if provinces is not None:
        where.append(Item.province.in_(sorted(provinces)))
    if f.language:
        where.append(Item.language == f.language)
    if f.channel:
        where.append(Item.channel == f.channel)
    if f.topic:
        where.append(Item.id.in_(select(ItemTag.item_id).where(ItemTag.tag == f.topic)))
    if f.since:
        where.append(Item.received_at >= datetime.combine(f.since, datetime.min.time(), UTC))
    if f.until:
        end = datetime.combine(f.until, datetime.min.time(), UTC) + timedelta(days=1)
        where.append(Item.received_at < end)
    return where


def status_counts(session: Session, principal: Principal, f: QueueFilter) -> dict[str, int]:
    """Items per status in the principal's (narrowed) scope; every role with COUNTS."""
    require(principal, Perm.COUNTS)
    provinces = narrow(principal, session, province=f.province, hub=f.hub)
    return _counts(session, _filters(f, provinces))


def _counts(session: Session, where: list[ColumnElement[bool]]) -> dict[str, int]:
    counts = dict.fromkeys(TRIAGE, 0)
    rows = session.execute(select(Item.status, func.count()).where(and_(true(), *where))
                           .group_by(Item.status))
    for status, n in rows:
        counts[status] = n
    return counts


def province_counts(session: Session, principal: Principal) -> list[dict[str, Any]]:
    """Open items per province and the age of the oldest (what analysts see)."""
    require(principal, Perm.COUNTS)
    where = _filters(QueueFilter(), principal.provinces)
    rows = session.execute(select(Item.province, Item.status, func.count(),
                                  func.min(Item.received_at))
                           .where(Item.status.in_(OPEN), *where)
                           .group_by(Item.province, Item.status).order_by(Item.province))
    out: dict[str | None, dict[str, Any]] = {}
    for province, status, n, oldest in rows:
        entry = out.setdefault(province, {"province": province, "oldest": None,
                                          **{s: 0 for s in OPEN}})
        entry[status] = n
        oldest = _aware(oldest)
        if entry["oldest"] is None or (oldest and oldest < entry["oldest"]):
            entry["oldest"] = oldest
    return list(out.values())


def queue_page(session: Session, principal: Principal, f: QueueFilter,
               page_size: int) -> QueuePage:
    """One page of the queue, oldest first, with counts per status; audited if text is shown."""
    require(principal, Perm.QUEUE)
    provinces = narrow(principal, session, province=f.province, hub=f.hub)
    where = _filters(f, provinces)
    counts = _counts(session, where)
    page = QueuePage(filter=f, provinces=provinces, counts=counts)
    page.total = (sum(counts[s] for s in OPEN) if f.status == "open"
                  else sum(counts.values()) if f.status == "all" else counts.get(f.status, 0))
    offset = (max(f.page, 1) - 1) * page_size
    query = (select(Item, Contact.pseudonym, User.name)
             .join(Contact, Contact.id == Item.contact_id)
             .outerjoin(User, User.id == Item.claimed_by)
             .where(_status_clause(f.status), *where)
             .order_by(Item.received_at, Item.id).offset(offset).limit(page_size + 1))
    found = session.execute(query).all()
    page.has_next = len(found) > page_size
    found = found[:page_size]
    tags = _tags(session, [item.id for item, _, _ in found])
    with_text = principal.can(Perm.READ_TEXT)
    for item, pseudonym, claimer in found:
        row = _row(item, pseudonym, claimer, tags.get(item.id, []))
        if with_text:
            row["preview"] = current_text(item)[:PREVIEW]
        page.rows.append(row)
    if with_text and page.rows:
        audit.record(session, principal, "view_queue_text",
                     after={"items": [r["id"] for r in page.rows]})
    return page


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _row(item: Item, pseudonym: str, claimer: str | None, tags: list[str]) -> dict[str, Any]:
    received = _aware(item.received_at)
    return {
        "id": item.id, "channel": item.channel, "province": item.province,
        "language": item.language, "status": item.status,
        "routing_reason": item.routing_reason, "sender": pseudonym, "claimed_by": claimer,
        "tags": tags, "received_at": received.isoformat() if received else None,
        "age_seconds": int((datetime.now(UTC) - received).total_seconds()) if received else None,
    }


def _tags(session: Session, ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    if ids:
        for item_id, tag in session.execute(select(ItemTag.item_id, ItemTag.tag)
                                            .where(ItemTag.item_id.in_(ids))
                                            .order_by(ItemTag.tag)):
            out.setdefault(item_id, []).append(tag)
    return out


def item_detail(session: Session, principal: Principal, item_id: int) -> dict[str, Any]:
    """Everything the item page shows; reading it is an audited view of the text."""
    item = load_item(session, principal, item_id, Perm.READ_TEXT)
    pseudonym = session.execute(select(Contact.pseudonym)
                                .where(Contact.id == item.contact_id)).scalar_one()
    claimer = session.get(User, item.claimed_by) if item.claimed_by else None
    detail = _row(item, pseudonym, claimer.name if claimer else None,
                  _tags(session, [item.id]).get(item.id, []))
    detail.update(
        text=current_text(item), raw_text=item.raw_text,
        routing_detail=item.routing_detail, language_confidence=item.language_confidence,
        language_method=item.language_method, script=item.script,
        versions=_versions(session, item_id), notes=_notes(session, item_id),
        sender_items=_sender_items(session, principal, item),
        has_audio=item.channel == "voice",
    )
    audit.record(session, principal, "view_text", item_id=item_id)
    return detail


def _versions(session: Session, item_id: int) -> list[dict[str, Any]]:
    rows = session.execute(select(ItemVersion, User.name)
                           .outerjoin(User, User.id == ItemVersion.user_id)
                           .where(ItemVersion.item_id == item_id).order_by(ItemVersion.version))
    return [{"version": v.version, "text": v.text, "by": name,
             "at": (_aware(v.created_at) or v.created_at).isoformat()} for v, name in rows]


def _notes(session: Session, item_id: int) -> list[dict[str, Any]]:
    rows = session.execute(select(ItemNote, User.name)
                           .outerjoin(User, User.id == ItemNote.user_id)
                           .where(ItemNote.item_id == item_id).order_by(ItemNote.id))
    return [{"id": n.id, "body": n.body, "by": name,
             "at": (_aware(n.created_at) or n.created_at).isoformat()} for n, name in rows]


def _sender_items(session: Session, principal: Principal, item: Item) -> list[dict[str, Any]]:
    """The same sender's other items that this principal may see (newest first)."""
    where = [Item.contact_id == item.contact_id, Item.id != item.id]
    if principal.provinces is not None:
        where.append(Item.province.in_(sorted(principal.provinces)))
    rows = session.execute(select(Item.id, Item.status, Item.province, Item.received_at)
                           .where(*where).order_by(Item.received_at.desc()).limit(20))
    return [{"id": r.id, "status": r.status, "province": r.province,
             "received_at": (_aware(r.received_at) or r.received_at).isoformat()} for r in rows]
