"""EC2 tags of resources.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'tags',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('project_id', sa.String(255), nullable=False),
        sa.Column('resource_id', sa.String(32), nullable=False),
        sa.Column('resource_type', sa.String(16), nullable=False),
        sa.Column('key', sa.String(128), nullable=False),
        sa.Column('value', sa.String(256), nullable=False),
        sa.Column('created_at', sa.DateTime, nullable=False),
        sa.UniqueConstraint('project_id', 'resource_id', 'key',
                            name='uniq_tags0project_id0resource_id0key'))
    op.create_index('ix_tags_resource_id', 'tags', ['resource_id'])
    op.create_index('ix_tags0project_id0resource_type', 'tags',
                    ['project_id', 'resource_type'])
