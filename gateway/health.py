"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest
from sqlalchemy import func, select, text

from gateway.db import get_engine
from gateway.geography.reference import load_provinces
from gateway.intake.models import Item
from gateway.intake.states import ItemStatus
from gateway.queue import ALL_QUEUES, get_queue, get_redis
from gateway.settings import Settings
from gateway.webhooks import SettingsDep

router = APIRouter()
log = logging.getLogger(__name__)


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(settings: SettingsDep) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        checks["database"] = type(exc).__name__
    try:
        get_redis().ping()
        checks["redis"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["redis"] = type(exc).__name__
    checks["spool"] = "ok" if _writable(settings.spool_dir) else "not writable"
    audio_dir = getattr(settings, "audio_dir", settings.data_dir / "audio")
    checks["audio_store"] = "ok" if _writable(audio_dir) else "not writable"
    checks["stt_models"] = _stt_models(settings)
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(checks, status_code=200 if ready else 503)


@router.get("/metrics")
def metrics() -> Response:
    _refresh_queue_gauges()
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


QUEUE_DEPTH = Gauge("amip_queue_depth", "Jobs waiting per RQ queue", ["queue"])
ITEMS_WAITING = Gauge("amip_items_waiting",
                      "Items waiting for a coordinator (queued or escalated) per province",
                      ["province"])
OLDEST_WAITING = Gauge("amip_oldest_waiting_seconds",
                       "Age of the oldest waiting item per province", ["province"])
WAITING = (ItemStatus.QUEUED.value, ItemStatus.ESCALATED.value)


def _refresh_queue_gauges() -> None:
    """Read queue depths and the per-province backlog at scrape time (cheap GROUP BY)."""
    try:
        for name in ALL_QUEUES:
            QUEUE_DEPTH.labels(queue=name).set(get_queue(name).count)
    except Exception as exc:  # noqa: BLE001 - a scrape must not fail because Redis is down
        log.warning("metrics: queue depth unavailable", extra={"error": type(exc).__name__})
    try:
        with get_engine().connect() as conn:
            rows = conn.execute(select(Item.province, func.count(), func.min(Item.received_at))
                                .where(Item.status.in_(WAITING)).group_by(Item.province)).all()
    except Exception as exc:  # noqa: BLE001
        log.warning("metrics: backlog unavailable", extra={"error": type(exc).__name__})
        return
    now = datetime.now(UTC)
    for pcode in [p.pcode for p in load_provinces()] + ["unrouted"]:
        ITEMS_WAITING.labels(province=pcode).set(0)
        OLDEST_WAITING.labels(province=pcode).set(0)
    for province, count, oldest in rows:
        label = province or "unrouted"
        ITEMS_WAITING.labels(province=label).set(count)
        if oldest is not None:
            oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=UTC)
            OLDEST_WAITING.labels(province=label).set(max((now - oldest).total_seconds(), 0))


def _stt_models(settings: Settings) -> str:
    """Every configured Vosk model is on disk (checked by its files, not loaded: loading
    takes seconds and hundreds of MB, and belongs to the STT workers)."""
    from gateway.voice.stt import configured_models

    missing = sorted(lang for lang, spec in configured_models(settings).items()
                     if not (spec.path / "am" / "final.mdl").is_file())
    return "ok" if not missing else "missing model: " + ", ".join(missing)


def _writable(path: object) -> bool:
    import os
    from pathlib import Path

    p = Path(str(path))
    p.mkdir(parents=True, exist_ok=True)
    return os.access(p, os.W_OK)
