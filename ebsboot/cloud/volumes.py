"""Volume and snapshot orchestration (the storage half of the controller).

Each call validates against the current state, writes the new state, and
hands the slow part to the volume service. Nothing is written before the
request is known to be valid, so a refused request leaves nothing behind.
"""

import hashlib
import uuid

from oslo_log import log as logging

from ebsboot.cloud import ec2ids
from ebsboot.cloud import validation
from ebsboot.conf import CONF
from ebsboot import context as ebs_context
from ebsboot.db import api as db
from ebsboot import exception
from ebsboot.volume import rpcapi as volume_rpcapi

LOG = logging.getLogger(__name__)

MIN_SIZE = {'standard': 1, 'gp2': 1, 'gp3': 1, 'io1': 4, 'io2': 4,
            'st1': 125, 'sc1': 125}


def get_volume(context, ec2_id):
    return ec2ids.lookup(context, 'vol', db.volume_get_by_ec2_id, ec2_id)


def get_snapshot(context, ec2_id):
    return ec2ids.lookup(context, 'snap', db.snapshot_get_by_ec2_id,
                         ec2_id)


def list_volumes(context, ec2_ids=None):
    return ec2ids.lookup_all(context, 'vol', db.volume_list, ec2_ids)


def list_snapshots(context, ec2_ids=None, shared=False):
    """The project's snapshots; with ``shared`` those it may use too.

    That is, with ``shared``, the snapshots of other projects shared with
    it (ModifySnapshotAttribute createVolumePermission) and the public
    ones, after its own.
    """
    if not shared:
        return ec2ids.lookup_all(context, 'snap', db.snapshot_list,
                                 ec2_ids)

    def getter(context, ec2_ids=None):
        return (db.snapshot_list(context, ec2_ids=ec2_ids) +
                db.snapshot_list_shared(context, ec2_ids=ec2_ids))
    return ec2ids.lookup_all(context, 'snap', getter, ec2_ids)


def get_restorable_snapshot(context, ec2_id):
    """A snapshot the project owns or may create volumes from."""
    def getter(context, ec2_id):
        return (db.snapshot_get_by_ec2_id(context, ec2_id) or
                next(iter(db.snapshot_list_shared(context, [ec2_id])), None))
    return ec2ids.lookup(context, 'snap', getter, ec2_id)


def check_zone(zone):
    if zone != CONF.default_availability_zone:
        raise exception.InvalidZoneNotFound(zone=zone)


def check_volume_type(volume_type, param='VolumeType'):
    """Refuse a volume type EC2 does not have."""
    if volume_type not in MIN_SIZE:
        raise exception.InvalidParameterValue(
            'Value (%s) for parameter %s is invalid. Expected one of: %s.'
            % (volume_type, param, ', '.join(MIN_SIZE)))


def _digest(*values):
    return hashlib.sha256(repr(values).encode()).hexdigest()


def create_volume(context, zone, size=None, snapshot_ec2_id=None,
                  volume_type=None, client_token=None, tags=None):
    """A new volume; ``tags`` (``{key: value}``, checked) come with it."""
    volume_type = volume_type or CONF.volume.default_volume_type
    check_volume_type(volume_type)
    digest = _digest(zone, size, snapshot_ec2_id, volume_type,
                     sorted((tags or {}).items()))
    if client_token:
        validation.check_client_token(client_token)
        existing = db.volume_get_by_client_token(context, client_token)
        if existing is not None:
            if existing.request_digest != digest:
                raise exception.IdempotentParameterMismatch(
                    token=client_token)
            return existing
    check_zone(zone)
    snapshot = None
    if snapshot_ec2_id:
        snapshot = get_restorable_snapshot(context, snapshot_ec2_id)
        if snapshot.status != 'completed':
            raise exception.IncorrectState(
                "Snapshot '%s' is in state '%s', not 'completed'."
                % (snapshot.ec2_id, snapshot.status))
        if size is None:
            size = snapshot.volume_size
        elif size < snapshot.volume_size:
            raise exception.InvalidParameterValue(
                "Volume of size %dGB is smaller than snapshot '%s', "
                "expect size >= %dGB" % (size, snapshot.ec2_id,
                                         snapshot.volume_size))
    elif size is None:
        raise exception.MissingParameter(
            'The request must contain the parameter size or snapshotId')
    limits = (MIN_SIZE[volume_type], CONF.volume.max_volume_size)
    if not limits[0] <= size <= limits[1]:
        raise exception.InvalidParameterValue(
            'Volume of %dGiB is outside the %d-%dGiB range of volume type '
            '%s.' % (size, limits[0], limits[1], volume_type))
    try:
        return new_volume(context, zone, size, volume_type, snapshot,
                          tags=tags, client_token=client_token,
                          request_digest=digest if client_token else None)
    except db.DuplicateError:
        # The same token raced in from a parallel request: answer as the
        # winner did.
        return create_volume(context, zone, size, snapshot_ec2_id,
                             volume_type, client_token, tags)


