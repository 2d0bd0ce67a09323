"""CreateVolume, DeleteVolume, DescribeVolumes."""

from ebsboot.api.ec2 import filters as ec2_filters
from ebsboot.cloud import volumes as cloud_volumes
from ebsboot import exception


def _iops(volume):
    if volume.volume_type == 'gp2':
        return min(16000, max(100, 3 * volume.size))
    if volume.volume_type == 'gp3':
        return 3000
    return None


def format_volume(volume):
    return {
        'volumeId': volume.ec2_id,
        'size': volume.size,
        'snapshotId': volume.snapshot_ec2_id or '',
        'availabilityZone': volume.availability_zone,
        'status': volume.status,
        'createTime': volume.created_at,
        'attachmentSet': [],
        'volumeType': volume.volume_type,
        'iops': _iops(volume),
        'throughput': 125 if volume.volume_type == 'gp3' else None,
        'encrypted': False,
        'multiAttachEnabled': False,
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


def create_volume(context, params, request):
    params.check_unknown(('AvailabilityZone', 'AvailabilityZoneId', 'Size',
                          'SnapshotId', 'VolumeType', 'ClientToken',
                          'Encrypted', 'MultiAttachEnabled',
                          'TagSpecification', 'DryRun'))
    if params.get_bool('Encrypted') or params.get_bool('MultiAttachEnabled'):
        raise exception.UnsupportedOperation(
            'Encrypted and multi-attach volumes are not supported.')
    zone = params.get_str('AvailabilityZone', required=True)
    volume = cloud_volumes.create_volume(
        context, zone,
        size=params.get_int('Size'),
        snapshot_ec2_id=params.get_str('SnapshotId'),
        volume_type=params.get_str('VolumeType'),
        client_token=params.get_str('ClientToken'))
    return format_volume(volume)


def delete_volume(context, params, request):
    params.check_unknown(('VolumeId', 'DryRun'))
    cloud_volumes.delete_volume(
        context, params.get_str('VolumeId', required=True))
    return {'return': True}


def describe_volumes(context, params, request):
    params.check_unknown(('VolumeId', 'Filter', 'MaxResults', 'NextToken',
                          'DryRun'))
    ids = params.get_list('VolumeId')
    pager = ec2_filters.Pager(params, ids_given=bool(ids), maximum=500)
    volumes = cloud_volumes.list_volumes(context, ids)
    volumes = ec2_filters.apply(volumes, params.get_filters(),
                                VOLUME_FILTERS)
    page, token = pager.page(volumes)
    return {'volumeSet': [format_volume(v) for v in page],
            'nextToken': token}


ACTIONS = {
    'CreateVolume': create_volume,
    'DeleteVolume': delete_volume,
    'DescribeVolumes': describe_volumes,
}
