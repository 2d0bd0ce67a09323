"""A real guest on its subnet: DHCP hands it the address ebsboot chose.

The demo guest asks for an address on its virtio NIC and prints the
lease on the serial console, with the key and the address its config
drive holds. The DHCP exchange stays on the subnet's bridge and the
namespace ebsboot made for it: nothing is sent to a private address from
the host's own namespace.
"""

import os

from ebsboot.compute.drivers.libvirt import network as libvirt_network
from ebsboot.tests.functional import base
from ebsboot.tests.functional import test_qemu


class GuestNetworkTest(base.FunctionalTestCase, test_qemu.QemuTestMixin):

    def setUp(self):
        super().setUp()
        self.start_cloud()
        self.image_id = self.register_demo_guest()

    def test_dhcp_gives_the_allocated_address_across_stop_start(self):
        ec2 = self.ec2
        ec2.create_key_pair(KeyName='login', KeyType='ed25519')
        instance_id = self.run_one(KeyName='login')
        [reservation] = ec2.describe_instances(
            InstanceIds=[instance_id])['Reservations']
        instance = reservation['Instances'][0]
        address = instance['PrivateIpAddress']
        mac = instance['NetworkInterfaces'][0]['MacAddress']
        self.wait_console(instance_id, 'dhcp: eth0 %s/20' % address)
        console = self.console(ec2, instance_id)
        self.assertIn('public-key: login', console)
        self.assertIn('network-data: %s' % address, console)
        interface = self.domain_xml(instance_id).find(
            './devices/interface')
        self.assertEqual(('bridge', mac, 'virtio'), (
            interface.get('type'), interface.find('mac').get('address'),
            interface.find('model').get('type')))
        [subnet_uuid] = self._uuids(
            'SELECT subnet_id FROM instances WHERE ec2_id = ?', instance_id)
        netns, bridge, _host, _ns = libvirt_network.names(subnet_uuid)
        self.assertEqual(bridge, interface.find('source').get('bridge'))

        ec2.stop_instances(InstanceIds=[instance_id])
        self.wait_state(ec2, instance_id, 'stopped', timeout=120)
        ec2.start_instances(InstanceIds=[instance_id])
        self.wait_state(ec2, instance_id, 'running', timeout=120)
        base.wait_for(
            lambda: self.console(ec2, instance_id).count(
                'dhcp: eth0 %s/20' % address) == 2,
            timeout=test_qemu.BOOT_TIMEOUT, interval=1,
            what='the same lease after the start')

        ec2.terminate_instances(InstanceIds=[instance_id])
        self.wait_state(ec2, instance_id, 'terminated', timeout=120)
        # The subnet's last instance is gone: so is its network.
        self.assertFalse(os.path.exists(os.path.join('/run/netns', netns)))
