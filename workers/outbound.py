"""Outbound queue jobs: bulletin send pumps (own queue, so replies are never delayed)."""

from __future__ import annotations

from gateway.outbound import sending
from gateway.settings import get_settings


def send_bulletin(bulletin_id: int) -> int:
    """Send a bulletin's pending deliveries at the shared rate (idempotent, resumable)."""
    return sending.send_bulletin(bulletin_id, get_settings())


def sweep() -> int:
    """Start due scheduled bulletins and restart bulletins whose senders died."""
    return sending.sweep(get_settings())
