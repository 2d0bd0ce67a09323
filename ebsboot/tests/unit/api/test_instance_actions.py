"""DisableApiStop and RebootInstances on the wire.

The volume and compute services run in this process on their fake drivers,
with the real task runner.
"""

import base64

from ebsboot.cloud import tasks
from ebsboot.db import api as db
from ebsboot.tests.unit.api import wire
from ebsboot.tests.unit import base


class InstanceActionsTestCase(wire.WireTestCase, base.CloudTestCase):

    def setUp(self):
        super().setUp()
        volume = self.ok('CreateVolume', AvailabilityZone='nova', Size=1)
        self.wait_for(lambda: self.state_of_volume(volume['VolumeId']) ==
                      'available')
        snapshot = self.ok('CreateSnapshot', VolumeId=volume['VolumeId'])
        self.wait_for(lambda: self.ok(
            'DescribeSnapshots', SnapshotIds=[snapshot['SnapshotId']])[
            'Snapshots'][0]['State'] == 'completed')
        self.image_id = self.ok(
            'RegisterImage', Name='img', RootDeviceName='/dev/sda1',
            BlockDeviceMappings=[
                {'DeviceName': '/dev/sda1',
                 'Ebs': {'SnapshotId': snapshot['SnapshotId']}}])['ImageId']

    def state_of_volume(self, volume_id):
        return self.ok('DescribeVolumes', VolumeIds=[volume_id])[
            'Volumes'][0]['State']

    def instance(self, instance_id):
        return self.ok('DescribeInstances', InstanceIds=[instance_id])[
            'Reservations'][0]['Instances'][0]

    def state_of(self, instance_id):
        return self.instance(instance_id)['State']['Name']

    def settled(self, instance_id):
        row = db.instance_get_by_ec2_id(self.context(), instance_id)
        return row.task is None

    def launch(self, **kwargs):
        instance_id = self.ok('RunInstances', ImageId=self.image_id,
                              MinCount=1, MaxCount=1, **kwargs)[
            'Instances'][0]['InstanceId']
        self.wait_for(lambda: self.state_of(instance_id) == 'running')
        return instance_id


class DisableApiStopTest(InstanceActionsTestCase):

    def disable_api_stop(self, instance_id):
        return self.ok('DescribeInstanceAttribute', InstanceId=instance_id,
                       Attribute='disableApiStop')['DisableApiStop']['Value']

    def test_run_instances_parameter_and_stop_refused(self):
        protected = self.launch(DisableApiStop=True)
        other = self.launch()
        self.assertTrue(self.disable_api_stop(protected))
        self.assertFalse(self.disable_api_stop(other))
        message = self.error('OperationNotPermitted', 'StopInstances',
                             InstanceIds=[protected])
        self.assertIn(protected, message)
        self.assertIn('disableApiStop', message)
        self.error('OperationNotPermitted', 'StopInstances',
                   InstanceIds=[protected], Force=True)
        # All or nothing: the unprotected one is not stopped either.
        self.error('OperationNotPermitted', 'StopInstances',
                   InstanceIds=[other, protected])
        self.assertEqual(('running', 'running'),
                         (self.state_of(protected), self.state_of(other)))
        # Termination is not stop protection.
        self.ok('TerminateInstances', InstanceIds=[other])

    def test_modify_the_attribute(self):
        instance_id = self.launch()
        self.ok('ModifyInstanceAttribute', InstanceId=instance_id,
                DisableApiStop={'Value': True})
        self.assertTrue(self.disable_api_stop(instance_id))
        self.error('OperationNotPermitted', 'StopInstances',
                   InstanceIds=[instance_id])
        self.ok('ModifyInstanceAttribute', InstanceId=instance_id,
                Attribute='disableApiStop', Value='false')
        self.assertFalse(self.disable_api_stop(instance_id))
        self.ok('StopInstances', InstanceIds=[instance_id])
        self.wait_for(lambda: self.state_of(instance_id) == 'stopped')
        # The attribute may be set while stopped; StartInstances is not
        # affected by it.
        self.ok('ModifyInstanceAttribute', InstanceId=instance_id,
                DisableApiStop={'Value': True})
        self.ok('StartInstances', InstanceIds=[instance_id])
        self.wait_for(lambda: self.state_of(instance_id) == 'running')
        self.error('InvalidParameterValue', 'ModifyInstanceAttribute',
                   InstanceId=instance_id, Attribute='disableApiStop',
                   Value='maybe')


