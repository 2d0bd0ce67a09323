"""Sharing snapshots (createVolumePermission) and resetting attributes."""

from ebsboot.db import api as db
from ebsboot.tests.unit.api import test_instances
from ebsboot.tests.unit.api import wire
from ebsboot.tests.unit import base


class SnapshotSharingTest(wire.WireTestCase, base.ServiceTestCase):

    def setUp(self):
        super().setUp()
        volume = self.ok('CreateVolume', AvailabilityZone='nova', Size=2)
        self.wait_for(lambda: self.ok(
            'DescribeVolumes', VolumeIds=[volume['VolumeId']])[
            'Volumes'][0]['State'] == 'available')
        self.snapshot_id = self.ok('CreateSnapshot',
                                   VolumeId=volume['VolumeId'])['SnapshotId']
        self.wait_for(lambda: self.ok(
            'DescribeSnapshots', SnapshotIds=[self.snapshot_id])[
            'Snapshots'][0]['State'] == 'completed')

    def permissions(self, project='alpha'):
        return self.ok('DescribeSnapshotAttribute', project=project,
                       SnapshotId=self.snapshot_id,
                       Attribute='createVolumePermission')[
            'CreateVolumePermissions']

    def visible(self, project, **kwargs):
        return [s['SnapshotId'] for s in self.ok(
            'DescribeSnapshots', project=project, **kwargs)['Snapshots']]

    def test_private_until_shared(self):
        self.assertEqual([], self.permissions())
        self.assertEqual([], self.visible('beta'))
        self.error('InvalidSnapshot.NotFound', 'DescribeSnapshots',
                   project='beta', SnapshotIds=[self.snapshot_id])
        self.error('InvalidSnapshot.NotFound', 'CreateVolume',
                   project='beta', AvailabilityZone='nova',
                   SnapshotId=self.snapshot_id)
        self.error('InvalidSnapshot.NotFound', 'ModifySnapshotAttribute',
                   project='beta', SnapshotId=self.snapshot_id,
                   Attribute='createVolumePermission', OperationType='add',
                   UserIds=['beta'])
        self.assertEqual([], self.permissions())

    def test_shared_with_a_project(self):
        self.ok('ModifySnapshotAttribute', SnapshotId=self.snapshot_id,
                CreateVolumePermission={'Add': [{'UserId': 'beta'},
                                                {'UserId': 'alpha'}]})
        self.assertEqual([{'UserId': 'beta'}], self.permissions())
        self.assertEqual([self.snapshot_id], self.visible('beta'))
        [shared] = self.ok('DescribeSnapshots', project='beta',
                           SnapshotIds=[self.snapshot_id])['Snapshots']
        self.assertEqual('alpha', shared['OwnerId'])
        for kwargs, expected in [
                ({'OwnerIds': ['alpha']}, [self.snapshot_id]),
                ({'OwnerIds': ['self']}, []),
                ({'RestorableByUserIds': ['self']}, [self.snapshot_id]),
                ({'RestorableByUserIds': ['all']}, [])]:
            self.assertEqual(expected, self.visible('beta', **kwargs),
                             kwargs)
        for kwargs, expected in [
                ({'RestorableByUserIds': ['beta']}, [self.snapshot_id]),
                ({'RestorableByUserIds': ['gamma']}, []),
                ({'RestorableByUserIds': ['all']}, [])]:
            self.assertEqual(expected, self.visible('alpha', **kwargs),
                             kwargs)
        # Beta restores it, but may not change, share or delete it.
        volume = self.ok('CreateVolume', project='beta',
                         AvailabilityZone='nova',
                         SnapshotId=self.snapshot_id)
        self.assertEqual((2, self.snapshot_id),
                         (volume['Size'], volume['SnapshotId']))
        self.wait_for(lambda: self.ok(
            'DescribeVolumes', project='beta',
            VolumeIds=[volume['VolumeId']])['Volumes'][0]['State']
            == 'available')
        self.error('AuthFailure', 'DescribeSnapshotAttribute',
                   project='beta', SnapshotId=self.snapshot_id,
                   Attribute='createVolumePermission')
        self.error('AuthFailure', 'ModifySnapshotAttribute',
                   project='beta', SnapshotId=self.snapshot_id,
                   OperationType='add', UserIds=['gamma'])
        self.error('AuthFailure', 'ResetSnapshotAttribute',
                   project='beta', SnapshotId=self.snapshot_id,
                   Attribute='createVolumePermission')
        self.error('InvalidSnapshot.NotFound', 'DeleteSnapshot',
                   project='beta', SnapshotId=self.snapshot_id)
        # Taken back: gone for beta; its volume stays.
        self.ok('ModifySnapshotAttribute', SnapshotId=self.snapshot_id,
                Attribute='createVolumePermission', OperationType='remove',
                UserIds=['beta'])
        self.assertEqual([], self.visible('beta'))
        self.assertEqual([volume['VolumeId']], [
            v['VolumeId'] for v in self.ok('DescribeVolumes',
                                           project='beta')['Volumes']])

    def test_public_and_reset(self):
        self.ok('ModifySnapshotAttribute', SnapshotId=self.snapshot_id,
                Attribute='createVolumePermission', OperationType='add',
                GroupNames=['all'], UserIds=['gamma'])
        self.assertEqual([{'Group': 'all'}, {'UserId': 'gamma'}],
                         self.permissions())
        self.assertEqual([self.snapshot_id], self.visible('beta'))
        self.assertEqual([self.snapshot_id], self.visible(
            'beta', RestorableByUserIds=['all']))
        self.ok('ResetSnapshotAttribute', SnapshotId=self.snapshot_id,
                Attribute='createVolumePermission')
        self.assertEqual([], self.permissions())
        self.assertEqual([], self.visible('beta'))

    def test_delete_takes_the_permissions(self):
        self.ok('ModifySnapshotAttribute', SnapshotId=self.snapshot_id,
                CreateVolumePermission={'Add': [{'Group': 'all'}]})
        snapshot = db.snapshot_get_by_ec2_id(self.context(),
                                             self.snapshot_id)
        self.ok('DeleteSnapshot', SnapshotId=self.snapshot_id)
        self.wait_for(lambda: not self.visible('alpha'))
        self.assertEqual([], db.snapshot_permissions(snapshot.id))
        self.assertEqual([], self.visible('beta'))

    def test_bad_requests(self):
        for code, action, kwargs in [
                ('InvalidParameterValue', 'DescribeSnapshotAttribute',
                 {'Attribute': 'color'}),
                ('MissingParameter', 'DescribeSnapshotAttribute', {}),
                ('InvalidParameterValue', 'ResetSnapshotAttribute',
                 {'Attribute': 'color'}),
                ('UnsupportedOperation', 'ResetSnapshotAttribute',
                 {'Attribute': 'productCodes'}),
                ('MissingParameter', 'ModifySnapshotAttribute', {}),
                ('InvalidParameterValue', 'ModifySnapshotAttribute',
                 {'OperationType': 'add', 'GroupNames': ['some']}),
                ('InvalidParameterValue', 'ModifySnapshotAttribute',
                 {'OperationType': 'grant', 'UserIds': ['beta']}),
                ('MissingParameter', 'ModifySnapshotAttribute',
                 {'OperationType': 'add'}),
                ('InvalidParameterCombination', 'ModifySnapshotAttribute',
                 {'CreateVolumePermission': {'Add': [
                     {'UserId': 'beta', 'Group': 'all'}]}}),
                ('InvalidParameterCombination', 'ModifySnapshotAttribute',
                 {'CreateVolumePermission': {'Add': [{'UserId': 'beta'}]},
                  'OperationType': 'add', 'UserIds': ['gamma']}),
                ('InvalidSnapshotID.Malformed', 'DescribeSnapshotAttribute',
                 {'Attribute': 'productCodes', 'SnapshotId': 'vol-1'})]:
            kwargs.setdefault('SnapshotId', self.snapshot_id)
            self.error(code, action, **kwargs)
        self.assertEqual([], self.permissions())
        self.assertEqual([], self.ok(
            'DescribeSnapshotAttribute', SnapshotId=self.snapshot_id,
            Attribute='productCodes').get('ProductCodes', []))


