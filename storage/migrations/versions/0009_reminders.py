"""reminder rules and fires

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24
"""

from alembic import op
import sqlalchemy as sa
import storage.models.base


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reminder_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('cron', sa.String(length=100), nullable=False),
    sa.Column('audience', sa.String(length=60), nullable=False),
    sa.Column('groups', sa.JSON(), nullable=True),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_by', sa.String(length=60), nullable=False),
    sa.Column('created_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_fired_at', storage.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminder_rules')),
    sa.UniqueConstraint('name', name=op.f('uq_reminder_rules_name'))
    )
    op.create_table('reminder_fires',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=False),
    sa.Column('fire_time', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('fired_at', storage.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['rule_id'], ['reminder_rules.id'], name=op.f('fk_reminder_fires_rule_id_reminder_rules'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminder_fires')),
    sa.UniqueConstraint('rule_id', 'fire_time', name=op.f('uq_reminder_fires_rule_id'))
    )


def downgrade() -> None:
    op.drop_table('reminder_fires')
    op.drop_table('reminder_rules')
