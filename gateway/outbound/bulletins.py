"""Bulletins: write, preview, approve (by someone else), send now or later, cancel, follow.

Services only flush; the CLI, routes and jobs own the transaction.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from gateway import prompts
from gateway.contacts.models import Contact
from gateway.db import insert_ignore
from gateway.errors import AppError
from gateway.geography.models import ProvinceRow
from gateway.outbound.delivery import FAILED, RANK
from gateway.outbound.models import Bulletin, Delivery
from gateway.outbound.segments import count
from gateway.outbound.subscriptions import ACTIVE
from gateway.queue import OUTBOUND, enqueue_after_commit

PUMP_JOB = "workers.outbound.send_bulletin"
PUMPS_PER_BULLETIN = 2  # so that two or more workers share a bulletin


def create(session: Session, *, title: str, texts: dict[str, str], author: str,
           fallback: str | None = None, provinces: list[str] | None = None,
           hubs: list[str] | None = None, languages: list[str] | None = None) -> Bulletin:
    """A draft bulletin; every language must have a prompt table, the fallback a text."""
    known = set(prompts.load_all())
    if not title.strip() or not texts or any(not t.strip() for t in texts.values()):
        raise AppError(400, "a bulletin needs a title and a non-empty text per language")
    if unknown := (set(texts) | set(languages or [])) - known:
        raise AppError(400, "unknown language: " + ", ".join(sorted(unknown)))
    fallback = fallback or next(iter(texts))
    if fallback not in texts:
        raise AppError(400, "the fallback language has no text")
    _check_places(session, provinces or [], hubs or [])
    bulletin = Bulletin(title=title.strip(), texts=texts, fallback_language=fallback,
                        provinces=sorted(set(provinces or [])), hubs=sorted(set(hubs or [])),
                        languages=sorted(set(languages or [])), status="draft",
                        created_by=author)
    session.add(bulletin)
    session.flush()
    return bulletin


def _check_places(session: Session, provinces: list[str], hubs: list[str]) -> None:
    rows = session.execute(select(ProvinceRow.pcode, ProvinceRow.hub)).all()
    if set(provinces) - {p for p, _ in rows}:
        raise AppError(400, "unknown province p-code")
    if set(hubs) - {h for _, h in rows}:
        raise AppError(400, "unknown hub")


def get(session: Session, bulletin_id: int) -> Bulletin:
    bulletin = session.get(Bulletin, bulletin_id)
    if bulletin is None:
        raise AppError(404, "no such bulletin")
    return bulletin


def text_language(bulletin: Bulletin, contact_language: str | None) -> str:
    """Which of the bulletin's texts a contact gets: theirs, its base language, else the
    fallback (``fa-Latn`` reads ``fa-Latn``, else ``fa``)."""
    if contact_language:
        for tag in (contact_language, contact_language.split("-")[0]):
            if tag in bulletin.texts:
                return tag
    return bulletin.fallback_language


def audience(session: Session, bulletin: Bulletin) -> list[tuple[int, str]]:
    """(contact id, text language) of every active subscriber the bulletin targets."""
    province = func.coalesce(Contact.home_province, Contact.last_province)
    language = func.coalesce(Contact.preferred_language, Contact.language)
    query = (select(Contact.id, language, ProvinceRow.hub)
             .outerjoin(ProvinceRow, ProvinceRow.pcode == province)
             .where(Contact.subscription == ACTIVE).order_by(Contact.id))
    if bulletin.provinces or bulletin.hubs:
        query = query.where(or_(province.in_(bulletin.provinces),
                                ProvinceRow.hub.in_(bulletin.hubs)))
    out = []
    for contact_id, lang, _hub in session.execute(query):
        if bulletin.languages and (lang or "").split("-")[0] not in bulletin.languages \
                and lang not in bulletin.languages:
            continue
        out.append((contact_id, text_language(bulletin, lang)))
    return out


def preview(session: Session, bulletin_id: int) -> dict[str, Any]:
    """Recipients, and per language the encoding, characters and segments; total segments."""
    bulletin = get(session, bulletin_id)
    recipients = Counter(lang for _, lang in audience(session, bulletin))
    languages: dict[str, dict[str, Any]] = {}
    for lang, text in sorted(bulletin.texts.items()):
        info = count(text)
        languages[lang] = {"encoding": info.encoding, "characters": info.characters,
                           "segments": info.segments, "recipients": recipients.get(lang, 0)}
    total = sum(v["segments"] * v["recipients"] for v in languages.values())
    return {"id": bulletin.id, "title": bulletin.title, "status": bulletin.status,
            "recipients": sum(recipients.values()), "languages": languages,
            "total_segments": total}


def approve(session: Session, bulletin_id: int, user: str) -> Bulletin:
    """Approval by a user other than the author (four eyes)."""
    bulletin = get(session, bulletin_id)
    if bulletin.status != "draft":
        raise AppError(409, "only a draft can be approved")
    if user == bulletin.created_by:
        raise AppError(403, "a bulletin must be approved by someone other than its author")
    bulletin.status, bulletin.approved_by = "approved", user
    bulletin.approved_at = datetime.now(UTC)
    session.flush()
    return bulletin


def send(session: Session, bulletin_id: int, *, at: datetime | None = None) -> Bulletin:
    """Send an approved bulletin now, or schedule it (the sweeper starts it on time)."""
    bulletin = get(session, bulletin_id)
    if bulletin.status not in ("approved", "scheduled"):
        raise AppError(409, "only an approved bulletin can be sent")
    now = datetime.now(UTC)
    if at is not None and at > now:
        bulletin.status, bulletin.scheduled_at = "scheduled", at
        session.flush()
        return bulletin
    start(session, bulletin)
    return bulletin


def start(session: Session, bulletin: Bulletin) -> None:
    bulletin.status, bulletin.started_at = "sending", datetime.now(UTC)
    session.flush()
    enqueue_pumps(session, bulletin.id, tag="start")


def enqueue_pumps(session: Session, bulletin_id: int, *, tag: str) -> None:
    for n in range(PUMPS_PER_BULLETIN):
        enqueue_after_commit(session, OUTBOUND, PUMP_JOB, bulletin_id,
                             job_id=f"outbound-{bulletin_id}-{tag}-{n}")


def cancel(session: Session, bulletin_id: int, user: str) -> Bulletin:
    """Stop a bulletin: nothing not yet handed to Twilio will be sent."""
    bulletin = get(session, bulletin_id)
    if bulletin.status in ("sent", "cancelled"):
        raise AppError(409, "the bulletin is already finished")
    bulletin.status, bulletin.cancelled_by = "cancelled", user
    bulletin.cancelled_at = datetime.now(UTC)
    session.execute(update(Delivery).where(
        Delivery.bulletin_id == bulletin_id, Delivery.status == "pending").values(
        status="cancelled", updated_at=datetime.now(UTC)))
    session.flush()
    return bulletin


def fan_out(session: Session, bulletin: Bulletin) -> int:
    """One delivery row per targeted subscriber (unique; re-running adds no duplicate)."""
    segments = {lang: count(text).segments for lang, text in bulletin.texts.items()}
    rows = [{"bulletin_id": bulletin.id, "contact_id": cid, "language": lang,
             "segments": segments[lang], "status": "pending", "attempts": 0}
            for cid, lang in audience(session, bulletin)]
    for i in range(0, len(rows), 1000):
        session.execute(insert_ignore(session, Delivery), rows[i:i + 1000])
    session.flush()
    return len(rows)


def status(session: Session, bulletin_id: int) -> dict[str, Any]:
    """Per-bulletin counts: queued, sent, delivered, failed by error code, skipped…"""
    bulletin = get(session, bulletin_id)
    by: dict[str, int] = {}
    errors: dict[str, int] = {}
    for state, code, n in session.execute(
            select(Delivery.status, Delivery.error_code, func.count())
            .where(Delivery.bulletin_id == bulletin_id)
            .group_by(Delivery.status, Delivery.error_code)):
        by[state] = by.get(state, 0) + n
        if state in FAILED:
            errors[str(code or "none")] = errors.get(str(code or "none"), 0) + n
    waiting = sum(n for s, n in by.items() if RANK.get(s, 0) < RANK["sent"] and
                  s not in ("skipped", "rejected", "cancelled"))
    return {
        "id": bulletin.id, "title": bulletin.title, "status": bulletin.status,
        "created_by": bulletin.created_by, "approved_by": bulletin.approved_by,
        "scheduled_at": _iso(bulletin.scheduled_at), "started_at": _iso(bulletin.started_at),
        "finished_at": _iso(bulletin.finished_at), "recipients": sum(by.values()),
        "counts": {"queued": waiting, "sent": by.get("sent", 0),
                   "delivered": by.get("delivered", 0),
                   "failed": sum(by.get(s, 0) for s in FAILED),
                   "skipped": by.get("skipped", 0), "cancelled": by.get("cancelled", 0)},
        "failed_by_error": errors, "by_status": by,
    }


def listing(session: Session, limit: int = 200) -> list[dict[str, Any]]:
    """The newest bulletins with their delivery counts (one grouped query for all)."""
    rows = list(session.execute(select(Bulletin).order_by(Bulletin.id.desc()).limit(limit))
                .scalars())
    by: dict[int, Counter[str]] = {b.id: Counter() for b in rows}
    for bid, state, n in session.execute(
            select(Delivery.bulletin_id, Delivery.status, func.count())
            .where(Delivery.bulletin_id.in_(list(by))).group_by(Delivery.bulletin_id,
                                                                 Delivery.status)):
        by[bid][state] += n
    out = []
    for b in rows:
        c = by[b.id]
        out.append({"id": b.id, "title": b.title, "status": b.status,
                    "languages": sorted(b.texts), "created_by": b.created_by,
                    "approved_by": b.approved_by, "created_at": _iso(b.created_at),
                    "scheduled_at": _iso(b.scheduled_at), "recipients": sum(c.values()),
                    "sent": c["sent"], "delivered": c["delivered"],
                    "failed": sum(c[s] for s in FAILED)})
    return out


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def due_scheduled(session: Session, now: datetime) -> list[Bulletin]:
    return list(session.execute(select(Bulletin).where(
        Bulletin.status == "scheduled", Bulletin.scheduled_at <= now)).scalars())
