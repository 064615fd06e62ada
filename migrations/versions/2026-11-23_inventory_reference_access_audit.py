"""inventory reference access audit

Revision ID: 93a8d33cb121
Revises: 
Create Date: 2026-11-23 19:07:09.845695
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '93a8d33cb121'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('authority',
    sa.Column('code', sa.String(length=9), nullable=False, comment='ONS GSS code'),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('tier_one', sa.Boolean(), nullable=False, comment='bound by Part 4 of the Domestic Abuse Act 2021'),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_authority'))
    )
    op.create_table('authority_neighbour',
    sa.Column('code', sa.String(length=9), nullable=False),
    sa.Column('neighbour', sa.String(length=9), nullable=False),
    sa.ForeignKeyConstraint(['code'], ['authority.code'], name=op.f('fk_authority_neighbour_code_authority'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['neighbour'], ['authority.code'], name=op.f('fk_authority_neighbour_neighbour_authority'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('code', 'neighbour', name=op.f('pk_authority_neighbour'))
    )
    op.create_table('postcode_district',
    sa.Column('district', sa.String(length=4), nullable=False),
    sa.Column('authority_code', sa.String(length=9), nullable=True),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['authority_code'], ['authority.code'], name=op.f('fk_postcode_district_authority_code_authority')),
    sa.PrimaryKeyConstraint('district', name=op.f('pk_postcode_district'))
    )
    op.create_index(op.f('ix_postcode_district_authority_code'), 'postcode_district', ['authority_code'], unique=False)
    op.create_table('provider',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('authority_code', sa.String(length=9), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['authority_code'], ['authority.code'], name=op.f('fk_provider_authority_code_authority')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provider'))
    )
    op.create_table('api_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('role', sa.Enum('admin', 'officer', 'provider', 'commissioner', name='role', native_enum=False, length=20), nullable=False),
    sa.Column('authority_code', sa.String(length=9), nullable=True),
    sa.Column('provider_id', sa.Integer(), nullable=True),
    sa.Column('key_hash', sa.String(length=64), nullable=False, comment='sha256 hex of the key'),
    sa.Column('prefix', sa.String(length=12), nullable=False, comment='first characters, to recognise a key'),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("role <> 'officer' OR authority_code IS NOT NULL", name=op.f('ck_api_key_officer_has_authority')),
    sa.CheckConstraint("role <> 'provider' OR provider_id IS NOT NULL", name=op.f('ck_api_key_provider_has_provider')),
    sa.ForeignKeyConstraint(['authority_code'], ['authority.code'], name=op.f('fk_api_key_authority_code_authority')),
    sa.ForeignKeyConstraint(['provider_id'], ['provider.id'], name=op.f('fk_api_key_provider_id_provider'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_key')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_api_key_key_hash'))
    )
    op.create_table('scheme',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('type', sa.Enum('refuge', 'specialist_refuge', 'dispersed', 'move_on', 'other_safe', name='schemetype', native_enum=False, length=20), nullable=False),
    sa.Column('authority_code', sa.String(length=9), nullable=False),
    sa.Column('district', sa.String(length=4), nullable=False),
    sa.Column('address', sa.Text(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('genders', postgresql.ARRAY(sa.String(length=20)), nullable=False),
    sa.Column('accepts_children', sa.Boolean(), nullable=False),
    sa.Column('max_children', sa.Integer(), nullable=True),
    sa.Column('max_boy_age', sa.Integer(), nullable=True),
    sa.Column('pets', sa.Boolean(), nullable=False),
    sa.Column('accepts_nrpf', sa.Boolean(), nullable=False),
    sa.Column('communal', sa.Boolean(), nullable=False),
    sa.Column('languages', postgresql.ARRAY(sa.String(length=3)), nullable=False),
    sa.Column('specialisms', postgresql.ARRAY(sa.String(length=20)), nullable=False),
    sa.Column('specialist_only', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('max_boy_age IS NULL OR max_boy_age >= 0', name=op.f('ck_scheme_max_boy_age_not_negative')),
    sa.CheckConstraint('max_children IS NULL OR max_children >= 0', name=op.f('ck_scheme_max_children_not_negative')),
    sa.ForeignKeyConstraint(['authority_code'], ['authority.code'], name=op.f('fk_scheme_authority_code_authority')),
    sa.ForeignKeyConstraint(['district'], ['postcode_district.district'], name=op.f('fk_scheme_district_postcode_district')),
    sa.ForeignKeyConstraint(['provider_id'], ['provider.id'], name=op.f('fk_scheme_provider_id_provider'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scheme'))
    )
    op.create_index(op.f('ix_scheme_authority_code'), 'scheme', ['authority_code'], unique=False)
    op.create_index(op.f('ix_scheme_provider_id'), 'scheme', ['provider_id'], unique=False)
    op.create_table('audit_event',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('api_key_id', sa.Integer(), nullable=True),
    sa.Column('role', sa.String(length=20), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('entity', sa.String(length=40), nullable=False),
    sa.Column('entity_id', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['api_key_id'], ['api_key.id'], name=op.f('fk_audit_event_api_key_id_api_key'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event'))
    )
    op.create_index(op.f('ix_audit_event_at'), 'audit_event', ['at'], unique=False)
    op.create_index('ix_audit_event_entity', 'audit_event', ['entity', 'entity_id'], unique=False)
    op.create_table('idempotency_record',
    sa.Column('api_key_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False, comment='sha256 of method, path and body'),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('body', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['api_key_id'], ['api_key.id'], name=op.f('fk_idempotency_record_api_key_id_api_key'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('api_key_id', 'key', name=op.f('pk_idempotency_record'))
    )
    op.create_index(op.f('ix_idempotency_record_created_at'), 'idempotency_record', ['created_at'], unique=False)
    op.create_table('unit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scheme_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('bedspaces', sa.Integer(), nullable=False),
    sa.Column('wheelchair_accessible', sa.Boolean(), nullable=False),
    sa.Column('step_free', sa.Boolean(), nullable=False),
    sa.Column('status', sa.Enum('available', 'held', 'occupied', 'unavailable', name='unitstatus', native_enum=False, length=20), nullable=False),
    sa.Column('available_from', sa.Date(), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('bedspaces >= 1', name=op.f('ck_unit_bedspaces_positive')),
    sa.CheckConstraint('version >= 1', name=op.f('ck_unit_version_positive')),
    sa.ForeignKeyConstraint(['scheme_id'], ['scheme.id'], name=op.f('fk_unit_scheme_id_scheme'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unit'))
    )
    op.create_index('ix_unit_available', 'unit', ['status'], unique=False, postgresql_where="status = 'available'")
    op.create_index(op.f('ix_unit_scheme_id'), 'unit', ['scheme_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_unit_scheme_id'), table_name='unit')
    op.drop_index('ix_unit_available', table_name='unit', postgresql_where="status = 'available'")
    op.drop_table('unit')
    op.drop_index(op.f('ix_idempotency_record_created_at'), table_name='idempotency_record')
    op.drop_table('idempotency_record')
    op.drop_index('ix_audit_event_entity', table_name='audit_event')
    op.drop_index(op.f('ix_audit_event_at'), table_name='audit_event')
    op.drop_table('audit_event')
    op.drop_index(op.f('ix_scheme_provider_id'), table_name='scheme')
    op.drop_index(op.f('ix_scheme_authority_code'), table_name='scheme')
    op.drop_table('scheme')
    op.drop_table('api_key')
    op.drop_table('provider')
    op.drop_index(op.f('ix_postcode_district_authority_code'), table_name='postcode_district')
    op.drop_table('postcode_district')
    op.drop_table('authority_neighbour')
    op.drop_table('authority')
