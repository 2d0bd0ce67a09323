"""Block-device mappings: EC2 requests, ebsboot's own form and Nova's.

ebsboot works on normalized mappings ("BDMs"), one dict per device::

    {'device_name': '/dev/sdb',        # always with /dev/
     'boot_index': 0 | -1,             # 0 for the root device
     'no_device': bool,                # EC2 NoDevice: suppress the device
     'virtual_name': 'ephemeral0' | None,
     'snapshot_id': <snapshot UUID> | None,  # the volume service's id
     'volume_size': int | None,        # GiB
     'delete_on_termination': bool | None,
     'volume_type': str | None}

A BDM is an EBS volume when it is neither ``no_device`` nor virtual: made
from ``snapshot_id``, or blank when that is None.

* ``from_ec2_params`` parses and validates ``BlockDeviceMapping.N`` of a
  request (RegisterImage, RunInstances, CreateImage).
* ``to_nova`` and ``from_nova`` write and read the image properties of
  Nova's volume-backed placeholder images (``root_device_name``,
  ``bdm_v2``, the JSON ``block_device_mapping`` and ``mappings``), so that
  an EBS image is also a bootable Nova image.
* ``merge`` combines an image's mappings with those of a launch request.

Device names are compared and used in full (``/dev/sdh``) but answered as
the client gave them, as AWS does: a BDM named ``sdh`` in a request has
``short_name`` True (absent otherwise), which images keep in the property
``ec2_short_device_names`` (Nova's entries refuse unknown keys) and
instances in their device rows; ``as_given`` spells a name for an answer.
"""

import re

from oslo_log import log as logging
from oslo_serialization import jsonutils
from oslo_utils import strutils

from ebsboot.api.ec2 import params as ec2_params
from ebsboot.cloud import volumes
from ebsboot.conf import CONF
from ebsboot import context as ebs_context
from ebsboot.db import api as db
from ebsboot import exception

LOG = logging.getLogger(__name__)

# The keys of Nova's bdm v2 entries that ebsboot writes; every one is in
# nova.block_device.bdm_new_fields, whose validation refuses unknown keys.
NOVA_KEYS = ('source_type', 'destination_type', 'snapshot_id', 'boot_index',
             'device_name', 'volume_size', 'delete_on_termination',
             'device_type', 'disk_bus', 'guest_format', 'image_id',
             'volume_id', 'no_device', 'tag', 'volume_type')


_DEVICE_RE = re.compile(r'(?:/dev/)?([a-z][a-z0-9]{0,31})\Z')
_EPHEMERAL_RE = re.compile(r'ephemeral([0-9]|1[0-9]|2[0-3])\Z')
_EBS_KEYS = ('SnapshotId', 'VolumeSize', 'DeleteOnTermination',
             'VolumeType', 'Iops', 'Throughput', 'Encrypted', 'KmsKeyId')


def _invalid(message):
    return exception.InvalidBlockDeviceMapping(message)


def new_bdm(device_name, **values):
    """A BDM of ``device_name`` with every other key at its empty value."""
    bdm = {'device_name': device_name, 'boot_index': -1, 'no_device': False,
           'virtual_name': None, 'snapshot_id': None, 'volume_size': None,
           'delete_on_termination': None, 'volume_type': None}
    bdm.update(values)
    return bdm


def is_ebs(bdm):
    """Whether the BDM is an EBS volume (from a snapshot or blank)."""
    return not bdm['no_device'] and not bdm['virtual_name']


def normalize_device_name(name):
    """``/dev/sdb`` for ``sdb`` or ``/dev/sdb``; anything odd is refused.

    :raises InvalidBlockDeviceMapping: for an empty name or one that is
        not a lowercase letter followed by letters and digits, with or
        without ``/dev/``.
    """
    match = (_DEVICE_RE.match(name)
             if isinstance(name, str) and name.isascii() else None)
    if match is None:
        raise _invalid("The device name '%s' is not valid." % (name,))
    return '/dev/' + match.group(1)


def is_short(name):
    """Whether a device name was given without ``/dev/``."""
    return isinstance(name, str) and not name.startswith('/dev/')


def as_given(device_name, short):
    """``device_name`` as the client gave it: ``sdh`` if ``short``."""
    if short and device_name and device_name.startswith('/dev/'):
        return _short_name(device_name)
    return device_name


SHORT_NAMES_PROPERTY = 'ec2_short_device_names'
SHORT_ROOT_PROPERTY = 'ec2_short_root_device_name'


