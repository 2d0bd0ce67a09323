"""Initial schema: credentials, volumes, snapshots, images.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from alembic import op
import sqlalchemy as sa

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def _timestamps():
    return [sa.Column('created_at', sa.DateTime, nullable=False),
            sa.Column('updated_at', sa.DateTime)]


def upgrade():
    op.create_table(
        'credentials',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('access_key', sa.String(64), nullable=False, unique=True),
        sa.Column('secret_key', sa.String(128), nullable=False),
        sa.Column('project_id', sa.String(255), nullable=False,
                  index=True),
        *_timestamps())
    op.create_table(
        'volumes',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('ec2_id', sa.String(32), nullable=False, unique=True),
        sa.Column('project_id', sa.String(255), nullable=False,
                  index=True),
        sa.Column('availability_zone', sa.String(255), nullable=False),
        sa.Column('size', sa.Integer, nullable=False),
        sa.Column('volume_type', sa.String(16), nullable=False),
        sa.Column('status', sa.String(16), nullable=False),
        sa.Column('host', sa.String(255)),
        sa.Column('snapshot_id', sa.String(36)),
        sa.Column('snapshot_ec2_id', sa.String(32)),
        sa.Column('provider_location', sa.Text),
        sa.Column('client_token', sa.String(64)),
        sa.Column('request_digest', sa.String(64)),
        *_timestamps(),
        sa.UniqueConstraint('project_id', 'client_token',
                            name='uniq_volumes0project_id0client_token'))
    op.create_table(
        'snapshots',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('ec2_id', sa.String(32), nullable=False, unique=True),
        sa.Column('project_id', sa.String(255), nullable=False,
                  index=True),
        sa.Column('volume_id', sa.String(36), index=True),
        sa.Column('volume_ec2_id', sa.String(32), nullable=False),
        sa.Column('volume_size', sa.Integer, nullable=False),
        sa.Column('status', sa.String(16), nullable=False),
        sa.Column('host', sa.String(255)),
        sa.Column('progress', sa.Integer, nullable=False),
        sa.Column('description', sa.String(255)),
        sa.Column('state_message', sa.String(255)),
        sa.Column('provider_location', sa.Text),
        *_timestamps())
    op.create_table(
        'images',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('name', sa.String(255)),
        sa.Column('owner', sa.String(255), nullable=False, index=True),
        sa.Column('status', sa.String(30), nullable=False),
        sa.Column('visibility', sa.String(16), nullable=False),
        sa.Column('disk_format', sa.String(16)),
        sa.Column('container_format', sa.String(16)),
        sa.Column('size', sa.BigInteger),
        sa.Column('min_disk', sa.Integer, nullable=False),
        sa.Column('properties', sa.Text, nullable=False),
        sa.Column('members', sa.Text, nullable=False),
        *_timestamps())
