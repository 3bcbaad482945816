"""Benchmark-only ASGI app: the product app plus one route that only checks the signature.

``uvicorn benchmarks.ceiling_app:app`` serves everything ``gateway.asgi:app`` serves, so
``POST /twilio/sms`` is the real durable route, and adds ``POST /bench/ceiling``: the same
bounded form read and Twilio signature check (``VerifiedForm``), the same middleware, the
same async handler and an empty TwiML reply — but no contact, no insert, no
commit, no enqueue. Its throughput is the ceiling the durable route is compared with.
This module is never imported by the product.
"""

from __future__ import annotations

from fastapi import FastAPI, Response
from twilio.twiml.messaging_response import MessagingResponse

from gateway import logging as amip_logging
from gateway.app import create_app
from gateway.settings import get_settings
from gateway.webhooks import VerifiedForm

CEILING_PATH = "/bench/ceiling"


def build() -> FastAPI:
    """The product app with the ceiling route; logging set up as `amip serve` does."""
    settings = get_settings()
    # Each uvicorn worker process imports this module, so configure logging here: the
    # benchmark pays for the same JSON log lines a production worker writes.
    amip_logging.configure(settings.log_level, settings.log_json)
    app = create_app(settings)

    @app.post(CEILING_PATH, response_class=Response)
    async def ceiling(form: VerifiedForm) -> Response:
        # An async handler like the product's /twilio/sms, so the ratio measures durability,
        # not the difference between async and threadpool handlers.
        return Response(content=str(MessagingResponse()), media_type="application/xml")

    return app


app = build()
