"""The libvirt compute driver.

Each instance is a persistent libvirt domain whose disks are its EBS
volumes, connected with os-brick (``ebsboot.compute.drivers.libvirt
.volume``): the root volume is booted by the BIOS, or, when the instance
has a KernelId, its kernel boots directly (the compute manager puts the
files in ``kernel_path``/``ramdisk_path``). A config drive carries the user
data.
The serial console is appended to a per-instance log that outlives stops.

Each volume's disk carries the volume id as its serial and the alias
``ua-<volume id>``, as Nova's do; hot-detach finds the disk by that alias,
whatever the connection type (a file, a block device, an RBD network
disk). What os-brick answers when it connects a volume (its device info)
goes back to the controller, which stores it with the block device and
hands it back for the disconnect: a restarted compute service still
disconnects what it connected.

libvirt lifecycle events are logged and handed to ``event_callback``
(the compute manager uses it to report guests that powered themselves
off); the controller's power-state sync is the safety net.

Domains are defined with ``on_reboot = restart``: a guest that reboots
itself stays running (QEMU resets it in place), so no power-off is seen.
RebootInstances asks for an ACPI reboot (libvirt turns the guest's
shutdown into a reset) and waits for libvirt's reboot event, which QEMU's
reset raises; without one in ``[libvirt] reboot_timeout`` it resets the
guest.
"""

import os
import platform
import shutil
import sys
import threading
import time
from xml.etree import ElementTree as ET

from os_brick.initiator import connector as brick_connector
from oslo_concurrency import processutils
from oslo_log import log as logging
from oslo_utils import importutils

from ebsboot.compute import driver
from ebsboot.compute.drivers.libvirt import config
from ebsboot.compute.drivers.libvirt import configdrive
from ebsboot.compute.drivers.libvirt import network as libvirt_network
from ebsboot.compute.drivers.libvirt import secrets
from ebsboot.compute.drivers.libvirt import volume as libvirt_volume
from ebsboot import exception
from ebsboot import fileperms

LOG = logging.getLogger(__name__)

libvirt = None

_EVENT_LOOP_LOCK = threading.Lock()
_EVENT_LOOP_STARTED = False


def _load_libvirt():
    global libvirt
    if libvirt is None:
        libvirt = importutils.import_module('libvirt')
        # libvirt prints every error to stderr by default; we handle them.
        libvirt.registerErrorHandler(lambda ctx, err: None, None)
    return libvirt


def _start_event_loop():
    """libvirt's default event loop, once per process, on a thread."""
    global _EVENT_LOOP_STARTED
    with _EVENT_LOOP_LOCK:
        if _EVENT_LOOP_STARTED:
            return
        libvirt.virEventRegisterDefaultImpl()

        def run():
            while True:
                libvirt.virEventRunDefaultImpl()

        threading.Thread(target=run, name='libvirt-events',
                         daemon=True).start()
        _EVENT_LOOP_STARTED = True