def short_names_properties(bdms, root_device_name):
    """The image properties that remember names given short (or none)."""
    properties = {}
    short = sorted(b['device_name'] for b in bdms if b.get('short_name'))
    if short:
        properties[SHORT_NAMES_PROPERTY] = jsonutils.dumps(short)
    if is_short(root_device_name):
        properties[SHORT_ROOT_PROPERTY] = 'True'
    return properties


def root_is_short(properties):
    """Whether an image's root device name was given short."""
    return strutils.bool_from_string(properties.get(SHORT_ROOT_PROPERTY))


def _short_name(device_name):
    """The device name without ``/dev/``, as Nova's legacy mappings have."""
    return device_name[len('/dev/'):]


def _sort_key(root_device_name):
    return lambda bdm: (bdm['device_name'] != root_device_name,
                        bdm['device_name'])


# EC2 requests ---------------------------------------------------------------

def _ebs_from_params(ebs, bdm, context, require_source):
    ebs.check_unknown(_EBS_KEYS)
    if ebs.get_bool('Encrypted') or ebs.get_str('KmsKeyId'):
        raise exception.UnsupportedOperation(
            'Encrypted EBS volumes are not supported.')
    # Performance settings are accepted and ignored, like the volume type.
    ebs.get_int('Iops', min=0)
    ebs.get_int('Throughput', min=0)
    volume_type = ebs.get_str('VolumeType')
    if volume_type is not None:
        volumes.check_volume_type(volume_type, ebs.prefix + 'VolumeType')
    size = ebs.get_int('VolumeSize')
    if size is not None:
        low = volumes.MIN_SIZE[volume_type] if volume_type else 1
        high = CONF.volume.max_volume_size
        if not low <= size <= high:
            raise exception.InvalidParameterValue(
                'Volume of %dGiB is outside the %d-%dGiB range%s.'
                % (size, low, high,
                   ' of volume type %s' % volume_type if volume_type
                   else ''))
    snapshot_ec2_id = ebs.get_str('SnapshotId')
    if snapshot_ec2_id:
        snapshot = volumes.get_snapshot(context, snapshot_ec2_id)
        if snapshot.status != 'completed':
            raise exception.IncorrectState(
                "Snapshot '%s' is in state '%s', not 'completed'."
                % (snapshot.ec2_id, snapshot.status))
        if size is not None and size < snapshot.volume_size:
            raise _invalid(
                "Volume of size %dGB is smaller than snapshot '%s', expect "
                "size >= %dGB" % (size, snapshot.ec2_id,
                                  snapshot.volume_size))
        bdm['snapshot_id'] = snapshot.id
    elif size is None and require_source:
        raise _invalid("The EBS mapping of device '%s' needs a snapshot id "
                       "or a volume size." % bdm['device_name'])
    bdm['volume_size'] = size
    bdm['volume_type'] = volume_type
    bdm['delete_on_termination'] = ebs.get_bool('DeleteOnTermination',
                                                default=None)


def from_ec2_params(entries, context, root_device_name=None,
                    require_source=True):
    """BDMs of the ``BlockDeviceMapping.N`` structures of a request.

    :param entries: ``params.get_dict_list('BlockDeviceMapping')``.
    :param context: the request context; snapshots are looked up in its
        project.
    :param root_device_name: if given, its mapping gets ``boot_index`` 0
        (every other one -1).
    :param require_source: whether an ``Ebs`` mapping must have a
        ``SnapshotId`` or a ``VolumeSize``. RunInstances passes False: a
        mapping may then only change ``DeleteOnTermination`` or
        ``VolumeType`` of a device of the image, which ``merge`` checks.
    :returns: a list of BDMs, in the request's order. ``volume_size`` and
        ``delete_on_termination`` are None when not given, so that callers
        apply their defaults.
    :raises: MissingParameter, InvalidBlockDeviceMapping,
        InvalidParameterValue, UnknownParameter, UnsupportedOperation (for
        encryption), the snapshot lookup errors, and IncorrectState for a
        snapshot that is not completed.
    """
    root = (normalize_device_name(root_device_name) if root_device_name
            else None)
    bdms = []
    devices = set()
    virtual_names = set()
    for index, entry in enumerate(entries, 1):
        mapping = ec2_params.Params(entry, 'BlockDeviceMapping.%d.' % index)
        mapping.check_unknown(('DeviceName', 'VirtualName', 'NoDevice',
                               'Ebs'))
        given = mapping.get_str('DeviceName', required=True)
        device = normalize_device_name(given)
        if device in devices:
            raise _invalid("The device '%s' is used in more than one "
                           "block-device mapping" % device)
        devices.add(device)
        bdm = new_bdm(device, boot_index=0 if device == root else -1)
        if is_short(given):
            bdm['short_name'] = True
        kinds = [kind for kind in ('Ebs', 'VirtualName', 'NoDevice')
                 if kind in mapping]
        if len(kinds) != 1:
            raise _invalid("The mapping of device '%s' must have exactly one "
                           "of Ebs, VirtualName and NoDevice." % device)
        if kinds == ['NoDevice']:
            bdm['no_device'] = True
        elif kinds == ['VirtualName']:
            virtual_name = mapping.get_str('VirtualName')
            if not _EPHEMERAL_RE.match(virtual_name):
                raise _invalid("The virtual name '%s' of device '%s' is not "
                               "valid: expecting ephemeral0 to ephemeral23."
                               % (virtual_name, device))
            if virtual_name in virtual_names:
                raise _invalid("The virtual name '%s' is used in more than "
                               "one block-device mapping" % virtual_name)
            virtual_names.add(virtual_name)
            bdm['virtual_name'] = virtual_name
        else:
            if not isinstance(entry['Ebs'], dict):
                raise exception.InvalidParameterValue(
                    'The parameter %sEbs must be a structure.'
                    % mapping.prefix)
            ebs = ec2_params.Params(entry['Ebs'], mapping.prefix + 'Ebs.')
            _ebs_from_params(ebs, bdm, context, require_source)
        bdms.append(bdm)
    return bdms


