"""subscriptions and bulletins

Revision ID: 0004
Revises: 0003
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

NOW = sa.text("(CURRENT_TIMESTAMP)")


def upgrade() -> None:
    op.create_table('bulletins',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('texts', sa.JSON(), nullable=False),
    sa.Column('fallback_language', sa.String(length=8), nullable=False),
    sa.Column('provinces', sa.JSON(), nullable=False),
    sa.Column('hubs', sa.JSON(), nullable=False),
    sa.Column('languages', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('approved_by', sa.String(length=64), nullable=True),
    sa.Column('cancelled_by', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=NOW, nullable=False),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('scheduled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bulletins'))
    )
    with op.batch_alter_table('bulletins', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bulletins_status'), ['status'], unique=False)

    op.create_table('parked_statuses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_sid', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('error_code', sa.Integer(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=NOW, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parked_statuses')),
    sa.UniqueConstraint('message_sid', 'status', name=op.f('uq_parked_statuses_message_sid_status'))
    )
    with op.batch_alter_table('parked_statuses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_parked_statuses_message_sid'), ['message_sid'], unique=False)

    op.create_table('deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bulletin_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('segments', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('message_sid', sa.String(length=64), nullable=True),
    sa.Column('error_code', sa.Integer(), nullable=True),
    sa.Column('claimed_by', sa.String(length=40), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['bulletin_id'], ['bulletins.id'], name=op.f('fk_deliveries_bulletin_id_bulletins')),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_deliveries_contact_id_contacts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deliveries')),
    sa.UniqueConstraint('bulletin_id', 'contact_id', name=op.f('uq_deliveries_bulletin_id_contact_id')),
    sa.UniqueConstraint('message_sid', name=op.f('uq_deliveries_message_sid'))
    )
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_deliveries_bulletin_status', ['bulletin_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_deliveries_contact_id'), ['contact_id'], unique=False)

    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subscription', sa.String(length=8), server_default='none', nullable=False))
        batch_op.add_column(sa.Column('subscription_changed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('preferred_language', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('home_province', sa.String(length=4), nullable=True))
        batch_op.create_index(batch_op.f('ix_contacts_subscription'), ['subscription'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_contacts_home_province_provinces'), 'provinces', ['home_province'], ['pcode'])


def downgrade() -> None:
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_contacts_home_province_provinces'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_contacts_subscription'))
        batch_op.drop_column('home_province')
        batch_op.drop_column('preferred_language')
        batch_op.drop_column('subscription_changed_at')
        batch_op.drop_column('subscription')

    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deliveries_contact_id'))
        batch_op.drop_index('ix_deliveries_bulletin_status')
    op.drop_table('deliveries')
    with op.batch_alter_table('parked_statuses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_parked_statuses_message_sid'))
    op.drop_table('parked_statuses')
    with op.batch_alter_table('bulletins', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bulletins_status'))
    op.drop_table('bulletins')
