"""nominations

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from alembic import op
import sqlalchemy as sa
import storage.models.base


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('nominations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('nominator_resident_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('nominee_name', sa.String(length=120), nullable=False),
    sa.Column('group_code', sa.String(length=8), nullable=False),
    sa.Column('field_code', sa.String(length=40), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('photo_channel', sa.String(length=16), nullable=True),
    sa.Column('photo_ref', sa.String(length=255), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('status_reason', sa.Text(), nullable=True),
    sa.Column('nominee_agreed_at', storage.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['nominator_resident_id'], ['residents.id'], name=op.f('fk_nominations_nominator_resident_id_residents'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nominations')),
    sa.UniqueConstraint('code', name=op.f('uq_nominations_code'))
    )
    with op.batch_alter_table('nominations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_nominations_group_code'), ['group_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_nominations_nominator_resident_id'), ['nominator_resident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_nominations_status'), ['status'], unique=False)

    op.create_table('nomination_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('nomination_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('actor_resident_id', sa.Integer(), nullable=True),
    sa.Column('at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_resident_id'], ['residents.id'], name=op.f('fk_nomination_events_actor_resident_id_residents'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['nomination_id'], ['nominations.id'], name=op.f('fk_nomination_events_nomination_id_nominations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nomination_events'))
    )
    with op.batch_alter_table('nomination_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_nomination_events_nomination_id'), ['nomination_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('nomination_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_nomination_events_nomination_id'))

    op.drop_table('nomination_events')
    with op.batch_alter_table('nominations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_nominations_status'))
        batch_op.drop_index(batch_op.f('ix_nominations_nominator_resident_id'))
        batch_op.drop_index(batch_op.f('ix_nominations_group_code'))

    op.drop_table('nominations')
