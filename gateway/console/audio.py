"""Streaming an item's audio after the permission check (the store itself is gateway.voice)."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fastapi.responses import FileResponse, Response, StreamingResponse
from sqlalchemy.orm import Session

from gateway.audit import service as audit
from gateway.auth.permissions import Perm, Principal
from gateway.console.service import load_item
from gateway.errors import AppError

NO_AUDIO = "no audio for this item"


def _opener() -> Any:
    """``gateway.voice.audio.open_audio(session, item_id)`` when the voice store is installed."""
    try:
        module = importlib.import_module("gateway.voice.audio")
    except ImportError:
        return None
    return getattr(module, "open_audio", None)


def audio_response(session: Session, principal: Principal, item_id: int) -> Response:
    """The audio of a visible voice item, audited; 403/404 exactly as for its text."""
    item = load_item(session, principal, item_id, Perm.AUDIO)
    opener = _opener()
    found = opener(session, item_id) if opener is not None and item.channel == "voice" else None
    if found is None:
        raise AppError(404, NO_AUDIO)
    audit.record(session, principal, "view_audio", item_id=item_id)
    return _as_response(found)


def _as_response(found: Any) -> Response:
    # The store may hand back a path, bytes, a (stream, media type) pair, or a Response.
    if isinstance(found, Response):
        return found
    media_type = "audio/wav"
    if isinstance(found, tuple):
        found, media_type = found[0], found[1]
    if isinstance(found, str | Path):
        return FileResponse(found, media_type=media_type)
    if isinstance(found, bytes):
        return Response(found, media_type=media_type)
    if isinstance(found, Iterable):
        return StreamingResponse(found, media_type=media_type)
    raise AppError(404, NO_AUDIO)
