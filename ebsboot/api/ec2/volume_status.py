"""DescribeVolumeStatus, DescribeVolumeAttribute, ModifyVolumeAttribute.

The volumes of this cloud have no scheduled events and their I/O is never
suspended: a usable volume is ``ok`` with I/O enabled, one still being
made or deleted has ``insufficient-data``, one in ``error`` is
``impaired``. ``autoEnableIO`` is kept as the client sets it.
"""

from ebsboot.api.ec2 import filters as ec2_filters
from ebsboot.cloud import volumes as cloud_volumes
from ebsboot import exception

_STATUS = {
    'available': ('ok', 'passed'),
    'in-use': ('ok', 'passed'),
    'error': ('impaired', 'failed'),
}
_UNKNOWN = ('insufficient-data', 'insufficient-data')


def _status_item(volume):
    status, io_enabled = _STATUS.get(volume.status, _UNKNOWN)
    return {
        'volumeId': volume.ec2_id,
        'availabilityZone': volume.availability_zone,
        'volumeStatus': {
            'status': status,
            'details': [
                {'name': 'io-enabled', 'status': io_enabled},
                {'name': 'io-performance', 'status': 'not-applicable'},
            ],
        },
        'eventsSet': [],
        'actionsSet': [],
    }


def _details(field):
    return lambda item: [d[field] for d in item['volumeStatus']['details']]


VOLUME_STATUS_FILTERS = {
    'volume-id': lambda item: item['volumeId'],
    'availability-zone': lambda item: item['availabilityZone'],
    'volume-status.status': lambda item: item['volumeStatus']['status'],
    'volume-status.details-name': _details('name'),
    'volume-status.details-status': _details('status'),
    # No events or actions: these match nothing.
    'event.description': lambda item: None,
    'event.event-id': lambda item: None,
    'event.event-type': lambda item: None,
    'event.not-after': lambda item: None,
    'event.not-before': lambda item: None,
    'action.code': lambda item: None,
    'action.description': lambda item: None,
    'action.event-id': lambda item: None,
}


def describe_volume_status(context, params, request):
    params.check_unknown(('VolumeId', 'Filter', 'MaxResults', 'NextToken',
                          'IncludeManagedResources', 'DryRun'))
    params.get_bool('IncludeManagedResources')
    ids = params.get_list('VolumeId')
    pager = ec2_filters.Pager(params, ids_given=bool(ids), maximum=1000)
    filters = params.get_filters()
    volumes = cloud_volumes.list_volumes(context, ids)
    items = ec2_filters.apply([_status_item(v) for v in volumes], filters,
                              VOLUME_STATUS_FILTERS)
    page, token = pager.page(items)
    return {'volumeStatusSet': page, 'nextToken': token}


_ATTRIBUTES = ('autoEnableIO', 'productCodes')


def describe_volume_attribute(context, params, request):
    params.check_unknown(('Attribute', 'VolumeId', 'DryRun'))
    attribute = params.get_str('Attribute', required=True)
    ec2_id = params.get_str('VolumeId', required=True)
    if attribute not in _ATTRIBUTES:
        raise exception.InvalidParameterValue(
            'Value (%s) for parameter attribute is invalid. Expected one '
            'of: %s.' % (attribute, ', '.join(_ATTRIBUTES)))
    volume = cloud_volumes.get_volume(context, ec2_id)
    answer = {'volumeId': volume.ec2_id}
    if attribute == 'autoEnableIO':
        answer['autoEnableIO'] = {'value': volume.auto_enable_io}
    else:
        answer['productCodes'] = []
    return answer


def modify_volume_attribute(context, params, request):
    params.check_unknown(('AutoEnableIO', 'VolumeId', 'DryRun'))
    ec2_id = params.get_str('VolumeId', required=True)
    if params.get_str('AutoEnableIO.Value') is None:
        raise exception.MissingParameter(param='AutoEnableIO')
    value = params.get_bool('AutoEnableIO.Value')
    cloud_volumes.set_auto_enable_io(context, ec2_id, value)
    return {'return': True}


ACTIONS = {
    'DescribeVolumeStatus': describe_volume_status,
    'DescribeVolumeAttribute': describe_volume_attribute,
    'ModifyVolumeAttribute': modify_volume_attribute,
}
