"""Instance operations of the controller: validate, record, start a flow.

Each public function checks the whole request before it changes anything
(a request naming one bad instance changes none), moves the instances to
their new EC2 state with compare-and-set, and hands the slow work to the
task runner (``ebsboot.cloud.tasks``).
"""

import base64
import binascii
import hashlib
import uuid

from oslo_log import log as logging
from oslo_serialization import jsonutils
from oslo_utils import timeutils

from ebsboot.cloud import attachments
from ebsboot.cloud import bdm as bdm_utils
from ebsboot.cloud import ec2ids
from ebsboot.cloud import flows
from ebsboot.cloud import images as cloud_images
from ebsboot.cloud import keypairs as cloud_keypairs
# Adds the batched launch steps to the launch flow.
from ebsboot.cloud import launch_batch  # noqa: F401
from ebsboot.cloud import modifications as cloud_modifications
from ebsboot.cloud import tasks
from ebsboot.cloud import validation
from ebsboot.cloud import volumes as cloud_volumes
from ebsboot.cloud import vpcs as cloud_vpcs
from ebsboot.compute import rpcapi as compute_rpcapi
from ebsboot.conf import compute as compute_conf
from ebsboot.conf import CONF
from ebsboot.db import api as db
from ebsboot import exception

LOG = logging.getLogger(__name__)

STATE_CODES = {'pending': 0, 'running': 16, 'shutting-down': 32,
               'terminated': 48, 'stopping': 64, 'stopped': 80}
SHUTDOWN_BEHAVIORS = ('stop', 'terminate')
MAX_USER_DATA = 16 * 1024


def get_instance(context, ec2_id):
    return ec2ids.lookup(context, 'i', db.instance_get_by_ec2_id, ec2_id)


def list_instances(context, ec2_ids=None):
    return ec2ids.lookup_all(context, 'i', db.instance_list, ec2_ids)


def instance_rows(context, columns, ec2_ids=None, **where):
    """``list_instances`` for Describe calls: read-only rows of ``columns``.

    ``where`` (column: allowed values) narrows the query when no ids are
    given; it is an optimisation, the caller's filters still decide.
    """
    def getter(context, ec2_ids=None):
        return db.instance_rows(context, columns, ec2_ids,
                                **({} if ec2_ids else where))
    return ec2ids.lookup_all(context, 'i', getter, ec2_ids)


def instance_device_rows(context, columns, ec2_ids=None, **where):
    """The block devices of what ``instance_rows`` found (same arguments)."""
    return db.instance_device_rows(
        context, columns, list(set(ec2_ids)) if ec2_ids else None,
        **({} if ec2_ids else where))


def _ordered(rows, ec2_ids):
    by_id = {row.ec2_id: row for row in rows}
    return [by_id[ec2_id] for ec2_id in dict.fromkeys(ec2_ids)]


# RunInstances ---------------------------------------------------------------

