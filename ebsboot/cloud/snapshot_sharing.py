"""Create-volume permissions of snapshots: who may restore them.

The owner of a snapshot may let other projects (by project id) or every
project (the group ``all``: a public snapshot) create volumes from it.
They then see it in DescribeSnapshots and may use it in CreateVolume,
never change or delete it. Permissions are rows of the database (see
``db.api.snapshot_permissions``); they go with the snapshot.
"""

from ebsboot.cloud import volumes
from ebsboot.db import api as db
from ebsboot import exception

PUBLIC = db.SNAPSHOT_PUBLIC


def get_own_snapshot(context, ec2_id):
    """The project's snapshot; AuthFailure for one shared with it."""
    try:
        return volumes.get_snapshot(context, ec2_id)
    except exception.InvalidSnapshotNotFound:
        if db.snapshot_list_shared(context, [ec2_id]):
            raise exception.SnapshotAuthFailure(id=ec2_id)
        raise


def permissions(snapshot):
    """``(public, project ids)`` that may create volumes from it."""
    return _split(db.snapshot_permissions(snapshot.id))


def _split(pairs):
    return (PUBLIC in pairs,
            sorted(grantee for kind, grantee in pairs if kind == 'user'))


def permissions_of(snapshots):
    """``{snapshot id: (public, project ids)}`` of many snapshots."""
    found = db.snapshot_permissions_of([s.id for s in snapshots])
    return {s.id: _split(found.get(s.id, [])) for s in snapshots}


def _check_user(user):
    if not user or len(user) > 255:
        raise exception.InvalidParameterValue('Invalid user id: "%s"' % user)


def modify(context, ec2_id, add_users=(), remove_users=(), add_public=False,
           remove_public=False):
    """Give or take create-volume permission of an own snapshot.

    Additions first, then removals. The owner's own project is ignored.
    """
    snapshot = get_own_snapshot(context, ec2_id)
    for user in list(add_users) + list(remove_users):
        _check_user(user)
    add = [('user', user) for user in add_users
           if user != context.project_id]
    remove = [('user', user) for user in remove_users]
    if add_public:
        add.append(PUBLIC)
    if remove_public:
        remove.append(PUBLIC)
    db.snapshot_permissions_change(snapshot.id, add=add, remove=remove)


def reset(context, ec2_id):
    """Take every create-volume permission of an own snapshot away."""
    snapshot = get_own_snapshot(context, ec2_id)
    db.snapshot_permissions_change(snapshot.id, remove=None)