class ResetAttributeTest(wire.WireTestCase):

    def test_reset_image_launch_permission(self):
        snapshot = db.snapshot_create(self.context(), {
            'id': 'snap-uuid', 'ec2_id': 'snap-00000000000000001',
            'project_id': 'alpha', 'volume_ec2_id': 'vol-00000000000000001',
            'volume_size': 1, 'status': 'completed', 'progress': 100})
        image_id = self.ok('RegisterImage', Name='web',
                           RootDeviceName='/dev/sda1', BlockDeviceMappings=[
                               {'DeviceName': '/dev/sda1',
                                'Ebs': {'SnapshotId': snapshot.ec2_id}}])[
            'ImageId']
        self.ok('ModifyImageAttribute', ImageId=image_id,
                LaunchPermission={'Add': [{'UserId': 'beta'},
                                          {'Group': 'all'}]})
        self.error('AuthFailure', 'ResetImageAttribute', project='beta',
                   ImageId=image_id, Attribute='launchPermission')
        self.error('InvalidParameterValue', 'ResetImageAttribute',
                   ImageId=image_id, Attribute='description')
        self.ok('ResetImageAttribute', ImageId=image_id,
                Attribute='launchPermission')
        self.assertEqual([], self.ok(
            'DescribeImageAttribute', ImageId=image_id,
            Attribute='launchPermission')['LaunchPermissions'])
        self.assertEqual([], self.ok('DescribeImages',
                                     project='beta')['Images'])

    def test_reset_instance_attribute(self):
        instance_id = test_instances.IDS[0]
        db.instance_create(
            self.context(), dict(test_instances._instance(
                instance_id, 'stopped'), kernel_id='aki-00000000000000001'),
            [test_instances._root('vol-00000000000000001')])
        self.ok('ResetInstanceAttribute', InstanceId=instance_id,
                Attribute='sourceDestCheck')
        # The image (ami-00000001) is gone: no kernel to go back to.
        self.ok('ResetInstanceAttribute', InstanceId=instance_id,
                Attribute='kernel')
        instance = db.instance_get_by_ec2_id(self.context(), instance_id)
        self.assertIsNone(instance.kernel_id)
        for code, attribute in [('InvalidParameterValue', 'userData'),
                                ('InvalidParameterValue', 'instanceType')]:
            self.error(code, 'ResetInstanceAttribute',
                       InstanceId=instance_id, Attribute=attribute)
        self.error('InvalidInstanceID.NotFound', 'ResetInstanceAttribute',
                   project='beta', InstanceId=instance_id,
                   Attribute='kernel')
        db.instance_update(self.context(), instance.id, {'state': 'running'})
        self.error('IncorrectInstanceState', 'ResetInstanceAttribute',
                   InstanceId=instance_id, Attribute='ramdisk')
