"""The libvirt driver against libvirt's own test hypervisor.

``test:///default`` is libvirt's in-memory driver: real libvirt API and
XML parsing, no QEMU. Booting real guests is the functional tests' job.
"""

import base64
import os
from unittest import mock
import uuid
from xml.etree import ElementTree as ET

import fixtures
from oslo_utils import units

from ebsboot.compute import driver as compute_driver
from ebsboot.compute.drivers.libvirt import config
from ebsboot.compute.drivers.libvirt import driver as libvirt_driver
from ebsboot.conf import CONF
from ebsboot.tests.unit import base


class LibvirtDriverTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.config.config(connection_uri='test:///default',
                           group='libvirt')
        self.driver = libvirt_driver.LibvirtDriver(CONF)
        self.driver.init_host('test-host')
        self.root = os.path.join(self.state, 'root.qcow2')
        with open(self.root, 'wb') as f:
            f.write(b'\0' * 512)
        self.instance = {'id': str(uuid.uuid4()),
                         'ec2_id': 'i-0123456789abcdef0', 'vcpus': 1,
                         'memory_mb': 128, 'project_id': 'alpha',
                         'user_data': base64.b64encode(b'hi').decode()}
        self.bdi = [{'device_name': '/dev/sda1', 'boot_index': 0,
                     'volume_id': 'vol-uuid', 'virtual_name': None,
                     'connection_info': {
                         'driver_volume_type': 'local',
                         'data': {'device_path': self.root,
                                  'format': 'qcow2'}}},
                    {'device_name': '/dev/sdc', 'boot_index': -1,
                     'volume_id': None, 'virtual_name': 'ephemeral0',
                     'connection_info': None}]

    def _xml(self):
        domain = self.driver._lookup(self.instance)
        return ET.fromstring(domain.XMLDesc(0))

    def test_spawn_boots_the_root_volume(self):
        self.driver.spawn(self.instance, self.bdi)
        self.assertEqual(compute_driver.POWER_RUNNING,
                         self.driver.get_power_state(self.instance))
        xml = self._xml()
        self.assertEqual(config.domain_name(self.instance),
                         xml.find('name').text)
        disks = xml.findall('./devices/disk')
        self.assertEqual(['vda', 'vdb', 'vdc'],
                         [d.find('target').get('dev') for d in disks])
        self.assertEqual(self.root, disks[0].find('source').get('file'))
        self.assertEqual('qcow2', disks[0].find('driver').get('type'))
        self.assertEqual('hd', xml.find('./os/boot').get('dev'))
        self.assertIsNone(xml.find('./os/kernel'))
        self.assertIsNotNone(xml.find('./features/acpi'))
        drive = disks[2].find('source').get('file')
        self.assertTrue(drive.endswith('config-drive.iso'))
        self.assertIsNotNone(disks[2].find('readonly'))
        self.assertTrue(os.path.exists(drive))
        # Idempotent: a second spawn of a running guest changes nothing.
        self.driver.spawn(self.instance, self.bdi)

    def test_live_snapshot_of_a_guest_that_is_not_running(self):
        disks = [{'path': self.root, 'overlay': self.root + '.overlay'}]
        self.assertEqual({self.root: 'inactive'},
                         self.driver.snapshot_disks(self.instance, disks))
        self.assertEqual({self.root: 'inactive'},
                         self.driver.commit_disks(self.instance, disks))
        self.driver.spawn(self.instance, self.bdi)
        # A file the guest does not use is not switched.
        other = [{'path': '/elsewhere', 'overlay': '/elsewhere.o'}]
        self.assertEqual({'/elsewhere': 'inactive'},
                         self.driver.snapshot_disks(self.instance, other))
        # Nothing to merge: the guest runs on the volume file.
        self.assertEqual({self.root: 'committed'},
                         self.driver.commit_disks(self.instance, disks))

    def test_extend_disks_of_a_running_guest(self):
        disks = [{'path': self.root, 'size': 2 * units.Gi}]
        self.assertEqual({self.root: 'inactive'},
                         self.driver.extend_disks(self.instance, disks))
        self.driver.spawn(self.instance, self.bdi)
        # The test hypervisor has no blockResize: the rest is real.
        domain = mock.Mock(wraps=self.driver._lookup(self.instance))
        domain.blockResize = mock.Mock(return_value=0)
        with mock.patch.object(self.driver, '_lookup', return_value=domain):
            result = self.driver.extend_disks(
                self.instance, disks + [{'path': '/elsewhere', 'size': 1}])
        self.assertEqual({self.root: 'extended', '/elsewhere': 'inactive'},
                         result)
        domain.blockResize.assert_called_once_with(
            'vda', 2 * units.Gi,
            libvirt_driver.libvirt.VIR_DOMAIN_BLOCK_RESIZE_BYTES)

    def test_direct_kernel_boot(self):
        kernel = os.path.join(self.state, 'vmlinuz')
        ramdisk = os.path.join(self.state, 'initrd')
        self.instance.update(kernel_path=kernel, ramdisk_path=ramdisk,
                             kernel_cmdline=None)
        self.driver.spawn(self.instance, self.bdi)
        os_ = self._xml().find('os')
        self.assertEqual(
            (kernel, ramdisk,
             'root=/dev/vda console=tty0 console=ttyS0 console=hvc0'),
            (os_.findtext('kernel'), os_.findtext('initrd'),
             os_.findtext('cmdline')))
        self.assertEqual('root=/dev/vda console=tty0 console=ttyS0 '
                         'console=hvc0', config.default_cmdline())

    def test_kernel_command_line_and_no_ramdisk(self):
        xml = ET.fromstring(config.domain_xml(
            self.instance, [], 'qemu', 'pc', '/tmp/console.log',
            kernel='/k', cmdline='root=/dev/vda1 ro'))
        self.assertEqual(('/k', None, 'root=/dev/vda1 ro', None),
                         (xml.findtext('os/kernel'), xml.find('os/initrd'),
                          xml.findtext('os/cmdline'), xml.find('os/boot')))

    def test_power_off_destroy_and_files(self):
        self.driver.spawn(self.instance, self.bdi)
        console = self.driver.console_path(self.instance)
        with open(console, 'ab') as f:
            f.write(b'x' * 70000 + b'boot-count=1\n')
        self.driver.power_off(self.instance, timeout=0)
        # Forced off by the host, not by the guest: no shutdown behaviour.
        self.assertEqual(compute_driver.POWER_NOSTATE,
                         self.driver.get_power_state(self.instance))
        self.driver.destroy(self.instance, self.bdi)
        self.assertEqual(compute_driver.POWER_NOSTATE,
                         self.driver.get_power_state(self.instance))
        output = self.driver.get_console_output(self.instance)
        self.assertEqual(CONF.libvirt.console_max_bytes, len(output))
        self.assertTrue(output.endswith(b'boot-count=1\n'))
        self.driver.destroy(self.instance, self.bdi, delete_files=True)
        self.assertEqual(b'', self.driver.get_console_output(self.instance))
        self.assertFalse(os.path.exists(os.path.join(
            CONF.libvirt.instances_path, self.instance['id'])))

    # Reboot: libvirt's test driver raises no reboot event, which QEMU's
    # reset does; the tests raise it where QEMU would.

    def _spy(self, method, side_effect=None):
        """Record calls of a virDomain method, still calling libvirt."""
        calls = []
        original = getattr(libvirt_driver.libvirt.virDomain, method)

        def spy(domain, *args):
            calls.append(args)
            if side_effect:
                side_effect(domain)
            return original(domain, *args)
        self.useFixture(fixtures.MonkeyPatch(
            'libvirt.virDomain.%s' % method, spy))
        return calls

    def test_domains_restart_when_the_guest_reboots(self):
        self.driver.spawn(self.instance, self.bdi)
        self.assertEqual('restart', self._xml().findtext('on_reboot'))
        self.assertEqual('destroy', self._xml().findtext('on_poweroff'))
        # The test hypervisor follows on_reboot: the guest runs on.
        self.driver._lookup(self.instance).reboot(0)
        self.assertEqual(compute_driver.POWER_RUNNING,
                         self.driver.get_power_state(self.instance))

    def test_acpi_reboot(self):
        self.driver.spawn(self.instance, self.bdi)
        reboots = self._spy('reboot', side_effect=lambda domain: (
            self.driver._reboot_event(None, domain, None)))
        resets = self._spy('reset')
        self.driver.reboot(self.instance, timeout=30)
        self.assertEqual(
            [(libvirt_driver.libvirt.VIR_DOMAIN_REBOOT_ACPI_POWER_BTN,)],
            reboots)
        self.assertEqual([], resets)
        self.assertEqual(compute_driver.POWER_RUNNING,
                         self.driver.get_power_state(self.instance))

    def test_reset_if_the_guest_does_not_restart(self):
        self.config.config(reboot_timeout=1, group='libvirt')
        self.driver.spawn(self.instance, self.bdi)
        reboots = self._spy('reboot')
        resets = self._spy('reset')
        self.driver.reboot(self.instance)
        self.assertEqual((1, [(0,)]), (len(reboots), resets))
        self.assertEqual(compute_driver.POWER_RUNNING,
                         self.driver.get_power_state(self.instance))
        # Timeout 0: reset at once.
        self.driver.reboot(self.instance, timeout=0)
        self.assertEqual((1, 2), (len(reboots), len(resets)))

    def test_reset_if_acpi_is_refused(self):
        self.driver.spawn(self.instance, self.bdi)

        def refuse(domain):
            raise libvirt_driver.libvirt.libvirtError('no ACPI')
        self._spy('reboot', side_effect=refuse)
        resets = self._spy('reset')
        self.driver.reboot(self.instance, timeout=30)
        self.assertEqual([(0,)], resets)

    def test_a_guest_that_powered_off_boots_again(self):
        self.driver.spawn(self.instance, self.bdi)
        self._spy('reboot', side_effect=lambda domain: domain.destroy())
        resets = self._spy('reset')
        self.driver.reboot(self.instance, timeout=1)
        self.assertEqual([], resets)
        self.assertEqual(compute_driver.POWER_RUNNING,
                         self.driver.get_power_state(self.instance))

    def test_reboot_of_a_guest_that_does_not_run(self):
        reboots = self._spy('reboot')
        self.driver.reboot(self.instance, timeout=0)
        self.driver.spawn(self.instance, self.bdi)
        self.driver.power_off(self.instance, timeout=0)
        self.driver.reboot(self.instance, timeout=0)
        self.assertEqual([], reboots)
        self.assertNotEqual(compute_driver.POWER_RUNNING,
                            self.driver.get_power_state(self.instance))

    # Volumes: serial, alias, device info, connector -----------------------

    def test_volume_disks_carry_serial_and_alias(self):
        infos = self.driver.spawn(self.instance, self.bdi)
        self.assertEqual({'/dev/sda1': {'type': 'local',
                                        'path': self.root}}, infos)
        disks = self._xml().findall('./devices/disk')
        self.assertEqual(('vol-uuid', 'ua-vol-uuid'),
                         (disks[0].findtext('serial'),
                          disks[0].find('alias').get('name')))
        # The ephemeral disk keeps its virtual name as serial, no alias.
        self.assertEqual(('ephemeral0', None),
                         (disks[1].findtext('serial'),
                          disks[1].find('alias')))
        # A repeated spawn answers what the first connected.
        self.assertEqual(infos, self.driver.spawn(self.instance, self.bdi))

    def _rbd(self, volume_id='data-vol'):
        return {'driver_volume_type': 'rbd',
                'data': {'name': 'volumes/volume-%s' % volume_id,
                         'hosts': ['127.0.0.1'], 'ports': ['6789'],
                         'auth_enabled': False, 'volume_id': volume_id}}

    def _record(self, method):
        """Replace a virDomain method the test hypervisor lacks."""
        calls = []
        self.useFixture(fixtures.MonkeyPatch(
            'libvirt.virDomain.%s' % method,
            lambda domain, *args: calls.append(args) or 0))
        return calls

    def test_hot_plug_gives_serial_and_alias(self):
        self.driver.spawn(self.instance, self.bdi)
        attached = self._record('attachDeviceFlags')
        info = self.driver.attach_volume(self.instance, self._rbd(),
                                         '/dev/sdf', volume_id='data-vol')
        self.assertIsNone(info)
        [(xml, flags)] = attached
        disk = ET.fromstring(xml)
        self.assertEqual(('network', 'data-vol', 'ua-data-vol', 'vdd'),
                         (disk.get('type'), disk.findtext('serial'),
                          disk.find('alias').get('name'),
                          disk.find('target').get('dev')))

    def test_hot_detach_finds_any_disk_by_alias(self):
        # An RBD network disk has no host path to look for.
        self.bdi.append({'device_name': '/dev/sdf', 'boot_index': -1,
                         'volume_id': 'data-vol', 'virtual_name': None,
                         'connection_info': self._rbd()})
        self.driver.spawn(self.instance, self.bdi)
        detached = self._record('detachDeviceFlags')
        self.driver.detach_volume(self.instance, self._rbd(), '/dev/sdf',
                                  volume_id='data-vol')
        [(xml, flags)] = detached
        disk = ET.fromstring(xml)
        self.assertEqual(('ua-data-vol', 'volumes/volume-data-vol'),
                         (disk.find('alias').get('name'),
                          disk.find('source').get('name')))
        self.assertTrue(flags & libvirt_driver.libvirt.VIR_DOMAIN_AFFECT_LIVE)
        # A volume the guest does not have is only disconnected.
        self.driver.detach_volume(self.instance, self._rbd('other'),
                                  '/dev/sdg', volume_id='other')
        self.assertEqual(1, len(detached))

    def test_hot_detach_of_a_disk_from_before_aliases(self):
        # Defined by an older release: found by its serial.
        self.driver.spawn(self.instance, self.bdi)
        domain = self.driver._lookup(self.instance)
        root = ET.fromstring(domain.XMLDesc(0))
        for disk in root.iter('disk'):
            for alias in disk.findall('alias'):
                disk.remove(alias)
        with mock.patch.object(self.driver, '_disks',
                               return_value=root.findall('./devices/disk')):
            detached = self._record('detachDeviceFlags')
            self.driver.detach_volume(self.instance,
                                      self.bdi[0]['connection_info'],
                                      '/dev/sda1', volume_id='vol-uuid')
        self.assertEqual(self.root, ET.fromstring(detached[0][0]).find(
            'source').get('file'))

    def test_a_restarted_driver_disconnects_with_the_stored_device_info(self):
        infos = self.driver.spawn(self.instance, self.bdi)
        restarted = libvirt_driver.LibvirtDriver(CONF)
        restarted.init_host('test-host')
        stored = [dict(d, device_info=infos.get(d['device_name']))
                  for d in self.bdi]
        with mock.patch.object(libvirt_driver.libvirt_volume.LocalVolume,
                               'disconnect') as disconnect:
            restarted.destroy(self.instance, stored)
        disconnect.assert_called_once_with(
            self.bdi[0]['connection_info'],
            {'type': 'local', 'path': self.root})

    def test_volume_connector_from_os_brick(self):
        self.config.config(block_storage_ip='192.0.2.5',
                           volume_use_multipath=True, group='libvirt')
        properties = {'host': 'test-host', 'ip': '192.0.2.5',
                      'initiator': 'iqn.1993-08.org.debian:01:abc'}
        with mock.patch.object(
                libvirt_driver.brick_connector, 'get_connector_properties',
                return_value=properties) as get:
            self.assertEqual(properties,
                             self.driver.get_volume_connector())
            # Read once: host facts.
            self.driver.get_volume_connector()
        get.assert_called_once_with(None, '192.0.2.5', True,
                                    enforce_multipath=True,
                                    host=CONF.host)

    def test_volume_connector_without_privileges(self):
        with mock.patch.object(
                libvirt_driver.brick_connector, 'get_connector_properties',
                side_effect=RuntimeError('no privsep helper')):
            connector = self.driver.get_volume_connector()
        self.assertEqual(
            {'host': CONF.host, 'ip': '127.0.0.1', 'multipath': False,
             'do_local_attach': False},
            {k: connector[k] for k in ('host', 'ip', 'multipath',
                                       'do_local_attach')})
        self.assertNotIn('initiator', connector)

    def test_rbd_is_a_network_disk(self):
        xml = config.domain_xml(
            self.instance,
            [(libvirt_driver.libvirt_volume.RbdVolume().connect({
                'driver_volume_type': 'rbd',
                'data': {'name': 'volumes/volume-1', 'hosts': ['10.0.0.1'],
                         'ports': ['6789'], 'auth_enabled': True,
                         'auth_username': 'cinder',
                         'secret_uuid': 'abc'}})[0], 'vol-1', 'ua-vol-1')],
            'kvm', 'pc', '/tmp/console.log')
        disk = ET.fromstring(xml).find('./devices/disk')
        self.assertEqual('network', disk.get('type'))
        self.assertEqual(('rbd', 'volumes/volume-1'),
                         (disk.find('source').get('protocol'),
                          disk.find('source').get('name')))
        self.assertEqual('10.0.0.1', disk.find('./source/host').get('name'))
        self.assertEqual('abc', disk.find('./auth/secret').get('uuid'))
        self.assertEqual('kvm', ET.fromstring(xml).get('type'))
        self.assertEqual(('vol-1', 'ua-vol-1'),
                         (disk.findtext('serial'),
                          disk.find('alias').get('name')))


