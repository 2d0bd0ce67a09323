"""CreateSnapshots on the wire: the volumes of an instance at one instant.

The volume and compute services run in this process on their fake drivers,
with the real task runner.
"""

from unittest import mock

from ebsboot.tests.unit.api import test_instance_actions
from ebsboot.volume import rpcapi as volume_rpcapi


class CreateSnapshotsTest(test_instance_actions.InstanceActionsTestCase):

    def setUp(self):
        super().setUp()
        self.instance_id = self.launch(
            BlockDeviceMappings=[
                {'DeviceName': 'sdb', 'Ebs': {'VolumeSize': 2}},
                {'DeviceName': '/dev/sdc', 'Ebs': {'VolumeSize': 3}}],
            TagSpecifications=[{'ResourceType': 'volume', 'Tags': [
                {'Key': 'app', 'Value': 'db'},
                {'Key': 'Name', 'Value': 'volume'}]}])
        mappings = self.instance(self.instance_id)['BlockDeviceMappings']
        self.volumes = {m['DeviceName']: m['Ebs']['VolumeId']
                        for m in mappings}

    def snapshots(self, **kwargs):
        kwargs.setdefault('InstanceSpecification',
                          {'InstanceId': self.instance_id})
        return self.ok('CreateSnapshots', **kwargs)['Snapshots']

    def test_all_volumes_in_one_request_per_host(self):
        spy = mock.patch.object(
            volume_rpcapi.VolumeAPI, 'create_snapshots', autospec=True,
            side_effect=volume_rpcapi.VolumeAPI.create_snapshots)
        with spy as create_snapshots:
            made = self.snapshots(
                Description='nightly', CopyTagsFromSource='volume',
                TagSpecifications=[{'ResourceType': 'snapshot', 'Tags': [
                    {'Key': 'Name', 'Value': 'nightly'}]}])
        self.assertEqual(1, create_snapshots.call_count)
        self.assertEqual(3, len(create_snapshots.call_args[0][3]))
        self.assertEqual(
            [self.volumes['/dev/sda1'], self.volumes['sdb'],
             self.volumes['/dev/sdc']], [s['VolumeId'] for s in made])
        for snapshot, size in zip(made, (1, 2, 3)):
            self.assertEqual(
                ('pending', 'alpha', size, 'nightly', False,
                 [{'Key': 'Name', 'Value': 'nightly'},
                  {'Key': 'app', 'Value': 'db'}]),
                (snapshot['State'], snapshot['OwnerId'],
                 snapshot['VolumeSize'], snapshot['Description'],
                 snapshot['Encrypted'],
                 sorted(snapshot['Tags'], key=lambda t: t['Key'])))
            self.assertIn('StartTime', snapshot)
            self.assertRegex(snapshot['Progress'], r'^\d+%$')
        ids = [s['SnapshotId'] for s in made]
        self.wait_for(lambda: all(
            s['State'] == 'completed' for s in self.ok(
                'DescribeSnapshots', SnapshotIds=ids)['Snapshots']))
        self.assertEqual('running', self.state_of(self.instance_id))

    def test_exclusions(self):
        made = self.snapshots(InstanceSpecification={
            'InstanceId': self.instance_id, 'ExcludeBootVolume': True,
            'ExcludeDataVolumeIds': [self.volumes['/dev/sdc']]})
        self.assertEqual([self.volumes['sdb']],
                         [s['VolumeId'] for s in made])
        self.assertNotIn('Tags', made[0])

    def test_stopped_instance(self):
        self.ok('StopInstances', InstanceIds=[self.instance_id])
        self.wait_for(lambda: self.state_of(self.instance_id) == 'stopped')
        self.assertEqual(3, len(self.snapshots()))

    def test_bad_requests(self):
        other = self.ok('CreateVolume', AvailabilityZone='nova', Size=1)
        for code, spec, extra in [
                ('InvalidInstanceID.Malformed', {'InstanceId': 'vol-1'}, {}),
                ('InvalidInstanceID.NotFound',
                 {'InstanceId': 'i-0123456789abcdef0'}, {}),
                ('InvalidVolumeID.Malformed',
                 {'ExcludeDataVolumeIds': ['i-1']}, {}),
                ('InvalidParameterValue',
                 {'ExcludeDataVolumeIds': [other['VolumeId']]}, {}),
                ('InvalidParameterValue',
                 {'ExcludeDataVolumeIds': [self.volumes['/dev/sda1']]}, {}),
                ('InvalidParameterValue',
                 {'ExcludeBootVolume': True, 'ExcludeDataVolumeIds': [
                     self.volumes['sdb'], self.volumes['/dev/sdc']]}, {}),
                ('InvalidParameterValue', {},
                 {'CopyTagsFromSource': 'instance'}),
                ('InvalidParameterValue', {}, {'Description': 'x' * 256}),
                ('InvalidParameterValue', {}, {'TagSpecifications': [
                    {'ResourceType': 'volume',
                     'Tags': [{'Key': 'k', 'Value': 'v'}]}]}),
                ('UnsupportedOperation', {}, {'Location': 'local'}),
                ('UnsupportedOperation', {},
                 {'OutpostArn': 'arn:aws:outposts:x'})]:
            spec.setdefault('InstanceId', self.instance_id)
            self.error(code, 'CreateSnapshots', InstanceSpecification=spec,
                       **extra)
        status, answer = self.call_form('CreateSnapshots', {})
        self.assertEqual('MissingParameter', answer['Error']['Code'])
        status, answer = self.call_form(
            'CreateSnapshots', {'InstanceSpecification': 'i-1'})
        self.assertEqual('InvalidParameterValue', answer['Error']['Code'])
        self.ok('TerminateInstances', InstanceIds=[self.instance_id])
        self.error('IncorrectInstanceState', 'CreateSnapshots',
                   InstanceSpecification={'InstanceId': self.instance_id})
        self.assertEqual(1, len(self.ok('DescribeSnapshots')['Snapshots']))


