"""The steps of the instance flows (see ``ebsboot.cloud.tasks``).

Every step is idempotent: it checks what is already done before doing it,
so running it twice (after a crash) does no harm. Volumes created for an
instance get their UUID written to the block device row before the volume
row exists; a repeated step therefore finds them.

Volumes are exported for the host that boots them. A flow that boots a
guest first places the instance on a live compute host (the host is
stored before anything is done for it), asks that host for its os-brick
connector properties (compute RPC ``get_connector``), asks the volume
service to export each volume for that connector, stores the connection
info with the connector in the block device, and only then spawns the
guest; the device info os-brick answers on the compute host is stored
too. Whatever releases an export (stop, detach, termination, a host that
died before the spawn) revokes it for the connector it was made for.

Placement: a new instance goes to the live compute host (heartbeat within
``service_down_time``) with the fewest pending or running instances, ties
broken by host name; a start places the instance again in the same way,
on any live host, the host it ran on winning ties.
"""

import datetime
import uuid

from oslo_log import log as logging
from oslo_serialization import jsonutils
from oslo_utils import timeutils

from ebsboot.cloud import images as cloud_images
from ebsboot.cloud import tasks
from ebsboot.cloud import volumes as cloud_volumes
from ebsboot.cloud import vpcs
from ebsboot.compute import rpcapi as compute_rpcapi
from ebsboot.conf import CONF
from ebsboot import context as ebs_context
from ebsboot.db import api as db
from ebsboot.volume import rpcapi as volume_rpcapi

LOG = logging.getLogger(__name__)

# What exports were made for before connectors were stored (upgrades).
LEGACY_CONNECTOR = {'host': 'ebsboot'}


def project_context(instance):
    return ebs_context.RequestContext(project_id=instance.project_id,
                                      is_admin=True, overwrite=False)


def instance_dict(instance):
    """What the compute service is told about an instance.

    Its kernel and ramdisk go by EC2 id and by the backend id the compute
    host downloads them by (None if the image is gone).
    """
    return {'id': instance.id, 'ec2_id': instance.ec2_id,
            'vcpus': instance.vcpus, 'memory_mb': instance.memory_mb,
            'user_data': instance.user_data,
            'image_id': instance.image_id,
            'kernel_id': instance.kernel_id,
            'kernel_image_id': cloud_images.backend_image_id(
                instance.kernel_id),
            'ramdisk_id': instance.ramdisk_id,
            'ramdisk_image_id': cloud_images.backend_image_id(
                instance.ramdisk_id),
            'root_device_name': instance.root_device_name,
            'shutdown_behavior': instance.shutdown_behavior,
            'project_id': instance.project_id,
            'key_name': instance.key_name,
            'key_data': instance.key_data,
            'network': network_info(instance)}


def network_info(instance):
    """The instance's interface as the compute host sets it up.

    None for instances launched before ebsboot gave them one.
    """
    if not instance.private_ip_address or not instance.subnet_id:
        return None
    subnet = db.subnet_get(ebs_context.get_admin_context(),
                           instance.subnet_id)
    if subnet is None:
        return None
    return {'mac_address': instance.mac_address,
            'ip_address': instance.private_ip_address,
            'cidr': subnet.cidr_block,
            'gateway': vpcs.gateway(subnet.cidr_block),
            'subnet_id': subnet.id,
            'subnet_ec2_id': subnet.ec2_id,
            'vpc_ec2_id': subnet.vpc_ec2_id,
            'project_id': instance.project_id}


def block_device_info(instance, devices=None):
    """The devices of an instance as the compute driver takes them.

    ``devices`` are its block device rows if the caller has them.
    """
    info = []
    if devices is None:
        devices = db.block_device_list([instance.id])
    for device in devices:
        if device.virtual_name is None and not device.connection_info:
            continue
        info.append({
            'device_name': device.device_name,
            'boot_index': device.boot_index,
            'virtual_name': device.virtual_name,
            'volume_id': device.volume_id,
            'volume_size': device.volume_size,
            'connection_info': _loads(device.connection_info),
            'device_info': _loads(device.device_info),
        })
    return info


