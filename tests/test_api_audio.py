"""Recordings stream from the audio store only after the item's permission check."""

from __future__ import annotations

import hashlib
import struct
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient

from tests.consolekit import (
    HERAT,
    KANDAHAR,
    audit_rows,
    bearer,
    login,
    make_item,
    make_token,
    make_user,
)

pytest_plugins = ["tests.consolekit"]  # the web / api client fixtures


def _wav(seconds: float = 0.5, rate: int = 8000) -> bytes:
    frames = b"\x00\x01" * int(seconds * rate)
    header = struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + len(frames), b"WAVE", b"fmt ", 16,
                         1, 1, rate, rate * 2, 2, 16, b"data", len(frames))
    return header + frames


def _voicemail(province: str) -> tuple[int, bytes]:
    """A voice item whose recording sits in the content-addressed store, as issue 3 leaves it."""
    from gateway.db import unit_of_work
    from gateway.intake.models import Item
    from gateway.settings import get_settings
    from gateway.voice.models import Call, Recording

    item_id = make_item(province, "transcript words", channel="voice")
    audio = _wav()
    digest = hashlib.sha256(audio).hexdigest()
    key = f"{digest[:2]}/{digest}.wav"
    path = Path(get_settings().audio_dir) / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(audio)
    now = datetime.now(UTC)
    with unit_of_work() as session:
        item = session.get(Item, item_id)
        assert item is not None
        call = Call(call_sid="CA" + digest[:32], contact_id=item.contact_id, step="done",
                    tries=0, province=province, status="completed", started_at=now,
                    updated_at=now)
        session.add(call)
        session.flush()
        session.add(Recording(recording_sid="RE" + digest[:32], call_id=call.id,
                              item_id=item_id, media_url="https://api.twilio.com/x",
                              status="stored", audio_key=key, sha256=digest,
                              size_bytes=len(audio), created_at=now, stored_at=now))
    return item_id, audio


def test_audio_streams_for_the_province_and_nobody_else(api: TestClient, web: TestClient) -> None:
    make_user("hamid", "coordinator", provinces=[HERAT])
    make_user("karim", "coordinator", provinces=[KANDAHAR])
    make_user("ana", "analyst")
    item, audio = _voicemail(HERAT)
    herat = api.get(f"/api/items/{item}/audio", headers=bearer(make_token("hamid")))
    assert herat.status_code == 200 and herat.content == audio
    assert herat.headers["content-type"].startswith("audio/")
    part = api.get(f"/api/items/{item}/audio", headers={**bearer(make_token("hamid")),
                                                         "range": "bytes=0-99"})
    assert part.status_code == 206 and part.content == audio[:100]  # seekable in a player
    kandahar = api.get(f"/api/items/{item}/audio", headers=bearer(make_token("karim")))
    assert kandahar.status_code == 404 and kandahar.content != audio
    assert kandahar.json() == {"error": "no such item"}
    analyst = api.get(f"/api/items/{item}/audio", headers=bearer(make_token("ana")))
    assert analyst.status_code == 403 and analyst.content != audio
    assert [e.user_name for e in audit_rows("view_audio")] == ["hamid", "hamid"]

    login(web, "hamid")
    page = web.get(f"/console/items/{item}").text
    assert f'<audio controls preload="none" src="/console/items/{item}/audio">' in page
    assert web.get(f"/console/items/{item}/audio").content == audio
