"""Twilio's message status callbacks: ``POST /twilio/status`` (signature-checked)."""

from __future__ import annotations

import logging
import re

from fastapi import APIRouter, Response

from gateway.channels.twilio import int_field
from gateway.db import unit_of_work
from gateway.errors import AppError
from gateway.metrics import WEBHOOKS
from gateway.outbound.delivery import apply_status
from gateway.webhooks import SettingsDep, VerifiedForm

log = logging.getLogger(__name__)
router = APIRouter()
_SID = re.compile(r"^(SM|MM)[0-9a-fA-F]{32}$")


@router.post("/twilio/status", response_class=Response)
def message_status(form: VerifiedForm, settings: SettingsDep) -> Response:
    sid = form.get("MessageSid", "")
    status = (form.get("MessageStatus") or form.get("SmsStatus") or "").lower()
    if not _SID.fullmatch(sid):
        raise AppError(400, "malformed MessageSid")
    if not re.fullmatch(r"[a-z_]{1,16}", status):
        raise AppError(400, "malformed MessageStatus")
    if settings.twilio_account_sid and form.get("AccountSid") != settings.twilio_account_sid:
        raise AppError(403, "AccountSid does not match this gateway's account")
    error_code = int_field(form, "ErrorCode")  # 400 "malformed ErrorCode" for "²", "۴۳"
    # Committed before the 2xx: Twilio does not retry status callbacks.
    with unit_of_work() as session:
        result = apply_status(session, sid=sid, status=status, error_code=error_code)
    WEBHOOKS.labels(route="status", result=result).inc()
    log.info("status callback", extra={"result": result, "status": status})
    return Response(status_code=204)
