"""The FastAPI application factory."""

from __future__ import annotations

import gc
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway import errors, health, maintenance
from gateway.api.routes import router as api_router
from gateway.channels import get_channel
from gateway.console.routes import router as console_router
from gateway.intake.pgstore import open_writer
from gateway.intake.routes import router as intake_router
from gateway.language.identify import warm_up as warm_up_language
from gateway.outbound.routes import router as outbound_router
from gateway.queue import background_sender
from gateway.reports.routes import api_router as reports_api_router
from gateway.reports.routes import console_router as reports_console_router
from gateway.settings import Settings, get_settings
from gateway.voice.routes import router as voice_router

log = structlog.get_logger("gateway.request")


def create_app(settings: Settings | None = None, *, background: bool = True) -> FastAPI:
    """Build the app; refuses to start without provider and storage secrets (demo aside)."""
    settings = settings or get_settings()
    settings.check_secrets()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # PostgreSQL: the SMS webhook's connections for this event loop (None on SQLite).
        app.state.sms_writer = await open_writer(settings.resolved_database_url, settings)
        if background:  # a serving process (tests build many apps in one process)
            # The acknowledgement identifies each message's language: load langdetect's
            # profiles now, not in the first request; then move everything loaded so far
            # (those profiles alone are ~90,000 objects) out of the garbage collector's
            # sight: it walked them again on every full collection, which busy webhooks
            # trigger (BENCHMARKS.md: 3.9 → 3.1 ms of CPU per durable webhook).
            warm_up_language()
            gc.freeze()
        stop = maintenance.start(settings) if background else None
        yield
        if stop:
            stop.set()
        if app.state.sms_writer is not None:
            await app.state.sms_writer.close()
        await run_in_threadpool(background_sender.flush, 5.0)  # jobs of the last requests

    app = FastAPI(title="AMIP intake gateway", lifespan=lifespan)
    app.state.settings = settings
    app.state.channel = get_channel("twilio", settings)
    errors.install(app)
    app.include_router(health.router)
    app.include_router(intake_router)
    app.include_router(console_router)
    app.include_router(api_router)
    app.include_router(outbound_router)
    app.include_router(reports_console_router)  # issue 6
    app.include_router(reports_api_router)
    app.include_router(voice_router)

    app.add_middleware(RequestContext)
    return app


class RequestContext:
    """Request id for the logs and the reply, and one log line per request.

    Plain ASGI rather than ``@app.middleware("http")``: Starlette's BaseHTTPMiddleware runs
    each request in a task group and copies the response through memory streams, which
    cost about a tenth of a durable webhook's CPU (BENCHMARKS.md, fourth session).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = Headers(scope=scope).get("x-request-id") or uuid.uuid4().hex
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500  # unless a response starts: an exception becomes ServerErrorMiddleware's 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["x-request-id"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            structlog.contextvars.unbind_contextvars("request_id")
            # Path only, never the query string: nothing a participant sent ends up in logs.
            # Routes add fields through request.state, which lives in scope["state"].
            fields: dict[str, Any] = scope.get("state", {}).get("log_fields", {})
            log.info("request", method=scope["method"], path=scope["path"], status=status,
                     request_id=request_id,
                     ms=round((time.perf_counter() - started) * 1000, 1), **fields)