# Nova's image properties ---------------------------------------------------

def to_nova(bdms, root_device_name):
    """Nova's ``block_device_mapping`` and ``mappings`` for these BDMs.

    :returns: ``(block_device_mapping, mappings)``: bdm v2 dicts (EBS
        volumes and NoDevice entries) whose keys are all in ``NOVA_KEYS``,
        exactly one of them with ``boot_index`` 0 (the root device); and
        the legacy list of ephemeral devices, ``[{'virtual': 'ephemeral0',
        'device': 'sdb'}]``. Store both JSON-encoded, with ``bdm_v2``
        ``'True'``.
    :raises InvalidBlockDeviceMapping: if the root device is not an EBS
        volume, or a device is mapped twice.
    """
    root = normalize_device_name(root_device_name)
    block_device_mapping = []
    mappings = []
    devices = set()
    for bdm in bdms:
        device = normalize_device_name(bdm['device_name'])
        if device in devices:
            raise _invalid("The device '%s' is used in more than one "
                           "block-device mapping" % device)
        devices.add(device)
        if device == root and not is_ebs(bdm):
            raise _invalid('The root device %s must be an EBS volume.'
                           % root)
        entry = dict.fromkeys(NOVA_KEYS)
        entry['device_name'] = device
        if bdm['no_device']:
            entry['no_device'] = True
        elif bdm['virtual_name']:
            mappings.append({'virtual': bdm['virtual_name'],
                             'device': _short_name(device)})
            continue
        else:
            entry.update(
                source_type='snapshot' if bdm['snapshot_id'] else 'blank',
                destination_type='volume',
                snapshot_id=bdm['snapshot_id'],
                boot_index=0 if device == root else -1,
                volume_size=bdm['volume_size'],
                delete_on_termination=bdm['delete_on_termination'],
                device_type='disk',
                volume_type=bdm['volume_type'])
        block_device_mapping.append(entry)
    if root not in devices:
        raise _invalid('The root device %s has no block-device mapping.'
                       % root)
    return block_device_mapping, mappings


def _json_list(properties, key, kind=dict):
    value = properties.get(key)
    if isinstance(value, str):
        if not value:
            return []
        try:
            value = jsonutils.loads(value)
        except ValueError:
            LOG.warning('Ignoring the image property %s: not JSON', key)
            return []
    if not isinstance(value, list):
        return []
    return [entry for entry in value if isinstance(entry, kind)]


def _dev_name(name):
    if not name or not isinstance(name, str):
        return None
    return name if name.startswith('/') else '/dev/' + name


def _int_or_none(value):
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _bool_or_none(value):
    if value is None or isinstance(value, bool):
        return value
    return strutils.bool_from_string(value)


