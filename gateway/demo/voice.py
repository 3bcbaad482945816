"""The demo's voicemails: whole calls played through the call simulator, plus an STT worker.

Korean stands in for a language with a model (the one Vosk model on PyPI), as keypad
digit 6; Dari, Pashto and Uzbek calls are stored, routed by keypad and marked ``no_model``.
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.simulator.call import CallSimulator, MediaServer

VOICEMAILS = Path(__file__).with_name("voicemails")
IVR_LANGUAGES = "fa,ps,en,uz,tk,ko"


@dataclass(frozen=True)
class Voicemail:
    audio: str
    keys: tuple[str, ...]  # language, hub, province (0 skips; "" is silence)
    caller: int
    note: str


CALLS = (
    Voicemail("korean.wav", ("6", "2", "1"), 901, "Korean, East → Nangarhar (transcribed)"),
    Voicemail("dari.wav", ("1", "1", "1"), 902, "Dari, Central → Kabul"),
    Voicemail("pashto.wav", ("2", "4", "2"), 903, "Pashto, South → Zabul"),
    Voicemail("uzbek.wav", ("4", "6", "0"), 904, "Uzbek, North, province skipped"),
    Voicemail("dari.wav", ("#", "", "*", "0"), 905, "keys #, nothing, * → Dari default"),
)


def env(media: MediaServer) -> dict[str, str]:
    """What the gateway and workers need to fetch from (and delete at) the fake Twilio."""
    return {"AMIP_MEDIA_HOSTS": "127.0.0.1", "AMIP_TWILIO_API_BASE": media.base_url,
            "AMIP_IVR_LANGUAGES": IVR_LANGUAGES}


def start_stt_worker(child_env: dict[str, str], log_dir: Path) -> subprocess.Popen[bytes]:
    log = (log_dir / "stt-worker.log").open("wb")
    return subprocess.Popen(  # noqa: S603 - our interpreter, fixed arguments
        [sys.executable, "-m", "gateway.cli", "worker", "--queues", "stt"],
        env={**os.environ, **child_env}, stdout=log, stderr=subprocess.STDOUT)


def play(base: str, media: MediaServer, token: str, account_sid: str) -> int:
    """Play every demo call; returns how many left a recording."""
    sim = CallSimulator(base, token, account_sid, media=media)
    made = 0
    for vm in CALLS:
        log = sim.call(caller=f"+9370{vm.caller:07d}", keys=list(vm.keys),
                       audio=(VOICEMAILS / vm.audio).read_bytes())
        made += log.recording_sid is not None
    return made


def wait_transcribed(expected: int, timeout: float = 180) -> list[dict[str, Any]]:
    from gateway.db import unit_of_work
    from gateway.intake.queries import list_items

    deadline = time.monotonic() + timeout
    while True:
        with unit_of_work() as session:
            rows = list_items(session, channel="voice")
        if len(rows) >= expected and all(r["transcript_status"] not in (None, "pending")
                                         and r["status"] != "received" for r in rows):
            return rows
        if time.monotonic() > deadline:
            return rows
        time.sleep(0.5)


def print_summary(rows: list[dict[str, Any]], media: MediaServer) -> None:
    print(f"\nVoicemails: {len(rows)} items; recordings deleted at 'Twilio': {len(media.deleted)}")
    for r in rows:
        text = (r["text"] or "")[:40]
        print(f"  {r['language'] or '-':<4} {r['province'] or 'unrouted':<9} "
              f"{r['routing_reason'] or '-':<9} {r['transcript_status'] or '-':<17} "
              f"audio={'yes' if r['audio'] else 'no ':<4} {text}")
    counts = collections.Counter(r["transcript_status"] for r in rows)
    print("Transcripts: " + ", ".join(f"{k} {v}" for k, v in counts.most_common()))
