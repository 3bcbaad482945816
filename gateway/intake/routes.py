"""Inbound SMS webhook: verify → parse → durable store → TwiML reply."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request, Response
from twilio.twiml.messaging_response import MessagingResponse

from gateway.contacts.crypto import get_vault
from gateway.intake import service
from gateway.metrics import WEBHOOKS
from gateway.outbound.subscriptions import keyword_reply
from gateway.webhooks import ChannelDep, SettingsDep, VerifiedForm

log = logging.getLogger(__name__)
router = APIRouter()
TWIML = "application/xml"


@router.post("/twilio/sms", response_class=Response)
def inbound_sms(request: Request, form: VerifiedForm, channel: ChannelDep,
                settings: SettingsDep) -> Response:
    msg = channel.parse_inbound_sms(form)
    acceptance = service.accept_sms(msg, settings=settings, vault=get_vault())
    result = "spooled" if acceptance.spooled else "duplicate" if acceptance.duplicate else "stored"
    WEBHOOKS.labels(route="sms", result=result).inc()
    log.info("sms accepted", extra={"item_id": acceptance.item_id, "result": result})
    reply = MessagingResponse()
    ack = keyword_reply(msg, settings, spooled=acceptance.spooled) or service.acknowledgement(
        msg, settings)
    if ack:
        reply.message(ack)
    return Response(content=str(reply), media_type=TWIML)
