"""CreateSnapshot, DeleteSnapshot, DescribeSnapshots."""

from ebsboot.api.ec2 import filters as ec2_filters
from ebsboot.api.ec2 import tags as ec2_tags
from ebsboot.cloud import volumes as cloud_volumes


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


def describe_snapshots(context, params, request):
    params.check_unknown(('SnapshotId', 'Owner', 'RestorableBy', 'Filter',
                          'MaxResults', 'NextToken', 'DryRun'))
    ids = params.get_list('SnapshotId')
    pager = ec2_filters.Pager(params, ids_given=bool(ids), maximum=1000)
    snapshots = cloud_volumes.list_snapshots(context, ids)
    owners = params.get_list('Owner')
    if owners:
        snapshots = list(filter(_owned_by(context, owners), snapshots))
    tags = ec2_tags.TagIndex(context, 'snapshot', snapshots)
    snapshots = ec2_filters.apply(snapshots, params.get_filters(),
                                  SNAPSHOT_FILTERS, tags=tags.of)
    page, token = pager.page(snapshots)
    tags = tags.for_page(page)
    return {'snapshotSet': [format_snapshot(s, tags.of(s)) for s in page],
            'nextToken': token}


ACTIONS = {
    'CreateSnapshot': create_snapshot,
    'DeleteSnapshot': delete_snapshot,
    'DescribeSnapshots': describe_snapshots,
}
