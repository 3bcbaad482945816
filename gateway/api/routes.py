"""JSON API: the console's services and permission checks behind bearer tokens."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from gateway.api.deps import ApiPrincipal
from gateway.console import queries, service
from gateway.console.audio import audio_response
from gateway.db import unit_of_work
from gateway.errors import AppError
from gateway.webhooks import SettingsDep

router = APIRouter(prefix="/api", tags=["console API"])
ACTIONS = {"claim": service.claim, "release": service.release, "triage": service.triage,
           "escalate": service.escalate, "discard": service.discard}


class Reroute(BaseModel):
    province: str = Field(pattern=r"^AF\d\d$")
    reason: str = Field(min_length=1, max_length=500)


class TextEdit(BaseModel):
    text: str = Field(max_length=service.MAX_TEXT)


class LanguageFix(BaseModel):
    language: str


class Tags(BaseModel):
    tags: list[str]


class Note(BaseModel):
    body: str = Field(min_length=1, max_length=service.MAX_TEXT)


def _filter(province: str | None, hub: str | None, status: str, language: str | None,
            channel: str | None, topic: str | None, since: date | None, until: date | None,
            page: int) -> queries.QueueFilter:
    return queries.QueueFilter(province=province, hub=hub, status=status, language=language,
                               channel=channel, topic=topic, since=since, until=until, page=page)


@router.get("/me")
def me(principal: ApiPrincipal) -> dict[str, Any]:
    """Who the token belongs to and which provinces it sees (null: national)."""
    return {"name": principal.name, "role": principal.role.value,
            "provinces": sorted(principal.provinces) if principal.provinces is not None
            else None}


@router.get("/items")
def list_items(principal: ApiPrincipal, settings: SettingsDep, province: str | None = None,
               hub: str | None = None, status: str = "open", language: str | None = None,
               channel: str | None = None, topic: str | None = None,
               since: date | None = None, until: date | None = None,
               page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> dict[str, Any]:
    """One page of the queue in the caller's provinces, oldest first, with counts per status."""
    f = _filter(province, hub, status, language, channel, topic, since, until, page)
    with unit_of_work() as session:
        result = queries.queue_page(session, principal, f, settings.console_page_size)
    return {"items": result.rows, "counts": result.counts, "page": f.page,
            "has_next": result.has_next, "total": result.total}


@router.get("/counts")
def counts(principal: ApiPrincipal, province: str | None = None, hub: str | None = None,
           language: str | None = None, channel: str | None = None,
           topic: str | None = None) -> dict[str, Any]:
    """Numbers only (analysts): items per status and open items per province."""
    f = _filter(province, hub, "all", language, channel, topic, None, None, 1)
    with unit_of_work() as session:
        by_status = queries.status_counts(session, principal, f)
        by_province = queries.province_counts(session, principal)
    for row in by_province:
        row["oldest"] = row["oldest"].isoformat() if row["oldest"] else None
    return {"by_status": by_status, "open_by_province": by_province}


@router.get("/items/{item_id}")
def get_item(principal: ApiPrincipal, item_id: int) -> dict[str, Any]:
    """One item with its text, versions, notes, tags and the sender's other items (audited)."""
    with unit_of_work() as session:
        return queries.item_detail(session, principal, item_id)


@router.get("/items/{item_id}/audio", response_class=Response,
            responses={200: {"content": {"audio/wav": {}}}})
def get_audio(principal: ApiPrincipal, item_id: int) -> Response:
    """The recording of a voice item (audited)."""
    with unit_of_work() as session:
        return audio_response(session, principal, item_id)


@router.post("/items/{item_id}/reroute")
def reroute(principal: ApiPrincipal, item_id: int, body: Reroute) -> dict[str, Any]:
    """Move the item to another province's queue with a reason."""
    with unit_of_work() as session:
        return service.reroute(session, principal, item_id, province=body.province,
                               reason=body.reason)


@router.put("/items/{item_id}/text")
def edit_text(principal: ApiPrincipal, item_id: int, body: TextEdit) -> dict[str, Any]:
    """Save a corrected text or transcript as a new version (earlier ones are kept)."""
    with unit_of_work() as session:
        version = service.edit_text(session, principal, item_id, body.text)
    return {"version": version}


@router.put("/items/{item_id}/language")
def set_language(principal: ApiPrincipal, item_id: int, body: LanguageFix) -> dict[str, Any]:
    """Correct the detected language."""
    with unit_of_work() as session:
        service.set_language(session, principal, item_id, body.language)
    return {"language": body.language}


@router.put("/items/{item_id}/tags")
def set_tags(principal: ApiPrincipal, item_id: int, body: Tags) -> dict[str, Any]:
    """Replace the topic tags (from the configured list)."""
    with unit_of_work() as session:
        return {"tags": service.set_tags(session, principal, item_id, body.tags)}


@router.post("/items/{item_id}/notes")
def add_note(principal: ApiPrincipal, item_id: int, body: Note) -> dict[str, Any]:
    """Attach a note."""
    with unit_of_work() as session:
        return {"id": service.add_note(session, principal, item_id, body.body)}


@router.post("/items/{item_id}/{action}")
def act(principal: ApiPrincipal, item_id: int, action: str) -> dict[str, Any]:
    """claim, release, triage, escalate or discard."""
    run = ACTIONS.get(action)
    if run is None:
        raise AppError(404, "no such action")
    with unit_of_work() as session:
        return run(session, principal, item_id)

