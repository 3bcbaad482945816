"""Every language has every IVR prompt, as text and as a playable 8 kHz recording."""

from __future__ import annotations

import re
import wave

from gateway.prompts import load_all, prompts_dir
from gateway.voice.prompt_audio import FALLBACK_VOICES, VOICES
from tests import support

PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _shape(table: dict[str, object]) -> dict[str, set[str]]:
    return {key: set(PLACEHOLDER.findall(str(text))) for key, text in table.items()}


def test_every_language_has_the_same_ivr_prompts_and_placeholders() -> None:
    tables = load_all()
    reference = _shape(tables["en"]["ivr"])
    assert {"welcome", "record", "thanks", "digit_9", "hub_central", "province_AF34"} <= set(
        reference)
    for language, table in tables.items():
        assert _shape(table["ivr"]) == reference, language


def test_every_language_with_a_voice_has_a_phone_quality_recording_of_every_prompt() -> None:
    keys = set(load_all()["en"]["ivr"])
    for language in {*VOICES, *FALLBACK_VOICES}:
        for key in keys:
            path = prompts_dir() / language / f"{key}.wav"
            assert path.is_file(), path
            with wave.open(str(path)) as wav:
                assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (
                    8000, 1, 2), path
                assert wav.getnframes() > 800, path  # at least 0.1 s of sound


def test_the_gateway_serves_prompt_audio_and_nothing_else(client: support.SignedClient) -> None:
    ok = client.get("/voice/prompts/fa/welcome.wav")
    assert ok.status_code == 200 and ok.headers["content-type"] == "audio/wav"
    assert ok.content[:4] == b"RIFF"
    for path in ("/voice/prompts/fa/nope.wav", "/voice/prompts/fa-Latn/welcome.wav",
                 "/voice/prompts/..%2Fen/welcome.wav", "/voice/prompts/fa/..%2F..%2Fx.wav"):
        assert client.get(path).status_code == 404, path
