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
    pass


def downgrade() -> None:
    pass
