"""Create-volume permissions of snapshots, and the source of copies.

``snapshot_permissions``: ModifySnapshotAttribute createVolumePermission.
``snapshots.source_snapshot_id``: the snapshot a copy (CopySnapshot) is
made from, while and after it is made.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'snapshot_permissions',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('snapshot_id', sa.String(36), nullable=False),
        sa.Column('kind', sa.String(8), nullable=False),
        sa.Column('grantee', sa.String(255), nullable=False),
        sa.Column('created_at', sa.DateTime, nullable=False),
        sa.UniqueConstraint(
            'snapshot_id', 'kind', 'grantee',
            name='uniq_snapshot_permissions0snapshot_id0kind0grantee'))
    op.create_index('ix_snapshot_permissions_snapshot_id',
                    'snapshot_permissions', ['snapshot_id'])
    op.create_index('ix_snapshot_permissions0kind0grantee',
                    'snapshot_permissions', ['kind', 'grantee'])
    with op.batch_alter_table('snapshots') as batch:
        batch.add_column(sa.Column('source_snapshot_id', sa.String(36),
                                   nullable=True))


def downgrade():
    with op.batch_alter_table('snapshots') as batch:
        batch.drop_column('source_snapshot_id')
    op.drop_table('snapshot_permissions')
