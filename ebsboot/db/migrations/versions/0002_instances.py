"""Instances, their block devices, and service heartbeats.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def _timestamps():
    return [sa.Column('created_at', sa.DateTime, nullable=False),
            sa.Column('updated_at', sa.DateTime)]


def upgrade():
    op.create_table(
        'instances',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('ec2_id', sa.String(32), nullable=False, unique=True),
        sa.Column('reservation_id', sa.String(32), nullable=False,
                  index=True),
        sa.Column('project_id', sa.String(255), nullable=False,
                  index=True),
        sa.Column('image_id', sa.String(36), nullable=False),
        sa.Column('image_ec2_id', sa.String(32), nullable=False),
        sa.Column('instance_type', sa.String(64), nullable=False),
        sa.Column('vcpus', sa.Integer, nullable=False),
        sa.Column('memory_mb', sa.Integer, nullable=False),
        sa.Column('availability_zone', sa.String(255), nullable=False),
        sa.Column('host', sa.String(255)),
        sa.Column('state', sa.String(16), nullable=False),
        sa.Column('task', sa.String(32)),
        sa.Column('task_data', sa.Text),
        sa.Column('pending_terminate', sa.Boolean, nullable=False),
        sa.Column('launch_index', sa.Integer, nullable=False),
        sa.Column('client_token', sa.String(64)),
        sa.Column('request_digest', sa.String(64)),
        sa.Column('user_data', sa.Text),
        sa.Column('disable_api_termination', sa.Boolean, nullable=False),
        sa.Column('disable_api_stop', sa.Boolean, nullable=False),
        sa.Column('shutdown_behavior', sa.String(16), nullable=False),
        sa.Column('root_device_name', sa.String(64), nullable=False),
        sa.Column('kernel_id', sa.String(32)),
        sa.Column('ramdisk_id', sa.String(32)),
        sa.Column('state_reason_code', sa.String(64)),
        sa.Column('state_reason_message', sa.String(255)),
        sa.Column('state_transition_reason', sa.String(255)),
        sa.Column('launched_at', sa.DateTime),
        sa.Column('terminated_at', sa.DateTime),
        *_timestamps())
    op.create_index('ix_instances0project_id0client_token', 'instances',
                    ['project_id', 'client_token'])
    op.create_table(
        'block_devices',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('instance_id', sa.String(36), nullable=False, index=True),
        sa.Column('device_name', sa.String(64), nullable=False),
        sa.Column('boot_index', sa.Integer, nullable=False),
        sa.Column('virtual_name', sa.String(32)),
        sa.Column('volume_id', sa.String(36), index=True),
        sa.Column('volume_ec2_id', sa.String(32)),
        sa.Column('snapshot_id', sa.String(36)),
        sa.Column('volume_size', sa.Integer),
        sa.Column('volume_type', sa.String(16)),
        sa.Column('delete_on_termination', sa.Boolean, nullable=False),
        sa.Column('status', sa.String(16), nullable=False),
        sa.Column('attach_time', sa.DateTime),
        sa.Column('connection_info', sa.Text),
        *_timestamps(),
        sa.UniqueConstraint('instance_id', 'device_name',
                            name='uniq_block_devices0instance_id0device'))
    op.create_table(
        'services',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('host', sa.String(255), nullable=False),
        sa.Column('topic', sa.String(255), nullable=False),
        sa.Column('heartbeat_at', sa.DateTime, nullable=False),
        *_timestamps(),
        sa.UniqueConstraint('host', 'topic', name='uniq_services0host0topic'))
