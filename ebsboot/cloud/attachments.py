"""AttachVolume and DetachVolume of running instances, as persisted flows.

AttachVolume writes the block device (``attaching``), sets the volume
``in-use`` and the instance's task to ``attach_connect``; the task runner
(``ebsboot.cloud.tasks``) then runs, one idempotent step at a time:

* ``attach_connect``: ask the instance's compute host for its connector,
  ask the volume service to export the volume for it, store the
  connection info and the connector with the block device;
* ``attach_plug``: the compute host connects and hot-plugs the volume
  (disk serial: the volume id; alias ``ua-<volume id>``); its os-brick
  device info is stored and the device becomes ``attached``.

A failure rolls back (``attach_rollback``): the disk is unplugged if it
was plugged, the export is revoked, the block device goes and the volume
is ``available`` again.

DetachVolume marks the device ``detaching`` and sets the task to
``detach_unplug``: the compute host unplugs the disk (found by its alias)
and disconnects it with the stored device info; ``detach_release``
revokes the export and makes the volume ``available``. If the host
refuses the unplug (the guest holds the disk), the device is ``attached``
again (``detach_rollback``), unless the detach was forced.

A controller that dies anywhere resumes at the stored step. A stopped
instance has no exports (StopInstances revokes them): attaching to it or
detaching from it only changes the rows, at once.
"""

from oslo_log import log as logging
from oslo_serialization import jsonutils

from ebsboot.cloud import flows
from ebsboot.cloud import tasks
from ebsboot.compute import rpcapi as compute_rpcapi
from ebsboot.db import api as db
from ebsboot.volume import rpcapi as volume_rpcapi

LOG = logging.getLogger(__name__)

ATTACH_FIRST = 'attach_connect'
DETACH_FIRST = 'detach_unplug'


def _device(instance, data):
    """The block device the flow is about, or None if it is gone."""
    for device in db.block_device_list([instance.id]):
        if device.id == data['device_id']:
            return device
    return None


def _volume(admin, device):
    volume = db.volume_get(admin, device.volume_id)
    if volume is None:
        raise tasks.StepFailed('Server.InternalError',
                               'Volume %s is gone.' % device.volume_ec2_id)
    return volume


def _host_alive(instance):
    return instance.host is not None and instance.host in flows.live_hosts()


# AttachVolume -------------------------------------------------------------

def attach_connect(admin, instance, data):
    device = _device(instance, data)
    if device is None:
        raise tasks.StepFailed('Server.InternalError',
                               'The attachment is gone.')
    if not _host_alive(instance):
        raise tasks.StepFailed('Server.InternalError',
                               'The host of %s is not available.'
                               % instance.ec2_id)
    volume = _volume(admin, device)
    connector = flows.get_connector(instance.host)
    # Still 'attaching' for the client until the disk is plugged.
    flows.connect_volume(volume_rpcapi.VolumeAPI(), admin, instance,
                         device, volume, connector, status='attaching')
    return 'attach_plug', {}


def attach_plug(admin, instance, data):
    device = _device(instance, data)
    if device is None or not device.connection_info:
        raise tasks.StepFailed('Server.InternalError',
                               'The attachment is gone.')
    data['plugging'] = True
    device_info = compute_rpcapi.ComputeAPI().attach_volume(
        admin, instance.host, flows.instance_dict(instance),
        jsonutils.loads(device.connection_info), device.device_name,
        volume_id=device.volume_id)
    values = {'status': 'attached', 'attach_time': flows._now()}
    if device_info is not None:
        values['device_info'] = jsonutils.dumps(device_info)
    db.block_device_update(device.id, values)
    LOG.info('Attached %s to %s at %s', device.volume_ec2_id,
             instance.ec2_id, device.device_name)
    return None, {}


def attach_rollback(admin, instance, data):
    """Undo the attachment: unplug, revoke the export, free the volume."""
    device = _device(instance, data)
    LOG.warning('Attaching %s to %s failed: %s',
                device.volume_ec2_id if device else data['device_id'],
                instance.ec2_id, data.get('failure'))
    if device is None:
        return None, {}
    volume = db.volume_get(admin, device.volume_id)
    if data.get('plugging') and device.connection_info and \
            _host_alive(instance):
        compute_rpcapi.ComputeAPI().detach_volume(
            admin, instance.host, flows.instance_dict(instance),
            jsonutils.loads(device.connection_info), device.device_name,
            volume_id=device.volume_id,
            device_info=flows._loads(device.device_info))
    flows.disconnect_volume(admin, instance, device, volume)
    db.block_device_destroy(device.id)
    if volume is not None:
        db.volume_update(admin, volume.id, {'status': 'available'},
                         expected_status=('in-use', 'available'))
    return None, {}


tasks.register(tasks.Flow('attach', {
    'attach_connect': attach_connect,
    'attach_plug': attach_plug,
    'attach_rollback': attach_rollback,
}, rollback='attach_rollback'))


# DetachVolume -------------------------------------------------------------

def detach_unplug(admin, instance, data):
    device = _device(instance, data)
    if device is None:
        return None, {}
    if device.connection_info and _host_alive(instance):
        try:
            compute_rpcapi.ComputeAPI().detach_volume(
                admin, instance.host, flows.instance_dict(instance),
                jsonutils.loads(device.connection_info), device.device_name,
                volume_id=device.volume_id,
                device_info=flows._loads(device.device_info))
        except Exception:
            if not data.get('force'):
                raise
            LOG.warning('Forced detach of %s from %s: the host failed to '
                        'unplug it', device.volume_ec2_id, instance.ec2_id,
                        exc_info=True)
    return 'detach_release', {}


def detach_release(admin, instance, data):
    device = _device(instance, data)
    if device is None:
        return None, {}
    volume = db.volume_get(admin, device.volume_id)
    flows.disconnect_volume(admin, instance, device, volume)
    release(admin, device, volume)
    LOG.info('Detached %s from %s', device.volume_ec2_id, instance.ec2_id)
    return None, {}


def release(admin, device, volume):
    """Forget the attachment; the volume is ``available`` again."""
    db.block_device_destroy(device.id)
    if volume is not None:
        db.volume_update(admin, volume.id, {'status': 'available'},
                         expected_status=('in-use', 'available'))


def detach_rollback(admin, instance, data):
    """The host kept the disk: the volume stays attached."""
    device = _device(instance, data)
    LOG.warning('Detaching %s from %s failed: %s',
                device.volume_ec2_id if device else data['device_id'],
                instance.ec2_id, data.get('failure'))
    if device is not None:
        db.block_device_update(device.id, {'status': 'attached'})
    return None, {}


tasks.register(tasks.Flow('detach', {
    'detach_unplug': detach_unplug,
    'detach_release': detach_release,
    'detach_rollback': detach_rollback,
}, rollback='detach_rollback'))