def _loads(text):
    return jsonutils.loads(text) if text else None


def stored_connector(device):
    """The connector the device's volume was exported for."""
    return _loads(device.connector) or LEGACY_CONNECTOR


def _volumes(instance):
    """(block device, volume row or None) of the instance's EBS devices."""
    admin = ebs_context.get_admin_context()
    pairs = []
    for device in db.block_device_list([instance.id]):
        if device.volume_id:
            pairs.append((device, db.volume_get(admin, device.volume_id)))
    return pairs


def live_hosts():
    since = timeutils.utcnow() - datetime.timedelta(
        seconds=CONF.service_down_time)
    return db.service_hosts(CONF.compute.topic, since)


def pick_host(prefer=None, exclude=None):
    """A live compute host with the fewest active instances.

    ``prefer`` wins ties (the host an instance ran on); ``exclude`` (an
    instance id) is not counted.
    """
    hosts = live_hosts()
    if not hosts:
        raise tasks.StepFailed('Server.InsufficientInstanceCapacity',
                               'No compute host is available.')
    return place(hosts, 1, prefer=prefer, exclude=exclude)[0]


def place(hosts, count, prefer=None, exclude=None):
    """Hosts for ``count`` new guests, each on the least loaded one."""
    counts = db.instance_count_by_host(('pending', 'running'))
    if exclude is not None:
        instance = db.instance_get(ebs_context.get_admin_context(), exclude)
        if instance is not None and instance.host in counts and \
                instance.state in ('pending', 'running'):
            counts[instance.host] -= 1
    load = {host: counts.get(host, 0) for host in hosts}
    chosen = []
    for _ in range(count):
        host = min(hosts, key=lambda h: (load[h], h != prefer, h))
        load[host] += 1
        chosen.append(host)
    return chosen


def placement(instance):
    """``{'host': ...}`` to store if the instance has no live host yet.

    None when its host is live: the caller goes on there.
    """
    if instance.host is not None and instance.host in live_hosts():
        return None
    return {'host': pick_host()}


def get_connector(host):
    """The os-brick connector properties of compute host ``host``."""
    return compute_rpcapi.ComputeAPI().get_connector(
        ebs_context.get_admin_context(), host)


def _now():
    return timeutils.utcnow()


def user_initiated_reason():
    return 'User initiated (%s GMT)' % _now().strftime('%Y-%m-%d %H:%M:%S')


# Shared steps -------------------------------------------------------------

def connect_volumes(instance, connector=None):
    """Export every EBS volume of the instance to its host (idempotent).

    An export made for another connector (the instance moved since) is
    revoked first.
    """
    api = volume_rpcapi.VolumeAPI()
    admin = ebs_context.get_admin_context()
    if connector is None:
        connector = get_connector(instance.host)
    for device, volume in _volumes(instance):
        if volume is None:
            raise tasks.StepFailed('Server.InternalError',
                                   'Volume %s is gone.'
                                   % device.volume_ec2_id)
        connect_volume(api, admin, instance, device, volume, connector)


def connect_volume(api, admin, instance, device, volume, connector,
                   status='attached'):
    """Export one volume of the instance for ``connector``; the info."""
    release_other_export(api, admin, instance, device, volume, connector)
    info = api.initialize_connection(admin, volume, connector,
                                     instance_id=instance.id)
    conflicts = db.write_many(
        updates=connect_changes(device, volume, info, _now(), connector,
                                status))
    if ('volume', volume.id) in conflicts:
        raise db.ConflictError(volume.id)
    return info


def release_other_export(api, admin, instance, device, volume, connector):
    """Revoke the device's export if it was made for another connector."""
    if device.connection_info and \
            stored_connector(device) != connector:
        LOG.info('Revoking the export of %s for host %s',
                 volume.ec2_id, stored_connector(device).get('host'))
        api.terminate_connection(admin, volume, stored_connector(device),
                                 instance_id=instance.id)
        db.block_device_update(device.id, {'connection_info': None,
                                           'connector': None,
                                           'device_info': None})


