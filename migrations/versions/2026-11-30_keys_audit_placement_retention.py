"""keys: expiry and last use; audit: outcome of each attempt; placements: when pseudonymised

Revision ID: 0006_keys_audit
Revises: 0005_day_work
Create Date: 2026-11-30 07:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006_keys_audit'
down_revision: str | None = '0005_day_work'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('api_key', sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('api_key', sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('audit_event', sa.Column('outcome', sa.String(length=20), server_default='ok', nullable=False))
    op.add_column('placement', sa.Column('pseudonymised_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column('placement', 'pseudonymised_at')
    op.drop_column('audit_event', 'outcome')
    op.drop_column('api_key', 'last_used_at')
    op.drop_column('api_key', 'expires_at')