def _check_user_data(user_data):
    if user_data is None:
        return None
    try:
        raw = base64.b64decode(user_data.encode(), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise exception.InvalidParameterValue(
            'Invalid BASE64 encoding of user data.')
    if len(raw) > MAX_USER_DATA:
        raise exception.InvalidParameterValue(
            'User data is limited to %d bytes.' % MAX_USER_DATA)
    return user_data


def _digest(values):
    return hashlib.sha256(jsonutils.dumps(values, sort_keys=True).encode()
                          ).hexdigest()


def run_instances(context, image_ec2_id, min_count=1, max_count=1,
                  instance_type=None, zone=None, user_data=None,
                  client_token=None, disable_api_termination=False,
                  disable_api_stop=False, shutdown_behavior='stop',
                  block_device_mappings=(), kernel_id=None,
                  ramdisk_id=None, tags=None, key_name=None,
                  subnet_id=None):
    """Launch instances; returns their rows (one reservation).

    ``tags``: ``{'instance'|'volume': {key: value}}`` (checked) of the
    instances and of the volumes the launch makes.
    """
    request = dict(locals())
    request.pop('context')
    digest = _digest(request)
    if client_token:
        validation.check_client_token(client_token)
        existing = db.instance_list(context, client_token=client_token)
        if existing:
            if existing[0].request_digest != digest:
                raise exception.IdempotentParameterMismatch(
                    token=client_token)
            return sorted(existing, key=lambda i: i.launch_index)
    if min_count < 1 or max_count < 1 or min_count > max_count:
        raise exception.InvalidParameterValue(
            'MinCount and MaxCount must be at least 1 and MinCount may not '
            'exceed MaxCount.')
    if min_count > CONF.compute.max_count:
        raise exception.InstanceLimitExceeded(
            'Your quota allows for %d more instance(s). You requested at '
            'least %d.' % (CONF.compute.max_count, min_count))
    count = min(max_count, CONF.compute.max_count)
    instance_type = instance_type or CONF.compute.default_instance_type
    types = compute_conf.instance_types(CONF)
    if instance_type not in types:
        raise exception.InvalidParameterValue(
            "Invalid value '%s' for InstanceType." % instance_type)
    if subnet_id is not None:
        ec2ids.check('subnet', subnet_id)
    zone = zone or CONF.default_availability_zone
    if zone != CONF.default_availability_zone:
        raise exception.InvalidParameterValue(
            'Invalid availability zone: [%s]' % zone)
    if shutdown_behavior not in SHUTDOWN_BEHAVIORS:
        raise exception.InvalidParameterValue(
            "Invalid value '%s' for InstanceInitiatedShutdownBehavior."
            % shutdown_behavior)
    user_data = _check_user_data(user_data)
    key_data = None
    if key_name is not None:
        key_data = cloud_keypairs.get_key_pair(context, key_name).public_key

    image = cloud_images.get_image(context, image_ec2_id)
    root_device_name, image_bdms = bdm_utils.from_nova(image['properties'])
    if not root_device_name or not any(
            b['device_name'] == root_device_name and b['snapshot_id']
            for b in image_bdms):
        raise exception.UnsupportedOperation(
            'The image %s has no EBS root device; only EBS-backed images '
            'can be launched.' % image_ec2_id)
    if cloud_images.image_state(image) != 'available':
        raise exception.InvalidAMIIDUnavailable(
            "The image '%s' is not available." % image_ec2_id)
    launch_bdms = bdm_utils.from_ec2_params(
        list(block_device_mappings), context, root_device_name,
        require_source=False)
    merged = bdm_utils.merge(image_bdms, launch_bdms, root_device_name)
    props = image['properties']
    kernel_id = kernel_id or props.get('kernel_id')
    ramdisk_id = ramdisk_id or props.get('ramdisk_id')
    cloud_images.check_boot_images(context, kernel_id, ramdisk_id)

    subnet = cloud_vpcs.launch_subnet(context, subnet_id, zone)
    vcpus, memory_mb = types[instance_type]
    reservation_id = ec2ids.new_id('r')
    runner = tasks.get_runner()
    tags = tags or {}
    # The launch steps make the volumes later: their tags wait in the
    # flow's data.
    task_data = (jsonutils.dumps({'volume_tags': tags['volume']})
                 if tags.get('volume') else None)
    instances = []
    for index in range(count):
        values = {
            'id': str(uuid.uuid4()), 'ec2_id': ec2ids.new_id('i'),
            'reservation_id': reservation_id,
            'project_id': context.project_id,
            'image_id': image['id'], 'image_ec2_id': image_ec2_id,
            'instance_type': instance_type, 'vcpus': vcpus,
            'memory_mb': memory_mb, 'availability_zone': zone,
            'state': 'pending', 'task': 'launch_volumes',
            'task_data': task_data,
            'pending_terminate': False, 'launch_index': index,
            'client_token': client_token,
            'request_digest': digest if client_token else None,
            'user_data': user_data,
            'disable_api_termination': disable_api_termination,
            'disable_api_stop': disable_api_stop,
            'shutdown_behavior': shutdown_behavior,
            'root_device_name': root_device_name,
            'short_root_device_name': bdm_utils.root_is_short(props),
            'kernel_id': kernel_id, 'ramdisk_id': ramdisk_id,
            'state_transition_reason': '',
            'key_name': key_name, 'key_data': key_data,
            'subnet_id': subnet.id, 'subnet_ec2_id': subnet.ec2_id,
            'vpc_ec2_id': subnet.vpc_ec2_id,
            'mac_address': cloud_vpcs.new_mac_address(),
        }
        devices = [_device_values(b, root_device_name) for b in merged]
        instances.append((values, devices))
    rows = _create_with_addresses(context, subnet, instances,
                                  tags.get('instance'))
    runner.kick_many([row.id for row in rows])
    LOG.info('Launching %s from %s', ', '.join(r.ec2_id for r in rows),
             image_ec2_id)
    return rows


def _create_with_addresses(context, subnet, instances, tags,
                           attempts=5):
    """Create the instances, each with a free address of the subnet.

    A parallel launch taking the same address makes the unique key
    refuse the whole batch: it is tried again with fresh addresses.
    """
    for attempt in range(attempts):
        addresses = cloud_vpcs.allocate_addresses(subnet, len(instances))
        for (values, _devices), address in zip(instances, addresses):
            values['private_ip_address'] = address
        try:
            return db.instance_create_many(context, instances, tags)
        except db.DuplicateError:
            if attempt == attempts - 1:
                raise exception.InsufficientFreeAddressesInSubnet(
                    'The addresses of subnet %s are being taken by other '
                    'launches; try again.' % subnet.ec2_id)


def _device_values(mapping, root_device_name):
    ephemeral = mapping.get('virtual_name') is not None
    return {
        'device_name': mapping['device_name'],
        'short_name': bool(mapping.get('short_name')),
        'boot_index': 0 if mapping['device_name'] == root_device_name
        else -1,
        'virtual_name': mapping.get('virtual_name'),
        'snapshot_id': mapping.get('snapshot_id'),
        'volume_size': mapping.get('volume_size'),
        'volume_type': mapping.get('volume_type'),
        'delete_on_termination': bool(
            ephemeral or mapping.get('delete_on_termination', True)),
        'status': 'attached' if ephemeral else 'attaching',
    }


# Stop / Start / Terminate -------------------------------------------------

REBOOT_STEPS = ('reboot_guest', 'reboot_start')


def _transition(context, instance, values, expected):
    try:
        return db.instance_update(context, instance.id, values,
                                  expected=expected)
    except db.ConflictError:
        raise exception.IncorrectInstanceState(
            "The instance '%s' changed state during the request; try "
            "again." % instance.ec2_id)


def _stop_check(instance):
    if instance.state in ('stopped', 'stopping'):
        return False
    if instance.state == 'pending':
        raise exception.IncorrectInstanceState(
            "Instance '%s' cannot be stopped as it has never reached the "
            "'running' state." % instance.ec2_id)
    if instance.state != 'running' or instance.task is not None:
        raise exception.IncorrectInstanceState(
            "This instance '%s' is not in a state from which it can be "
            "stopped." % instance.ec2_id)
    if instance.disable_api_stop:
        raise exception.OperationNotPermitted(
            "The instance '%s' may not be stopped. Modify its "
            "'disableApiStop' instance attribute and try again."
            % instance.ec2_id)
    return True


def stop_instances(context, ec2_ids, force=False, reason=None):
    """Stop running instances; returns (instance, previous state) pairs."""
    instances = _ordered(list_instances(context, ec2_ids), ec2_ids)
    todo = [i for i in instances if _stop_check(i)]
    result = [(i, i.state) for i in instances]
    data = jsonutils.dumps({
        'force': force,
        'reason': reason or ['Client.UserInitiatedShutdown',
                             'Client.UserInitiatedShutdown: User '
                             'initiated shutdown']})
    for instance in todo:
        _transition(context, instance,
                    {'state': 'stopping', 'task': 'stop_power_off',
                     'task_data': data,
                     'state_transition_reason':
                         flows.user_initiated_reason()},
                    {'state': 'running', 'task': None})
        tasks.get_runner().kick(instance.id)
    return _with_current(context, result)


def start_instances(context, ec2_ids):
    instances = _ordered(list_instances(context, ec2_ids), ec2_ids)
    todo = []
    for instance in instances:
        if instance.state in ('running', 'pending'):
            continue
        if instance.state != 'stopped' or instance.task is not None:
            raise exception.IncorrectInstanceState(
                "The instance '%s' is not in a state from which it can be "
                "started." % instance.ec2_id)
        if not any(d.boot_index == 0 and d.volume_id
                   for d in db.block_device_list([instance.id])):
            raise exception.IncorrectInstanceState(
                "The instance '%s' has no volume attached at its root "
                "device %s." % (instance.ec2_id, instance.root_device_name))
        todo.append(instance)
    result = [(i, i.state) for i in instances]
    for instance in todo:
        # The host stays: spawn boots it there again if that host is
        # alive (its console and ephemeral disks are there), else moves it.
        _transition(context, instance,
                    {'state': 'pending', 'task': 'start_connect',
                     'task_data': None},
                    {'state': 'stopped', 'task': None})
        tasks.get_runner().kick(instance.id)
    return _with_current(context, result)


def reboot_instances(context, ec2_ids):
    """Reboot running instances; a rebooting or terminated one is left.

    All or nothing: an instance that is not running (or is busy with
    another operation) fails the whole request.
    """
    instances = _ordered(list_instances(context, ec2_ids), ec2_ids)
    todo = []
    for instance in instances:
        if instance.state in ('terminated', 'shutting-down') or \
                instance.task in REBOOT_STEPS:
            continue
        if instance.state != 'running' or instance.task is not None or \
                instance.pending_terminate:
            raise exception.IncorrectInstanceState(
                "The instance '%s' is not in a state from which it can be "
                "rebooted." % instance.ec2_id)
        todo.append(instance)
    for instance in todo:
        _transition(context, instance,
                    {'task': 'reboot_guest', 'task_data': None},
                    {'state': 'running', 'task': None})
        tasks.get_runner().kick(instance.id)
        LOG.info('Rebooting %s', instance.ec2_id)


def terminate_instances(context, ec2_ids):
    instances = _ordered(list_instances(context, ec2_ids), ec2_ids)
    for instance in instances:
        if instance.disable_api_termination and \
                instance.state != 'terminated':
            raise exception.OperationNotPermitted(
                "The instance '%s' may not be terminated. Modify its "
                "'disableApiTermination' instance attribute and try again."
                % instance.ec2_id)
    result = [(i, i.state) for i in instances]
    for instance in instances:
        if instance.state in ('terminated', 'shutting-down'):
            continue
        values = {'state': 'shutting-down',
                  'state_transition_reason': flows.user_initiated_reason()}
        try:
            db.instance_update(context, instance.id,
                               dict(values, task='terminate_destroy'),
                               expected={'task': None,
                                         'state': instance.state})
        except db.ConflictError:
            # Busy: the runner diverts to termination at the next step.
            db.instance_update(context, instance.id,
                               dict(values, pending_terminate=True))
        tasks.get_runner().kick(instance.id)
    return _with_current(context, result)


def _with_current(context, result):
    """(instance, previous state, current state) as the response shows."""
    fresh = {row.id: row for row in db.instance_list(
        context, ec2_ids=[i.ec2_id for i, _ in result])}
    return [(fresh[i.id], previous, fresh[i.id].state)
            for i, previous in result]


# Console ------------------------------------------------------------------

def console_output(context, ec2_id):
    """The instance's console (base64) from its last host, or ''."""
    instance = get_instance(context, ec2_id)
    if not instance.host:
        return instance, ''
    return instance, compute_rpcapi.ComputeAPI().get_console_output(
        context, instance.host, flows.instance_dict(instance))


# AttachVolume / DetachVolume ----------------------------------------------

def _in_use_by_attachment(context, volume):
    device = db.block_device_get_by_volume(volume.id)
    if device is None:
        return None, None
    return device, db.instance_get(context, device.instance_id)


def attach_volume(context, volume_ec2_id, instance_ec2_id, device_name):
    """Attach an available volume at ``device_name``; returns the device."""
    volume = cloud_volumes.get_volume(context, volume_ec2_id)
    instance = get_instance(context, instance_ec2_id)
    short_name = bdm_utils.is_short(device_name)
    device_name = bdm_utils.normalize_device_name(device_name)
    if instance.state not in ('running', 'stopped') or \
            instance.task is not None:
        raise exception.IncorrectInstanceState(
            "Instance '%s' is not 'running' or 'stopped'."
            % instance.ec2_id)
    if volume.status != 'available':
        raise exception.VolumeInUse(
            '%s is already attached to an instance' % volume.ec2_id
            if volume.status == 'in-use' else
            "The volume '%s' is '%s'." % (volume.ec2_id, volume.status))
    busy = cloud_modifications.active_modification(context, volume)
    if busy is not None:
        raise exception.OperationNotPermitted(
            'Cannot attach volume %s when it is in modification state: %s'
            % (volume.ec2_id, busy.status.upper()))
    if volume.availability_zone != instance.availability_zone:
        raise exception.InvalidVolumeZoneMismatch(
            'The volume is not in the same availability zone as the '
            'instance.')
    in_use = {d.device_name for d in db.block_device_list([instance.id])}
    if device_name in in_use:
        raise exception.InvalidParameterValue(
            'Attachment point %s is already in use' % device_name)
    try:
        device = db.block_device_create({
            'instance_id': instance.id, 'device_name': device_name,
            'short_name': short_name,
            'boot_index': 0 if device_name == instance.root_device_name
            else -1,
            'volume_id': volume.id, 'volume_ec2_id': volume.ec2_id,
            'volume_size': volume.size, 'volume_type': volume.volume_type,
            'delete_on_termination': False, 'status': 'attaching'})
    except db.DuplicateError:
        raise exception.InvalidParameterValue(
            'Attachment point %s is already in use' % device_name)
    try:
        db.volume_update(context, volume.id, {'status': 'in-use'},
                         expected_status='available')
    except db.ConflictError:
        db.block_device_destroy(device.id)
        raise exception.VolumeInUse(id=volume.ec2_id)
    if instance.state != 'running':
        # Stopped: nothing is exported; StartInstances connects it.
        db.block_device_update(device.id, {'status': 'attached',
                                           'attach_time': timeutils.utcnow()})
        return device, volume, instance
    try:
        _transition(context, instance,
                    {'task': attachments.ATTACH_FIRST,
                     'task_data': jsonutils.dumps({'device_id': device.id})},
                    {'state': 'running', 'task': None})
    except exception.IncorrectInstanceState:
        attachments.release(context, device, volume)
        raise
    tasks.get_runner().kick(instance.id)
    LOG.info('Attaching %s to %s at %s', volume.ec2_id, instance.ec2_id,
             device_name)
    return device, volume, instance


def detach_volume(context, volume_ec2_id, instance_ec2_id=None,
                  device_name=None, force=False):
    """Detach a volume; returns (device, volume, instance) as it was."""
    volume = cloud_volumes.get_volume(context, volume_ec2_id)
    device, instance = _in_use_by_attachment(context, volume)
    if device is None or instance is None:
        raise exception.IncorrectState(
            "Volume '%s' is in the '%s' state." % (volume.ec2_id,
                                                   volume.status))
    if instance_ec2_id and instance_ec2_id != instance.ec2_id:
        get_instance(context, instance_ec2_id)
        raise exception.InvalidAttachmentNotFound(
            'Volume %s is not attached to instance %s.'
            % (volume.ec2_id, instance_ec2_id))
    if device_name and bdm_utils.normalize_device_name(device_name) != \
            device.device_name:
        raise exception.InvalidAttachmentNotFound(
            'Volume %s is not attached at %s.' % (volume.ec2_id,
                                                  device_name))
    if device.boot_index == 0 and instance.state != 'stopped':
        raise exception.IncorrectState(
            "Unable to detach root volume '%s' from instance '%s': stop "
            "the instance first." % (volume.ec2_id, instance.ec2_id))
    if device.status != 'attached':
        raise exception.IncorrectState(
            "Volume '%s' is in the '%s' state." % (volume.ec2_id,
                                                   device.status))
    if instance.task is not None:
        raise exception.IncorrectInstanceState(
            "Instance '%s' is busy; try again." % instance.ec2_id)
    if instance.state == 'running' and device.connection_info:
        db.block_device_update(device.id, {'status': 'detaching'})
        try:
            _transition(context, instance,
                        {'task': attachments.DETACH_FIRST,
                         'task_data': jsonutils.dumps(
                             {'device_id': device.id, 'force': bool(force)})},
                        {'state': 'running', 'task': None})
        except exception.IncorrectInstanceState:
            db.block_device_update(device.id, {'status': 'attached'})
            raise
        tasks.get_runner().kick(instance.id)
        LOG.info('Detaching %s from %s', volume.ec2_id, instance.ec2_id)
        return device, volume, instance
    attachments.release(context, device, volume)
    return device, volume, instance


# Instance attributes ------------------------------------------------------

ONLY_WHEN_STOPPED = ('instanceType', 'userData', 'kernel', 'ramdisk')


def modify_attribute(context, ec2_id, attribute, value):
    """Change one attribute; ``value`` as the API layer parsed it."""
    instance = get_instance(context, ec2_id)
    if attribute in ONLY_WHEN_STOPPED and instance.state != 'stopped':
        raise exception.IncorrectInstanceState(
            "The instance '%s' is not in the 'stopped' state."
            % instance.ec2_id)
    if instance.state == 'terminated':
        raise exception.IncorrectInstanceState(
            "The instance '%s' is terminated." % instance.ec2_id)
    if attribute == 'blockDeviceMapping':
        devices = {d.device_name: d
                   for d in db.block_device_list([instance.id])}
        for device_name, delete in value:
            name = bdm_utils.normalize_device_name(device_name)
            if name not in devices or not devices[name].volume_id:
                raise exception.InvalidInstanceAttributeValue(
                    'No device is currently mapped at %s' % device_name)
        for device_name, delete in value:
            name = bdm_utils.normalize_device_name(device_name)
            db.block_device_update(devices[name].id,
                                   {'delete_on_termination': delete})
        return
    values = {}
    if attribute == 'instanceType':
        types = compute_conf.instance_types(CONF)
        if value not in types:
            raise exception.InvalidInstanceAttributeValue(
                'Value (%s) for parameter instanceType is invalid.' % value)
        values = {'instance_type': value, 'vcpus': types[value][0],
                  'memory_mb': types[value][1]}
    elif attribute == 'userData':
        values = {'user_data': _check_user_data(value) if value else None}
    elif attribute in ('kernel', 'ramdisk'):
        if value:
            cloud_images.get_boot_image(
                context, 'aki' if attribute == 'kernel' else 'ari', value)
        values = {attribute + '_id': value or None}
    elif attribute == 'disableApiTermination':
        values = {'disable_api_termination': value}
    elif attribute == 'disableApiStop':
        values = {'disable_api_stop': value}
    elif attribute == 'instanceInitiatedShutdownBehavior':
        if value not in SHUTDOWN_BEHAVIORS:
            raise exception.InvalidParameterValue(
                "Invalid value '%s' for instanceInitiatedShutdownBehavior."
                % value)
        values = {'shutdown_behavior': value}
    else:
        raise exception.InvalidParameterValue(
            'Value (%s) for parameter attribute is invalid.' % attribute)
    expected = {'state': 'stopped'} if attribute in ONLY_WHEN_STOPPED \
        else None
    _transition(context, instance, values, expected)


#: ResetInstanceAttribute: the attributes AWS lets reset.
RESETTABLE = ('kernel', 'ramdisk', 'sourceDestCheck')


def reset_attribute(context, ec2_id, attribute):
    """Reset ``kernel`` or ``ramdisk`` to the image's (stopped only).

    ``sourceDestCheck`` is always on here (no VPC networking), so its
    reset changes nothing.
    """
    instance = get_instance(context, ec2_id)
    if attribute == 'sourceDestCheck':
        return
    value = cloud_images.image_property(instance.image_ec2_id,
                                        attribute + '_id')
    modify_attribute(context, ec2_id, attribute, value or '')


# CreateImage --------------------------------------------------------------

def create_image(context, ec2_id, name, description=None, no_reboot=False,
                 block_device_mappings=(), tags=None):
    """Register a pending image of the instance and start snapshotting.

    The snapshots' UUIDs are chosen now and written into the image's
    mapping (Nova's format) at once; the flow then creates exactly those
    snapshots, so a repeated step never makes a second one. ``tags``:
    ``{'image'|'snapshot': {key: value}}`` (checked); the snapshots' wait
    in the flow's data.
    """
    tags = tags or {}
    instance = get_instance(context, ec2_id)
    if instance.state not in ('running', 'stopped') or \
            instance.task is not None:
        raise exception.IncorrectInstanceState(
            "The instance '%s' is not in the 'running' or 'stopped' state."
            % instance.ec2_id)
    root = instance.root_device_name
    devices = db.block_device_list([instance.id])
    if not any(d.boot_index == 0 and d.volume_id for d in devices):
        raise exception.InvalidParameterValue(
            'Instance does not have a volume attached at root (%s).' % root)
    admin_volumes = {d.id: db.volume_get(context, d.volume_id)
                     for d in devices if d.volume_id}
    snapshots = {}
    bdms = {}
    for device in devices:
        if device.volume_id:
            volume = admin_volumes[device.id]
            snapshots[device.device_name] = str(uuid.uuid4())
            bdms[device.device_name] = bdm_utils.new_bdm(
                device.device_name,
                boot_index=0 if device.device_name == root else -1,
                short_name=bool(device.short_name),
                snapshot_id=snapshots[device.device_name],
                volume_size=volume.size, volume_type=volume.volume_type,
                delete_on_termination=device.delete_on_termination)
        elif device.virtual_name:
            bdms[device.device_name] = bdm_utils.new_bdm(
                device.device_name, boot_index=-1,
                short_name=bool(device.short_name),
                virtual_name=device.virtual_name)
    for change in bdm_utils.from_ec2_params(list(block_device_mappings),
                                            context, root,
                                            require_source=False):
        name_ = change['device_name']
        current = bdms.get(name_)
        if change['no_device']:
            if name_ == root:
                raise exception.InvalidBlockDeviceMapping(
                    'Root device cannot be suppressed')
            bdms.pop(name_, None)
            snapshots.pop(name_, None)
        elif current is not None and name_ in snapshots:
            if change['snapshot_id'] or change['volume_size'] is not None:
                raise exception.InvalidBlockDeviceMapping(
                    'The size or snapshot of the volume at %s cannot be '
                    'changed by CreateImage.' % name_)
            for key in ('delete_on_termination', 'volume_type'):
                if change[key] is not None:
                    current[key] = change[key]
        else:
            bdms[name_] = change
    image = cloud_images.register_image(
        context, name,
        bdm_utils.as_given(root, instance.short_root_device_name),
        list(bdms.values()), description,
        kernel_id=instance.kernel_id, ramdisk_id=instance.ramdisk_id,
        state='pending', tags=tags.get('image'))
    data = {'image_id': image['id'],
            'ami': cloud_images.image_ec2_id(image),
            'reboot': not no_reboot, 'snapshots': snapshots}
    if tags.get('snapshot'):
        data['snapshot_tags'] = tags['snapshot']
    try:
        db.instance_update(context, instance.id,
                           {'task': 'image_stop',
                            'task_data': jsonutils.dumps(data)},
                           expected={'task': None,
                                     'state': ('running', 'stopped')})
    except db.ConflictError:
        cloud_images.get_backend().delete(context, image['id'])
        db.tags_destroy_resource(data['ami'])
        raise exception.IncorrectInstanceState(
            "The instance '%s' changed state during the request; try "
            "again." % instance.ec2_id)
    tasks.get_runner().kick(instance.id)
    return data['ami']
