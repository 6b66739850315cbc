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
    pass


def downgrade() -> None:
    pass
