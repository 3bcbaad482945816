"""Intake queue jobs."""

from __future__ import annotations

from gateway.db import unit_of_work
from gateway.intake import service


def process_item(item_id: int) -> str:
    """Identify the language of one item and route it to a province queue (idempotent)."""
    with unit_of_work() as session:
        return service.process_item(session, item_id)
