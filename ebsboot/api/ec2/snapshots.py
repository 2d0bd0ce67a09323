"""CreateSnapshot, DeleteSnapshot, DescribeSnapshots and the snapshot
attributes (who may create volumes from a snapshot)."""

from ebsboot.api.ec2 import filters as ec2_filters
from ebsboot.api.ec2 import params as ec2_params
from ebsboot.api.ec2 import permissions as ec2_permissions
from ebsboot.api.ec2 import tags as ec2_tags
from ebsboot.cloud import instance_snapshots
from ebsboot.cloud import snapshot_sharing
from ebsboot.cloud import volumes as cloud_volumes
from ebsboot.conf import CONF
from ebsboot import exception

SNAPSHOT_ATTRIBUTES = ('createVolumePermission', 'productCodes')


def format_snapshot(snapshot, tags=()):
    item = {
        'snapshotId': snapshot.ec2_id,
        'volumeId': snapshot.volume_ec2_id,
        'status': snapshot.status,
        'startTime': snapshot.created_at,
        'progress': '%d%%' % snapshot.progress,
        'ownerId': snapshot.project_id,
        'volumeSize': snapshot.volume_size,
        'description': snapshot.description or '',
        'encrypted': False,
        'storageTier': 'standard',
        'tagSet': ec2_tags.tag_set(tags),
    }
    if snapshot.status == 'error':
        item['stateMessage'] = snapshot.state_message or ''
    return item


SNAPSHOT_FILTERS = {
    'snapshot-id': lambda s: s.ec2_id,
    'volume-id': lambda s: s.volume_ec2_id,
    'status': lambda s: s.status,
    'owner-id': lambda s: s.project_id,
    'description': lambda s: s.description or '',
    'progress': lambda s: '%d%%' % s.progress,
    'start-time': lambda s: s.created_at.strftime('%Y-%m-%dT%H:%M:%S.000Z'),
    'volume-size': lambda s: s.volume_size,
    'encrypted': lambda s: False,
    'storage-tier': lambda s: 'standard',
}


def create_snapshot(context, params, request):
    params.check_unknown(('VolumeId', 'Description', 'OutpostArn',
                          'TagSpecification', 'Location', 'DryRun'))
    tags = ec2_tags.tag_specifications(params, ('snapshot',))
    snapshot = cloud_volumes.create_snapshot(
        context, params.get_str('VolumeId', required=True),
        description=params.get_str('Description'),
        tags=tags.get('snapshot'))
    return format_snapshot(snapshot, sorted(
        tags.get('snapshot', {}).items()))


def create_snapshots(context, params, request):
    params.check_unknown(('InstanceSpecification', 'Description',
                          'OutpostArn', 'TagSpecification',
                          'CopyTagsFromSource', 'Location', 'DryRun'))
    if 'OutpostArn' in params:
        raise exception.UnsupportedOperation(
            'The parameter OutpostArn is not supported.')
    location = params.get_str('Location')
    if location not in (None, 'regional'):
        raise exception.UnsupportedOperation(
            'Snapshots are stored in the region (Location regional), not '
            'in %s.' % location)
    if 'InstanceSpecification' not in params:
        raise exception.MissingParameter(param='InstanceSpecification')
    spec = ec2_params.Params(params.raw['InstanceSpecification'],
                             'InstanceSpecification.')
    if not isinstance(spec.raw, dict):
        raise exception.InvalidParameterValue(
            'The parameter InstanceSpecification must be a structure.')
    spec.check_unknown(('InstanceId', 'ExcludeBootVolume',
                        'ExcludeDataVolumeId'))
    tags = ec2_tags.tag_specifications(params, ('snapshot',))
    made = instance_snapshots.create_snapshots(
        context, spec.get_str('InstanceId', required=True),
        exclude_boot=spec.get_bool('ExcludeBootVolume'),
        exclude_volume_ids=spec.get_list('ExcludeDataVolumeId'),
        description=params.get_str('Description'),
        tags=tags.get('snapshot'),
        copy_tags_from=params.get_str('CopyTagsFromSource'))
    return {'snapshotSet': [_snapshot_info(snapshot, sorted(tags.items()))
                            for snapshot, tags in made]}


