"""DisableApiStop and RebootInstances on the wire.

The volume and compute services run in this process on their fake drivers,
with the real task runner.
"""

from ebsboot.cloud import tasks
from ebsboot.compute import manager as compute_manager
from ebsboot.conf import CONF
from ebsboot.db import api as db
from ebsboot.tests.unit.api import wire
from ebsboot.tests.unit import base


class InstanceActionsTestCase(wire.WireTestCase, base.ServiceTestCase):

    def setUp(self):
        super().setUp()
        self.start_service(CONF.compute.topic, compute_manager.ComputeManager(
            driver=self.compute_driver))
        tasks.reset_runner()
        tasks.get_runner().start()
        self.addCleanup(tasks.reset_runner)
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
