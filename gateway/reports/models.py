"""The index reports read (the items table itself belongs to gateway.intake)."""

from __future__ import annotations

from sqlalchemy import Index

from gateway.intake.models import Item

# A date-bounded report reads only these columns: on PostgreSQL an index-only scan of the
# range instead of the whole table (BENCHMARKS.md, "Reports").
REPORT_INDEX = Index("ix_items_received_at", Item.received_at,
                     postgresql_include=["province", "language", "channel", "status"])
