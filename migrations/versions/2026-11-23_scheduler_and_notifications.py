"""scheduler and notifications: job_run, webhook, outbox_message

Revision ID: 0002_notifications
Revises: 93a8d33cb121
Create Date: 2026-11-23 19:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0002_notifications'
down_revision: str | None = '93a8d33cb121'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('job_run',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('last_run_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_job_run'))
    )
    op.create_table('webhook',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('secret', sa.String(length=80), nullable=False),
    sa.Column('events', postgresql.ARRAY(sa.String(length=40)), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=True),
    sa.Column('authority_code', sa.String(length=9), nullable=True),
    sa.Column('created_by_key_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('(provider_id IS NULL) <> (authority_code IS NULL)', name=op.f('ck_webhook_one_owner')),
    sa.ForeignKeyConstraint(['authority_code'], ['authority.code'], name=op.f('fk_webhook_authority_code_authority')),
    sa.ForeignKeyConstraint(['created_by_key_id'], ['api_key.id'], name=op.f('fk_webhook_created_by_key_id_api_key'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['provider_id'], ['provider.id'], name=op.f('fk_webhook_provider_id_provider'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook'))
    )
    op.create_index(op.f('ix_webhook_authority_code'), 'webhook', ['authority_code'], unique=False)
    op.create_index(op.f('ix_webhook_provider_id'), 'webhook', ['provider_id'], unique=False)
    op.create_table('outbox_message',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('webhook_id', sa.Integer(), nullable=False),
    sa.Column('event', sa.String(length=40), nullable=False),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('status', sa.Enum('pending', 'delivered', 'failed', name='messagestatus', native_enum=False, length=20), server_default='pending', nullable=False),
    sa.Column('attempts', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_error', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['webhook_id'], ['webhook.id'], name=op.f('fk_outbox_message_webhook_id_webhook'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_message'))
    )
    op.create_index('ix_outbox_message_due', 'outbox_message', ['next_attempt_at'], unique=False, postgresql_where="status = 'pending'")
    op.create_index(op.f('ix_outbox_message_webhook_id'), 'outbox_message', ['webhook_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_outbox_message_webhook_id'), table_name='outbox_message')
    op.drop_index('ix_outbox_message_due', table_name='outbox_message', postgresql_where="status = 'pending'")
    op.drop_table('outbox_message')
    op.drop_index(op.f('ix_webhook_provider_id'), table_name='webhook')
    op.drop_index(op.f('ix_webhook_authority_code'), table_name='webhook')
    op.drop_table('webhook')
    op.drop_table('job_run')
