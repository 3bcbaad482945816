"""Twilio Voice webhooks (every one signature-checked) and the prompt audio they play."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime

from fastapi import APIRouter, Response
from fastapi.responses import FileResponse
from starlette.datastructures import ImmutableMultiDict

from gateway.contacts.crypto import get_vault
from gateway.db import unit_of_work
from gateway.errors import AppError
from gateway.metrics import WEBHOOKS
from gateway.voice import ivr, service
from gateway.webhooks import SettingsDep, VerifiedForm

log = logging.getLogger(__name__)
router = APIRouter()
TWIML = "application/xml"
_PATTERNS = {
    "CallSid": re.compile(r"^CA[0-9a-fA-F]{32}$"),
    "RecordingSid": re.compile(r"^RE[0-9a-fA-F]{32}$"),
}


def _sid(form: ImmutableMultiDict[str, str], name: str) -> str:
    value = form.get(name, "")
    if not _PATTERNS[name].fullmatch(value):
        raise AppError(400, f"missing or malformed {name}")
    return value


def _caller(form: ImmutableMultiDict[str, str]) -> service.CallerId:
    sender = form.get("From", "").strip()
    if not sender:
        raise AppError(400, "missing required field From")
    return service.CallerId(_sid(form, "CallSid"), sender)


def _xml(doc: object) -> Response:
    return Response(content=str(doc), media_type=TWIML)


@router.post("/twilio/voice", response_class=Response)
def incoming_call(form: VerifiedForm, settings: SettingsDep) -> Response:
    now = datetime.now(UTC)
    with unit_of_work() as session:  # committed before Twilio hears anything
        call, created = service.get_or_start_call(session, _caller(form), vault=get_vault(),
                                                  settings=settings, now=now)
        doc = ivr.menu(settings, step=call.step, language=call.language or "fa", hub=call.hub,
                       welcome=call.step == ivr.LANGUAGE)
    WEBHOOKS.labels(route="voice", result="stored" if created else "duplicate").inc()
    return _xml(doc)


@router.post("/twilio/voice/menu/{step}", response_class=Response)
def menu_answer(step: str, form: VerifiedForm, settings: SettingsDep) -> Response:
    if step not in (ivr.LANGUAGE, ivr.HUB, ivr.PROVINCE):
        raise AppError(404, "unknown menu")
    now = datetime.now(UTC)
    with unit_of_work() as session:
        call, _ = service.get_or_start_call(session, _caller(form), vault=get_vault(),
                                            settings=settings, now=now)
        doc = service.answer_menu(session, call, step, form.get("Digits"), settings=settings,
                                  now=now)
    return _xml(doc)


@router.post("/twilio/voice/recorded", response_class=Response)
def recorded(form: VerifiedForm, settings: SettingsDep) -> Response:
    """<Record>'s action: the caller finished (the audio itself comes by status callback)."""
    now = datetime.now(UTC)
    with unit_of_work() as session:
        call, _ = service.get_or_start_call(session, _caller(form), vault=get_vault(),
                                            settings=settings, now=now)
        service.finish_call(session, call, now=now)
        language = call.language or "fa"
    made = bool(form.get("RecordingUrl")) and form.get("RecordingDuration", "0") not in ("", "0")
    return _xml(ivr.goodbye(settings, language, recorded=made))


@router.post("/twilio/voice/status", response_class=Response)
def call_status(form: VerifiedForm) -> Response:
    """Call status callback (hang-up): the choices made so far stay on the call row."""
    with unit_of_work() as session:
        service.mark_call_status(session, _sid(form, "CallSid"), form.get("CallStatus", ""),
                                 now=datetime.now(UTC))
    return Response(status_code=204)


@router.post("/twilio/voice/recording-status", response_class=Response)
def recording_status(form: VerifiedForm) -> Response:
    """recordingStatusCallback: a completed recording becomes a recording row and an item."""
    if form.get("RecordingStatus", "completed") != "completed":
        WEBHOOKS.labels(route="recording", result="ignored").inc()
        return Response(status_code=204)
    duration = form.get("RecordingDuration", "")
    url = form.get("RecordingUrl", "")
    if not url.startswith(("https://", "http://")):
        raise AppError(400, "missing or malformed RecordingUrl")
    event = service.RecordingEvent(
        call_sid=_sid(form, "CallSid"), recording_sid=_sid(form, "RecordingSid"), url=url,
        # Lenient, unlike int_field: a voicemail with an odd duration ("²": isdigit() yet
        # int() raises) is kept without one rather than refused.
        duration_seconds=int(duration) if duration.isascii() and duration.isdigit()
        and len(duration) < 7 else None)
    with unit_of_work() as session:
        recording_id, created = service.accept_recording(session, event, now=datetime.now(UTC))
    WEBHOOKS.labels(route="recording", result="stored" if created else "duplicate").inc()
    log.info("recording accepted", extra={"recording_id": recording_id, "created": created})
    return Response(status_code=204)


@router.get("/voice/prompts/{language}/{key}.wav")
def prompt_audio(language: str, key: str, settings: SettingsDep) -> FileResponse:
    """A prompt recording (public: Twilio fetches it to <Play> it; it holds no caller data)."""
    if not ivr.own_audio(language, key):
        raise AppError(404, "no such prompt")
    path = ivr.audio_path(language, key, settings)
    assert path is not None
    return FileResponse(path, media_type="audio/wav",
                        headers={"cache-control": "public, max-age=3600"})
