"""SQLAlchemy models of ebsboot's state.

Every resource has an internal UUID (``id``, what the drivers and Nova-format
records use) and its EC2 id (``ec2_id``, what clients see).
"""

from oslo_db.sqlalchemy import models
from oslo_utils import timeutils
import sqlalchemy as sa
from sqlalchemy import orm

BASE = orm.declarative_base()


class EbsbootBase(models.ModelBase):
    created_at = sa.Column(sa.DateTime, nullable=False,
                           default=lambda: timeutils.utcnow())
    updated_at = sa.Column(sa.DateTime, onupdate=lambda: timeutils.utcnow())


class Credential(BASE, EbsbootBase):
    """An EC2 access key pair of a project."""
    __tablename__ = 'credentials'

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    access_key = sa.Column(sa.String(64), nullable=False, unique=True)
    # A Fernet token of the secret key (ebsboot.secret_keys).
    secret_key = sa.Column(sa.String(255), nullable=False)
    project_id = sa.Column(sa.String(255), nullable=False, index=True)


class Volume(BASE, EbsbootBase):
    __tablename__ = 'volumes'
    __table_args__ = (
        sa.UniqueConstraint('project_id', 'client_token',
                            name='uniq_volumes0project_id0client_token'),
    )

    id = sa.Column(sa.String(36), primary_key=True)
    ec2_id = sa.Column(sa.String(32), nullable=False, unique=True)
    project_id = sa.Column(sa.String(255), nullable=False, index=True)
    availability_zone = sa.Column(sa.String(255), nullable=False)
    size = sa.Column(sa.Integer, nullable=False)
    volume_type = sa.Column(sa.String(16), nullable=False)
    status = sa.Column(sa.String(16), nullable=False)
    host = sa.Column(sa.String(255), nullable=True)
    snapshot_id = sa.Column(sa.String(36), nullable=True)
    snapshot_ec2_id = sa.Column(sa.String(32), nullable=True)
    provider_location = sa.Column(sa.Text, nullable=True)
    client_token = sa.Column(sa.String(64), nullable=True)
    request_digest = sa.Column(sa.String(64), nullable=True)
    auto_enable_io = sa.Column(sa.Boolean, nullable=False, default=False,
                               server_default=sa.false())


class Snapshot(BASE, EbsbootBase):
    __tablename__ = 'snapshots'

    id = sa.Column(sa.String(36), primary_key=True)
    ec2_id = sa.Column(sa.String(32), nullable=False, unique=True)
    project_id = sa.Column(sa.String(255), nullable=False, index=True)
    volume_id = sa.Column(sa.String(36), nullable=True, index=True)
    volume_ec2_id = sa.Column(sa.String(32), nullable=False)
    volume_size = sa.Column(sa.Integer, nullable=False)
    status = sa.Column(sa.String(16), nullable=False)
    host = sa.Column(sa.String(255), nullable=True)
    progress = sa.Column(sa.Integer, nullable=False, default=0)
    description = sa.Column(sa.String(255), nullable=True)
    state_message = sa.Column(sa.String(255), nullable=True)
    provider_location = sa.Column(sa.Text, nullable=True)
    # CopySnapshot: the snapshot this one is a copy of.
    source_snapshot_id = sa.Column(sa.String(36), nullable=True)


#: States of a volume modification that is not finished.
ACTIVE_MODIFICATION_STATES = ('modifying', 'optimizing')
ACTIVE_MODIFICATION = sa.text("status IN ('modifying', 'optimizing')")


