"""CreateVolume, DeleteVolume, DescribeVolumes."""

from ebsboot.api.ec2 import filters as ec2_filters
from ebsboot.api.ec2 import tags as ec2_tags
from ebsboot.cloud import bdm as bdm_utils
from ebsboot.cloud import instances as cloud_instances
from ebsboot.cloud import volumes as cloud_volumes
from ebsboot.db import api as db
from ebsboot import exception


def iops_of(volume_type, size):
    """The baseline IOPS AWS reports for a volume type and size."""
    if volume_type == 'gp2':
        return min(16000, max(100, 3 * size))
    if volume_type == 'gp3':
        return 3000
    return None


def throughput_of(volume_type):
    return 125 if volume_type == 'gp3' else None


def format_attachment(device, volume, instance):
    return {
        'volumeId': volume.ec2_id,
        'instanceId': instance.ec2_id,
        # As AWS, the device as the client named it (``sdh`` stays).
        'device': bdm_utils.as_given(device.device_name, device.short_name),
        'status': device.status,
        'attachTime': device.attach_time or device.created_at,
        'deleteOnTermination': device.delete_on_termination,
    }


def format_volume(volume, attachment=None, tags=()):
    return {
        'volumeId': volume.ec2_id,
        'size': volume.size,
        'snapshotId': volume.snapshot_ec2_id or '',
        'availabilityZone': volume.availability_zone,
        'status': volume.status,
        'createTime': volume.created_at,
        'attachmentSet': [attachment] if attachment else [],
        'volumeType': volume.volume_type,
        'iops': iops_of(volume.volume_type, volume.size),
        'throughput': throughput_of(volume.volume_type),
        'encrypted': False,
        'multiAttachEnabled': False,
        'tagSet': ec2_tags.tag_set(tags),
    }


VOLUME_FILTERS = {
    'volume-id': lambda v: v.ec2_id,
    'status': lambda v: v.status,
    'size': lambda v: v.size,
    'snapshot-id': lambda v: v.snapshot_ec2_id or '',
    'availability-zone': lambda v: v.availability_zone,
    'volume-type': lambda v: v.volume_type,
    'create-time': lambda v: v.created_at.strftime('%Y-%m-%dT%H:%M:%S.000Z'),
    'encrypted': lambda v: False,
    'multi-attach-enabled': lambda v: False,
}


def attachment_filters(attachments):
    def field(name):
        return lambda v: attachments.get(v.id, {}).get(name)
    return {
        'attachment.instance-id': field('instanceId'),
        'attachment.device': field('device'),
        'attachment.status': field('status'),
        'attachment.delete-on-termination': field('deleteOnTermination'),
        'attachment.attach-time': lambda v: (
            attachments[v.id]['attachTime'].strftime(
                '%Y-%m-%dT%H:%M:%S.000Z') if v.id in attachments else None),
    }


def create_volume(context, params, request):
    params.check_unknown(('AvailabilityZone', 'AvailabilityZoneId', 'Size',
                          'SnapshotId', 'VolumeType', 'ClientToken',
                          'Encrypted', 'MultiAttachEnabled', 'Iops',
                          'Throughput', 'KmsKeyId', 'OutpostArn',
                          'VolumeInitializationRate', 'Operator',
                          'TagSpecification', 'DryRun'))
    if params.get_bool('Encrypted') or params.get_bool('MultiAttachEnabled'):
        raise exception.UnsupportedOperation(
            'Encrypted and multi-attach volumes are not supported.')
    for name in ('KmsKeyId', 'OutpostArn', 'Operator'):
        if name in params:
            raise exception.UnsupportedOperation(
                'The parameter %s is not supported.' % name)
    # Performance settings are accepted and ignored, as in block-device
    # mappings and ModifyVolume.
    params.get_int('Iops', min=0)
    params.get_int('Throughput', min=0)
    params.get_int('VolumeInitializationRate', min=0)
    zone = params.get_str('AvailabilityZone', required=True)
    tags = ec2_tags.tag_specifications(params, ('volume',)).get('volume')
    volume = cloud_volumes.create_volume(
        context, zone,
        size=params.get_int('Size'),
        snapshot_ec2_id=params.get_str('SnapshotId'),
        volume_type=params.get_str('VolumeType'),
        client_token=params.get_str('ClientToken'),
        tags=tags)
    tags = ec2_tags.TagIndex(context, 'volume', [volume])
    return format_volume(volume, tags=tags.of(volume))


def delete_volume(context, params, request):
    params.check_unknown(('VolumeId', 'DryRun'))
    cloud_volumes.delete_volume(
        context, params.get_str('VolumeId', required=True))
    return {'return': True}


def describe_volumes(context, params, request):
    params.check_unknown(('VolumeId', 'Filter', 'MaxResults', 'NextToken',
                          'IncludeManagedResources', 'DryRun'))
    # No volume here is managed by another service: nothing to include.
    params.get_bool('IncludeManagedResources')
    ids = params.get_list('VolumeId')
    pager = ec2_filters.Pager(params, ids_given=bool(ids), maximum=500)
    volumes = cloud_volumes.list_volumes(context, ids)
    attachments = _attachments(context, volumes)
    tags = ec2_tags.TagIndex(context, 'volume', volumes)
    volumes = ec2_filters.apply(volumes, params.get_filters(),
                                dict(VOLUME_FILTERS, **attachment_filters(
                                    attachments)), tags=tags.of)
    page, token = pager.page(volumes)
    tags = tags.for_page(page)
    return {'volumeSet': [format_volume(v, attachments.get(v.id),
                                        tags.of(v))
                          for v in page],
            'nextToken': token}


def _attachments(context, volumes):
    """``{volume id: attachment item}`` of the attached volumes."""
    devices = db.block_devices_by_volume([v.id for v in volumes])
    instances = {i.id: i for i in db.instance_list(
        context, ids=[d.instance_id for d in devices.values()])} \
        if devices else {}
    by_id = {v.id: v for v in volumes}
    return {volume_id: format_attachment(device, by_id[volume_id],
                                         instances[device.instance_id])
            for volume_id, device in devices.items()
            if device.instance_id in instances}


def attach_volume(context, params, request):
    params.check_unknown(('VolumeId', 'InstanceId', 'Device',
                          'EbsCardIndex', 'DryRun'))
    device, volume, instance = cloud_instances.attach_volume(
        context, params.get_str('VolumeId', required=True),
        params.get_str('InstanceId', required=True),
        params.get_str('Device', required=True))
    item = format_attachment(device, volume, instance)
    item['status'] = 'attaching'
    return item


def detach_volume(context, params, request):
    params.check_unknown(('VolumeId', 'InstanceId', 'Device', 'Force',
                          'DryRun'))
    device, volume, instance = cloud_instances.detach_volume(
        context, params.get_str('VolumeId', required=True),
        instance_ec2_id=params.get_str('InstanceId'),
        device_name=params.get_str('Device'),
        force=params.get_bool('Force'))
    item = format_attachment(device, volume, instance)
    item['status'] = 'detaching'
    return item


ACTIONS = {
    'CreateVolume': create_volume,
    'DeleteVolume': delete_volume,
    'DescribeVolumes': describe_volumes,
    'AttachVolume': attach_volume,
    'DetachVolume': detach_volume,
}
