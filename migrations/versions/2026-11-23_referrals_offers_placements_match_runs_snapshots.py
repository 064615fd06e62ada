"""referrals offers placements match runs snapshots

Revision ID: 0003_referrals
Revises: 0002_notifications
Create Date: 2026-11-23 19:22:17.919272
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0003_referrals'
down_revision: str | None = '0002_notifications'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('occupancy_snapshot',
    sa.Column('snapshot_on', sa.Date(), nullable=False),
    sa.Column('authority_code', sa.String(length=9), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('units', sa.Integer(), nullable=False),
    sa.Column('bedspaces', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('snapshot_on', 'authority_code', 'type', 'status', name=op.f('pk_occupancy_snapshot'))
    )
    op.create_table('match_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('authority_code', sa.String(length=9), nullable=True, comment="the officer's authority; null for admin runs"),
    sa.Column('created_by_key_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('referrals', sa.Integer(), nullable=False),
    sa.Column('units', sa.Integer(), nullable=False),
    sa.Column('placed', sa.Integer(), nullable=False),
    sa.Column('inputs', postgresql.JSONB(astext_type=sa.Text()), nullable=False, comment='summary: ids and counts, no household data'),
    sa.Column('result', postgresql.JSONB(astext_type=sa.Text()), nullable=False, comment='assignments and unassigned with rule codes'),
    sa.ForeignKeyConstraint(['authority_code'], ['authority.code'], name=op.f('fk_match_run_authority_code_authority')),
    sa.ForeignKeyConstraint(['created_by_key_id'], ['api_key.id'], name=op.f('fk_match_run_created_by_key_id_api_key'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_match_run'))
    )
    op.create_index(op.f('ix_match_run_authority_code'), 'match_run', ['authority_code'], unique=False)
    op.create_table('referral',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('authority_code', sa.String(length=9), nullable=False),
    sa.Column('created_by_key_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('open', 'placed', 'closed', name='referralstatus', native_enum=False, length=20), nullable=False),
    sa.Column('risk', sa.Enum('standard', 'medium', 'high', name='risk', native_enum=False, length=20), nullable=False),
    sa.Column('marac', sa.Boolean(), nullable=False),
    sa.Column('referred_on', sa.Date(), nullable=False),
    sa.Column('needed_by', sa.Date(), nullable=True),
    sa.Column('household', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('needs', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('safety', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('preferences', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('equality', postgresql.JSONB(astext_type=sa.Text()), nullable=False, comment='equality monitoring for the annual return'),
    sa.Column('outcome', sa.String(length=20), nullable=True),
    sa.Column('close_reason', sa.String(length=40), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('pseudonymised_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['authority_code'], ['authority.code'], name=op.f('fk_referral_authority_code_authority')),
    sa.ForeignKeyConstraint(['created_by_key_id'], ['api_key.id'], name=op.f('fk_referral_created_by_key_id_api_key'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral'))
    )
    op.create_index(op.f('ix_referral_authority_code'), 'referral', ['authority_code'], unique=False)
    op.create_index('ix_referral_open', 'referral', ['authority_code'], unique=False, postgresql_where="status = 'open'")
    op.create_table('offer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('referral_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'accepted', 'declined', 'withdrawn', 'expired', name='offerstatus', native_enum=False, length=20), nullable=False),
    sa.Column('created_by_key_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decline_reason', sa.String(length=40), nullable=True),
    sa.Column('declined_by', sa.String(length=20), nullable=True, comment='role that declined'),
    sa.ForeignKeyConstraint(['created_by_key_id'], ['api_key.id'], name=op.f('fk_offer_created_by_key_id_api_key'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['referral_id'], ['referral.id'], name=op.f('fk_offer_referral_id_referral'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_offer_unit_id_unit'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_offer'))
    )
    op.create_index('ix_offer_expiry', 'offer', ['expires_at'], unique=False, postgresql_where=sa.text("status = 'pending'"))
    op.create_index(op.f('ix_offer_referral_id'), 'offer', ['referral_id'], unique=False)
    op.create_index(op.f('ix_offer_unit_id'), 'offer', ['unit_id'], unique=False)
    op.create_index('uq_offer_pending_referral', 'offer', ['referral_id'], unique=True, postgresql_where=sa.text("status = 'pending'"))
    op.create_index('uq_offer_pending_unit', 'offer', ['unit_id'], unique=True, postgresql_where=sa.text("status = 'pending'"))
    op.create_table('placement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('offer_id', sa.Integer(), nullable=False),
    sa.Column('referral_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('started_on', sa.Date(), nullable=False),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('destination', sa.String(length=30), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['offer_id'], ['offer.id'], name=op.f('fk_placement_offer_id_offer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['referral_id'], ['referral.id'], name=op.f('fk_placement_referral_id_referral'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_placement_unit_id_unit'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_placement')),
    sa.UniqueConstraint('offer_id', name=op.f('uq_placement_offer_id'))
    )
    op.create_index(op.f('ix_placement_referral_id'), 'placement', ['referral_id'], unique=False)
    op.create_index(op.f('ix_placement_unit_id'), 'placement', ['unit_id'], unique=False)
    op.create_index('uq_placement_live_unit', 'placement', ['unit_id'], unique=True, postgresql_where=sa.text('ended_on IS NULL'))
    op.add_column('unit', sa.Column('stale_flagged_at', sa.DateTime(timezone=True), nullable=True, comment='when the provider was asked to reconfirm'))


def downgrade() -> None:
    op.drop_column('unit', 'stale_flagged_at')
    op.drop_index('uq_placement_live_unit', table_name='placement', postgresql_where=sa.text('ended_on IS NULL'))
    op.drop_index(op.f('ix_placement_unit_id'), table_name='placement')
    op.drop_index(op.f('ix_placement_referral_id'), table_name='placement')
    op.drop_table('placement')
    op.drop_index('uq_offer_pending_unit', table_name='offer', postgresql_where=sa.text("status = 'pending'"))
    op.drop_index('uq_offer_pending_referral', table_name='offer', postgresql_where=sa.text("status = 'pending'"))
    op.drop_index(op.f('ix_offer_unit_id'), table_name='offer')
    op.drop_index(op.f('ix_offer_referral_id'), table_name='offer')
    op.drop_index('ix_offer_expiry', table_name='offer', postgresql_where=sa.text("status = 'pending'"))
    op.drop_table('offer')
    op.drop_index('ix_referral_open', table_name='referral', postgresql_where="status = 'open'")
    op.drop_index(op.f('ix_referral_authority_code'), table_name='referral')
    op.drop_table('referral')
    op.drop_index(op.f('ix_match_run_authority_code'), table_name='match_run')
    op.drop_table('match_run')
    op.drop_table('occupancy_snapshot')