class LibvirtDriver(driver.ComputeDriver):
    """Boots each instance's root EBS volume in a QEMU/KVM domain.

    See ``[libvirt]`` for the hypervisor type, the connection and the
    files (consoles, config drives, ephemeral disks) kept per instance.
    """

    def __init__(self, conf):
        super().__init__(conf)
        self._conn = None
        self._conn_lock = threading.Lock()
        # Device info os-brick returned, per instance, for disconnecting
        # (the controller keeps it too; this copy answers a repeated
        # spawn).
        self._device_info = {}
        self._connector = None
        # Reboot events seen, per instance id (see ``reboot``).
        self._reboots = {}
        self._reboots_changed = threading.Condition()
        self.networks = libvirt_network.SubnetNetworks(
            os.path.join(conf.state_path, 'networks'))

    # Connection ---------------------------------------------------------

    def init_host(self, host):
        _load_libvirt()
        _start_event_loop()
        fileperms.qemu_dir(self.conf.libvirt.instances_path, self.conf)
        # virtlogd (root), not QEMU, writes the consoles.
        fileperms.private_dir(self.conf.libvirt.console_path)
        conn = self._connection()
        LOG.info('libvirt %s at %s, virt_type %s', conn.getLibVersion(),
                 self.conf.libvirt.connection_uri,
                 self.conf.libvirt.virt_type)

    def _connection(self):
        with self._conn_lock:
            if self._conn is None or not self._conn.isAlive():
                _load_libvirt()
                self._conn = libvirt.open(self.conf.libvirt.connection_uri)
                self._conn.domainEventRegisterAny(
                    None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                    self._lifecycle_event, None)
                self._conn.domainEventRegisterAny(
                    None, libvirt.VIR_DOMAIN_EVENT_ID_REBOOT,
                    self._reboot_event, None)
            return self._conn

    def _reboot_event(self, conn, domain, opaque):
        """The guest was reset (by itself, by ACPI or by us)."""
        name = domain.name()
        if not name.startswith(config.DOMAIN_PREFIX):
            return
        instance_id = name[len(config.DOMAIN_PREFIX):]
        LOG.debug('Reboot event of %s', instance_id)
        with self._reboots_changed:
            self._reboots[instance_id] = self._reboots.get(instance_id, 0) + 1
            self._reboots_changed.notify_all()

    def _reboot_count(self, instance):
        with self._reboots_changed:
            return self._reboots.get(instance['id'], 0)

    def _wait_for_reboot(self, instance, seen, timeout):
        """Whether a reboot event beyond ``seen`` came within ``timeout``."""
        with self._reboots_changed:
            return self._reboots_changed.wait_for(
                lambda: self._reboots.get(instance['id'], 0) > seen,
                timeout)

    def _lifecycle_event(self, conn, domain, event, detail, opaque):
        name = domain.name()
        if not name.startswith(config.DOMAIN_PREFIX):
            return
        instance_id = name[len(config.DOMAIN_PREFIX):]
        LOG.debug('Lifecycle event %s/%s of %s', event, detail, instance_id)
        if event == libvirt.VIR_DOMAIN_EVENT_STOPPED and \
                self.event_callback is not None:
            try:
                self.event_callback(instance_id, driver.POWER_SHUTDOWN)
            except Exception:
                LOG.exception('Lifecycle callback of %s failed', instance_id)

    def _lookup(self, instance):
        try:
            return self._connection().lookupByUUIDString(instance['id'])
        except libvirt.libvirtError as e:
            if e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return None
            raise

    # Paths --------------------------------------------------------------

    def _instance_dir(self, instance):
        return os.path.join(self.conf.libvirt.instances_path,
                            instance['id'])

    def console_path(self, instance):
        return os.path.join(self.conf.libvirt.console_path,
                            '%s.log' % instance['id'])

    # Disks --------------------------------------------------------------

    def _connect_disks(self, instance, block_device_info):
        disks = []
        device_infos = {}
        ordered = sorted(block_device_info,
                         key=lambda d: (d['boot_index'] != 0,
                                        d['device_name']))
        for device in ordered:
            if device.get('virtual_name'):
                disks.append((self._ephemeral_disk(instance, device),
                              device['virtual_name'], None))
                continue
            info = device['connection_info']
            volume_driver = libvirt_volume.get_volume_driver(info)
            disk, device_info = volume_driver.connect(info)
            self._ensure_secret(disk)
            device_infos[device['device_name']] = _storable(device_info)
            volume_id = _volume_id(info, device.get('volume_id'))
            disks.append((disk, volume_id,
                          config.volume_alias(volume_id)
                          if volume_id else None))
        if not disks or ordered[0]['boot_index'] != 0:
            raise exception.VolumeDriverError(
                'instance %s has no root volume' % instance['ec2_id'])
        self._device_info[instance['id']] = device_infos
        return disks, device_infos

    def _ensure_secret(self, disk):
        """Define the libvirt secret a network disk authenticates with."""
        if disk.auth and disk.protocol == 'rbd':
            secrets.ensure_ceph_secret(
                self._connection(), libvirt, disk.auth['secret_uuid'],
                disk.auth['username'], self.conf.libvirt.rbd_keyring_file)

    def _ephemeral_disk(self, instance, device):
        path = os.path.join(self._instance_dir(instance),
                            '%s.qcow2' % device['virtual_name'])
        if not os.path.exists(path):
            fileperms.qemu_dir(os.path.dirname(path), self.conf)
            processutils.execute('qemu-img', 'create', '-f', 'qcow2',
                                 path + '.tmp',
                                 '%dG' % self.conf.libvirt.ephemeral_size_gb)
            os.rename(path + '.tmp', path)
        return libvirt_volume.Disk('file', path, 'qcow2')

    def _disconnect_disks(self, instance, block_device_info):
        device_infos = self._device_info.pop(instance['id'], {})
        for device in block_device_info:
            info = device.get('connection_info')
            if not info:
                continue
            device_info = device.get('device_info') or device_infos.get(
                device['device_name'])
            try:
                libvirt_volume.get_volume_driver(info).disconnect(
                    info, device_info)
            except Exception:
                LOG.exception('Disconnecting %s of %s failed',
                              device['device_name'], instance['ec2_id'])

    # The contract -------------------------------------------------------

    def get_volume_connector(self):
        """os-brick's connector properties of this host (kept once read).

        Reading some of them (the iSCSI initiator name, the NVMe host NQN)
        needs root through os-brick's privsep helper (``[privsep_osbrick]
        helper_command``). Without it the connector has only what needs
        no privilege (host, ip, platform, multipath): enough for RBD and
        local volumes, not for iSCSI.
        """
        if self._connector is not None:
            return dict(self._connector)
        multipath = self.conf.libvirt.volume_use_multipath
        try:
            connector = brick_connector.get_connector_properties(
                None, self.conf.libvirt.block_storage_ip, multipath,
                enforce_multipath=multipath, host=self.conf.host)
        except Exception as e:
            LOG.warning('os-brick could not read the privileged connector '
                        'properties of this host (%s: %s); exporting '
                        'volumes for the basic ones only',
                        type(e).__name__, e)
            return {'host': self.conf.host,
                    'ip': self.conf.libvirt.block_storage_ip,
                    'platform': platform.machine(),
                    'os_type': sys.platform,
                    'multipath': multipath,
                    'enforce_multipath': multipath,
                    'do_local_attach': False}
        self._connector = connector
        return dict(connector)

    def spawn(self, instance, block_device_info):
        domain = self._lookup(instance)
        if domain is not None and domain.isActive():
            return dict(self._device_info.get(instance['id'], {}))
        disks, device_infos = self._connect_disks(instance,
                                                  block_device_info)
        fileperms.qemu_dir(self._instance_dir(instance), self.conf)
        drive = None
        if configdrive.wanted(instance):
            drive_path = os.path.join(self._instance_dir(instance),
                                      'config-drive.iso')
            configdrive.build(drive_path, instance,
                              self.conf.libvirt.config_drive_tool)
            drive = libvirt_volume.Disk('file', drive_path, 'raw')
        console = self.console_path(instance)
        if os.path.exists(console) and os.path.getsize(console):
            with open(console, 'ab') as f:
                f.write(b'\n')
        nic = None
        if instance.get('network'):
            nic = (instance['network']['mac_address'],
                   self.networks.plug(instance['network']))
        xml = config.domain_xml(
            instance, disks, self.conf.libvirt.virt_type,
            self.conf.libvirt.machine_type, console, config_drive=drive,
            kernel=instance.get('kernel_path'),
            ramdisk=instance.get('ramdisk_path'),
            cmdline=instance.get('kernel_cmdline'), nic=nic)
        domain = self._connection().defineXML(xml)
        domain.create()
        LOG.info('Guest %s started', instance['ec2_id'])
        return dict(device_infos)

    def power_off(self, instance, timeout=None):
        domain = self._lookup(instance)
        if domain is None or not domain.isActive():
            return
        if timeout is None:
            timeout = self.conf.libvirt.shutdown_timeout
        if timeout:
            try:
                domain.shutdown()
            except libvirt.libvirtError:
                LOG.warning('ACPI shutdown of %s refused', instance['ec2_id'])
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if not domain.isActive():
                    LOG.info('Guest %s shut down cleanly', instance['ec2_id'])
                    return
                time.sleep(0.5)
            LOG.warning('Guest %s did not shut down within %ss; destroying',
                        instance['ec2_id'], timeout)
        self._destroy_domain(domain)

    def reboot(self, instance, timeout=None):
        domain = self._lookup(instance)
        if domain is None or not domain.isActive():
            LOG.warning('Guest %s does not run: not rebooted',
                        instance['ec2_id'])
            return
        if timeout is None:
            timeout = self.conf.libvirt.reboot_timeout
        seen = self._reboot_count(instance)
        if timeout:
            try:
                domain.reboot(libvirt.VIR_DOMAIN_REBOOT_ACPI_POWER_BTN)
            except libvirt.libvirtError as e:
                LOG.warning('ACPI reboot of %s refused: %s',
                            instance['ec2_id'], e)
            else:
                if self._wait_for_reboot(instance, seen, timeout):
                    LOG.info('Guest %s rebooted', instance['ec2_id'])
                    return
                LOG.warning('Guest %s did not restart within %ss; '
                            'resetting it', instance['ec2_id'], timeout)
        if domain.isActive():
            domain.reset(0)
        else:
            # It powered off instead of restarting: boot it again (the
            # domain is persistent and its disks are still connected).
            domain.create()
        LOG.info('Guest %s reset', instance['ec2_id'])

    def _destroy_domain(self, domain):
        try:
            if domain.isActive():
                domain.destroy()
        except libvirt.libvirtError as e:
            if e.get_error_code() != libvirt.VIR_ERR_OPERATION_INVALID:
                raise

    def destroy(self, instance, block_device_info, delete_files=False):
        domain = self._lookup(instance)
        if domain is not None:
            self._destroy_domain(domain)
            try:
                domain.undefine()
            except libvirt.libvirtError as e:
                if e.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                    raise
        self._disconnect_disks(instance, block_device_info)
        if delete_files and instance.get('network'):
            # Terminated: its address leaves the subnet's DHCP server.
            self.networks.unplug(instance['network'])
        if delete_files:
            shutil.rmtree(self._instance_dir(instance), ignore_errors=True)
            try:
                os.unlink(self.console_path(instance))
            except FileNotFoundError:
                pass
        LOG.info('Guest %s destroyed', instance['ec2_id'])

    def pause(self, instance):
        # QEMU drains and flushes every disk (qcow2 metadata included)
        # when it stops the vCPUs, so the files are consistent on disk.
        domain = self._lookup(instance)
        if domain is not None and domain.state()[0] == \
                libvirt.VIR_DOMAIN_RUNNING:
            domain.suspend()

    def unpause(self, instance):
        domain = self._lookup(instance)
        if domain is not None and domain.state()[0] == \
                libvirt.VIR_DOMAIN_PAUSED:
            domain.resume()

    def attach_volume(self, instance, connection_info, device_name,
                      volume_id=None):
        domain = self._lookup(instance)
        if domain is None or not domain.isActive():
            raise exception.VolumeDriverError(
                'instance %s does not run here' % instance['ec2_id'])
        volume_id = _volume_id(connection_info, volume_id)
        volume_driver = libvirt_volume.get_volume_driver(connection_info)
        disk, device_info = volume_driver.connect(connection_info)
        self._ensure_secret(disk)
        device_info = _storable(device_info)
        self._device_info.setdefault(instance['id'], {})[device_name] = \
            device_info
        if volume_id and self._volume_disk(domain, volume_id) is not None:
            return device_info
        used = {t.get('dev') for t in self._targets(domain)}
        target = next(t for t in config.target_devs() if t not in used)
        xml = _disk_xml(disk, target, volume_id)
        flags = libvirt.VIR_DOMAIN_AFFECT_LIVE | \
            libvirt.VIR_DOMAIN_AFFECT_CONFIG
        try:
            domain.attachDeviceFlags(xml, flags)
        except Exception:
            volume_driver.disconnect(connection_info, device_info)
            self._device_info[instance['id']].pop(device_name, None)
            raise
        return device_info

    def _volume_disk(self, domain, volume_id, device_path=None):
        """The disk element of a volume: by alias, serial or source.

        The alias ``ua-<volume id>`` first, for any connection type; the
        serial for disks defined before there were aliases; the source
        path of a local connection last (during a live snapshot the
        volume file backs an overlay, so the whole chain counts).
        """
        disks = self._disks(domain)
        alias = config.volume_alias(volume_id) if volume_id else None
        for disk in disks:
            element = disk.find('alias')
            if alias and element is not None and \
                    element.get('name') == alias:
                return disk
        for disk in disks:
            if volume_id and disk.findtext('serial') == volume_id:
                return disk
        for disk in disks:
            if device_path and device_path in _chain_sources(disk):
                return disk
        return None

    def detach_volume(self, instance, connection_info, device_name,
                      volume_id=None, device_info=None):
        domain = self._lookup(instance)
        volume_driver = libvirt_volume.get_volume_driver(connection_info)
        if domain is not None:
            disk = self._volume_disk(
                domain, _volume_id(connection_info, volume_id),
                connection_info.get('data', {}).get('device_path'))
            if disk is not None:
                flags = libvirt.VIR_DOMAIN_AFFECT_CONFIG
                if domain.isActive():
                    flags |= libvirt.VIR_DOMAIN_AFFECT_LIVE
                domain.detachDeviceFlags(_element_xml(disk), flags)
        cached = self._device_info.get(instance['id'], {}).pop(device_name,
                                                               None)
        volume_driver.disconnect(connection_info, device_info or cached)

    # Live snapshots ---------------------------------------------------

    def _disk_on(self, domain, path):
        """The target of the disk whose top file is ``path``, or None."""
        for disk in self._disks(domain):
            source = disk.find('source')
            if source is not None and source.get('file') == path:
                return disk.find('target').get('dev')
        return None

    def snapshot_disks(self, instance, disks):
        domain = self._lookup(instance)
        if domain is None or not domain.isActive():
            return {d['path']: 'inactive' for d in disks}
        result = {}
        switch = {}
        for d in disks:
            if self._disk_on(domain, d['overlay']):
                result[d['path']] = 'switched'
                continue
            target = self._disk_on(domain, d['path'])
            if target is None:
                result[d['path']] = 'inactive'
            else:
                switch[target] = d
        if switch:
            started = time.monotonic()
            domain.snapshotCreateXML(
                _snapshot_xml(self._targets(domain), switch),
                libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY |
                libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA |
                libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC |
                libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_REUSE_EXT)
            LOG.info('Guest %s switched %s to overlays in %.3f s',
                     instance['ec2_id'], ', '.join(sorted(switch)),
                     time.monotonic() - started)
            result.update((d['path'], 'switched') for d in switch.values())
        return result

    def commit_disks(self, instance, disks):
        domain = self._lookup(instance)
        result = {}
        for d in disks:
            if domain is None or not domain.isActive():
                result[d['path']] = 'inactive'
                continue
            target = self._disk_on(domain, d['overlay'])
            if target is None:
                # Never switched, or merged already.
                result[d['path']] = ('committed'
                                     if self._disk_on(domain, d['path'])
                                     else 'inactive')
                continue
            if not domain.blockJobInfo(target, 0):
                domain.blockCommit(target, d['path'], None, 0,
                                   libvirt.VIR_DOMAIN_BLOCK_COMMIT_ACTIVE)
            self._pivot(instance, domain, target)
            result[d['path']] = 'committed'
        return result

    def extend_disks(self, instance, disks):
        domain = self._lookup(instance)
        result = {}
        for d in disks:
            target = None
            if domain is not None and domain.isActive():
                target = self._disk_on(domain, d['path'])
            if target is None:
                result[d['path']] = 'inactive'
                continue
            # QEMU grows the qcow2 file it holds and tells the guest.
            domain.blockResize(target, d['size'],
                               libvirt.VIR_DOMAIN_BLOCK_RESIZE_BYTES)
            LOG.info('Guest %s: disk %s grown to %d bytes',
                     instance['ec2_id'], target, d['size'])
            result[d['path']] = 'extended'
        return result

    def _pivot(self, instance, domain, target):
        """Wait for the active commit of ``target`` to be ready; pivot."""
        started = time.monotonic()
        deadline = started + self.conf.compute.block_commit_timeout
        while True:
            try:
                pivot = time.monotonic()
                domain.blockJobAbort(
                    target, libvirt.VIR_DOMAIN_BLOCK_JOB_ABORT_PIVOT)
                pivot = time.monotonic() - pivot
                break
            except libvirt.libvirtError as e:
                if e.get_error_code() not in (
                        libvirt.VIR_ERR_BLOCK_COPY_ACTIVE,
                        libvirt.VIR_ERR_OPERATION_INVALID) or \
                        time.monotonic() > deadline:
                    raise
            time.sleep(0.05)
        LOG.info('Guest %s merged the overlay of %s back in %.3f s '
                 '(pivot %.3f s)', instance['ec2_id'], target,
                 time.monotonic() - started, pivot)

    def _disks(self, domain):
        root = ET.fromstring(domain.XMLDesc(0))
        return root.findall('./devices/disk')

    def _targets(self, domain):
        return [disk.find('target') for disk in self._disks(domain)]

    def get_power_state(self, instance):
        domain = self._lookup(instance)
        if domain is None:
            return driver.POWER_NOSTATE
        state, reason = domain.state()
        if state in (libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_BLOCKED,
                     libvirt.VIR_DOMAIN_PAUSED, libvirt.VIR_DOMAIN_SHUTDOWN):
            # (VIR_DOMAIN_SHUTDOWN: still going down; judge the final
            # state, not this one.)
            return driver.POWER_RUNNING
        if state == libvirt.VIR_DOMAIN_SHUTOFF and \
                reason == libvirt.VIR_DOMAIN_SHUTOFF_SHUTDOWN:
            # The guest powered itself off.
            return driver.POWER_SHUTDOWN
        # Crashed, killed, or lost with a host reboot: not the guest's
        # own doing, so never a reason to apply its shutdown behaviour.
        return driver.POWER_NOSTATE

    def get_console_output(self, instance):
        path = self.console_path(instance)
        try:
            with open(path, 'rb') as f:
                f.seek(0, os.SEEK_END)
                size = f.tell()
                f.seek(max(0, size - self.conf.libvirt.console_max_bytes))
                return f.read()
        except FileNotFoundError:
            return b''

    def list_instance_ids(self):
        return [d.UUIDString() for d in self._connection().listAllDomains()
                if d.name().startswith(config.DOMAIN_PREFIX)]


