"""EC2 ids of Glance images (the ``glance`` image backend).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'image_ids',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('ec2_id', sa.String(32), nullable=False, unique=True),
        sa.Column('image_id', sa.String(36), nullable=False, unique=True),
        sa.Column('created_at', sa.DateTime, nullable=False))