def connect_changes(device, volume, info, now, connector=None,
                    status='attached'):
    """The row updates (``db.write_many``) that record a connection."""
    values = {'connection_info': jsonutils.dumps(info),
              'connector': jsonutils.dumps(connector)
              if connector is not None else None,
              'status': status}
    if device.attach_time is None:
        values['attach_time'] = now
    changes = [('block_device', device.id, values, None)]
    if volume.status == 'available':
        changes.append(('volume', volume.id, {'status': 'in-use'},
                        {'status': ('available', 'in-use')}))
    return changes


def device_info_changes(devices, device_infos):
    """Row updates storing what a compute host's os-brick answered.

    ``device_infos`` is ``{device name: device info}`` as spawn returns
    it (None from a compute service older than 1.5: nothing to store).
    """
    changes = []
    for device in devices:
        if device_infos and device.device_name in device_infos and \
                device.connection_info:
            info = device_infos[device.device_name]
            changes.append(('block_device', device.id, {
                'device_info': jsonutils.dumps(info)
                if info is not None else None}, None))
    return changes


def disconnect_volume(admin, instance, device, volume):
    """Revoke the export of one device and forget its connection."""
    if volume is not None and device.connection_info:
        volume_rpcapi.VolumeAPI().terminate_connection(
            admin, volume, stored_connector(device),
            instance_id=instance.id)
    db.block_device_update(device.id, {'connection_info': None,
                                       'connector': None,
                                       'device_info': None})


def disconnect_volumes(instance):
    admin = ebs_context.get_admin_context()
    for device, volume in _volumes(instance):
        disconnect_volume(admin, instance, device, volume)


def spawn(instance):
    """Boot the guest on its host; False if that host is gone.

    The volumes were exported for that host: if it died meanwhile, the
    exports are revoked and the caller places and connects again.
    """
    if instance.host is None or instance.host not in live_hosts():
        disconnect_volumes(instance)
        return False
    devices = db.block_device_list([instance.id])
    infos = compute_rpcapi.ComputeAPI().spawn(
        ebs_context.get_admin_context(), instance.host,
        instance_dict(instance), block_device_info(instance, devices))
    changes = device_info_changes(devices, infos)
    if changes:
        db.write_many(updates=changes)
    return True


def boot(instance):
    """Place, connect and spawn in one step; None once the guest runs.

    Otherwise the values to store before running the step again (the
    host the instance was placed on).
    """
    placed = placement(instance)
    if placed:
        return placed
    connect_volumes(instance)
    if not spawn(instance):
        return {'host': None}
    return None


def destroy_guest(instance, delete_files=True):
    if instance.host:
        compute_rpcapi.ComputeAPI().destroy(
            ebs_context.get_admin_context(), instance.host,
            instance_dict(instance), block_device_info(instance),
            delete_files=delete_files)


def release_volumes(instance, delete_all=False):
    """Delete or detach every volume once the guest is gone.

    ``delete_all`` (a failed launch) deletes even volumes whose
    DeleteOnTermination is false: they were made for this launch only.
    """
    admin = ebs_context.get_admin_context()
    pairs = _volumes(instance)
    if any(v is not None and v.status == 'creating' for _, v in pairs):
        raise tasks.Retry()
    disconnect_volumes(instance)
    for device, volume in pairs:
        if volume is not None and volume.status not in ('deleting',):
            cloud_volumes.release_volume(
                admin, volume, delete_all or device.delete_on_termination)
        db.block_device_destroy(device.id)
    for device in db.block_device_list([instance.id]):
        db.block_device_destroy(device.id)


def fail_image(data, code, message):
    """Mark the image a CreateImage flow was making as failed."""
    if data.get('image_id') and not data.get('image_done'):
        cloud_images.mark_image_failed(data['image_id'], code, message)
        data['image_done'] = True


# RunInstances -------------------------------------------------------------

