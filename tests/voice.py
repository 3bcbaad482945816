"""Helpers for the voice tests: a simulated call through the app, loopback Twilio media."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gateway.simulator.call import CallLog, CallSimulator, MediaServer
from tests import support

AUDIO = Path(__file__).parent / "data" / "audio"
CALLER = "+93702345678"


@contextmanager
def voice_env(media: MediaServer | None = None, **extra: str) -> Iterator[None]:
    """Point the gateway's media fetch and REST client at loopback; fast retries."""
    env = {"AMIP_MEDIA_HOSTS": "127.0.0.1,127.0.0.2", "AMIP_MEDIA_RETRY_BASE_SECONDS": "0.01",
           "AMIP_MEDIA_RETRY_SECONDS": "5", **extra}
    if media is not None:
        env["AMIP_TWILIO_API_BASE"] = media.base_url
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    from gateway.settings import reset_settings_cache

    reset_settings_cache()
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        reset_settings_cache()


def media_server() -> MediaServer:
    return MediaServer(support.ACCOUNT_SID, support.AUTH_TOKEN)


def simulate(client: support.SignedClient, media: MediaServer | None, keys: list[str],
             audio: bytes | None = None, **kwargs: Any) -> CallLog:
    """One call through the app under test, signed for the public URL like Twilio's."""
    sim = CallSimulator(support.PUBLIC_BASE, support.AUTH_TOKEN, support.ACCOUNT_SID,
                        media=media, client=client.http)
    return sim.call(caller=CALLER, keys=keys, audio=audio, **kwargs)


def rows(model: Any) -> list[Any]:
    from sqlalchemy import select

    from gateway.db import unit_of_work

    with unit_of_work() as session:
        return list(session.execute(select(model)).scalars())


def run_voice_jobs() -> None:
    support.run_jobs(("intake", "media", "stt"))


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate: Levenshtein distance over characters, spaces ignored."""
    ref = reference.replace(" ", "")
    hyp = hypothesis.replace(" ", "")
    row = list(range(len(hyp) + 1))
    for i, a in enumerate(ref, 1):
        prev, row[0] = row[:], i
        for j, b in enumerate(hyp, 1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a != b))
    return row[len(hyp)] / max(1, len(ref))
