"""The default VPC and subnets on the wire, and instances' addresses."""

import fixtures

from ebsboot.cloud import vpcs
from ebsboot.db import api as db
from ebsboot import exception
from ebsboot.tests.unit.api import test_keypairs
from ebsboot.tests.unit.api import wire
from ebsboot.tests.unit import base


class AddressesTest(base.TestCase):

    def test_usable_addresses_skip_what_aws_reserves(self):
        usable = [str(a) for a in vpcs.usable_addresses('10.0.0.0/28')]
        self.assertEqual(['10.0.0.%d' % n for n in range(4, 15)], usable)
        self.assertEqual('172.31.0.1', vpcs.gateway('172.31.0.0/20'))
        self.assertEqual('ip-172-31-0-4.RegionOne.compute.internal',
                         vpcs.dns_name('172.31.0.4', 'RegionOne'))

    def test_default_subnets_are_slash_20s_in_order(self):
        self.assertEqual({'nova': '172.31.0.0/20'},
                         vpcs.default_subnet_cidrs())

    def test_mac_addresses_are_local_unicast(self):
        mac = vpcs.new_mac_address()
        self.assertRegex(mac, '^02(:[0-9a-f]{2}){5}$')


class VpcsWireTest(wire.WireTestCase, base.CloudTestCase):

    def test_default_vpc_on_first_use(self):
        [vpc] = self.ok('DescribeVpcs', Filters=[
            {'Name': 'isDefault', 'Values': ['true']}])['Vpcs']
        self.assertEqual('172.31.0.0/16', vpc['CidrBlock'])
        self.assertTrue(vpc['IsDefault'])
        self.assertEqual('available', vpc['State'])
        self.assertTrue(vpc['VpcId'].startswith('vpc-'))
        self.assertEqual([vpc], self.ok('DescribeVpcs')['Vpcs'])
        self.assertEqual([], self.ok('DescribeVpcs', Filters=[
            {'Name': 'is-default', 'Values': ['false']}])['Vpcs'])
        [subnet] = self.ok('DescribeSubnets')['Subnets']
        self.assertEqual(
            ('172.31.0.0/20', 'nova', True, vpc['VpcId'], 4091),
            (subnet['CidrBlock'], subnet['AvailabilityZone'],
             subnet['DefaultForAz'], subnet['VpcId'],
             subnet['AvailableIpAddressCount']))
        for name, value in (('vpc-id', vpc['VpcId']),
                            ('subnet-id', subnet['SubnetId']),
                            ('availability-zone', 'nova'),
                            ('default-for-az', 'true'),
                            ('cidr-block', '172.31.0.0/20'),
                            ('cidr', '172.31.*')):
            self.assertEqual([subnet['SubnetId']], [
                s['SubnetId'] for s in self.ok('DescribeSubnets', Filters=[
                    {'Name': name, 'Values': [value]}])['Subnets']], name)
        self.assertEqual([], self.ok('DescribeSubnets', Filters=[
            {'Name': 'availability-zone', 'Values': ['other']}])['Subnets'])
        # Another project has its own, with the same shape.
        [theirs] = self.ok('DescribeVpcs', project='beta')['Vpcs']
        self.assertNotEqual(vpc['VpcId'], theirs['VpcId'])
        self.error('InvalidVpcID.NotFound', 'DescribeVpcs', project='beta',
                   VpcIds=[vpc['VpcId']])
        self.error('InvalidSubnetID.NotFound', 'DescribeSubnets',
                   project='beta', SubnetIds=[subnet['SubnetId']])
        self.error('InvalidVpcID.Malformed', 'DescribeVpcs',
                   VpcIds=['vpc-x'])
        self.error('InvalidSubnetID.Malformed', 'DescribeSubnets',
                   SubnetIds=['nope'])
        # Made once: a second look finds the same.
        self.assertEqual(1, len(db.vpc_list(self.context('alpha'))))
        self.ok('CreateTags', Resources=[vpc['VpcId'], subnet['SubnetId']],
                Tags=[{'Key': 'Name', 'Value': 'main'}])
        self.assertEqual([{'Key': 'Name', 'Value': 'main'}],
                         self.ok('DescribeSubnets')['Subnets'][0]['Tags'])

    def test_instances_get_addresses_of_the_subnet(self):
        image = test_keypairs.KeyPairsWireTest.ebs_image(self)
        first = self.ok('RunInstances', ImageId=image, MinCount=2,
                        MaxCount=2)['Instances']
        [subnet] = self.ok('DescribeSubnets')['Subnets']
        self.assertEqual(['172.31.0.4', '172.31.0.5'],
                         [i['PrivateIpAddress'] for i in first])
        one = first[0]
        self.assertEqual(subnet['SubnetId'], one['SubnetId'])
        self.assertEqual(subnet['VpcId'], one['VpcId'])
        self.assertEqual('ip-172-31-0-4.RegionOne.compute.internal',
                         one['PrivateDnsName'])
        [eni] = one['NetworkInterfaces']
        self.assertEqual(('172.31.0.4', subnet['SubnetId'], 0, True),
                         (eni['PrivateIpAddress'], eni['SubnetId'],
                          eni['Attachment']['DeviceIndex'],
                          eni['PrivateIpAddresses'][0]['Primary']))
        self.assertRegex(eni['MacAddress'], '^02:')
        self.assertEqual(4089, self.ok('DescribeSubnets')['Subnets'][0][
            'AvailableIpAddressCount'])
        for name, value in (('private-ip-address', '172.31.0.5'),
                            ('private-dns-name',
                             'ip-172-31-0-5.RegionOne.compute.internal'),
                            ('subnet-id', subnet['SubnetId']),
                            ('vpc-id', subnet['VpcId'])):
            found = [i['InstanceId']
                     for r in self.ok('DescribeInstances', Filters=[
                         {'Name': name, 'Values': [value]}])['Reservations']
                     for i in r['Instances']]
            expected = ([first[1]['InstanceId']] if name.startswith(
                'private') else sorted(i['InstanceId'] for i in first))
            self.assertEqual(expected, sorted(found), name)
        # Kept across stop and start.
        ids = [one['InstanceId']]
        self.wait_for(lambda: self.instance_state(ids[0]) == 'running')
        self.ok('StopInstances', InstanceIds=ids)
        self.wait_for(lambda: self.instance_state(ids[0]) == 'stopped')
        self.ok('StartInstances', InstanceIds=ids)
        self.wait_for(lambda: self.instance_state(ids[0]) == 'running')
        self.assertEqual('172.31.0.4', self.describe(ids[0])[
            'PrivateIpAddress'])
        # Released at termination, and given to the next instance.
        self.ok('TerminateInstances', InstanceIds=ids)
        self.wait_for(lambda: self.instance_state(ids[0]) == 'terminated')
        self.assertNotIn('PrivateIpAddress', self.describe(ids[0]))
        again = self.ok('RunInstances', ImageId=image, MinCount=1,
                        MaxCount=1, SubnetId=subnet['SubnetId'])
        self.assertEqual('172.31.0.4',
                         again['Instances'][0]['PrivateIpAddress'])
        # Another project's subnet, or none at all, is not found.
        [theirs] = self.ok('DescribeSubnets', project='beta')['Subnets']
        self.error('InvalidSubnetID.NotFound', 'RunInstances', ImageId=image,
                   MinCount=1, MaxCount=1, SubnetId=theirs['SubnetId'])
        self.error('InvalidSubnetID.Malformed', 'RunInstances',
                   ImageId=image, MinCount=1, MaxCount=1, SubnetId='x')

    def test_a_full_subnet_refuses_the_launch(self):
        image = test_keypairs.KeyPairsWireTest.ebs_image(self)
        subnet = vpcs.launch_subnet(self.context('alpha'))
        taken = {str(a) for a in vpcs.usable_addresses(subnet.cidr_block)}
        self.assertRaises(exception.InsufficientFreeAddressesInSubnet,
                          vpcs.allocate_addresses, subnet, 1, taken)
        self.assertEqual(['172.31.15.254'], vpcs.allocate_addresses(
            subnet, 1, taken - {'172.31.15.254'}))
        self.useFixture(fixtures.MockPatch(
            'ebsboot.db.api.subnet_addresses', return_value=taken))
        self.error('InsufficientFreeAddressesInSubnet', 'RunInstances',
                   ImageId=image, MinCount=1, MaxCount=1)
        self.assertEqual([], db.instance_list(self.context('alpha')))

    def instance_state(self, instance_id):
        return self.describe(instance_id)['State']['Name']

    def describe(self, instance_id):
        return self.ok('DescribeInstances', InstanceIds=[instance_id])[
            'Reservations'][0]['Instances'][0]