class VolumeModification(BASE, EbsbootBase):
    """A ModifyVolume request and how far the volume service got with it.

    ``status`` is EC2's modification state: ``modifying``, ``optimizing``,
    ``completed`` or ``failed``; ``created_at`` is its start time.
    """
    __tablename__ = 'volume_modifications'
    __table_args__ = (
        # One unfinished modification per volume.
        sa.Index('uniq_volume_modifications0volume_id0active', 'volume_id',
                 unique=True, sqlite_where=ACTIVE_MODIFICATION,
                 postgresql_where=ACTIVE_MODIFICATION),
    )

    id = sa.Column(sa.String(36), primary_key=True)
    project_id = sa.Column(sa.String(255), nullable=False, index=True)
    volume_id = sa.Column(sa.String(36), nullable=False, index=True)
    volume_ec2_id = sa.Column(sa.String(32), nullable=False)
    host = sa.Column(sa.String(255), nullable=True)
    status = sa.Column(sa.String(16), nullable=False)
    status_message = sa.Column(sa.String(255), nullable=True)
    progress = sa.Column(sa.Integer, nullable=False, default=0)
    original_size = sa.Column(sa.Integer, nullable=False)
    target_size = sa.Column(sa.Integer, nullable=False)
    original_volume_type = sa.Column(sa.String(16), nullable=False)
    target_volume_type = sa.Column(sa.String(16), nullable=False)
    end_time = sa.Column(sa.DateTime, nullable=True)


class Image(BASE, EbsbootBase):
    """A placeholder image of the ``local`` image backend.

    The columns mirror Glance's core image attributes; ``properties`` holds
    the custom ones as a JSON object of strings, as Glance stores them.
    """
    __tablename__ = 'images'

    id = sa.Column(sa.String(36), primary_key=True)
    name = sa.Column(sa.String(255), nullable=True)
    owner = sa.Column(sa.String(255), nullable=False, index=True)
    status = sa.Column(sa.String(30), nullable=False)
    visibility = sa.Column(sa.String(16), nullable=False)
    disk_format = sa.Column(sa.String(16), nullable=True)
    container_format = sa.Column(sa.String(16), nullable=True)
    size = sa.Column(sa.BigInteger, nullable=True)
    min_disk = sa.Column(sa.Integer, nullable=False, default=0)
    properties = sa.Column(sa.Text, nullable=False)
    members = sa.Column(sa.Text, nullable=False)


class ImageId(BASE, models.ModelBase):
    """The ``ami-`` id of a Glance image (the ``glance`` image backend).

    Every Glance image the API shows gets one, also those made without
    ebsboot; ids are never reused for another image.
    """
    __tablename__ = 'image_ids'

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    ec2_id = sa.Column(sa.String(32), nullable=False, unique=True)
    image_id = sa.Column(sa.String(36), nullable=False, unique=True)
    created_at = sa.Column(sa.DateTime, nullable=False,
                           default=lambda: timeutils.utcnow())


class Instance(BASE, EbsbootBase):
    """An EC2 instance: what it is, where it runs and which step it is at.

    ``state`` is the EC2 state clients see; ``task`` is the step of the
    long operation under way (None when idle), persisted so that a
    restarted controller resumes or rolls back from exactly there.
    """
    __tablename__ = 'instances'
    __table_args__ = (
        sa.Index('ix_instances0project_id0client_token', 'project_id',
                 'client_token'),
        sa.UniqueConstraint(
            'subnet_id', 'private_ip_address',
            name='uniq_instances0subnet_id0private_ip_address'),
    )

    id = sa.Column(sa.String(36), primary_key=True)
    ec2_id = sa.Column(sa.String(32), nullable=False, unique=True)
    reservation_id = sa.Column(sa.String(32), nullable=False, index=True)
    project_id = sa.Column(sa.String(255), nullable=False, index=True)
    image_id = sa.Column(sa.String(36), nullable=False)
    image_ec2_id = sa.Column(sa.String(32), nullable=False)
    instance_type = sa.Column(sa.String(64), nullable=False)
    vcpus = sa.Column(sa.Integer, nullable=False)
    memory_mb = sa.Column(sa.Integer, nullable=False)
    availability_zone = sa.Column(sa.String(255), nullable=False)
    host = sa.Column(sa.String(255), nullable=True)
    state = sa.Column(sa.String(16), nullable=False)
    task = sa.Column(sa.String(32), nullable=True)
    task_data = sa.Column(sa.Text, nullable=True)
    pending_terminate = sa.Column(sa.Boolean, nullable=False, default=False)
    launch_index = sa.Column(sa.Integer, nullable=False)
    client_token = sa.Column(sa.String(64), nullable=True)
    request_digest = sa.Column(sa.String(64), nullable=True)
    user_data = sa.Column(sa.Text, nullable=True)
    disable_api_termination = sa.Column(sa.Boolean, nullable=False,
                                        default=False)
    disable_api_stop = sa.Column(sa.Boolean, nullable=False, default=False)
    shutdown_behavior = sa.Column(sa.String(16), nullable=False)
    root_device_name = sa.Column(sa.String(64), nullable=False)
    # The client gave the root device name without /dev/.
    short_root_device_name = sa.Column(sa.Boolean, nullable=True)
    kernel_id = sa.Column(sa.String(32), nullable=True)
    ramdisk_id = sa.Column(sa.String(32), nullable=True)
    state_reason_code = sa.Column(sa.String(64), nullable=True)
    state_reason_message = sa.Column(sa.String(255), nullable=True)
    state_transition_reason = sa.Column(sa.String(255), nullable=True)
    launched_at = sa.Column(sa.DateTime, nullable=True)
    terminated_at = sa.Column(sa.DateTime, nullable=True)
    # The key pair it was launched with: its name and public key (kept
    # even if the pair is deleted, as in EC2).
    key_name = sa.Column(sa.String(255), nullable=True)
    key_data = sa.Column(sa.Text, nullable=True)
    # Its place in a subnet; the address is released (NULL) at
    # termination.
    subnet_id = sa.Column(sa.String(36), nullable=True)
    subnet_ec2_id = sa.Column(sa.String(32), nullable=True)
    vpc_ec2_id = sa.Column(sa.String(32), nullable=True)
    private_ip_address = sa.Column(sa.String(39), nullable=True)
    mac_address = sa.Column(sa.String(17), nullable=True)


