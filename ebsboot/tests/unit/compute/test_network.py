"""The libvirt driver's guest networks: commands, domain XML, config drive."""

import json
import os
import stat
import subprocess
from unittest import mock
from xml.etree import ElementTree as ET

from ebsboot.compute.drivers.libvirt import config
from ebsboot.compute.drivers.libvirt import configdrive
from ebsboot.compute.drivers.libvirt import network
from ebsboot.tests.unit import base

SUBNET = '0123abcd-4567-89ef-0123-456789abcdef'
NET = {'subnet_id': SUBNET, 'mac_address': '02:00:00:00:00:01',
       'ip_address': '172.31.0.4', 'cidr': '172.31.0.0/20'}


class SubnetNetworksTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.commands = []
        self.links = set()
        self.netns = set()
        self._patch_commands()
        self.networks = network.SubnetNetworks(
            os.path.join(self.state, 'networks'))

    def _patch_commands(self):
        def run(*args, check_exit_code=True):
            self.commands.append(args)
            if args[:3] == ('ip', 'link', 'show'):
                return '', '' if args[3] in self.links else 'no device'
            if args[:3] == ('ip', 'link', 'add'):
                self.links.add(args[3])
            if args[:3] == ('ip', 'link', 'del'):
                self.links.discard(args[3])
            if args[:3] == ('ip', 'netns', 'add'):
                self.netns.add(args[3])
            if args[:3] == ('ip', 'netns', 'del'):
                self.netns.discard(args[3])
            if 'dnsmasq' in args:
                self._write_pid_file(args)
            return '', ''
        for target, new in (('_run', run),
                            ('_netns_exists', self.netns.__contains__)):
            patcher = mock.patch.object(network, target, new)
            patcher.start()
            self.addCleanup(patcher.stop)

    def _write_pid_file(self, args):
        """As dnsmasq does at start: 0644, the pid of a process gone."""
        [path] = [a.split('=', 1)[1] for a in args
                  if a.startswith('--pid-file=')]
        gone = subprocess.Popen(['true'])
        gone.wait()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, 'w') as f:
            f.write('%d\n' % gone.pid)

    def dnsmasq(self):
        return [c for c in self.commands if 'dnsmasq' in c]

    def test_names_fit_interface_names(self):
        for name in network.names(SUBNET)[1:]:
            self.assertLessEqual(len(name), 15)

    def test_plug_builds_the_subnet_once_and_lists_the_hosts(self):
        netns, bridge, host_end, ns_end = network.names(SUBNET)
        self.assertEqual(bridge, self.networks.plug(NET))
        self.assertIn(('ip', 'link', 'add', bridge, 'type', 'bridge'),
                      self.commands)
        self.assertIn(('ip', 'netns', 'exec', netns, 'ip', 'addr', 'add',
                       '172.31.0.2/20', 'dev', ns_end), self.commands)
        [start] = self.dnsmasq()
        self.assertIn('--dhcp-range=172.31.0.0,static,255.255.240.0,12h',
                      start)
        self.assertIn('--dhcp-host=02:00:00:00:00:01,172.31.0.4,'
                      'ip-172-31-0-4', start)
        self.assertIn('--interface=' + ns_end, start)
        self.assertIn('--leasefile-ro', start)
        # Nothing in state_path readable by other users.
        self.assertEqual(0o600, stat.S_IMODE(os.stat(
            self.networks._pid_file(SUBNET)).st_mode))
        other = dict(NET, mac_address='02:00:00:00:00:02',
                     ip_address='172.31.0.5')
        self.commands.clear()
        self.networks.plug(other)
        self.assertFalse([c for c in self.commands
                          if c[:3] == ('ip', 'link', 'add')])
        [start] = self.dnsmasq()
        self.assertEqual(2, len([a for a in start
                                 if a.startswith('--dhcp-host=')]))
        # One leaves: the other stays; the last one takes all away.
        self.commands.clear()
        self.networks.unplug(NET)
        [start] = self.dnsmasq()
        self.assertEqual(['--dhcp-host=02:00:00:00:00:02,172.31.0.5,'
                          'ip-172-31-0-5'],
                         [a for a in start if a.startswith('--dhcp-host=')])
        self.networks.unplug(other)
        self.assertEqual(set(), self.links)
        self.assertEqual(set(), self.netns)

    def test_an_address_moves_to_its_new_owner(self):
        self.networks.plug(NET)
        self.networks.plug(dict(NET, mac_address='02:00:00:00:00:09'))
        hosts = [a for a in self.dnsmasq()[-1]
                 if a.startswith('--dhcp-host=')]
        self.assertEqual(['--dhcp-host=02:00:00:00:00:09,172.31.0.4,'
                          'ip-172-31-0-4'], hosts)


class GuestSideTest(base.TestCase):

    def test_domain_has_a_virtio_nic_on_the_bridge(self):
        instance = {'id': 'u', 'ec2_id': 'i-1', 'memory_mb': 64, 'vcpus': 1}
        xml = ET.fromstring(config.domain_xml(
            instance, [], 'qemu', 'pc', '/tmp/c',
            nic=('02:00:00:00:00:01', 'ebsbx')))
        interface = xml.find('./devices/interface')
        self.assertEqual('bridge', interface.get('type'))
        self.assertEqual('02:00:00:00:00:01',
                         interface.find('mac').get('address'))
        self.assertEqual('ebsbx', interface.find('source').get('bridge'))
        self.assertEqual('virtio', interface.find('model').get('type'))
        self.assertIsNone(ET.fromstring(config.domain_xml(
            instance, [], 'qemu', 'pc', '/tmp/c')).find(
            './devices/interface'))

    def test_network_data_as_nova_writes_it(self):
        data = configdrive.network_data(NET)
        json.dumps(data)
        [link] = data['links']
        [net] = data['networks']
        self.assertEqual('02:00:00:00:00:01', link['ethernet_mac_address'])
        self.assertEqual(('ipv4', link['id'], '172.31.0.4',
                          '255.255.240.0'),
                         (net['type'], net['link'], net['ip_address'],
                          net['netmask']))
        self.assertTrue(configdrive.wanted({'network': NET}))
