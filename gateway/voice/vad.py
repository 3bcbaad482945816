"""Silence compression before recognition: long pauses are cut, times map back.

A voicemail is often a third silence (before the caller speaks, between sentences, after).
The recognizer spends as much CPU on a second of silence as on a second of speech, so the
long non-speech stretches are cut down to a short margin each side of speech before
recognition, and word times are mapped back to the recording as stored (the console plays
the original, so a word's time must point there).

Speech is found by WebRTC's voice activity detector (``webrtcvad-wheels``): the detector
every browser runs on phone-quality audio, a small C extension with wheels, rather than an
energy threshold that line hiss and a quiet caller would both confuse.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from gateway.voice.audio import SAMPLE_RATE, SILENCE_DBFS, audioop

FRAME_MS = 30  # webrtcvad accepts 10, 20 or 30 ms frames
FRAME_BYTES = SAMPLE_RATE * FRAME_MS // 1000 * 2
QUIET_RMS = 32768 * 10 ** (SILENCE_DBFS / 20)


@dataclass(frozen=True)
class Compressed:
    """Audio with long pauses cut, and where each kept stretch came from."""

    pcm: bytes
    original_seconds: float
    # (start in the compressed audio, start in the original), seconds, one per kept stretch
    spans: tuple[tuple[float, float], ...]

    @property
    def seconds(self) -> float:
        return len(self.pcm) / 2 / SAMPLE_RATE

    def to_original(self, t: float, *, end: bool = False) -> float:
        """A time in the compressed audio as a time in the original recording.

        A word that ends exactly where two kept stretches meet ends in the earlier one
        (``end=True``); one that starts there starts in the later one.
        """
        if not self.spans:
            return t
        starts = [s[0] for s in self.spans]
        i = (bisect.bisect_left if end else bisect.bisect_right)(starts, t) - 1
        compressed_start, original_start = self.spans[max(i, 0)]
        return original_start + (t - compressed_start)


def speech_frames(pcm: bytes, aggressiveness: int) -> list[bool]:
    """One speech / non-speech decision per 30 ms frame of 16 kHz PCM."""
    import webrtcvad

    vad = webrtcvad.Vad(aggressiveness)
    decisions: list[bool] = []
    for start in range(0, len(pcm), FRAME_BYTES):
        frame = pcm[start:start + FRAME_BYTES]
        if len(frame) < FRAME_BYTES:  # too short to judge: as the frame before it
            decisions.append(bool(decisions) and decisions[-1])
            continue
        # The detector is level-blind and calls faint line hiss speech; below the level that
        # already means "no speech" for a whole recording (audio.py), a frame is a pause.
        decisions.append(audioop.rms(frame, 2) >= QUIET_RMS
                         and vad.is_speech(frame, SAMPLE_RATE))
    return decisions


def speech_spans(frames: list[bool], margin_frames: int) -> list[tuple[int, int]]:
    """Frame ranges [start, end) of speech widened by the margin, overlapping ones merged.

    Pauses up to twice the margin are kept whole: cutting them would save nothing.
    """
    spans: list[tuple[int, int]] = []
    for i, speech in enumerate(frames):
        if not speech:
            continue
        start, end = max(i - margin_frames, 0), min(i + 1 + margin_frames, len(frames))
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return spans


def compress(pcm: bytes, *, margin_seconds: float, aggressiveness: int) -> Compressed | None:
    """The speech of ``pcm`` with long pauses cut; None when the detector hears no speech."""
    frames = speech_frames(pcm, aggressiveness)
    margin = max(round(margin_seconds * 1000 / FRAME_MS), 0)
    spans = speech_spans(frames, margin)
    if not spans:
        return None
    out, kept = bytearray(), []
    for start, end in spans:
        kept.append((len(out) / 2 / SAMPLE_RATE, start * FRAME_MS / 1000))
        out += pcm[start * FRAME_BYTES:end * FRAME_BYTES]
    return Compressed(bytes(out), len(pcm) / 2 / SAMPLE_RATE, tuple(kept))