class BlockDevice(BASE, EbsbootBase):
    """One device of an instance: an EBS volume or an ephemeral disk."""
    __tablename__ = 'block_devices'
    __table_args__ = (
        sa.UniqueConstraint('instance_id', 'device_name',
                            name='uniq_block_devices0instance_id0device'),
    )

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    instance_id = sa.Column(sa.String(36), nullable=False, index=True)
    device_name = sa.Column(sa.String(64), nullable=False)
    # The client gave the device name without /dev/ (answered so).
    short_name = sa.Column(sa.Boolean, nullable=True)
    boot_index = sa.Column(sa.Integer, nullable=False)
    virtual_name = sa.Column(sa.String(32), nullable=True)
    volume_id = sa.Column(sa.String(36), nullable=True, index=True)
    volume_ec2_id = sa.Column(sa.String(32), nullable=True)
    snapshot_id = sa.Column(sa.String(36), nullable=True)
    volume_size = sa.Column(sa.Integer, nullable=True)
    volume_type = sa.Column(sa.String(16), nullable=True)
    delete_on_termination = sa.Column(sa.Boolean, nullable=False)
    status = sa.Column(sa.String(16), nullable=False)
    attach_time = sa.Column(sa.DateTime, nullable=True)
    # JSON: what the volume service answered (Cinder's shape), the
    # connector of the compute host it was made for, and what os-brick
    # answered when that host connected the volume.
    connection_info = sa.Column(sa.Text, nullable=True)
    connector = sa.Column(sa.Text, nullable=True)
    device_info = sa.Column(sa.Text, nullable=True)


class Tag(BASE, models.ModelBase):
    """An EC2 tag of a resource, as the project that set it sees it.

    ``resource_id`` is the resource's EC2 id (unique across kinds), so
    tags of any resource, also images kept by Glance, live here.
    """
    __tablename__ = 'tags'
    __table_args__ = (
        sa.UniqueConstraint('project_id', 'resource_id', 'key',
                            name='uniq_tags0project_id0resource_id0key'),
        sa.Index('ix_tags0project_id0resource_type', 'project_id',
                 'resource_type'),
        # One of MAX_TAGS slots per tag: the limit holds under races.
        sa.Index('uniq_tags0project_id0resource_id0slot', 'project_id',
                 'resource_id', 'slot', unique=True),
    )

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    project_id = sa.Column(sa.String(255), nullable=False)
    resource_id = sa.Column(sa.String(32), nullable=False, index=True)
    resource_type = sa.Column(sa.String(16), nullable=False)
    key = sa.Column(sa.String(128), nullable=False)
    value = sa.Column(sa.String(256), nullable=False)
    slot = sa.Column(sa.Integer, nullable=True)
    created_at = sa.Column(sa.DateTime, nullable=False,
                           default=lambda: timeutils.utcnow())


