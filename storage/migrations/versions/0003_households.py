"""households and yearly pledges

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from alembic import op
import sqlalchemy as sa
import storage.models.base


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('households',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_code', sa.String(length=8), nullable=False),
    sa.Column('head_name', sa.String(length=80), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=False),
    sa.Column('address_key', sa.String(length=200), nullable=False),
    sa.Column('phone', sa.String(length=16), nullable=False),
    sa.Column('members', sa.Integer(), nullable=False),
    sa.Column('consent_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('consent_by', sa.String(length=10), nullable=False),
    sa.Column('registered_by_resident_id', sa.Integer(), nullable=True),
    sa.Column('created_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['registered_by_resident_id'], ['residents.id'], name=op.f('fk_households_registered_by_resident_id_residents'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_households')),
    sa.UniqueConstraint('group_code', 'address_key', name=op.f('uq_households_group_code')),
    sa.UniqueConstraint('phone', name=op.f('uq_households_phone'))
    )
    with op.batch_alter_table('households', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_households_registered_by_resident_id'), ['registered_by_resident_id'], unique=False)

    op.create_table('household_pledges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('campaigns', sa.JSON(), nullable=False),
    sa.Column('pledged_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('pledged_by_resident_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_household_pledges_household_id_households'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['pledged_by_resident_id'], ['residents.id'], name=op.f('fk_household_pledges_pledged_by_resident_id_residents'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_household_pledges')),
    sa.UniqueConstraint('household_id', 'year', name=op.f('uq_household_pledges_household_id'))
    )
    with op.batch_alter_table('household_pledges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_household_pledges_pledged_by_resident_id'), ['pledged_by_resident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_household_pledges_year'), ['year'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('household_pledges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_household_pledges_year'))
        batch_op.drop_index(batch_op.f('ix_household_pledges_pledged_by_resident_id'))

    op.drop_table('household_pledges')
    with op.batch_alter_table('households', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_households_registered_by_resident_id'))

    op.drop_table('households')