def volume_values(project_id, zone, size, volume_type, snapshot=None,
                  volume_id=None, **extra):
    """The row of a new ``creating`` volume (made from ``snapshot``)."""
    return dict({
        'id': volume_id or str(uuid.uuid4()),
        'ec2_id': ec2ids.new_id('vol'),
        'project_id': project_id,
        'availability_zone': zone,
        'size': size,
        'volume_type': volume_type,
        'status': 'creating',
        'host': snapshot.host if snapshot else None,
        'snapshot_id': snapshot.id if snapshot else None,
        'snapshot_ec2_id': snapshot.ec2_id if snapshot else None,
    }, **extra)


def new_volume(context, zone, size, volume_type, snapshot=None,
               volume_id=None, tags=None, **extra):
    """Write a ``creating`` volume row and ask a volume service to make it.

    Callers have validated the request. ``volume_id`` lets a caller choose
    the UUID up front, so a repeated step finds the row it made before.
    ``tags`` are written with the row.
    """
    values = volume_values(context.project_id, zone, size, volume_type,
                           snapshot, volume_id, **extra)
    volume = db.volume_create(context, values, tags)
    volume_rpcapi.VolumeAPI().create_volume(context, values)
    LOG.info('Creating volume %s (%d GiB)', volume.ec2_id, size)
    return volume


def delete_volume(context, ec2_id):
    volume = get_volume(context, ec2_id)
    if volume.status == 'in-use':
        raise exception.VolumeInUse(id=ec2_id)
    try:
        volume = db.volume_update(context, volume.id,
                                  {'status': 'deleting'},
                                  expected_status=('available', 'error'))
    except db.ConflictError:
        raise exception.IncorrectState(
            "The volume '%s' is '%s' and cannot be deleted now."
            % (ec2_id, get_volume(context, ec2_id).status))
    volume_rpcapi.VolumeAPI().delete_volume(
        context, {'id': volume.id, 'host': volume.host})


def release_volume(context, volume, delete):
    """Detach a volume from its instance: delete it or make it available.

    Used once the instance no longer uses the volume (terminated, failed
    launch, detached).
    """
    if delete:
        volume = db.volume_update(context, volume.id,
                                  {'status': 'deleting'},
                                  expected_status=('in-use', 'available',
                                                   'error'))
        volume_rpcapi.VolumeAPI().delete_volume(
            context, {'id': volume.id, 'host': volume.host})
    else:
        db.volume_update(context, volume.id, {'status': 'available'},
                         expected_status=('in-use', 'available'))


def create_snapshot(context, volume_ec2_id, description=None, tags=None):
    validation.check_description(description)
    volume = get_volume(context, volume_ec2_id)
    if volume.status not in ('available', 'in-use'):
        raise exception.IncorrectState(
            "The volume '%s' is '%s'; only available or in-use volumes can "
            "be snapshotted." % (volume.ec2_id, volume.status))
    return new_snapshot(context, volume, description, tags=tags)


def new_snapshot(context, volume, description=None, snapshot_id=None,
                 cast=True, tags=None):
    """Write a ``pending`` snapshot row and ask the volume's host to take it.

    ``snapshot_id`` lets a caller choose the UUID up front (repeatable
    steps). ``cast=False``: the caller asks for it (with others, say).
    ``tags`` are written with the row.
    """
    values = snapshot_values(volume, description, snapshot_id)
    snapshot = db.snapshot_create(context, values, tags)
    if cast:
        volume_rpcapi.VolumeAPI().create_snapshot(context, values)
    LOG.info('Creating snapshot %s of %s', snapshot.ec2_id, volume.ec2_id)
    return snapshot