class RebootInstancesTest(InstanceActionsTestCase):

    def console(self, instance_id):
        return base64.b64decode(self.ok(
            'GetConsoleOutput', InstanceId=instance_id)['Output']).decode()

    def root_volume(self, instance_id):
        return {d['DeviceName']: d['Ebs']['VolumeId'] for d in self.instance(
            instance_id)['BlockDeviceMappings']}['/dev/sda1']

    def guest_calls(self, instance_id):
        row = db.instance_get_by_ec2_id(self.context(), instance_id)
        return [c[0] for c in self.compute_driver.calls if c[1] == row.id]

    def test_reboot_keeps_the_instance_and_its_root(self):
        instance_id = self.launch()
        root = self.root_volume(instance_id)
        self.assertIn('boot-count=1', self.console(instance_id))
        self.ok('RebootInstances', InstanceIds=[instance_id])
        self.wait_for(lambda: self.settled(instance_id))
        self.assertIn('boot-count=2', self.console(instance_id))
        self.assertEqual(['spawn', 'reboot'], self.guest_calls(instance_id))
        instance = self.instance(instance_id)
        self.assertEqual('running', instance['State']['Name'])
        self.assertEqual(root, self.root_volume(instance_id))
        self.assertEqual('in-use', self.state_of_volume(root))
        # The power sync finds the guest running: it stays so.
        tasks.get_runner().sync_power_states()
        self.assertEqual('running', self.state_of(instance_id))

    def test_running_while_it_reboots(self):
        instance_id = self.launch()
        self.config.config(delay=0.5, group='fake_compute')
        self.ok('RebootInstances', InstanceIds=[instance_id])
        self.assertEqual('running', self.state_of(instance_id))
        # A second request while it reboots is no error.
        self.ok('RebootInstances', InstanceIds=[instance_id])
        self.error('IncorrectInstanceState', 'StopInstances',
                   InstanceIds=[instance_id])
        self.wait_for(lambda: self.settled(instance_id))
        self.assertEqual(['spawn', 'reboot'], self.guest_calls(instance_id))

    def test_states_that_cannot_reboot(self):
        running = self.launch()
        stopped = self.launch()
        self.ok('StopInstances', InstanceIds=[stopped])
        self.wait_for(lambda: self.state_of(stopped) == 'stopped')
        message = self.error('IncorrectInstanceState', 'RebootInstances',
                             InstanceIds=[stopped])
        self.assertIn(stopped, message)
        # All or nothing: the running one is not rebooted either.
        self.error('IncorrectInstanceState', 'RebootInstances',
                   InstanceIds=[running, stopped])
        self.assertNotIn('reboot', self.guest_calls(running))
        self.config.config(delay=0.5, group='fake_compute')
        pending = self.ok('RunInstances', ImageId=self.image_id, MinCount=1,
                          MaxCount=1)['Instances'][0]['InstanceId']
        self.error('IncorrectInstanceState', 'RebootInstances',
                   InstanceIds=[pending])
        self.wait_for(lambda: self.state_of(pending) == 'running')
        self.config.config(delay=0.0, group='fake_compute')
        # A terminated instance is ignored, as in EC2.
        self.ok('TerminateInstances', InstanceIds=[pending])
        self.wait_for(lambda: self.state_of(pending) == 'terminated')
        self.ok('RebootInstances', InstanceIds=[pending])
        self.assertNotIn('reboot', self.guest_calls(pending))

    def test_ids(self):
        self.error('MissingParameter', 'RebootInstances', InstanceIds=[])
        self.error('InvalidInstanceID.Malformed', 'RebootInstances',
                   InstanceIds=['i-x'])
        self.error('InvalidInstanceID.NotFound', 'RebootInstances',
                   InstanceIds=['i-0123456789abcdef0'])
        other = self.ok('RunInstances', project='alpha',
                        ImageId=self.image_id, MinCount=1,
                        MaxCount=1)['Instances'][0]['InstanceId']
        self.error('InvalidInstanceID.NotFound', 'RebootInstances',
                   project='beta', InstanceIds=[other])

    def test_compute_services_before_reboot_in_place(self):
        self.config.config(compute='1.2', group='upgrade_levels')
        instance_id = self.launch()
        root = self.root_volume(instance_id)
        self.ok('RebootInstances', InstanceIds=[instance_id])
        self.wait_for(lambda: self.settled(instance_id))
        # Powered off and booted again on the same volumes.
        self.assertEqual(['spawn', 'power_off', 'destroy', 'spawn'],
                         self.guest_calls(instance_id))
        self.assertIn('boot-count=2', self.console(instance_id))
        self.assertEqual('running', self.state_of(instance_id))
        self.assertEqual(root, self.root_volume(instance_id))
        self.assertEqual('in-use', self.state_of_volume(root))
