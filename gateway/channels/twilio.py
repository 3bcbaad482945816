"""Twilio: webhook signatures and the inbound SMS form.

Signatures use the twilio library's RequestValidator to compute the HMAC over the public
URL Twilio requested plus every posted parameter (repeated keys included); we compare it in
constant time against the URL with and without the *default* port only.

The secret is the account's Auth Token (HMAC-SHA1), unless the request carries
X-Twilio-Webhooks-Signature-Settings: then a Webhook Rule made Twilio sign with the
SharedKey the header names (``key=<id>,algorithm=<alg>``), and only that key's secret,
configured in AMIP_TWILIO_SHARED_KEYS, can validate it. Several keys may be configured at
once, so a key can be rotated without refusing a single webhook.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

from starlette.datastructures import ImmutableMultiDict
from twilio.request_validator import RequestValidator, get_signature_algorithm

from gateway.channels.base import InboundMessage
from gateway.errors import AppError

NAME = "twilio"
SETTINGS_HEADER = "x-twilio-webhooks-signature-settings"
log = logging.getLogger(__name__)
_SID = {
    "MessageSid": re.compile(r"^(SM|MM)[0-9a-fA-F]{32}$"),
    "AccountSid": re.compile(r"^AC[0-9a-fA-F]{32}$"),
}
# Fields we keep as metadata. Everything else Twilio adds later is accepted and ignored,
# so a new field can never smuggle a number or text into storage.
_META_FIELDS = (
    "MessagingServiceSid", "NumMedia", "NumSegments", "SmsStatus", "ApiVersion",
    "FromCountry", "FromState", "FromCity", "FromZip",
    "ToCountry", "ToState", "ToCity", "ToZip", "MediaContentType0",
)
_MAX_BODY_CHARS = 1600  # Twilio's own limit for one (concatenated) message.


class TwilioChannel:
    name = NAME

    def __init__(self, auth_token: str, account_sid: str | None = None,
                 shared_keys: Mapping[str, str] | None = None) -> None:
        self._validator = RequestValidator(auth_token)
        self._shared = {key_id: RequestValidator(secret)
                        for key_id, secret in (shared_keys or {}).items()}
        self._account_sid = account_sid

    def verify(self, url: str, params: ImmutableMultiDict[str, str],
               headers: Mapping[str, str]) -> bool:
        signature = headers.get("x-twilio-signature", "")
        if not signature or not signature.isascii():
            # A real signature is base64; compare_digest raises on non-ASCII str (a 500).
            return False
        validator, algorithm = self._signer(headers.get(SETTINGS_HEADER, ""))
        if validator is None or algorithm.upper() not in ("HMAC_SHA1", "HMAC_SHA256"):
            return False
        # Twilio is inconsistent about the default port, so both forms are accepted; a
        # non-default port must match exactly (the library would drop any port).
        return any(
            hmac.compare_digest(
                validator.compute_signature(candidate, params, algorithm), signature)
            for candidate in _port_variants(url)
        )

    def _signer(self, settings_header: str) -> tuple[RequestValidator | None, str]:
        """The validator holding the secret Twilio signed with, and the algorithm."""
        algorithm = get_signature_algorithm(settings_header)
        if not settings_header.strip():
            return self._validator, algorithm
        # With the header, the Auth Token never validates: a SharedKey signature is only
        # ever checked with that key's secret (as the twilio libraries do).
        key_id = _header_part(settings_header, "key")
        validator = self._shared.get(key_id)
        if validator is None:
            # An operator must see this: every webhook under that Webhook Rule is refused.
            # The key id is Twilio's name for a secret, not the secret itself.
            log.warning("webhook signed with a SharedKey this gateway does not have; set "
                        "AMIP_TWILIO_SHARED_KEYS", extra={"shared_key_id": key_id[:64]})
        return validator, algorithm

    def parse_inbound_sms(self, params: ImmutableMultiDict[str, str]) -> InboundMessage:
        for name in ("MessageSid", "AccountSid", "From", "To"):
            if not params.get(name, "").strip():
                raise AppError(400, f"missing required field {name}")
        for name, pattern in _SID.items():
            if not pattern.fullmatch(params[name]):
                raise AppError(400, f"malformed {name}")
        if self._account_sid and params["AccountSid"] != self._account_sid:
            raise AppError(403, "AccountSid does not match this gateway's account")
        body = params.get("Body", "")
        if "\x00" in body:
            # PostgreSQL text cannot hold NUL; say so rather than fail as a 500 forever.
            raise AppError(400, "Body contains a NUL character")
        if len(body) > _MAX_BODY_CHARS:
            raise AppError(400, f"Body longer than {_MAX_BODY_CHARS} characters")
        return InboundMessage(
            provider=NAME,
            external_id=params["MessageSid"],
            account=params["AccountSid"],
            sender=params["From"],
            recipient=params["To"],
            body=body,
            num_segments=int_field(params, "NumSegments"),
            num_media=int_field(params, "NumMedia") or 0,
            meta={k: params[k] for k in _META_FIELDS if k in params},
        )


def _header_part(header: str, name: str) -> str:
    """The value of ``name=`` in a comma-separated settings header ("" if absent)."""
    for part in header.split(","):
        key, separator, value = part.partition("=")
        if separator and key.strip() == name:
            return value.strip()
    return ""


def _port_variants(url: str) -> list[str]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        # With forwarded headers trusted, the host comes from the request: "host:abc",
        # "host:99999" or "[::1" name no URL Twilio signs. Only the URL itself is tried
        # (and fails: 403), rather than a 500 for anyone who sends such a header.
        return [url]
    default = {"https": 443, "http": 80}.get(parts.scheme)
    host = parts.hostname or ""
    if port is None:
        return [url, urlunsplit(parts._replace(netloc=f"{host}:{default}"))]
    if port == default:
        return [url, urlunsplit(parts._replace(netloc=host))]
    return [url]


def int_field(params: ImmutableMultiDict[str, str], name: str) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    # ASCII only: "²".isdigit() is true, yet int("²") raises (a 500 instead of a 400).
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 6:
        raise AppError(400, f"malformed {name}")
    return int(raw)
