"""The default VPC, its subnet and instances' private addresses, through
boto3 and the AWS CLI against a running all-in-one (fake compute driver;
the guest side is in test_guest_network)."""

from ebsboot.tests.functional import base
from ebsboot.tests.functional import test_instances


class DefaultVpcTest(base.FunctionalTestCase, test_instances.EbsTestMixin):

    def setUp(self):
        super().setUp()
        self.cloud = self.useFixture(base.Cloud())
        self.ec2 = self.cloud.client()

    def test_default_vpc_launch_path(self):
        ec2 = self.ec2
        # What launch tools ask first: the default VPC, then its subnets.
        [vpc] = ec2.describe_vpcs(Filters=[
            {'Name': 'isDefault', 'Values': ['true']}])['Vpcs']
        self.assertEqual('172.31.0.0/16', vpc['CidrBlock'])
        _, subnets = self.cloud.aws(
            'describe-subnets', '--filters',
            'Name=vpc-id,Values=%s' % vpc['VpcId'],
            'Name=default-for-az,Values=true')
        [subnet] = subnets['Subnets']
        self.assertEqual(('172.31.0.0/20', 'nova'),
                         (subnet['CidrBlock'], subnet['AvailabilityZone']))

        image_id, _snapshot = self._image(ec2)
        _, launched = self.cloud.aws(
            'run-instances', '--image-id', image_id, '--subnet-id',
            subnet['SubnetId'])
        instance = launched['Instances'][0]
        instance_id = instance['InstanceId']
        address = instance['PrivateIpAddress']
        self.assertEqual('172.31.0.4', address)
        self.assertEqual((vpc['VpcId'], subnet['SubnetId']),
                         (instance['VpcId'], instance['SubnetId']))
        self.wait_state(ec2, instance_id, 'running')
        _, found = self.cloud.aws(
            'describe-instances', '--filters',
            'Name=private-ip-address,Values=%s' % address, '--query',
            'Reservations[].Instances[].NetworkInterfaces[].'
            'PrivateIpAddress')
        self.assertEqual([address], found)
        self.assertEC2Error('InvalidSubnetID.NotFound', ec2.run_instances,
                            ImageId=image_id, MinCount=1, MaxCount=1,
                            SubnetId='subnet-0123456789abcdef0')

        ec2.stop_instances(InstanceIds=[instance_id])
        self.wait_state(ec2, instance_id, 'stopped')
        ec2.start_instances(InstanceIds=[instance_id])
        self.wait_state(ec2, instance_id, 'running')
        [reservation] = ec2.describe_instances(Filters=[
            {'Name': 'private-dns-name',
             'Values': ['ip-172-31-0-4.RegionOne.compute.internal']}])[
            'Reservations']
        self.assertEqual(instance_id,
                         reservation['Instances'][0]['InstanceId'])

        ec2.terminate_instances(InstanceIds=[instance_id])
        self.wait_state(ec2, instance_id, 'terminated')
        second = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1)
        self.assertEqual(address,
                         second['Instances'][0]['PrivateIpAddress'])
        ec2.terminate_instances(
            InstanceIds=[second['Instances'][0]['InstanceId']])
