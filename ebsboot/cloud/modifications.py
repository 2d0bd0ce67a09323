"""ModifyVolume and DescribeVolumesModifications (the controller's half).

A modification is a row of its own; the volume service of the volume's
host does the work (``ebsboot.volume.resize``) and writes the volume's new
size and type when the file has grown.
"""

import uuid

from oslo_log import log as logging

from ebsboot.cloud import volumes as cloud_volumes
from ebsboot.conf import CONF
from ebsboot.db import api as db
from ebsboot.db import models
from ebsboot import exception
from ebsboot.volume import rpcapi as volume_rpcapi

LOG = logging.getLogger(__name__)


def latest(context, volume_ids):
    """``{volume id: its latest modification row}``."""
    result = {}
    if len(volume_ids) == 1:
        rows = db.volume_modification_list(context,
                                           volume_id=next(iter(volume_ids)))
    else:
        rows = db.volume_modification_list(context)
    for row in rows:
        if row.volume_id in volume_ids:
            result[row.volume_id] = row
    return result


def active_modification(context, volume):
    """The unfinished modification of ``volume`` (a row), or None."""
    row = latest(context, {volume.id}).get(volume.id)
    if row is not None and row.status in models.ACTIVE_MODIFICATION_STATES:
        return row
    return None


def modify_volume(context, ec2_id, size=None, volume_type=None):
    """Start growing ``ec2_id`` and/or changing its type; the new row."""
    volume = cloud_volumes.get_volume(context, ec2_id)
    if volume_type is not None:
        cloud_volumes.check_volume_type(volume_type)
    if size is None and volume_type is None:
        raise exception.MissingParameter(
            'The request must contain the parameter Size or VolumeType')
    target_size = volume.size if size is None else size
    target_type = volume_type or volume.volume_type
    if target_size < volume.size:
        raise exception.InvalidParameterValue(
            'New size cannot be smaller than existing size')
    limits = (cloud_volumes.MIN_SIZE[target_type],
              CONF.volume.max_volume_size)
    if not limits[0] <= target_size <= limits[1]:
        raise exception.InvalidParameterValue(
            'Volume of %dGiB is outside the %d-%dGiB range of volume type '
            '%s.' % (target_size, limits[0], limits[1], target_type))
    if volume.status not in ('available', 'in-use'):
        raise exception.IncorrectState(
            "The volume '%s' is '%s'; only available or in-use volumes can "
            "be modified." % (volume.ec2_id, volume.status))
    busy = active_modification(context, volume)
    if busy is not None:
        raise exception.IncorrectModificationState(
            id=volume.ec2_id, state=busy.status.upper())
    if (target_size, target_type) == (volume.size, volume.volume_type):
        raise exception.InvalidParameterValue(
            'New size and type of volume %s are its current ones: there is '
            'nothing to modify.' % volume.ec2_id)
    api = volume_rpcapi.VolumeAPI()
    if not api.can_extend_volume():
        raise exception.UnsupportedOperation(
            'The volume services cannot modify volumes until they are all '
            'upgraded.')
    values = {
        'id': str(uuid.uuid4()),
        'project_id': volume.project_id,
        'volume_id': volume.id,
        'volume_ec2_id': volume.ec2_id,
        'host': volume.host,
        'status': 'modifying',
        'progress': 0,
        'original_size': volume.size,
        'target_size': target_size,
        'original_volume_type': volume.volume_type,
        'target_volume_type': target_type,
    }
    try:
        modification = db.volume_modification_create(context, values)
    except db.DuplicateError:
        # A parallel ModifyVolume of the same volume won.
        busy = active_modification(context, volume)
        raise exception.IncorrectModificationState(
            id=volume.ec2_id,
            state=(busy.status if busy else 'modifying').upper())
    api.extend_volume(context, values)
    LOG.info('Modifying volume %s: %d GiB %s -> %d GiB %s', volume.ec2_id,
             volume.size, volume.volume_type, target_size, target_type)
    return modification


def describe(context, ec2_ids=None):
    """``[(latest modification, volume)]`` of the named or all volumes."""
    volumes = cloud_volumes.list_volumes(context, ec2_ids)
    rows = latest(context, {v.id for v in volumes})
    if ec2_ids:
        for volume in volumes:
            if volume.id not in rows:
                raise exception.InvalidVolumeModificationNotFound(
                    id=volume.ec2_id)
    return [(rows[v.id], v) for v in volumes if v.id in rows]
