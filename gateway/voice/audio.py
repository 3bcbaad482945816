"""Audio: decode anything Twilio or a person may send to 16 kHz mono PCM, and store it.

Decoding uses PyAV, whose wheel ships its own FFmpeg codecs (WAV PCM at any rate, µ-law,
MP3, stereo…): no system package on the default path. The store is content-addressed
(``ab/abcdef….wav`` by SHA-256): a recording fetched twice is stored once, and a file whose
bytes no longer match its name is detected.
"""

from __future__ import annotations

import hashlib
import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import av

with warnings.catch_warnings():
    # audioop is in the standard library up to 3.12 (this project pins 3.11); it computes a
    # frame's RMS in C, ~100x faster than a Python loop over an hour of samples.
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

SAMPLE_RATE = 16000
CHUNK = 1 << 16
# Quieter than this everywhere (RMS of 30 ms frames, dBFS) is "no speech": phone-line hiss
# sits around -60 dBFS, quiet speech well above -40.
SILENCE_DBFS = -45.0


class AudioUnreadable(Exception):
    """The bytes are not audio any decoder here understands (reason: a short code)."""


@dataclass(frozen=True)
class Decoded:
    pcm: bytes  # 16-bit little-endian mono at SAMPLE_RATE
    seconds: float


def decode(path: Path, *, max_seconds: float | None = None) -> Decoded:
    """Decode to 16 kHz mono 16-bit PCM; AudioUnreadable if it is not audio."""
    limit = None if max_seconds is None else int(max_seconds * SAMPLE_RATE) * 2
    out = bytearray()
    try:
        with av.open(str(path), mode="r") as container:
            if not container.streams.audio:
                raise AudioUnreadable("no_audio_stream")
            resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
            for frame in container.decode(audio=0):
                for chunk in resampler.resample(frame):
                    out += bytes(chunk.planes[0])[: chunk.samples * 2]
                if limit is not None and len(out) >= limit:
                    break
            for chunk in resampler.resample(None):
                out += bytes(chunk.planes[0])[: chunk.samples * 2]
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise AudioUnreadable(type(exc).__name__) from None
    if limit is not None:
        del out[limit:]
    if not out:
        raise AudioUnreadable("empty")
    return Decoded(bytes(out), len(out) / 2 / SAMPLE_RATE)


def probe_seconds(path: Path) -> float | None:
    """The container's stated duration, or None when it does not say (or is not audio)."""
    try:
        with av.open(str(path), mode="r") as container:
            if container.duration is not None:
                return float(container.duration) / 1_000_000
    except (av.error.FFmpegError, ValueError):
        return None
    return None


def loudest_dbfs(pcm: bytes, frame_ms: int = 30) -> float:
    """The RMS level of the loudest short frame, in dBFS (-inf for digital silence)."""
    step = SAMPLE_RATE * frame_ms // 1000 * 2
    loudest = 0
    for start in range(0, len(pcm) - 1, step):
        block = pcm[start:start + step]
        block = block[: len(block) // 2 * 2]
        if block:
            loudest = max(loudest, audioop.rms(block, 2))
    return 20 * math.log10(loudest / 32768) if loudest else float("-inf")


def is_silence(pcm: bytes) -> bool:
    return loudest_dbfs(pcm) < SILENCE_DBFS


def sniff_extension(head: bytes) -> str:
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:3] == b"ID3" or head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "mp3"
    return "bin"


@dataclass(frozen=True)
class Stored:
    key: str  # relative path in the store: what `amip items` shows as `audio`
    sha256: str
    size: int


def store_file(audio_dir: Path, tmp: Path, sha256: str) -> Stored:
    """Move a downloaded file into the store under its hash; verify it there."""
    with tmp.open("rb") as fh:
        ext = sniff_extension(fh.read(12))
    key = f"{sha256[:2]}/{sha256}.{ext}"
    final = audio_dir / key
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists() and file_sha256(final) == sha256:
        tmp.unlink()  # the same bytes are already stored (a re-run after a crash)
    else:
        os.replace(tmp, final)
    if file_sha256(final) != sha256:
        final.unlink()
        raise OSError("stored audio does not match its checksum")
    return Stored(key, sha256, final.stat().st_size)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def resolve(audio_dir: Path, key: str) -> Path:
    """The file for a store key; the key never leaves the store directory."""
    path = (audio_dir / key).resolve()
    if audio_dir.resolve() not in path.parents:
        raise ValueError("audio key outside the store")
    return path
