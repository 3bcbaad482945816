"""Provider adapters, one module each, registered here (STYLE convention 6)."""

from __future__ import annotations

from gateway.channels.base import Channel
from gateway.channels.twilio import TwilioChannel
from gateway.settings import Settings


def get_channel(name: str, settings: Settings) -> Channel:
    if name == "twilio":
        token = settings.twilio_auth_token
        if token is None:
            raise RuntimeError("AMIP_TWILIO_AUTH_TOKEN is not set")
        return TwilioChannel(token.get_secret_value(), settings.twilio_account_sid,
                             settings.twilio_shared_key_secrets())
    raise KeyError(f"unknown channel {name!r}")
