"""/readyz tells an operator which dependency is missing (DESIGN: database, Redis, audio
store, STT models)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.settings import Settings
from tests.support import SignedClient


def test_ready_when_everything_is_there(client: SignedClient) -> None:
    r = client.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {"database": "ok", "redis": "ok", "spool": "ok", "audio_store": "ok",
                        "stt_models": "ok"}


def test_not_ready_when_a_configured_model_is_missing(base_env: dict[str, str]) -> None:
    settings = Settings(stt_models="fa=/nonexistent/vosk-model-fa,ko=packaged:ko")
    with TestClient(create_app(settings, background=False)) as http:
        r = http.get("/readyz")
    assert r.status_code == 503
    assert r.json()["stt_models"] == "missing model: fa"
