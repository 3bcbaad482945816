"""reports: received_at index and statistics on the period expressions

Revision ID: 0005
Revises: 0004
"""
from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

PERIODS = ("day", "week", "month")


def upgrade() -> None:
    # Date-bounded reports: an index-only scan of the range on PostgreSQL.
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.create_index("ix_items_received_at", ["received_at"], unique=False,
                              postgresql_include=["province", "language", "channel", "status"])
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite has no expression statistics; its reports are small
    # The expressions gateway.reports.counts groups by, verbatim. Without their statistics
    # the planner takes every timestamp for its own group (a million groups for a million
    # items), sorts them all on disk and answers in ~3 s; with them it expects ~52 weeks and
    # hashes the groups in memory in parallel (BENCHMARKS.md, "Reports").
    for period in PERIODS:
        op.execute(f"CREATE STATISTICS st_items_{period} ON "
                   f"(CAST(date_trunc('{period}', timezone('UTC', received_at)) AS DATE)) "
                   "FROM items")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for period in PERIODS:
            op.execute(f"DROP STATISTICS IF EXISTS st_items_{period}")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index("ix_items_received_at")