def launch_volumes(admin, instance, data):
    ctxt = project_context(instance)
    for device in db.block_device_list([instance.id]):
        if device.virtual_name is not None:
            continue
        volume_id = device.volume_id
        if volume_id is None:
            volume_id = str(uuid.uuid4())
            db.block_device_update(device.id, {'volume_id': volume_id})
        if db.volume_get(admin, volume_id) is not None:
            continue
        snapshot = (db.snapshot_get(admin, device.snapshot_id)
                    if device.snapshot_id else None)
        if device.snapshot_id and snapshot is None:
            raise tasks.StepFailed('Client.InvalidSnapshot.NotFound',
                                   'The snapshot of %s is gone.'
                                   % device.device_name)
        volume = cloud_volumes.new_volume(
            ctxt, instance.availability_zone, device.volume_size,
            device.volume_type, snapshot, volume_id=volume_id,
            tags=data.get('volume_tags'))
        db.block_device_update(device.id, {'volume_ec2_id': volume.ec2_id,
                                           'status': 'attaching'})
    return 'launch_wait', {}


def check_volumes_made(pairs):
    """StepFailed if a volume could not be made, Retry while one is made.

    ``pairs`` are ``(block device, volume row or None)``.
    """
    for device, volume in pairs:
        if volume is None or volume.status == 'error':
            raise tasks.StepFailed('Server.InternalError',
                                   'Volume for %s could not be created.'
                                   % device.device_name)
    if any(volume.status == 'creating' for _, volume in pairs):
        raise tasks.Retry()


def launch_wait(admin, instance, data):
    check_volumes_made(_volumes(instance))
    return 'launch_connect', {}


def launch_connect(admin, instance, data):
    placed = placement(instance)
    if placed:
        return 'launch_connect', placed
    connect_volumes(instance)
    return 'launch_spawn', {}


def launch_spawn(admin, instance, data):
    if not spawn(instance):
        return 'launch_connect', {'host': None}
    return None, {'state': 'running', 'launched_at': _now()}


def launch_rollback(admin, instance, data):
    destroy_guest(instance)
    release_volumes(instance, delete_all=True)
    code, message = data.get('failure') or ('Server.InternalError',
                                            'Launch failed.')
    return None, {'state': 'terminated', 'terminated_at': _now(),
                  'private_ip_address': None,
                  'state_reason_code': code,
                  'state_reason_message': message}


LAUNCH_FLOW = tasks.Flow('launch', {
    'launch_volumes': launch_volumes,
    'launch_wait': launch_wait,
    'launch_connect': launch_connect,
    'launch_spawn': launch_spawn,
    'launch_rollback': launch_rollback,
}, rollback='launch_rollback')
tasks.register(LAUNCH_FLOW)


# StopInstances / StartInstances ---------------------------------------------

def stop_power_off(admin, instance, data):
    if instance.host:
        # None: the driver's own clean-shutdown timeout; 0: at once.
        timeout = 0 if data.get('force') else None
        api = compute_rpcapi.ComputeAPI()
        api.power_off(admin, instance.host, instance_dict(instance),
                      timeout)
        api.destroy(admin, instance.host, instance_dict(instance),
                    block_device_info(instance))
    return 'stop_disconnect', {}


def stop_disconnect(admin, instance, data):
    disconnect_volumes(instance)
    values = {'state': 'stopped'}
    if data.get('reason'):
        values['state_reason_code'], values['state_reason_message'] = \
            data['reason']
    return None, values


def stop_rollback(admin, instance, data):
    # A stop that failed still leaves the guest off: say so truthfully.
    return 'stop_disconnect', {}


tasks.register(tasks.Flow('stop', {
    'stop_power_off': stop_power_off,
    'stop_disconnect': stop_disconnect,
    'stop_rollback': stop_rollback,
}, rollback='stop_rollback'))


def start_connect(admin, instance, data):
    """Place the instance (any live host), export its volumes there.

    The least loaded live host gets it, the one it ran on winning ties;
    a host it leaves is asked to delete what it kept of it (ephemeral
    disks, console).
    """
    if not data.get('placed'):
        host = pick_host(prefer=instance.host, exclude=instance.id)
        data['placed'] = True
        if host != instance.host:
            leave_host(instance)
            return 'start_connect', {'host': host}
    placed = placement(instance)
    if placed:
        return 'start_connect', placed
    connect_volumes(instance)
    return 'start_spawn', {}


