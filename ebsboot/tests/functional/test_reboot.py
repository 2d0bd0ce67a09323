"""RebootInstances, DisableApiStop and the small read-only actions, through
boto3 and the AWS CLI against a running all-in-one.

``RebootFakeTest`` runs on the fake compute driver; ``QemuRebootTest``
reboots the demo guest under QEMU (see ``test_qemu``): its console counts
the boots, and the count lives on its root volume.
"""

from ebsboot.tests.functional import base
from ebsboot.tests.functional import test_instances
from ebsboot.tests.functional import test_qemu


class RebootFakeTest(base.FunctionalTestCase, test_instances.EbsTestMixin):

    def setUp(self):
        super().setUp()
        self.cloud = self.useFixture(base.Cloud())
        self.ec2 = self.cloud.client()

    def test_reboot_and_stop_protection(self):
        ec2 = self.ec2
        image_id, _ = self._image(ec2)
        ids = [i['InstanceId'] for i in ec2.run_instances(
            ImageId=image_id, MinCount=2, MaxCount=2,
            DisableApiStop=True)['Instances']]
        for instance_id in ids:
            self.wait_state(ec2, instance_id, 'running')
        ec2.reboot_instances(InstanceIds=[ids[0]])
        base.wait_for(lambda: 'boot-count=2' in self.console(ec2, ids[0]),
                      what='second boot')
        self.assertEqual('running', self.wait_state(
            ec2, ids[0], 'running')['State']['Name'])
        self.assertNotIn('boot-count=2', self.console(ec2, ids[1]))
        code, _ = self.cloud.aws('reboot-instances', '--instance-ids', ids[1])
        self.assertEqual(0, code)
        base.wait_for(lambda: 'boot-count=2' in self.console(ec2, ids[1]),
                      what='second boot of the other')

        self.assertEC2Error('OperationNotPermitted', ec2.stop_instances,
                            InstanceIds=ids)
        code, err = self.cloud.aws('stop-instances', '--instance-ids',
                                   ids[0], check=False)
        self.assertNotEqual(0, code)
        self.assertIn('OperationNotPermitted', err)
        self.assertTrue(ec2.describe_instance_attribute(
            InstanceId=ids[0], Attribute='disableApiStop')[
            'DisableApiStop']['Value'])
        ec2.modify_instance_attribute(InstanceId=ids[0],
                                      DisableApiStop={'Value': False})
        ec2.stop_instances(InstanceIds=[ids[0]])
        self.wait_state(ec2, ids[0], 'stopped')
        self.assertEC2Error('IncorrectInstanceState', ec2.reboot_instances,
                            InstanceIds=[ids[0]])
        self.assertEC2Error('InvalidInstanceID.NotFound',
                            ec2.reboot_instances,
                            InstanceIds=['i-0123456789abcdef0'])
        self.assertEC2Error('InvalidInstanceID.Malformed',
                            ec2.reboot_instances, InstanceIds=['i-1'])

    def test_read_only_actions(self):
        ec2 = self.ec2
        types = ec2.describe_instance_types(
            InstanceTypes=['t2.micro'])['InstanceTypes']
        self.assertEqual([(1, 1024, ['ebs'])], [
            (t['VCpuInfo']['DefaultVCpus'], t['MemoryInfo']['SizeInMiB'],
             t['SupportedRootDeviceTypes']) for t in types])
        pages = ec2.get_paginator('describe_instance_types').paginate(
            PaginationConfig={'PageSize': 5})
        names = [t['InstanceType'] for page in pages
                 for t in page['InstanceTypes']]
        self.assertEqual(16, len(names))
        self.assertEC2Error('InvalidInstanceType',
                            ec2.describe_instance_types,
                            InstanceTypes=['x9.huge'])
        _, answer = self.cloud.aws(
            'describe-instance-types', '--filters',
            'Name=vcpu-info.default-vcpus,Values=8',
            '--query', 'InstanceTypes[].InstanceType')
        self.assertEqual(['m1.xlarge'], answer)

        attributes = {a['AttributeName']: a['AttributeValues'][0][
            'AttributeValue'] for a in ec2.describe_account_attributes()[
            'AccountAttributes']}
        default_vpc = ec2.describe_vpcs()['Vpcs'][0]['VpcId']
        self.assertEqual(('VPC', default_vpc, '100'), (
            attributes['supported-platforms'], attributes['default-vpc'],
            attributes['max-instances']))
        _, answer = self.cloud.aws(
            'describe-account-attributes', '--attribute-names',
            'default-vpc')
        self.assertEqual(['default-vpc'], [
            a['AttributeName'] for a in answer['AccountAttributes']])

        volume_id = ec2.create_volume(AvailabilityZone='nova',
                                      Size=1)['VolumeId']
        self.wait_volume(ec2, volume_id)
        [status] = ec2.describe_volume_status(
            VolumeIds=[volume_id])['VolumeStatuses']
        self.assertEqual('ok', status['VolumeStatus']['Status'])
        _, answer = self.cloud.aws(
            'describe-volume-status', '--filters',
            'Name=volume-status.status,Values=ok',
            '--query', 'VolumeStatuses[].VolumeId')
        self.assertEqual([volume_id], answer)
        self.assertFalse(ec2.describe_volume_attribute(
            VolumeId=volume_id, Attribute='autoEnableIO')[
            'AutoEnableIO']['Value'])
        self.cloud.aws('modify-volume-attribute', '--volume-id', volume_id,
                       '--auto-enable-io')
        self.assertTrue(ec2.describe_volume_attribute(
            VolumeId=volume_id, Attribute='autoEnableIO')[
            'AutoEnableIO']['Value'])
        self.assertEC2Error('InvalidParameterValue',
                            ec2.describe_volume_attribute,
                            VolumeId=volume_id, Attribute='size')