def snapshot_values(volume, description=None, snapshot_id=None):
    """The row of a new ``pending`` snapshot of ``volume``."""
    return {
        'id': snapshot_id or str(uuid.uuid4()),
        'ec2_id': ec2ids.new_id('snap'),
        'project_id': volume.project_id,
        'volume_id': volume.id,
        'volume_ec2_id': volume.ec2_id,
        'volume_size': volume.size,
        'status': 'pending',
        'host': volume.host,
        'progress': 0,
        'description': description,
    }


#: AWS's volume id of snapshots that no volume of yours was made from.
NO_VOLUME_EC2_ID = 'vol-ffffffff'


def copy_snapshot(context, source_ec2_id, description=None, tags=None):
    """CopySnapshot within the region: a new snapshot of the project.

    The source may be the project's or one shared with it. The volume
    service of the source's host copies the data; the copy does not
    depend on the source (DeleteSnapshot of the source keeps it).
    """
    validation.check_description(description)
    source = get_restorable_snapshot(context, source_ec2_id)
    if source.status != 'completed':
        raise exception.IncorrectState(
            "Snapshot '%s' is in state '%s', not 'completed'."
            % (source.ec2_id, source.status))
    if description is None:
        description = '[Copied %s from %s]' % (source.ec2_id,
                                               CONF.api.region_name)
    snapshot = new_copy(context, source, description, tags=tags)
    LOG.info('Copying snapshot %s to %s', source.ec2_id, snapshot.ec2_id)
    return snapshot


def new_copy(context, source, description, snapshot_id=None, tags=None):
    """Write a ``pending`` copy of ``source`` (checked by the caller).

    ``snapshot_id`` lets a caller choose the UUID up front (CopyImage
    writes it into the new image first).
    """
    values = {
        'id': snapshot_id or str(uuid.uuid4()),
        'ec2_id': ec2ids.new_id('snap'),
        'project_id': context.project_id,
        'volume_id': None,
        'volume_ec2_id': NO_VOLUME_EC2_ID,
        'volume_size': source.volume_size,
        'status': 'pending',
        'host': source.host,
        'progress': 0,
        'description': description,
        'source_snapshot_id': source.id,
    }
    snapshot = db.snapshot_create(context, values, tags)
    volume_rpcapi.VolumeAPI().create_snapshot(context, values)
    return snapshot


def delete_snapshot(context, ec2_id):
    # Imported here: the image controller imports this module.
    from ebsboot.cloud import images

    snapshot = get_snapshot(context, ec2_id)
    if db.snapshot_list(ebs_context.get_admin_context(), status='pending',
                        source_snapshot_id=snapshot.id):
        raise exception.IncorrectState(
            "The snapshot '%s' is being copied; delete it once the copy is "
            "completed." % ec2_id)
    image_id = images.snapshot_in_use(context, snapshot.id)
    if image_id is not None:
        raise exception.InvalidSnapshotInUse(
            'The snapshot %s is currently in use by %s' % (ec2_id, image_id))
    try:
        snapshot = db.snapshot_update(context, snapshot.id,
                                      {'status': 'deleting'},
                                      expected_status=('completed', 'error'))
    except db.ConflictError:
        raise exception.IncorrectState(
            "The snapshot '%s' is '%s' and cannot be deleted now."
            % (ec2_id, get_snapshot(context, ec2_id).status))
    volume_rpcapi.VolumeAPI().delete_snapshot(
        context, {'id': snapshot.id, 'host': snapshot.host})


def set_auto_enable_io(context, ec2_id, value):
    """Set a volume's autoEnableIO attribute.

    The volumes of this cloud never have their I/O suspended, so the
    attribute is only kept and shown.
    """
    volume = get_volume(context, ec2_id)
    try:
        db.volume_update(context, volume.id, {'auto_enable_io': value})
    except db.ConflictError:
        # Deleted since it was read.
        raise exception.InvalidVolumeNotFound(id=ec2_id)
