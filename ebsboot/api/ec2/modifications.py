"""ModifyVolume, DescribeVolumesModifications."""

from ebsboot.api.ec2 import filters as ec2_filters
from ebsboot.api.ec2 import volumes as ec2_volumes
from ebsboot.cloud import modifications as cloud_modifications
from ebsboot import exception

_TIME = '%Y-%m-%dT%H:%M:%S.000Z'


def format_modification(row):
    return {
        'volumeId': row.volume_ec2_id,
        'modificationState': row.status,
        'statusMessage': row.status_message,
        'targetSize': row.target_size,
        'targetIops': ec2_volumes.iops_of(row.target_volume_type,
                                          row.target_size),
        'targetVolumeType': row.target_volume_type,
        'targetThroughput': ec2_volumes.throughput_of(
            row.target_volume_type),
        'targetMultiAttachEnabled': False,
        'originalSize': row.original_size,
        'originalIops': ec2_volumes.iops_of(row.original_volume_type,
                                            row.original_size),
        'originalVolumeType': row.original_volume_type,
        'originalThroughput': ec2_volumes.throughput_of(
            row.original_volume_type),
        'originalMultiAttachEnabled': False,
        'progress': row.progress,
        'startTime': row.created_at,
        'endTime': row.end_time,
    }


MODIFICATION_FILTERS = {
    'volume-id': lambda m: m.volume_ec2_id,
    'modification-state': lambda m: m.status,
    'target-size': lambda m: m.target_size,
    'target-volume-type': lambda m: m.target_volume_type,
    'target-iops': lambda m: ec2_volumes.iops_of(m.target_volume_type,
                                                 m.target_size),
    'target-throughput': lambda m: ec2_volumes.throughput_of(
        m.target_volume_type),
    'target-multi-attach-enabled': lambda m: False,
    'original-size': lambda m: m.original_size,
    'original-volume-type': lambda m: m.original_volume_type,
    'original-iops': lambda m: ec2_volumes.iops_of(m.original_volume_type,
                                                   m.original_size),
    'original-multi-attach-enabled': lambda m: False,
    'start-time': lambda m: m.created_at.strftime(_TIME),
}


def modify_volume(context, params, request):
    params.check_unknown(('VolumeId', 'Size', 'VolumeType', 'Iops',
                          'Throughput', 'MultiAttachEnabled', 'DryRun'))
    if params.get_str('Iops') is not None or \
            params.get_str('Throughput') is not None:
        raise exception.UnsupportedOperation(
            'Provisioned IOPS and throughput are not supported.')
    if params.get_bool('MultiAttachEnabled'):
        raise exception.UnsupportedOperation(
            'Multi-attach volumes are not supported.')
    modification = cloud_modifications.modify_volume(
        context, params.get_str('VolumeId', required=True),
        size=params.get_int('Size'),
        volume_type=params.get_str('VolumeType'))
    return {'volumeModification': format_modification(modification)}


def describe_volumes_modifications(context, params, request):
    params.check_unknown(('VolumeId', 'Filter', 'MaxResults', 'NextToken',
                          'IncludeManagedResources', 'DryRun'))
    params.get_bool('IncludeManagedResources')
    ids = params.get_list('VolumeId')
    pager = ec2_filters.Pager(params, ids_given=bool(ids), maximum=500)
    rows = [row for row, _volume in cloud_modifications.describe(
        context, ids)]
    rows = ec2_filters.apply(rows, params.get_filters(),
                             MODIFICATION_FILTERS)
    page, token = pager.page(rows)
    return {'volumeModificationSet': [format_modification(m)
                                      for m in page],
            'nextToken': token}


ACTIONS = {
    'ModifyVolume': modify_volume,
    'DescribeVolumesModifications': describe_volumes_modifications,
}
