"""STT queue jobs: transcribe a stored recording, then run intake on the transcript.

Run these on their own workers (`amip worker --queues stt`): RQ's forking worker runs each
job in a work-horse process with a timeout, so a recognizer that crashes or hangs takes only
that process down; the job is marked failed (visible in RQ, retried) and the worker lives on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from gateway.db import insert_ignore, unit_of_work
from gateway.intake.service import process_item
from gateway.settings import Settings, get_settings
from gateway.voice import audio, stt
from gateway.voice.models import Call, Recording, Transcript
from gateway.voice.service import set_item_meta

log = logging.getLogger(__name__)
DONE, NO_SPEECH, NO_MODEL, UNREADABLE = "done", "no_speech", "no_model", "audio_unreadable"


@dataclass
class Outcome:
    status: str
    text: str = ""
    words: list[dict[str, Any]] = field(default_factory=list)
    model_id: str | None = None
    seconds: float | None = None
    rtf: float | None = None


def transcribe(recording_id: int) -> str:
    """Transcribe one stored recording and re-route its item on the text (idempotent)."""
    settings = get_settings()
    with unit_of_work() as session:
        rec = session.get(Recording, recording_id)
        if rec is None or rec.status != "stored" or rec.audio_key is None:
            return "skipped"
        if session.execute(select(Transcript.id).where(
                Transcript.recording_id == recording_id)).first():
            return "skipped"
        call = session.get(Call, rec.call_id)
        language = call.language if call else None
        key = rec.audio_key
    outcome = recognise(audio.resolve(settings.audio_dir, key), language, settings)
    with unit_of_work() as session:
        return _store(session, recording_id, language, outcome)


def recognise(path: Any, language: str | None, settings: Settings) -> Outcome:
    """Decode and recognise; every failure is an outcome, never a lost item."""
    try:
        decoded = audio.decode(path, max_seconds=settings.media_max_seconds)
    except (audio.AudioUnreadable, OSError):
        return Outcome(UNREADABLE)
    if audio.is_silence(decoded.pcm):
        return Outcome(NO_SPEECH, seconds=decoded.seconds)
    found = stt.model_for(language, settings)
    if found is None:
        return Outcome(NO_MODEL, seconds=decoded.seconds)
    spec, model = found
    result = stt.recognize_speech(model, decoded.pcm, settings)
    rtf = result.elapsed / result.seconds if result.seconds else None
    status = DONE if result.text.strip() else NO_SPEECH
    return Outcome(status, result.text, result.words, spec.model_id, result.seconds,
                   round(rtf, 4) if rtf is not None else None)


def _store(session: Any, recording_id: int, language: str | None, outcome: Outcome) -> str:
    row = session.execute(insert_ignore(session, Transcript).values(
        recording_id=recording_id, status=outcome.status, language=language,
        text=outcome.text, words=outcome.words, model_id=outcome.model_id,
        audio_seconds=outcome.seconds, real_time_factor=outcome.rtf,
        created_at=datetime.now(UTC)).returning(Transcript.id)).first()
    if row is None:  # another run stored it first: exactly one transcript
        return "skipped"
    rec = session.get(Recording, recording_id)
    item_id = rec.item_id if rec else None
    set_item_meta(session, item_id, transcript_status=outcome.status)
    if item_id is not None and outcome.text:
        from gateway.intake.models import Item

        item = session.get(Item, item_id)
        if item is not None and not item.raw_text:
            item.raw_text = outcome.text
            session.flush()
            process_item(session, item_id, again=True)
    log.info("transcribed", extra={"recording_id": recording_id, "status": outcome.status,
                                   "rtf": outcome.rtf})
    return outcome.status