class LiveSnapshotXmlTest(base.TestCase):
    """What the libvirt driver asks for in a live snapshot."""

    def test_only_the_named_disks_switch(self):
        targets = [ET.Element('target', dev=dev)
                   for dev in ('vda', 'vdb', 'hdc')]
        xml = ET.fromstring(libvirt_driver._snapshot_xml(
            targets, {'vdb': {'path': '/v/b', 'overlay': '/o/b'}}))
        disks = {d.get('name'): d for d in xml.findall('./disks/disk')}
        self.assertEqual(['vda', 'vdb', 'hdc'], list(disks))
        self.assertEqual('no', disks['vda'].get('snapshot'))
        self.assertEqual('no', disks['hdc'].get('snapshot'))
        self.assertEqual(('external', 'file', '/o/b', 'qcow2'), (
            disks['vdb'].get('snapshot'), disks['vdb'].get('type'),
            disks['vdb'].find('source').get('file'),
            disks['vdb'].find('driver').get('type')))

    def test_chain_sources_include_backing_files(self):
        disk = ET.fromstring(
            "<disk><source file='/o/top'/><backingStore><source "
            "file='/v/vol'/><backingStore><source file='/s/snap'/>"
            "</backingStore></backingStore></disk>")
        self.assertEqual(['/o/top', '/v/vol', '/s/snap'],
                         libvirt_driver._chain_sources(disk))
        network = ET.fromstring(
            "<disk><source protocol='rbd' name='pool/vol'/></disk>")
        self.assertEqual(['rbd', 'pool/vol'],
                         libvirt_driver._chain_sources(network))
        # A disk with no file is never matched by a missing path.
        self.assertNotIn(None, libvirt_driver._chain_sources(network))
