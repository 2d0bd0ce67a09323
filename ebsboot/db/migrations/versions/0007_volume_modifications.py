"""Volume modifications (ModifyVolume).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'volume_modifications',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('project_id', sa.String(255), nullable=False),
        sa.Column('volume_id', sa.String(36), nullable=False),
        sa.Column('volume_ec2_id', sa.String(32), nullable=False),
        sa.Column('host', sa.String(255), nullable=True),
        sa.Column('status', sa.String(16), nullable=False),
        sa.Column('status_message', sa.String(255), nullable=True),
        sa.Column('progress', sa.Integer, nullable=False),
        sa.Column('original_size', sa.Integer, nullable=False),
        sa.Column('target_size', sa.Integer, nullable=False),
        sa.Column('original_volume_type', sa.String(16), nullable=False),
        sa.Column('target_volume_type', sa.String(16), nullable=False),
        sa.Column('end_time', sa.DateTime, nullable=True),
        sa.Column('created_at', sa.DateTime, nullable=False),
        sa.Column('updated_at', sa.DateTime, nullable=True))
    op.create_index('ix_volume_modifications_project_id',
                    'volume_modifications', ['project_id'])
    op.create_index('ix_volume_modifications_volume_id',
                    'volume_modifications', ['volume_id'])
    active = sa.text("status IN ('modifying', 'optimizing')")
    op.create_index('uniq_volume_modifications0volume_id0active',
                    'volume_modifications', ['volume_id'], unique=True,
                    sqlite_where=active, postgresql_where=active)
