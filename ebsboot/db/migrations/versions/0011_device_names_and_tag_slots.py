"""Device names as the client gave them, and numbered tag slots.

``block_devices.short_name`` and ``instances.short_root_device_name``:
the client named the device without ``/dev/`` (``sdh``); it is stored in
full and answered as given.

``tags.slot``: each tag of a resource holds one of the slots 0 to 49,
unique per project and resource, so that no two writers can take a
resource past AWS's 50 tags, whatever the database's isolation.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('block_devices', sa.Column('short_name', sa.Boolean,
                                             nullable=True))
    op.add_column('instances', sa.Column('short_root_device_name',
                                         sa.Boolean, nullable=True))
    op.add_column('tags', sa.Column('slot', sa.Integer, nullable=True))
    tags = sa.table('tags', sa.column('id', sa.Integer),
                    sa.column('project_id', sa.String),
                    sa.column('resource_id', sa.String),
                    sa.column('slot', sa.Integer))
    connection = op.get_bind()
    counts = {}
    for row in connection.execute(sa.select(
            tags.c.id, tags.c.project_id, tags.c.resource_id).order_by(
            tags.c.id)).fetchall():
        key = (row.project_id, row.resource_id)
        slot = counts[key] = counts.get(key, -1) + 1
        connection.execute(tags.update().where(tags.c.id == row.id).values(
            slot=slot))
    op.create_index('uniq_tags0project_id0resource_id0slot', 'tags',
                    ['project_id', 'resource_id', 'slot'], unique=True)
