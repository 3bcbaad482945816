"""Sending through Twilio's REST API with the real ``twilio`` library.

Every outcome of a create call falls in one of four kinds, because each needs different
handling upstream: accepted (we have a MessageSid), rejected (a permanent Twilio error for
this recipient), throttled (429: back off and try again) and *ambiguous* — the request may
have reached Twilio and been accepted (timeout, connection reset, 5xx), so it must be
looked up before it is ever sent again.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import requests
from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from gateway.settings import Settings

# The library logs request parameters (recipient numbers) at INFO: never let it.
logging.getLogger("twilio.http_client").setLevel(logging.WARNING)

# Permanent per-recipient errors at create time (https://www.twilio.com/docs/api/errors).
OPTED_OUT = 21610
PERMANENT = {21211, 21212, 21408, 21610, 21612, 21614, 30003, 30005, 30006}


@dataclass(frozen=True)
class Outcome:
    kind: str  # accepted | rejected | throttled | ambiguous
    sid: str | None = None
    status: str | None = None
    error_code: int | None = None


class TwilioSender:
    """One twilio ``Client`` per thread (a requests Session is not shared across threads)."""

    def __init__(self, settings: Settings) -> None:
        if not settings.twilio_account_sid or settings.twilio_auth_token is None:
            raise RuntimeError("AMIP_TWILIO_ACCOUNT_SID and AMIP_TWILIO_AUTH_TOKEN must be set")
        if not settings.twilio_sender:
            raise RuntimeError("AMIP_TWILIO_SENDER must be set to send bulletins")
        self._sid = settings.twilio_account_sid
        self._token = settings.twilio_auth_token.get_secret_value()
        self._base = settings.twilio_api_base.rstrip("/")
        self._timeout = settings.twilio_timeout_seconds
        self._sender = settings.twilio_sender
        self._callback = (settings.public_base_url or "").rstrip("/") + "/twilio/status"
        self._local = threading.local()

    def _client(self) -> Client:
        client: Client | None = getattr(self._local, "client", None)
        if client is None:
            http = TwilioHttpClient(timeout=self._timeout, pool_connections=True)
            assert http.session is not None
            http.session.mount("http://", HTTPAdapter(pool_maxsize=4))
            client = Client(self._sid, self._token, http_client=http)
            client.api.base_url = self._base  # AMIP_TWILIO_API_BASE (a loopback fake in tests)
            self._local.client = client
        return client

    def create(self, to: str, body: str) -> Outcome:
        """Post one message with a StatusCallback; classify what happened."""
        sender = ({"messaging_service_sid": self._sender} if self._sender.startswith("MG")
                  else {"from_": self._sender})
        try:
            message = self._client().messages.create(
                to=to, body=body, status_callback=self._callback, **sender)
        except TwilioRestException as exc:
            if exc.status == 429:
                return Outcome("throttled", error_code=exc.code)
            if exc.status >= 500:
                return Outcome("ambiguous", error_code=exc.code)
            return Outcome("rejected", error_code=exc.code or exc.status)
        except (requests.RequestException, TwilioException, OSError):
            return Outcome("ambiguous")
        return Outcome("accepted", sid=message.sid, status=message.status)

    def find(self, to: str, body: str, since: datetime) -> Outcome | None:
        """A message to ``to`` with this body created since ``since``, if Twilio has one.

        Filters by recipient only: a message still queued has no DateSent yet.
        """
        try:
            messages = self._client().messages.list(to=to, limit=20)
        except (TwilioRestException, requests.RequestException, TwilioException, OSError):
            raise LookupUnavailable() from None
        if since.tzinfo is None:  # SQLite hands back naive UTC
            since = since.replace(tzinfo=UTC)
        cutoff = since - timedelta(seconds=5)  # clocks of two machines
        for m in messages:
            if m.body == body and m.date_created is not None and m.date_created >= cutoff:
                return Outcome("accepted", sid=m.sid, status=m.status)
        return None


class LookupUnavailable(RuntimeError):
    """Twilio could not be asked; the message stays unresolved and is looked up later."""
