"""Replays inbound SMS against a gateway exactly as Twilio posts them (signed forms)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from starlette.datastructures import ImmutableMultiDict
from twilio.request_validator import RequestValidator

SHORTCODE = "+93799000111"


@dataclass(frozen=True)
class Posted:
    message_sid: str
    status: int


def demo_number(contact: int, kind: str = "mobile", area_code: str | None = None) -> str:
    """A generated, well-formed Afghan number for a demo contact (never a real list)."""
    if kind == "landline" and area_code:
        return f"+93{area_code}{contact:07d}"
    return f"+9370{contact:07d}"


class SmsSimulator:
    def __init__(self, base_url: str, auth_token: str, account_sid: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.validator = RequestValidator(auth_token)
        self.account_sid = account_sid

    def form(self, *, sid: str, sender: str, body: str) -> list[tuple[str, str]]:
        return [
            ("ToCountry", "AF"), ("SmsMessageSid", sid), ("NumMedia", "0"), ("SmsSid", sid),
            ("SmsStatus", "received"), ("Body", body), ("FromCountry", "AF"),
            ("To", SHORTCODE), ("NumSegments", "1"), ("MessageSid", sid),
            ("AccountSid", self.account_sid), ("From", sender), ("ApiVersion", "2010-04-01"),
        ]

    def post(self, client: httpx.Client, form: list[tuple[str, str]]) -> int:
        url = self.base_url + "/twilio/sms"
        signature = self.validator.compute_signature(url, ImmutableMultiDict(form))
        response = client.post(url, content=urlencode(form), headers={
            "content-type": "application/x-www-form-urlencoded",
            "x-twilio-signature": signature})
        return response.status_code

    def replay(self, lines: Sequence[dict[str, Any]]) -> list[Posted]:
        """Post each line; a line with ``resend_of`` re-posts that earlier MessageSid."""
        sent: list[tuple[str, list[tuple[str, str]]]] = []
        results: list[Posted] = []
        with httpx.Client(timeout=10) as client:
            for line in lines:
                if "resend_of" in line:
                    sid, form = sent[int(line["resend_of"])]
                else:
                    sid = "SM" + secrets.token_hex(16)
                    sender = demo_number(int(line["contact"]), line.get("number_kind", "mobile"),
                                         line.get("area_code"))
                    form = self.form(sid=sid, sender=sender, body=line.get("body", ""))
                sent.append((sid, form))
                results.append(Posted(sid, self.post(client, form)))
        return results