def leave_host(instance):
    """Delete the guest's files on the host it leaves (if alive)."""
    if instance.host and instance.host in live_hosts():
        try:
            destroy_guest(instance, delete_files=True)
        except Exception:
            LOG.warning('Host %s did not delete the files of %s',
                        instance.host, instance.ec2_id, exc_info=True)


def start_spawn(admin, instance, data):
    if not spawn(instance):
        return 'start_connect', {'host': None}
    return None, {'state': 'running', 'launched_at': _now(),
                  'state_reason_code': None, 'state_reason_message': None,
                  'state_transition_reason': ''}


def start_rollback(admin, instance, data):
    destroy_guest(instance, delete_files=False)
    disconnect_volumes(instance)
    code, message = data.get('failure') or ('Server.InternalError',
                                            'Start failed.')
    return None, {'state': 'stopped', 'state_reason_code': code,
                  'state_reason_message': message}


tasks.register(tasks.Flow('start', {
    'start_connect': start_connect,
    'start_spawn': start_spawn,
    'start_rollback': start_rollback,
}, rollback='start_rollback'))


# RebootInstances ----------------------------------------------------------
#
# The instance stays ``running`` throughout; its ``task`` keeps the power
# sync away while the guest restarts. A compute service that does not
# reboot in place (RPC API below 1.3) has the guest powered off and booted
# again, as CreateImage does.

def reboot_guest(admin, instance, data):
    if not instance.host:
        return None, {}
    api = compute_rpcapi.ComputeAPI()
    if api.can_reboot():
        api.reboot_instance(admin, instance.host, instance_dict(instance))
        return None, {}
    if not data.get('stopped'):
        api.power_off(admin, instance.host, instance_dict(instance), None)
        api.destroy(admin, instance.host, instance_dict(instance),
                    block_device_info(instance), delete_files=False)
        disconnect_volumes(instance)
        data['stopped'] = True
    return 'reboot_start', {}


def reboot_start(admin, instance, data):
    placed = boot(instance)
    if placed:
        return 'reboot_start', placed
    return None, {}


def reboot_rollback(admin, instance, data):
    """The guest is left as it is: the power sync will see what it is."""
    if data.get('stopped'):
        return 'reboot_start', {}
    return None, {}


tasks.register(tasks.Flow('reboot', {
    'reboot_guest': reboot_guest,
    'reboot_start': reboot_start,
    'reboot_rollback': reboot_rollback,
}, rollback='reboot_rollback'))


# TerminateInstances -------------------------------------------------------

def terminate_destroy(admin, instance, data):
    fail_image(data, 'Client.InstanceTerminated',
               'The instance was terminated during image creation.')
    destroy_guest(instance)
    return 'terminate_volumes', {}


def terminate_volumes(admin, instance, data):
    release_volumes(instance)
    # The private address is free for another instance from now on.
    values = {'state': 'terminated', 'terminated_at': _now(),
              'private_ip_address': None}
    if data.get('reason'):
        values['state_reason_code'], values['state_reason_message'] = \
            data['reason']
    elif not instance.state_reason_code:
        values['state_reason_code'] = 'Client.UserInitiatedShutdown'
        values['state_reason_message'] = ('Client.UserInitiatedShutdown: '
                                          'User initiated shutdown')
    return None, values


tasks.register(tasks.Flow(tasks.TERMINATE_FLOW, {
    'terminate_destroy': terminate_destroy,
    'terminate_volumes': terminate_volumes,
}))


# CreateImage --------------------------------------------------------------

def _live_host(admin, instance):
    """The volume host that snapshots all the instance's volumes live.

    None unless every EBS volume of the instance is on one volume host
    whose driver takes live snapshots (``ebsboot.volume.live``): the guest
    then runs on while its volumes are copied, all frozen at one instant.
    """
    hosts = set()
    for device in db.block_device_list([instance.id]):
        if device.volume_id:
            volume = db.volume_get(admin, device.volume_id)
            hosts.add(volume.host if volume else None)
    if len(hosts) != 1 or None in hosts:
        return None
    [host] = hosts
    api = volume_rpcapi.VolumeAPI()
    if not (api.can_create_snapshots() and
            compute_rpcapi.ComputeAPI().can_snapshot_disks()):
        return None
    try:
        stats = api.get_stats(admin, host)
    except Exception:
        LOG.warning('Volume host %s did not answer; pausing %s for '
                    'CreateImage', host, instance.ec2_id, exc_info=True)
        return None
    return host if stats.get('live_snapshot_support') else None


