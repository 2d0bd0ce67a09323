"""CreateSnapshots: crash-consistent snapshots of an instance's volumes.

The snapshots are written ``pending`` in one transaction, then each volume
host is asked for all of its volumes in one ``create_snapshots`` request
(volume RPC 1.2, as CreateImage with NoReboot does). For the volumes of a
running guest on a host that takes live snapshots, that request switches
them to overlays at one instant (``ebsboot.volume.live``), so the
snapshots hold what the disks held at that instant; the guest runs on.
A stopped instance's volumes do not change while they are copied.
"""

from oslo_log import log as logging

from ebsboot.cloud import ec2ids
from ebsboot.cloud import instances as cloud_instances
from ebsboot.cloud import tags as cloud_tags
from ebsboot.cloud import validation
from ebsboot.cloud import volumes as cloud_volumes
from ebsboot.db import api as db
from ebsboot import exception
from ebsboot.volume import rpcapi as volume_rpcapi

LOG = logging.getLogger(__name__)

COPY_TAGS_FROM = ('volume',)


def _chosen_volumes(context, instance, exclude_boot, exclude_ids):
    """``[volume row]`` of the instance to snapshot, in device order."""
    devices = sorted((d for d in db.block_device_list([instance.id])
                      if d.volume_id),
                     key=lambda d: (d.boot_index != 0, d.device_name))
    volumes = [(device, db.volume_get(context, device.volume_id))
               for device in devices]
    attached = {volume.ec2_id: device for device, volume in volumes
                if volume is not None}
    for ec2_id in exclude_ids:
        if not ec2ids.is_valid('vol', ec2_id):
            raise exception.InvalidVolumeIDMalformed(id=ec2_id)
        device = attached.get(ec2_id)
        if device is None:
            raise exception.InvalidParameterValue(
                'The volume %s is not attached to instance %s.'
                % (ec2_id, instance.ec2_id))
        if device.boot_index == 0:
            raise exception.InvalidParameterValue(
                'The root volume %s cannot be given in ExcludeDataVolumeIds; '
                'use ExcludeBootVolume.' % ec2_id)
    chosen = []
    for device, volume in volumes:
        if volume is None or volume.ec2_id in exclude_ids:
            continue
        if exclude_boot and device.boot_index == 0:
            continue
        chosen.append(volume)
    if not chosen:
        raise exception.InvalidParameterValue(
            'No volume of instance %s is left to snapshot.' % instance.ec2_id)
    return chosen


def create_snapshots(context, instance_ec2_id, exclude_boot=False,
                     exclude_volume_ids=(), description=None, tags=None,
                     copy_tags_from=None):
    """Snapshot the instance's volumes at one instant; the snapshot rows.

    :param tags: ``{key: value}`` of every snapshot, checked; with
        ``copy_tags_from='volume'`` each also gets its volume's tags
        (``tags`` win for a key in both).
    """
    validation.check_description(description)
    if copy_tags_from is not None and copy_tags_from not in COPY_TAGS_FROM:
        raise exception.InvalidParameterValue(
            'Value (%s) for parameter CopyTagsFromSource is invalid. '
            'Expected one of: %s.' % (copy_tags_from,
                                      ', '.join(COPY_TAGS_FROM)))
    instance = cloud_instances.get_instance(context, instance_ec2_id)
    if instance.state not in ('running', 'stopped'):
        raise exception.IncorrectInstanceState(
            "The instance '%s' is not in the 'running' or 'stopped' state."
            % instance.ec2_id)
    volumes = _chosen_volumes(context, instance, exclude_boot,
                              set(exclude_volume_ids))
    for volume in volumes:
        if volume.status not in ('available', 'in-use'):
            raise exception.IncorrectState(
                "The volume '%s' is '%s' and cannot be snapshotted now."
                % (volume.ec2_id, volume.status))
    source_tags = (db.tags_by_resource(context, 'volume',
                                       [v.ec2_id for v in volumes])
                   if copy_tags_from else {})
    items = []
    for volume in volumes:
        volume_tags = dict(source_tags.get(volume.ec2_id, ()))
        volume_tags.update(tags or {})
        if len(volume_tags) > cloud_tags.MAX_TAGS:
            raise exception.TagLimitExceeded(
                'The snapshot of %s would have more than %d tags.'
                % (volume.ec2_id, cloud_tags.MAX_TAGS))
        items.append((cloud_volumes.snapshot_values(volume, description),
                      volume_tags or None))
    snapshots = db.snapshots_create(context, items)
    by_host = {}
    for values, _tags in items:
        by_host.setdefault(values['host'], []).append(values['id'])
    api = volume_rpcapi.VolumeAPI()
    for host, snapshot_ids in by_host.items():
        # One request per host: one guest's volumes switch at one instant.
        api.create_snapshots(context, host, snapshot_ids)
    LOG.info('Snapshotting %s of %s: %s',
             ', '.join(v.ec2_id for v in volumes), instance.ec2_id,
             ', '.join(s.ec2_id for s in snapshots))
    return [(snapshot, dict(item[1] or {}))
            for snapshot, item in zip(snapshots, items)]
