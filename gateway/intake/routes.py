"""Inbound SMS webhook: verify → parse → durable store → TwiML reply."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool
from twilio.twiml.messaging_response import MessagingResponse

from gateway.contacts.crypto import get_vault
from gateway.intake import service
from gateway.metrics import WEBHOOKS
from gateway.outbound.subscriptions import keyword_reply, parse
from gateway.webhooks import ChannelDep, SettingsDep, VerifiedForm

router = APIRouter()
TWIML = "application/xml"


@router.post("/twilio/sms", response_class=Response)
async def inbound_sms(request: Request, form: VerifiedForm, channel: ChannelDep,
                      settings: SettingsDep) -> Response:
    msg = channel.parse_inbound_sms(form)
    acceptance = await service.accept_sms_async(
        msg, settings=settings, vault=get_vault(),
        writer=getattr(request.app.state, "sms_writer", None))
    result = "spooled" if acceptance.spooled else "duplicate" if acceptance.duplicate else "stored"
    WEBHOOKS.labels(route="sms", result=result).inc()
    # Carried by the one request log line (gateway/app.py) rather than a second line.
    request.state.log_fields = {"item_id": acceptance.item_id, "result": result}
    reply = MessagingResponse()
    # A keyword's reply language is an ORM look-up: in the thread pool, never on the event
    # loop, where a wait for the database would stall every other webhook of the process.
    keyword = await run_in_threadpool(keyword_reply, msg, settings,
                                      spooled=acceptance.spooled) if parse(msg.body) else None
    ack = keyword or service.acknowledgement(msg, settings, acceptance.preferred_language)
    if ack:
        reply.message(ack)
    return Response(content=str(reply), media_type=TWIML)
