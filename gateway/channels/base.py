"""The contract every provider module implements (modelled on nyaruka/courier).

A provider module verifies a request's authenticity and turns the provider's form into
our typed inbound events; nothing provider-specific leaks past it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from starlette.datastructures import ImmutableMultiDict


@dataclass(frozen=True)
class InboundMessage:
    provider: str
    external_id: str
    account: str
    sender: str  # as the provider gave it; never logged, stored only encrypted
    recipient: str
    body: str
    num_segments: int | None = None
    num_media: int = 0
    meta: dict[str, str] = field(default_factory=dict)


class Channel(Protocol):
    name: str

    def verify(self, url: str, params: ImmutableMultiDict[str, str],
               headers: Mapping[str, str]) -> bool:
        """True if the request was signed by the provider for exactly this URL and form."""
        ...

    def parse_inbound_sms(self, params: ImmutableMultiDict[str, str]) -> InboundMessage:
        """The provider's inbound SMS form as an InboundMessage; AppError(400) if malformed."""
        ...
