"""Key pairs, the default VPC and its subnets, instances' addresses.

``key_pairs``: a project's SSH public keys (the private key of a created
pair is never stored). ``vpcs`` and ``subnets``: the default VPC of a
project and its default subnet per availability zone. ``instances``
gains the key it was launched with and its place in a subnet: the
private IPv4 address ebsboot allocated (unique in the subnet while the
instance is not terminated) and the MAC address of its interface.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'key_pairs',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('ec2_id', sa.String(32), nullable=False, unique=True),
        sa.Column('project_id', sa.String(255), nullable=False),
        sa.Column('name', sa.String(255), nullable=False),
        sa.Column('key_type', sa.String(16), nullable=False),
        sa.Column('fingerprint', sa.String(128), nullable=False),
        sa.Column('public_key', sa.Text, nullable=False),
        sa.Column('created_at', sa.DateTime, nullable=False),
        sa.Column('updated_at', sa.DateTime, nullable=True),
        sa.UniqueConstraint('project_id', 'name',
                            name='uniq_key_pairs0project_id0name'))
    op.create_table(
        'vpcs',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('ec2_id', sa.String(32), nullable=False, unique=True),
        sa.Column('project_id', sa.String(255), nullable=False),
        sa.Column('cidr_block', sa.String(43), nullable=False),
        sa.Column('is_default', sa.Boolean, nullable=False),
        sa.Column('created_at', sa.DateTime, nullable=False),
        sa.Column('updated_at', sa.DateTime, nullable=True))
    op.create_index('ix_vpcs_project_id', 'vpcs', ['project_id'])
    # One default VPC per project (NULL for the others).
    op.create_index('uniq_vpcs0default_project', 'vpcs',
                    ['project_id'],
                    unique=True,
                    sqlite_where=sa.text('is_default'),
                    postgresql_where=sa.text('is_default'))
    op.create_table(
        'subnets',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('ec2_id', sa.String(32), nullable=False, unique=True),
        sa.Column('project_id', sa.String(255), nullable=False),
        sa.Column('vpc_id', sa.String(36), nullable=False),
        sa.Column('vpc_ec2_id', sa.String(32), nullable=False),
        sa.Column('availability_zone', sa.String(255), nullable=False),
        sa.Column('cidr_block', sa.String(43), nullable=False),
        sa.Column('default_for_az', sa.Boolean, nullable=False),
        sa.Column('created_at', sa.DateTime, nullable=False),
        sa.Column('updated_at', sa.DateTime, nullable=True),
        sa.UniqueConstraint('vpc_id', 'cidr_block',
                            name='uniq_subnets0vpc_id0cidr_block'))
    op.create_index('ix_subnets_project_id', 'subnets', ['project_id'])
    op.create_index('ix_subnets_vpc_id', 'subnets', ['vpc_id'])
    with op.batch_alter_table('instances') as batch:
        batch.add_column(sa.Column('key_name', sa.String(255),
                                   nullable=True))
        batch.add_column(sa.Column('key_data', sa.Text, nullable=True))
        batch.add_column(sa.Column('subnet_id', sa.String(36),
                                   nullable=True))
        batch.add_column(sa.Column('subnet_ec2_id', sa.String(32),
                                   nullable=True))
        batch.add_column(sa.Column('vpc_ec2_id', sa.String(32),
                                   nullable=True))
        batch.add_column(sa.Column('private_ip_address', sa.String(39),
                                   nullable=True))
        batch.add_column(sa.Column('mac_address', sa.String(17),
                                   nullable=True))
        batch.create_unique_constraint(
            'uniq_instances0subnet_id0private_ip_address',
            ['subnet_id', 'private_ip_address'])


def downgrade():
    with op.batch_alter_table('instances') as batch:
        batch.drop_constraint('uniq_instances0subnet_id0private_ip_address',
                              type_='unique')
        batch.drop_column('mac_address')
        batch.drop_column('private_ip_address')
        batch.drop_column('vpc_ec2_id')
        batch.drop_column('subnet_ec2_id')
        batch.drop_column('subnet_id')
        batch.drop_column('key_data')
        batch.drop_column('key_name')
    op.drop_table('subnets')
    op.drop_table('vpcs')
    op.drop_table('key_pairs')