class DeviceNamesAsGivenTest(test_instance_actions.InstanceActionsTestCase):
    """One rule: a device name is answered as the client spelled it."""

    def test_launch_attach_describe_and_create_image(self):
        instance_id = self.launch(BlockDeviceMappings=[
            {'DeviceName': 'sdb', 'Ebs': {'VolumeSize': 1}},
            {'DeviceName': '/dev/sdc', 'Ebs': {'VolumeSize': 1}}])
        volume_id = self.ok('CreateVolume', AvailabilityZone='nova',
                            Size=1)['VolumeId']
        self.wait_for(lambda: self.state_of_volume(volume_id) == 'available')
        answer = self.ok('AttachVolume', VolumeId=volume_id,
                         InstanceId=instance_id, Device='sdh')
        self.assertEqual('sdh', answer['Device'])
        other = self.ok('CreateVolume', AvailabilityZone='nova',
                        Size=1)['VolumeId']
        self.wait_for(lambda: self.state_of_volume(other) == 'available')
        # Compared in full: /dev/sdh is sdh.
        self.error('InvalidParameterValue', 'AttachVolume', VolumeId=other,
                   InstanceId=instance_id, Device='/dev/sdh')
        [volume] = self.ok('DescribeVolumes',
                           VolumeIds=[volume_id])['Volumes']
        self.assertEqual('sdh', volume['Attachments'][0]['Device'])
        instance = self.instance(instance_id)
        self.assertEqual(['/dev/sda1', '/dev/sdc', 'sdb', 'sdh'], sorted(
            m['DeviceName'] for m in instance['BlockDeviceMappings']))
        found = self.ok('DescribeInstances', Filters=[
            {'Name': 'block-device-mapping.device-name',
             'Values': ['sdh']}])['Reservations']
        self.assertEqual(1, len(found))
        image_id = self.ok('CreateImage', InstanceId=instance_id,
                           Name='from-instance', NoReboot=True)['ImageId']
        [image] = self.ok('DescribeImages', ImageIds=[image_id])['Images']
        self.assertEqual(['/dev/sda1', '/dev/sdc', 'sdb', 'sdh'], sorted(
            m['DeviceName'] for m in image['BlockDeviceMappings']))
        self.wait_for(lambda: self.settled(instance_id))
        self.assertEqual('sdh', self.ok(
            'DetachVolume', VolumeId=volume_id)['Device'])

    def test_short_root_device_name(self):
        snapshot_id = self.ok('DescribeImages', ImageIds=[self.image_id])[
            'Images'][0]['BlockDeviceMappings'][0]['Ebs']['SnapshotId']
        image_id = self.ok(
            'RegisterImage', Name='short-root', RootDeviceName='xvda',
            BlockDeviceMappings=[{'DeviceName': 'xvda',
                                  'Ebs': {'SnapshotId': snapshot_id}}])[
            'ImageId']
        [image] = self.ok('DescribeImages', ImageIds=[image_id])['Images']
        self.assertEqual(('xvda', 'xvda'), (
            image['RootDeviceName'],
            image['BlockDeviceMappings'][0]['DeviceName']))
        instance_id = self.ok('RunInstances', ImageId=image_id, MinCount=1,
                              MaxCount=1)['Instances'][0]['InstanceId']
        self.wait_for(lambda: self.state_of(instance_id) == 'running')
        instance = self.instance(instance_id)
        self.assertEqual(('xvda', ['xvda']), (
            instance['RootDeviceName'],
            [m['DeviceName'] for m in instance['BlockDeviceMappings']]))
        self.assertEqual('xvda', self.ok(
            'DescribeInstanceAttribute', InstanceId=instance_id,
            Attribute='rootDeviceName')['RootDeviceName']['Value'])
