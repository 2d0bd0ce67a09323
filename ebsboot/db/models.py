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
    secret_key = sa.Column(sa.String(128), nullable=False)
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