def _from_nova_v2(entry, ephemerals):
    """A BDM of a bdm v2 entry, or None for what EC2 cannot show."""
    device = _dev_name(entry.get('device_name'))
    if device is None:
        return None
    if _bool_or_none(entry.get('no_device')):
        return new_bdm(device, no_device=True)
    source = entry.get('source_type')
    destination = entry.get('destination_type')
    if destination == 'local' and source == 'blank':
        if entry.get('guest_format') == 'swap':
            return None
        name = 'ephemeral%d' % len(ephemerals)
        ephemerals.append(name)
        return new_bdm(device, virtual_name=name)
    if destination != 'volume' or source not in ('snapshot', 'blank'):
        return None     # an image or an existing volume: not for EC2
    return new_bdm(
        device,
        snapshot_id=entry.get('snapshot_id') if source == 'snapshot'
        else None,
        volume_size=_int_or_none(entry.get('volume_size')),
        delete_on_termination=_bool_or_none(
            entry.get('delete_on_termination')),
        volume_type=entry.get('volume_type'))


def _from_nova_legacy(entry):
    """A BDM of a legacy (EC2-style) entry, or None."""
    device = _dev_name(entry.get('device_name'))
    if device is None:
        return None
    if _bool_or_none(entry.get('no_device')):
        return new_bdm(device, no_device=True)
    virtual_name = entry.get('virtual_name')
    if virtual_name:
        if _EPHEMERAL_RE.match(str(virtual_name)):
            return new_bdm(device, virtual_name=virtual_name)
        return None
    if entry.get('volume_id'):
        return None
    return new_bdm(
        device, snapshot_id=entry.get('snapshot_id'),
        volume_size=_int_or_none(entry.get('volume_size')),
        delete_on_termination=_bool_or_none(
            entry.get('delete_on_termination')),
        volume_type=entry.get('volume_type'))


def from_nova(properties):
    """The root device name and the BDMs of an image's properties.

    Reads ``root_device_name``, ``bdm_v2``, ``block_device_mapping`` and
    ``mappings`` as Nova does (the JSON ones may be strings, as Glance
    returns them, or already decoded); missing or unreadable properties
    count as empty. Mappings that EC2 cannot show (image or volume
    sources, swap) are left out.

    :returns: ``(root_device_name or None, BDMs)``, the root device first,
        then by device name.
    """
    legacy = _json_list(properties, 'mappings')
    root = _dev_name(properties.get('root_device_name'))
    if root is None:
        root = next((_dev_name(m.get('device')) for m in legacy
                     if m.get('virtual') == 'root'), None)
    v2 = bool(properties.get('bdm_v2'))
    by_device = {}
    ephemerals = []
    for entry in _json_list(properties, 'block_device_mapping'):
        bdm = (_from_nova_v2(entry, ephemerals) if v2
               else _from_nova_legacy(entry))
        if bdm is None:
            continue
        if root is None and _int_or_none(entry.get('boot_index')) == 0:
            root = bdm['device_name']
        by_device.setdefault(bdm['device_name'], bdm)
    for mapping in legacy:
        virtual_name = mapping.get('virtual')
        device = _dev_name(mapping.get('device'))
        if (device and isinstance(virtual_name, str) and
                _EPHEMERAL_RE.match(virtual_name)):
            by_device.setdefault(device,
                                 new_bdm(device, virtual_name=virtual_name))
    bdms = sorted(by_device.values(), key=_sort_key(root))
    short = set(_json_list(properties, SHORT_NAMES_PROPERTY, kind=str))
    for bdm in bdms:
        bdm['boot_index'] = (0 if bdm['device_name'] == root and is_ebs(bdm)
                             else -1)
        if bdm['device_name'] in short:
            bdm['short_name'] = True
    return root, bdms


# Launch requests -----------------------------------------------------------

def lookup_snapshot_size(snapshot_id):
    """Size in GiB of a snapshot (any project) by UUID, None if unknown."""
    snapshot = db.snapshot_get(ebs_context.get_admin_context(), snapshot_id)
    return snapshot.volume_size if snapshot is not None else None


def _merge_root(image, launch, root, snapshot_size):
    if launch['no_device']:
        raise _invalid('Root device cannot be suppressed')
    if image is None or not is_ebs(image):
        # No EBS root in the image: the request has to give one.
        if not is_ebs(launch) or not launch['snapshot_id']:
            raise _invalid('The root device %s must be an EBS volume made '
                           'from a snapshot.' % root)
        return dict(launch)
    if launch['virtual_name']:
        raise _invalid('The root device %s must be an EBS volume.' % root)
    if launch['snapshot_id'] and launch['snapshot_id'] != image['snapshot_id']:
        raise _invalid('snapshotId cannot be modified on root device')
    merged = dict(image)
    size = launch['volume_size']
    if size is not None:
        expected = image['volume_size']
        if expected is None and image['snapshot_id']:
            expected = snapshot_size(image['snapshot_id'])
        if expected is not None and size < expected:
            raise _invalid('Volume of size %dGB is smaller than expected '
                           'size %dGB for the root device' % (size, expected))
        merged['volume_size'] = size
    for key in ('delete_on_termination', 'volume_type'):
        if launch[key] is not None:
            merged[key] = launch[key]
    return merged


