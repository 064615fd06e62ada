"""statutory return records: sanctuary type, Part 4 flag, assistance dogs, sources, end reasons, unmet requests

Revision ID: 0007_statutory_return
Revises: 0006_keys_audit
Create Date: 2026-11-30 07:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_statutory_return"
down_revision: str | None = "0006_keys_audit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# scheme.type is a VARCHAR(20) without a CHECK (str_enum): the new value 'sanctuary' needs no DDL.


def upgrade() -> None:
    op.add_column('scheme', sa.Column('no_assistance_dog_reason', sa.Text(), nullable=True))
    op.add_column('scheme', sa.Column(
        'part4_commissioned', sa.Boolean(), server_default=sa.text('false'), nullable=False,
        comment='commissioned by the council under Part 4 of the Domestic Abuse Act 2021'))
    op.add_column('referral', sa.Column('source', sa.String(length=20), server_default='officer', nullable=False))
    op.add_column('referral', sa.Column('recorded_by_provider_id', sa.Integer(), nullable=True))
    op.create_foreign_key(op.f('fk_referral_recorded_by_provider_id_provider'), 'referral', 'provider',
                          ['recorded_by_provider_id'], ['id'], ondelete='SET NULL')
    op.add_column('placement', sa.Column('end_reason', sa.String(length=30), nullable=True,
                                         comment='why support ended; apart from destination'))
    op.create_table('unmet_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('authority_code', sa.String(length=9), nullable=False, comment='the area where support was asked for'),
    sa.Column('requested_on', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=30), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('adults', sa.Integer(), nullable=False),
    sa.Column('children', sa.Integer(), nullable=False),
    sa.Column('created_by_key_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('adults >= 1 AND children >= 0', name=op.f('ck_unmet_request_household_counts')),
    sa.ForeignKeyConstraint(['authority_code'], ['authority.code'],
                            name=op.f('fk_unmet_request_authority_code_authority')),
    sa.ForeignKeyConstraint(['created_by_key_id'], ['api_key.id'],
                            name=op.f('fk_unmet_request_created_by_key_id_api_key'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['provider_id'], ['provider.id'], name=op.f('fk_unmet_request_provider_id_provider'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unmet_request'))
    )
    op.create_index(op.f('ix_unmet_request_authority_code'), 'unmet_request', ['authority_code'], unique=False)
    op.create_index(op.f('ix_unmet_request_provider_id'), 'unmet_request', ['provider_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_unmet_request_provider_id'), table_name='unmet_request')
    op.drop_index(op.f('ix_unmet_request_authority_code'), table_name='unmet_request')
    op.drop_table('unmet_request')
    op.drop_column('placement', 'end_reason')
    op.drop_constraint(op.f('fk_referral_recorded_by_provider_id_provider'), 'referral', type_='foreignkey')
    op.drop_column('referral', 'recorded_by_provider_id')
    op.drop_column('referral', 'source')
    op.drop_column('scheme', 'part4_commissioned')
    op.drop_column('scheme', 'no_assistance_dog_reason')
    op.execute("DELETE FROM scheme WHERE type = 'sanctuary'")  # the older code cannot read them
