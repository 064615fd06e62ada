"""dashboard sessions

Revision ID: 0004_dashboard
Revises: 0003_referrals
Create Date: 2026-11-23 19:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004_dashboard'
down_revision: str | None = '0003_referrals'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('dashboard_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False, comment="sha256 hex of the cookie's token"),
    sa.Column('api_key_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['api_key_id'], ['api_key.id'], name=op.f('fk_dashboard_session_api_key_id_api_key'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dashboard_session')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_dashboard_session_token_hash'))
    )
    op.create_index(op.f('ix_dashboard_session_api_key_id'), 'dashboard_session', ['api_key_id'], unique=False)
    op.create_index(op.f('ix_dashboard_session_expires_at'), 'dashboard_session', ['expires_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_dashboard_session_expires_at'), table_name='dashboard_session')
    op.drop_index(op.f('ix_dashboard_session_api_key_id'), table_name='dashboard_session')
    op.drop_table('dashboard_session')
