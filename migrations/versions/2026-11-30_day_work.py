"""the day's work: referral version, changed fields in the audit trail, suitability changes, vacancy alerts

Revision ID: 0005_day_work
Revises: 0004_dashboard
Create Date: 2026-11-30 06:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0005_day_work'
down_revision: str | None = '0004_dashboard'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('referral', sa.Column('version', sa.Integer(), server_default='1', nullable=False))
    op.add_column('audit_event', sa.Column('fields', postgresql.ARRAY(sa.String(length=40)), nullable=True))
    op.create_table('suitability_change',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('referral_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('(unit_id IS NULL) <> (referral_id IS NULL)', name=op.f('ck_suitability_change_one_record')),
    sa.ForeignKeyConstraint(['referral_id'], ['referral.id'], name=op.f('fk_suitability_change_referral_id_referral'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_suitability_change_unit_id_unit'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_suitability_change'))
    )
    op.create_table('vacancy_alert',
    sa.Column('referral_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['referral_id'], ['referral.id'], name=op.f('fk_vacancy_alert_referral_id_referral'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_vacancy_alert_unit_id_unit'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('referral_id', 'unit_id', name=op.f('pk_vacancy_alert'))
    )
    op.create_index(op.f('ix_vacancy_alert_unit_id'), 'vacancy_alert', ['unit_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_vacancy_alert_unit_id'), table_name='vacancy_alert')
    op.drop_table('vacancy_alert')
    op.drop_table('suitability_change')
    op.drop_column('audit_event', 'fields')
    op.drop_column('referral', 'version')
