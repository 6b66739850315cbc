"""nomination review and assisted registration

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24
"""

from alembic import op
import sqlalchemy as sa
import storage.models.base


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('households', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assisted_by_resident_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_households_assisted_by_resident_id'), ['assisted_by_resident_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_households_assisted_by_resident_id_residents'), 'residents', ['assisted_by_resident_id'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    with op.batch_alter_table('households', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_households_assisted_by_resident_id_residents'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_households_assisted_by_resident_id'))
        batch_op.drop_column('assisted_by_resident_id')