def _disk_xml(disk, target, volume_id=None):
    devices = ET.Element('devices')
    config._disk(devices, disk, target, serial=volume_id,
                 alias=config.volume_alias(volume_id) if volume_id else None)
    return ET.tostring(devices[0], encoding='unicode')


def _volume_id(connection_info, volume_id=None):
    """The volume id of a connection (Cinder puts it in ``data``)."""
    return volume_id or (connection_info.get('data') or {}).get('volume_id')


def _storable(device_info):
    """os-brick's device info as JSON can keep it (None if nothing).

    An RBD connector without local attach answers a file-like handle:
    such values are left out, they cannot be stored nor sent.
    """
    if not device_info:
        return None
    return {key: value for key, value in device_info.items()
            if isinstance(value, (str, int, float, bool, list, type(None)))}


def _chain_sources(disk):
    """The source attribute values of a disk's backing chain, top first.

    (A file, a block device, a network disk's name.)
    """
    return [value for source in disk.iter('source')
            for value in source.attrib.values()]


def _snapshot_xml(targets, switch):
    """A disk-only snapshot switching ``switch`` (target -> disk) only."""
    snapshot = ET.Element('domainsnapshot')
    disks = ET.SubElement(snapshot, 'disks')
    for target in targets:
        dev = target.get('dev')
        disk = switch.get(dev)
        if disk is None:
            ET.SubElement(disks, 'disk', name=dev, snapshot='no')
            continue
        element = ET.SubElement(disks, 'disk', name=dev,
                                snapshot='external', type='file')
        ET.SubElement(element, 'driver', type='qcow2')
        ET.SubElement(element, 'source', file=disk['overlay'])
    return ET.tostring(snapshot, encoding='unicode')


def _element_xml(element):
    return ET.tostring(element, encoding='unicode')
