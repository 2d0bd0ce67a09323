"""Permission changes of Modify{Image,Snapshot}Attribute requests.

Both take the same two forms: a structure (``LaunchPermission`` or
``CreateVolumePermission``) with ``Add.N``/``Remove.N`` entries of a
``UserId`` or a ``Group``, or the older ``OperationType`` with
``UserId.N`` and ``UserGroup.N``. The only group is ``all`` (public).
"""

from ebsboot.api.ec2 import params as ec2_params
from ebsboot import exception

#: The parameters of the older form.
LEGACY_PARAMS = ('OperationType', 'UserId', 'UserGroup')


def _check_group(group):
    if group != 'all':
        raise exception.InvalidParameterValue(
            'Value (%s) for parameter Group is invalid. Expected: all.'
            % group)


def _set_public(changes, index):
    changes = list(changes)
    changes[2 + index] = True
    return tuple(changes)


def _structure_changes(params, name, what):
    permission = params.raw[name]
    if not isinstance(permission, dict):
        raise exception.InvalidParameterValue(
            'The parameter %s must be a structure.' % name)
    ec2_params.Params(permission, name + '.').check_unknown(
        ('Add', 'Remove'))
    changes = ([], [], False, False)
    for index, operation in ((0, 'Add'), (1, 'Remove')):
        for entry in params.get_params_list(name + '.' + operation):
            entry.check_unknown(('UserId', 'Group', 'OrganizationArn',
                                 'OrganizationalUnitArn'))
            if 'OrganizationArn' in entry or 'OrganizationalUnitArn' in entry:
                raise exception.UnsupportedOperation(
                    '%s permissions for organizations are not supported.'
                    % what.capitalize())
            user = entry.get_str('UserId')
            group = entry.get_str('Group')
            if (user is None) == (group is None):
                raise exception.InvalidParameterCombination(
                    'A %s permission has either a UserId or a Group.'
                    % what)
            if group is not None:
                _check_group(group)
                changes = _set_public(changes, index)
            else:
                changes[index].append(user)
    return changes


def _legacy_changes(params):
    operation = params.get_str('OperationType', required=True)
    if operation not in ('add', 'remove'):
        raise exception.InvalidParameterValue(
            'Value (%s) for parameter OperationType is invalid. '
            'Expected: add or remove.' % operation)
    users = params.get_list('UserId')
    groups = params.get_list('UserGroup')
    if not users and not groups:
        raise exception.MissingParameter(param='UserId')
    for group in groups:
        _check_group(group)
    index = 0 if operation == 'add' else 1
    changes = ([], [], False, False)
    changes[index].extend(users)
    if groups:
        changes = _set_public(changes, index)
    return changes


def changes(params, name, what):
    """``(add users, remove users, add public, remove public)``.

    :param name: the structure's parameter, e.g. ``LaunchPermission``.
    :param what: ``launch`` or ``create-volume``, for messages.
    """
    if name in params:
        return _structure_changes(params, name, what)
    return _legacy_changes(params)