def image_stop(admin, instance, data):
    """Stop the guest (NoReboot false) or pause it (NoReboot true).

    Either way the volumes hold a consistent state while they are copied:
    cleanly shut down, or frozen with every write flushed. With NoReboot
    and a volume host that takes live snapshots, the guest is not even
    paused: its volumes are switched to overlays at one instant.
    """
    if instance.state != 'running':
        return 'image_snapshot', {}
    api = compute_rpcapi.ComputeAPI()
    if not data.get('reboot') and not data.get('paused') and \
            'live_host' not in data:
        data['live_host'] = _live_host(admin, instance)
    if data.get('live_host'):
        return 'image_snapshot', {}
    if data.get('reboot') and not data.get('stopped'):
        api.power_off(admin, instance.host, instance_dict(instance), None)
        api.destroy(admin, instance.host, instance_dict(instance),
                    block_device_info(instance), delete_files=False)
        disconnect_volumes(instance)
        data['stopped'] = True
    elif not data.get('reboot'):
        api.pause(admin, instance.host, instance_dict(instance))
        data['paused'] = True
    return 'image_snapshot', {}


def _resume_guest(admin, instance, data):
    """Undo image_stop: unpause, or boot again; None once done."""
    if data.get('paused'):
        compute_rpcapi.ComputeAPI().unpause(admin, instance.host,
                                            instance_dict(instance))
        data['paused'] = False
    if data.get('stopped'):
        placed = boot(instance)
        if placed:
            return placed
        data['stopped'] = False
    return None


def image_snapshot(admin, instance, data):
    devices = {d.device_name: d for d in db.block_device_list([instance.id])}
    made = False
    for device_name, snapshot_id in sorted(data['snapshots'].items()):
        if db.snapshot_get(admin, snapshot_id) is not None:
            continue
        device = devices.get(device_name)
        volume = db.volume_get(admin, device.volume_id) if device else None
        if volume is None:
            raise tasks.StepFailed('Server.InternalError',
                                   'The volume at %s is gone.' % device_name)
        cloud_volumes.new_snapshot(
            project_context(instance), volume,
            'Created by CreateImage(%s) for %s'
            % (instance.ec2_id, data['ami']),
            snapshot_id=snapshot_id, cast=not data.get('live_host'),
            tags=data.get('snapshot_tags'))
        made = True
    if made and data.get('live_host'):
        # One request: the volume host switches them at one instant.
        volume_rpcapi.VolumeAPI().create_snapshots(
            admin, data['live_host'], sorted(data['snapshots'].values()))
    return 'image_wait', {}


def image_wait(admin, instance, data):
    for snapshot_id in data['snapshots'].values():
        snapshot = db.snapshot_get(admin, snapshot_id)
        if snapshot is None or snapshot.status == 'error':
            raise tasks.StepFailed('Server.InternalError',
                                   'A snapshot of the image failed.')
        if snapshot.status == 'pending':
            raise tasks.Retry()
    return 'image_restart', {}


def image_restart(admin, instance, data):
    placed = _resume_guest(admin, instance, data)
    if placed:
        return 'image_restart', placed
    return 'image_done', {}


def image_done(admin, instance, data):
    cloud_images.mark_image_available(data['image_id'])
    data['image_done'] = True
    return None, {}


def image_rollback(admin, instance, data):
    code, message = data.get('failure') or ('Server.InternalError',
                                            'Image creation failed.')
    fail_image(data, code, message)
    placed = _resume_guest(admin, instance, data)
    if placed:
        return 'image_rollback', placed
    return None, {}


tasks.register(tasks.Flow('create_image', {
    'image_stop': image_stop,
    'image_snapshot': image_snapshot,
    'image_wait': image_wait,
    'image_restart': image_restart,
    'image_done': image_done,
    'image_rollback': image_rollback,
}, rollback='image_rollback'))
