"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-12-03 13:18:14.282588
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('hubs',
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('name_en', sa.String(length=64), nullable=False),
    sa.Column('name_fa', sa.String(length=64), nullable=False),
    sa.Column('name_ps', sa.String(length=64), nullable=False),
    sa.Column('seat_en', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_hubs'))
    )
    op.create_table('provinces',
    sa.Column('pcode', sa.String(length=4), nullable=False),
    sa.Column('name_en', sa.String(length=64), nullable=False),
    sa.Column('name_fa', sa.String(length=64), nullable=False),
    sa.Column('name_ps', sa.String(length=64), nullable=False),
    sa.Column('capital_en', sa.String(length=64), nullable=False),
    sa.Column('capital_fa', sa.String(length=64), nullable=False),
    sa.Column('area_code', sa.String(length=4), nullable=False),
    sa.Column('hub', sa.String(length=16), nullable=False),
    sa.Column('aliases', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['hub'], ['hubs.code'], name=op.f('fk_provinces_hub_hubs')),
    sa.PrimaryKeyConstraint('pcode', name=op.f('pk_provinces'))
    )
    op.create_table('contacts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('phone_hash', sa.String(length=64), nullable=False),
    sa.Column('phone_encrypted', sa.LargeBinary(), nullable=False),
    sa.Column('pseudonym', sa.String(length=16), nullable=False),
    sa.Column('area_code', sa.String(length=4), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('last_province', sa.String(length=4), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['last_province'], ['provinces.pcode'], name=op.f('fk_contacts_last_province_provinces')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contacts')),
    sa.UniqueConstraint('phone_hash', name=op.f('uq_contacts_phone_hash')),
    sa.UniqueConstraint('pseudonym', name=op.f('uq_contacts_pseudonym'))
    )
    op.create_table('items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('provider', sa.String(length=16), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('raw_text', sa.Text(), nullable=False),
    sa.Column('normalized_text', sa.Text(), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('language_confidence', sa.Float(), nullable=True),
    sa.Column('script', sa.String(length=4), nullable=True),
    sa.Column('language_method', sa.String(length=16), nullable=True),
    sa.Column('province', sa.String(length=4), nullable=True),
    sa.Column('routing_reason', sa.String(length=32), nullable=True),
    sa.Column('routing_detail', sa.String(length=128), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('num_segments', sa.Integer(), nullable=True),
    sa.Column('meta', sa.JSON(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_items_contact_id_contacts')),
    sa.ForeignKeyConstraint(['province'], ['provinces.pcode'], name=op.f('fk_items_province_provinces')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_items')),
    sa.UniqueConstraint('provider', 'external_id', name=op.f('uq_items_provider_external_id'))
    )
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_items_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index('ix_items_queue', ['province', 'status', 'received_at'], unique=False)
        batch_op.create_index('ix_items_status_received_at', ['status', 'received_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_index('ix_items_status_received_at')
        batch_op.drop_index('ix_items_queue')
        batch_op.drop_index(batch_op.f('ix_items_contact_id'))

    op.drop_table('items')
    op.drop_table('contacts')
    op.drop_table('provinces')
    op.drop_table('hubs')