def _snapshot_info(snapshot, tags):
    """CreateSnapshots' SnapshotInfo: a snapshot's shape, ``state``."""
    return {
        'snapshotId': snapshot.ec2_id,
        'volumeId': snapshot.volume_ec2_id,
        'state': snapshot.status,
        'startTime': snapshot.created_at,
        'progress': '%d%%' % snapshot.progress,
        'ownerId': snapshot.project_id,
        'volumeSize': snapshot.volume_size,
        'description': snapshot.description or '',
        'encrypted': False,
        'tagSet': ec2_tags.tag_set(tags),
    }


def copy_snapshot(context, params, request):
    params.check_unknown((
        'SourceRegion', 'SourceSnapshotId', 'Description',
        'DestinationRegion', 'DestinationOutpostArn',
        'DestinationAvailabilityZone', 'Encrypted', 'KmsKeyId',
        'PresignedUrl', 'CompletionDurationMinutes', 'TagSpecification',
        'DryRun'))
    region = CONF.api.region_name
    for name in ('SourceRegion', 'DestinationRegion'):
        given = params.get_str(name, required=name == 'SourceRegion')
        if given is not None and given != region:
            raise exception.UnsupportedOperation(
                'Snapshots are copied within the region %s only, not '
                'with %s %s.' % (region, name, given))
    for name in ('DestinationOutpostArn', 'DestinationAvailabilityZone',
                 'KmsKeyId'):
        if name in params:
            raise exception.UnsupportedOperation(
                'The parameter %s is not supported.' % name)
    if params.get_bool('Encrypted'):
        raise exception.UnsupportedOperation(
            'Encrypted snapshots are not supported.')
    params.get_str('PresignedUrl')
    # Time-based copies: every copy here is as fast as it can be.
    params.get_int('CompletionDurationMinutes', min=15, max=2880)
    tags = ec2_tags.tag_specifications(params, ('snapshot',))
    snapshot = cloud_volumes.copy_snapshot(
        context, params.get_str('SourceSnapshotId', required=True),
        description=params.get_str('Description'),
        tags=tags.get('snapshot'))
    return {'snapshotId': snapshot.ec2_id,
            'tagSet': ec2_tags.tag_set(sorted(
                tags.get('snapshot', {}).items()))}


def delete_snapshot(context, params, request):
    params.check_unknown(('SnapshotId', 'DryRun'))
    cloud_volumes.delete_snapshot(
        context, params.get_str('SnapshotId', required=True))
    return {'return': True}


def _owned_by(context, owners):
    """Snapshot owner filter: ``self`` or project ids (no public ones)."""
    wanted = {context.project_id if owner == 'self' else owner
              for owner in owners}
    return lambda snapshot: snapshot.project_id in wanted


def _restorable_by(context, users, snapshots):
    """RestorableBy filter: ``self``, a project id or ``all`` (public).

    Of another project's snapshot only what the project may know counts:
    that it may restore it itself, and whether it is public.
    """
    found = snapshot_sharing.permissions_of(snapshots)
    wanted = {context.project_id if user == 'self' else user
              for user in users}

    def check(snapshot):
        public, members = found[snapshot.id]
        if 'all' in wanted and public:
            return True
        if snapshot.project_id != context.project_id:
            return context.project_id in wanted
        return bool(wanted & ({context.project_id} | set(members)))
    return check


