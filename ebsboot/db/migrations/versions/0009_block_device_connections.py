"""The connector and os-brick device info of each block device.

``block_devices.connector``: the os-brick connector properties of the
compute host a volume is exported for (the volume service revokes the
export for the same connector). ``block_devices.device_info``: what
os-brick answered when that host connected the volume, handed back for the
disconnect. Both JSON, as Nova keeps them in its block device mappings.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('block_devices') as batch:
        batch.add_column(sa.Column('connector', sa.Text, nullable=True))
        batch.add_column(sa.Column('device_info', sa.Text, nullable=True))


def downgrade():
    with op.batch_alter_table('block_devices') as batch:
        batch.drop_column('device_info')
        batch.drop_column('connector')
