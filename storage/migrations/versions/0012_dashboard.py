"""dashboard sign-in links and sessions

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-25
"""

from alembic import op
import sqlalchemy as sa
import storage.models.base


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dashboard_keys',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('secret', sa.String(length=128), nullable=False),
    sa.Column('created_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_dashboard_keys'))
    )
    op.create_table('dashboard_links',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=12), nullable=False),
    sa.Column('created_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', storage.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_dashboard_links_resident_id_residents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_dashboard_links'))
    )
    with op.batch_alter_table('dashboard_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dashboard_links_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_dashboard_links_resident_id'), ['resident_id'], unique=False)

    op.create_table('dashboard_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=12), nullable=False),
    sa.Column('groups', sa.JSON(), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', storage.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_dashboard_sessions_resident_id_residents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dashboard_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_dashboard_sessions_token_hash'))
    )
    with op.batch_alter_table('dashboard_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dashboard_sessions_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_dashboard_sessions_resident_id'), ['resident_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('dashboard_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dashboard_sessions_resident_id'))
        batch_op.drop_index(batch_op.f('ix_dashboard_sessions_expires_at'))

    op.drop_table('dashboard_sessions')
    with op.batch_alter_table('dashboard_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dashboard_links_resident_id'))
        batch_op.drop_index(batch_op.f('ix_dashboard_links_expires_at'))

    op.drop_table('dashboard_links')
    op.drop_table('dashboard_keys')