def describe_snapshots(context, params, request):
    params.check_unknown(('SnapshotId', 'Owner', 'RestorableBy', 'Filter',
                          'MaxResults', 'NextToken', 'DryRun'))
    ids = params.get_list('SnapshotId')
    pager = ec2_filters.Pager(params, ids_given=bool(ids), maximum=1000)
    snapshots = cloud_volumes.list_snapshots(context, ids, shared=True)
    owners = params.get_list('Owner')
    if owners:
        snapshots = list(filter(_owned_by(context, owners), snapshots))
    restorable_by = params.get_list('RestorableBy')
    if restorable_by:
        snapshots = list(filter(
            _restorable_by(context, restorable_by, snapshots), snapshots))
    tags = ec2_tags.TagIndex(context, 'snapshot', snapshots)
    snapshots = ec2_filters.apply(snapshots, params.get_filters(),
                                  SNAPSHOT_FILTERS, tags=tags.of)
    page, token = pager.page(snapshots)
    tags = tags.for_page(page)
    return {'snapshotSet': [format_snapshot(s, tags.of(s)) for s in page],
            'nextToken': token}


def _attribute(params):
    attribute = params.get_str('Attribute', required=True)
    if attribute not in SNAPSHOT_ATTRIBUTES:
        raise exception.InvalidParameterValue(
            'Value (%s) for parameter attribute is invalid. Expected one '
            'of: %s.' % (attribute, ', '.join(SNAPSHOT_ATTRIBUTES)))
    return attribute


def describe_snapshot_attribute(context, params, request):
    params.check_unknown(('SnapshotId', 'Attribute', 'DryRun'))
    ec2_id = params.get_str('SnapshotId', required=True)
    attribute = _attribute(params)
    snapshot = snapshot_sharing.get_own_snapshot(context, ec2_id)
    if attribute == 'productCodes':
        return {'snapshotId': snapshot.ec2_id, 'productCodes': []}
    public, members = snapshot_sharing.permissions(snapshot)
    return {'snapshotId': snapshot.ec2_id,
            'createVolumePermission':
                ([{'group': 'all'}] if public else []) +
                [{'userId': member} for member in members]}


def modify_snapshot_attribute(context, params, request):
    params.check_unknown(('SnapshotId', 'Attribute',
                          'CreateVolumePermission', 'DryRun') +
                         ec2_permissions.LEGACY_PARAMS)
    ec2_id = params.get_str('SnapshotId', required=True)
    if 'Attribute' in params:
        attribute = _attribute(params)
        if attribute == 'productCodes':
            raise exception.UnsupportedOperation(
                'Product codes are not supported.')
    elif not any(name in params for name in (
            ('CreateVolumePermission',) + ec2_permissions.LEGACY_PARAMS)):
        raise exception.MissingParameter(param='Attribute')
    if 'CreateVolumePermission' in params and any(
            name in params for name in ec2_permissions.LEGACY_PARAMS):
        raise exception.InvalidParameterCombination(
            'Give CreateVolumePermission or OperationType with UserId and '
            'UserGroup, not both.')
    add, remove, add_public, remove_public = ec2_permissions.changes(
        params, 'CreateVolumePermission', 'create-volume')
    snapshot_sharing.modify(context, ec2_id, add_users=add,
                            remove_users=remove, add_public=add_public,
                            remove_public=remove_public)
    return {'return': True}


def reset_snapshot_attribute(context, params, request):
    params.check_unknown(('SnapshotId', 'Attribute', 'DryRun'))
    ec2_id = params.get_str('SnapshotId', required=True)
    if _attribute(params) == 'productCodes':
        raise exception.UnsupportedOperation(
            'Product codes are not supported.')
    snapshot_sharing.reset(context, ec2_id)
    return {'return': True}


ACTIONS = {
    'CreateSnapshot': create_snapshot,
    'CreateSnapshots': create_snapshots,
    'CopySnapshot': copy_snapshot,
    'DeleteSnapshot': delete_snapshot,
    'DescribeSnapshots': describe_snapshots,
    'DescribeSnapshotAttribute': describe_snapshot_attribute,
    'ModifySnapshotAttribute': modify_snapshot_attribute,
    'ResetSnapshotAttribute': reset_snapshot_attribute,
}
