"""broadcasts

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24
"""

from alembic import op
import sqlalchemy as sa
import storage.models.base


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('broadcasts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('author_resident_id', sa.Integer(), nullable=True),
    sa.Column('author_role', sa.String(length=12), nullable=False),
    sa.Column('groups', sa.JSON(), nullable=False),
    sa.Column('audience', sa.String(length=48), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.Column('messages', sa.Integer(), nullable=False),
    sa.Column('first_outbox_id', sa.Integer(), nullable=True),
    sa.Column('last_outbox_id', sa.Integer(), nullable=True),
    sa.Column('progress_at', storage.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reported_at', storage.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['author_resident_id'], ['residents.id'], name=op.f('fk_broadcasts_author_resident_id_residents'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_broadcasts'))
    )
    with op.batch_alter_table('broadcasts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_broadcasts_author_resident_id'), ['author_resident_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('broadcasts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_broadcasts_author_resident_id'))

    op.drop_table('broadcasts')