def _merge_device(image, launch, snapshot_size):
    """The mapping of a non-root device, or None to drop it."""
    device = launch['device_name']
    if launch['no_device']:
        return None
    if image is not None and image['no_device']:
        image = None
    if image is not None and image['virtual_name'] and launch['snapshot_id']:
        raise _invalid('snapshotId can only be modified on EBS devices')
    if image is None or not is_ebs(image) or not is_ebs(launch):
        if (is_ebs(launch) and not launch['snapshot_id'] and
                launch['volume_size'] is None):
            raise _invalid("The EBS mapping of device '%s' needs a snapshot "
                           "id or a volume size." % device)
        return dict(launch)
    merged = dict(image)
    if launch['snapshot_id']:
        merged['snapshot_id'] = launch['snapshot_id']
        merged['volume_size'] = launch['volume_size']
    elif launch['volume_size'] is not None:
        expected = (snapshot_size(image['snapshot_id'])
                    if image['snapshot_id'] else None)
        if expected is not None and launch['volume_size'] < expected:
            raise _invalid('Volume of size %dGB is smaller than expected '
                           'size %dGB for device %s'
                           % (launch['volume_size'], expected, device))
        merged['volume_size'] = launch['volume_size']
    for key in ('delete_on_termination', 'volume_type'):
        if launch[key] is not None:
            merged[key] = launch[key]
    return merged


def merge(image_bdms, launch_bdms, root_device_name, snapshot_size=None):
    """The BDMs of an instance: the image's, overridden by the request's.

    Per device name the request wins: it may suppress an image device
    (NoDevice), replace it, or change ``DeleteOnTermination``,
    ``VolumeType`` and the size of an EBS device (and its snapshot, except
    on the root device). On the root device only the size (not below the
    image's), the volume type and ``DeleteOnTermination`` may change.

    Defaults for every EBS volume: ``delete_on_termination`` True,
    ``volume_type`` ``[volume] default_volume_type``, ``volume_size`` the
    snapshot's size.

    :param snapshot_size: function of a snapshot UUID giving its size in
        GiB (or None), by default ``lookup_snapshot_size``.
    :returns: the BDMs, root device first then by device name, without
        NoDevice entries; ``boot_index`` 0 for the root, -1 otherwise.
    :raises InvalidBlockDeviceMapping: for a change EC2 does not allow.
    """
    root = normalize_device_name(root_device_name)
    snapshot_size = snapshot_size or lookup_snapshot_size
    merged = {bdm['device_name']: dict(bdm) for bdm in image_bdms}
    for launch in launch_bdms:
        device = launch['device_name']
        if device == root:
            bdm = _merge_root(merged.get(device), launch, root,
                              snapshot_size)
        else:
            bdm = _merge_device(merged.get(device), launch, snapshot_size)
        if bdm is None:
            merged.pop(device, None)
            continue
        # Named by the request: spelled as the request spelled it.
        bdm.pop('short_name', None)
        if launch.get('short_name'):
            bdm['short_name'] = True
        merged[device] = bdm
    result = [bdm for bdm in merged.values() if not bdm['no_device']]
    if not any(bdm['device_name'] == root and is_ebs(bdm) for bdm in result):
        raise _invalid('The root device %s must be an EBS volume.' % root)
    for bdm in result:
        bdm['boot_index'] = 0 if bdm['device_name'] == root else -1
        if not is_ebs(bdm):
            continue
        if bdm['delete_on_termination'] is None:
            bdm['delete_on_termination'] = True
        if bdm['volume_type'] is None:
            bdm['volume_type'] = CONF.volume.default_volume_type
        if bdm['volume_size'] is None and bdm['snapshot_id']:
            bdm['volume_size'] = snapshot_size(bdm['snapshot_id'])
        low = volumes.MIN_SIZE.get(bdm['volume_type'], 1)
        if bdm['volume_size'] is not None and bdm['volume_size'] < low:
            raise exception.InvalidParameterValue(
                'Volume of %dGiB is outside the %d-%dGiB range of volume '
                'type %s.' % (bdm['volume_size'], low,
                              CONF.volume.max_volume_size,
                              bdm['volume_type']))
    return sorted(result, key=_sort_key(root))
