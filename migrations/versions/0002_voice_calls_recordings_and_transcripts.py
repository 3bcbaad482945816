"""voice calls recordings and transcripts

Revision ID: 0002
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_sid", sa.String(length=64), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=16), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("language_chosen", sa.Boolean(), nullable=False),
        sa.Column("hub", sa.String(length=16), nullable=True),
        sa.Column("province", sa.String(length=4), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], name=op.f("fk_calls_contact_id_contacts")),
        sa.ForeignKeyConstraint(["province"], ["provinces.pcode"], name=op.f("fk_calls_province_provinces")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calls")),
        sa.UniqueConstraint("call_sid", name=op.f("uq_calls_call_sid")),
    )
    op.create_index(op.f("ix_calls_contact_id"), "calls", ["contact_id"], unique=False)
    op.create_table(
        "recordings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recording_sid", sa.String(length=64), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("media_url", sa.String(length=512), nullable=False),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.String(length=32), nullable=True),
        sa.Column("audio_key", sa.String(length=128), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("size_bytes", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at_provider", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"], name=op.f("fk_recordings_call_id_calls")),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_recordings_item_id_items")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recordings")),
        sa.UniqueConstraint("item_id", name=op.f("uq_recordings_item_id")),
        sa.UniqueConstraint("recording_sid", name=op.f("uq_recordings_recording_sid")),
    )
    op.create_index(op.f("ix_recordings_call_id"), "recordings", ["call_id"], unique=False)
    op.create_table(
        "transcripts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recording_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("words", sa.JSON(), nullable=False),
        sa.Column("model_id", sa.String(length=64), nullable=True),
        sa.Column("audio_seconds", sa.Float(), nullable=True),
        sa.Column("real_time_factor", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["recording_id"], ["recordings.id"], name=op.f("fk_transcripts_recording_id_recordings")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transcripts")),
        sa.UniqueConstraint("recording_id", name=op.f("uq_transcripts_recording_id")),
    )


def downgrade() -> None:
    op.drop_table("transcripts")
    op.drop_index(op.f("ix_recordings_call_id"), table_name="recordings")
    op.drop_table("recordings")
    op.drop_index(op.f("ix_calls_contact_id"), table_name="calls")
    op.drop_table("calls")
