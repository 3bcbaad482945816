"""Streaming an item's audio after the permission check (the store itself is gateway.voice)."""

from __future__ import annotations

import importlib
import mimetypes
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fastapi.responses import FileResponse, Response, StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.audit import service as audit
from gateway.auth.permissions import Perm, Principal
from gateway.console.service import load_item
from gateway.errors import AppError

NO_AUDIO = "no audio for this item"


def _opener() -> Any:
    """``gateway.voice.audio.open_audio(session, item_id)`` when the voice store offers it,
    else a look-up of the item's stored recording through the store's own ``resolve``."""
    try:
        module = importlib.import_module("gateway.voice.audio")
    except ImportError:
        return None
    opener = getattr(module, "open_audio", None)
    if opener is not None:
        return opener
    resolve = getattr(module, "resolve", None)
    try:
        recording = importlib.import_module("gateway.voice.models").Recording
    except (ImportError, AttributeError):
        return None
    if resolve is None or not hasattr(recording, "audio_key"):
        return None

    def by_recording(session: Session, item_id: int) -> Path | None:
        from gateway.settings import get_settings

        key = session.execute(select(recording.audio_key).where(
            recording.item_id == item_id, recording.audio_key.is_not(None))).scalar()
        if not key:
            return None
        settings = get_settings()
        path: Path = resolve(getattr(settings, "audio_dir", settings.data_dir / "audio"), key)
        return path if path.is_file() else None

    return by_recording


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
        guessed = mimetypes.guess_type(str(found))[0]
        return FileResponse(found, media_type=guessed or media_type)
    if isinstance(found, bytes):
        return Response(found, media_type=media_type)
    if isinstance(found, Iterable):
        return StreamingResponse(found, media_type=media_type)
    raise AppError(404, NO_AUDIO)