class QemuRebootTest(base.FunctionalTestCase, test_qemu.QemuTestMixin):
    """ACPI reboot of the demo guest.

    The guest powers off on the power button; libvirt turns that into a
    reset.
    """

    def setUp(self):
        super().setUp()
        self.start_cloud()
        self.image_id = self.register_demo_guest()

    def test_reboot_keeps_the_guest_and_its_data(self):
        ec2 = self.ec2
        instance_id = self.run_one()
        self.wait_console(instance_id, 'demo guest ready')
        root = ec2.describe_instances(InstanceIds=[instance_id])[
            'Reservations'][0]['Instances'][0]['BlockDeviceMappings'][0][
            'Ebs']['VolumeId']
        ec2.reboot_instances(InstanceIds=[instance_id])
        # The count is on the root volume: boot 2 saw boot 1's data.
        self.wait_console(instance_id, 'boot-count=2')
        self.assertIn('power button pressed',
                      self.console(ec2, instance_id))
        self.wait_console(instance_id, 'demo guest ready')
        test_qemu.base.wait_for(
            lambda: 'Guest %s rebooted' % instance_id in self.cloud.log(
                tail=None), what='ACPI reboot logged')
        instance = self.wait_state(ec2, instance_id, 'running')
        self.assertEqual(root, instance['BlockDeviceMappings'][0]['Ebs'][
            'VolumeId'])
        self.assertNotIn('StateReason', instance)
        # No hard reset was needed, and the power sync (every second
        # here) did not take the guest's power-off for a stop.
        self.assertNotIn('resetting', self.cloud.log(tail=None))
        self.wait_state(ec2, instance_id, 'running')
        ec2.terminate_instances(InstanceIds=[instance_id])
        self.wait_state(ec2, instance_id, 'terminated', timeout=90)


class QemuResetTest(base.FunctionalTestCase, test_qemu.QemuTestMixin):
    """``[libvirt] reboot_timeout = 0``: RebootInstances resets at once."""

    def setUp(self):
        super().setUp()
        self.start_cloud(extra_conf='reboot_timeout = 0\n')
        self.image_id = self.register_demo_guest()

    def test_hard_reset(self):
        ec2 = self.ec2
        instance_id = self.run_one()
        self.wait_console(instance_id, 'demo guest ready')
        ec2.reboot_instances(InstanceIds=[instance_id])
        self.wait_console(instance_id, 'boot-count=2')
        console = self.console(ec2, instance_id)
        self.assertNotIn('power button pressed', console)
        self.assertIn('Guest %s reset' % instance_id,
                      self.cloud.log(tail=None))
        self.assertEqual('running', self.wait_state(
            ec2, instance_id, 'running')['State']['Name'])
        ec2.terminate_instances(InstanceIds=[instance_id])
        self.wait_state(ec2, instance_id, 'terminated', timeout=90)