class SnapshotPermission(BASE, models.ModelBase):
    """Who besides its owner may create volumes from a snapshot.

    ``kind`` is ``user`` (``grantee`` a project id) or ``group``
    (``grantee`` ``all``: every project, a public snapshot).
    """
    __tablename__ = 'snapshot_permissions'
    __table_args__ = (
        sa.UniqueConstraint(
            'snapshot_id', 'kind', 'grantee',
            name='uniq_snapshot_permissions0snapshot_id0kind0grantee'),
        sa.Index('ix_snapshot_permissions0kind0grantee', 'kind', 'grantee'),
    )

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    snapshot_id = sa.Column(sa.String(36), nullable=False, index=True)
    kind = sa.Column(sa.String(8), nullable=False)
    grantee = sa.Column(sa.String(255), nullable=False)
    created_at = sa.Column(sa.DateTime, nullable=False,
                           default=lambda: timeutils.utcnow())


class KeyPair(BASE, EbsbootBase):
    """An SSH public key of a project (EC2 key pair ``key-...``)."""
    __tablename__ = 'key_pairs'
    __table_args__ = (
        sa.UniqueConstraint('project_id', 'name',
                            name='uniq_key_pairs0project_id0name'),
    )

    id = sa.Column(sa.String(36), primary_key=True)
    ec2_id = sa.Column(sa.String(32), nullable=False, unique=True)
    project_id = sa.Column(sa.String(255), nullable=False)
    name = sa.Column(sa.String(255), nullable=False)
    key_type = sa.Column(sa.String(16), nullable=False)
    fingerprint = sa.Column(sa.String(128), nullable=False)
    # OpenSSH format: "<type> <base64>".
    public_key = sa.Column(sa.Text, nullable=False)


DEFAULT_VPC = sa.text('is_default')


class Vpc(BASE, EbsbootBase):
    """A VPC of a project; today only its default one."""
    __tablename__ = 'vpcs'
    __table_args__ = (
        sa.Index('uniq_vpcs0default_project', 'project_id', unique=True,
                 sqlite_where=DEFAULT_VPC, postgresql_where=DEFAULT_VPC),
    )

    id = sa.Column(sa.String(36), primary_key=True)
    ec2_id = sa.Column(sa.String(32), nullable=False, unique=True)
    project_id = sa.Column(sa.String(255), nullable=False, index=True)
    cidr_block = sa.Column(sa.String(43), nullable=False)
    is_default = sa.Column(sa.Boolean, nullable=False)


class Subnet(BASE, EbsbootBase):
    """A subnet of a VPC in one availability zone."""
    __tablename__ = 'subnets'
    __table_args__ = (
        sa.UniqueConstraint('vpc_id', 'cidr_block',
                            name='uniq_subnets0vpc_id0cidr_block'),
    )

    id = sa.Column(sa.String(36), primary_key=True)
    ec2_id = sa.Column(sa.String(32), nullable=False, unique=True)
    project_id = sa.Column(sa.String(255), nullable=False, index=True)
    vpc_id = sa.Column(sa.String(36), nullable=False, index=True)
    vpc_ec2_id = sa.Column(sa.String(32), nullable=False)
    availability_zone = sa.Column(sa.String(255), nullable=False)
    cidr_block = sa.Column(sa.String(43), nullable=False)
    default_for_az = sa.Column(sa.Boolean, nullable=False)


class Service(BASE, EbsbootBase):
    """A running service of a host, with its last heartbeat."""
    __tablename__ = 'services'
    __table_args__ = (
        sa.UniqueConstraint('host', 'topic', name='uniq_services0host0topic'),
    )

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    host = sa.Column(sa.String(255), nullable=False)
    topic = sa.Column(sa.String(255), nullable=False)
    heartbeat_at = sa.Column(sa.DateTime, nullable=False)
