"""The autoEnableIO attribute of volumes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('volumes', sa.Column('auto_enable_io', sa.Boolean,
                                       nullable=False,
                                       server_default=sa.false()))
