"""CopyImage on the wire, with the fake volume driver."""

from unittest import mock

from ebsboot.cloud import image_copies
from ebsboot.cloud import images as cloud_images
from ebsboot.db import api as db
from ebsboot.tests.unit.api import wire
from ebsboot.tests.unit import base


class CopyImageTest(wire.WireTestCase, base.ServiceTestCase):

    def setUp(self):
        super().setUp()
        self.snapshots = [self.snapshot(size) for size in (2, 3)]
        self.source = self.ok(
            'RegisterImage', Name='source', RootDeviceName='/dev/sda1',
            Architecture='x86_64', BootMode='uefi', Description='original',
            BlockDeviceMappings=[
                {'DeviceName': '/dev/sda1',
                 'Ebs': {'SnapshotId': self.snapshots[0]}},
                {'DeviceName': '/dev/sdb',
                 'Ebs': {'SnapshotId': self.snapshots[1],
                         'DeleteOnTermination': False}},
                {'DeviceName': '/dev/sdc', 'VirtualName': 'ephemeral0'}],
            TagSpecifications=[{'ResourceType': 'image', 'Tags': [
                {'Key': 'team', 'Value': 'web'}]}])['ImageId']

    def snapshot(self, size):
        volume = self.ok('CreateVolume', AvailabilityZone='nova', Size=size)
        self.wait_for(lambda: self.ok(
            'DescribeVolumes', VolumeIds=[volume['VolumeId']])[
            'Volumes'][0]['State'] == 'available')
        snapshot_id = self.ok('CreateSnapshot',
                              VolumeId=volume['VolumeId'])['SnapshotId']
        self.wait_for(lambda: self.state_of(snapshot_id) == 'completed')
        return snapshot_id

    def state_of(self, snapshot_id, project='alpha'):
        return self.ok('DescribeSnapshots', project=project,
                       SnapshotIds=[snapshot_id])['Snapshots'][0]['State']

    def image(self, image_id, project='alpha'):
        return self.ok('DescribeImages', project=project,
                       ImageIds=[image_id])['Images'][0]

    def copy(self, project='alpha', **kwargs):
        kwargs.setdefault('SourceImageId', self.source)
        kwargs.setdefault('Name', 'the copy')
        return self.ok('CopyImage', project=project,
                       SourceRegion='RegionOne', **kwargs)['ImageId']

    def finished(self, image_id, project='alpha'):
        def done():
            image_copies.finish_copies()
            image = self.image(image_id, project)
            return image if image['State'] != 'pending' else None
        return self.wait_for(done)

    def test_copy_has_copies_of_every_snapshot(self):
        image_id = self.copy(
            Description='copied', ClientToken='token-1', CopyImageTags=True,
            TagSpecifications=[
                {'ResourceType': 'image',
                 'Tags': [{'Key': 'Name', 'Value': 'copy'}]},
                {'ResourceType': 'snapshot',
                 'Tags': [{'Key': 'backup', 'Value': 'yes'}]}])
        self.assertEqual('pending', self.image(image_id)['State'])
        image = self.finished(image_id)
        self.assertEqual(
            ('available', 'the copy', 'copied', 'x86_64', 'uefi',
             [{'Key': 'Name', 'Value': 'copy'},
              {'Key': 'team', 'Value': 'web'}]),
            (image['State'], image['Name'], image['Description'],
             image['Architecture'], image['BootMode'],
             sorted(image['Tags'], key=lambda t: t['Key'])))
        mappings = image['BlockDeviceMappings']
        copies = [m['Ebs']['SnapshotId'] for m in mappings if 'Ebs' in m]
        self.assertEqual(2, len(set(copies) - set(self.snapshots)))
        self.assertEqual([2, 3, False, 'ephemeral0'], [
            mappings[0]['Ebs']['VolumeSize'], mappings[1]['Ebs']['VolumeSize'],
            mappings[1]['Ebs']['DeleteOnTermination'],
            mappings[2]['VirtualName']])
        for copy_id, source_id in zip(copies, self.snapshots):
            [snapshot] = self.ok('DescribeSnapshots',
                                 SnapshotIds=[copy_id])['Snapshots']
            self.assertEqual(
                ('completed', [{'Key': 'backup', 'Value': 'yes'}]),
                (snapshot['State'], snapshot['Tags']))
            self.assertIn(source_id, snapshot['Description'])
            self.assertIn(image_id, snapshot['Description'])
        # The same token answers the same image; other parameters refuse.
        self.assertEqual(image_id, self.copy(
            Description='copied', ClientToken='token-1', CopyImageTags=True,
            TagSpecifications=[
                {'ResourceType': 'image',
                 'Tags': [{'Key': 'Name', 'Value': 'copy'}]},
                {'ResourceType': 'snapshot',
                 'Tags': [{'Key': 'backup', 'Value': 'yes'}]}]))
        self.error('IdempotentParameterMismatch', 'CopyImage',
                   SourceRegion='RegionOne', SourceImageId=self.source,
                   Name='the copy', ClientToken='token-1')
        # The copy outlives its source, and launches from its own copies.
        self.ok('DeregisterImage', ImageId=self.source,
                DeleteAssociatedSnapshots=True)
        self.assertEqual('available', self.image(image_id)['State'])
        self.error('InvalidSnapshot.InUse', 'DeleteSnapshot',
                   SnapshotId=copies[0])

    def test_default_description_and_no_tags(self):
        image = self.finished(self.copy())
        self.assertEqual('original', image['Description'])
        self.assertNotIn('Tags', image)

    def test_shared_image_needs_its_snapshots_shared(self):
        self.ok('ModifyImageAttribute', ImageId=self.source,
                LaunchPermission={'Add': [{'UserId': 'beta'}]})
        self.error('InvalidSnapshot.NotFound', 'CopyImage', project='beta',
                   SourceRegion='RegionOne', SourceImageId=self.source,
                   Name='theirs')
        for snapshot_id in self.snapshots:
            self.ok('ModifySnapshotAttribute', SnapshotId=snapshot_id,
                    Attribute='createVolumePermission', OperationType='add',
                    UserIds=['beta'])
        image = self.finished(self.copy(project='beta', Name='theirs'),
                              project='beta')
        self.assertEqual(('beta', 'available'),
                         (image['OwnerId'], image['State']))
        self.assertEqual(1, len(self.ok('DescribeImages', project='beta',
                                        Owners=['self'])['Images']))

    def test_failed_copy_leaves_a_failed_image_and_no_snapshots(self):
        with mock.patch.object(self.volume_driver, 'copy_snapshot',
                               side_effect=RuntimeError('disk full')):
            image_id = self.copy()
            image = self.finished(image_id)
        self.assertEqual('failed', image['State'])
        self.assertEqual('Server.InternalError', image['StateReason']['Code'])
        self.wait_for(lambda: (image_copies.finish_copies() or True) and
                      sorted(s['SnapshotId'] for s in self.ok(
                          'DescribeSnapshots')['Snapshots']) ==
                      sorted(self.snapshots))
        raw = cloud_images.get_backend().list(
            self.context(), filters={'ec2_id': image_id})[0]
        self.assertNotIn(image_copies.COPIES_PROPERTY, raw['properties'])
        self.ok('DeregisterImage', ImageId=image_id)

    def test_resumes_copies_a_crash_left_unwritten(self):
        with mock.patch.object(image_copies.cloud_volumes, 'new_copy',
                               side_effect=RuntimeError('killed')):
            image_id = self.copy(TagSpecifications=[
                {'ResourceType': 'snapshot',
                 'Tags': [{'Key': 'k', 'Value': 'v'}]}])
        self.assertEqual(2, len(self.ok('DescribeSnapshots')['Snapshots']))
        image = self.finished(image_id)
        self.assertEqual('available', image['State'])
        copies = [m['Ebs']['SnapshotId']
                  for m in image['BlockDeviceMappings'] if 'Ebs' in m]
        for copy_id in copies:
            [snapshot] = self.ok('DescribeSnapshots',
                                 SnapshotIds=[copy_id])['Snapshots']
            self.assertEqual([{'Key': 'k', 'Value': 'v'}], snapshot['Tags'])

    def test_bad_requests(self):
        source = cloud_images.get_image(self.context(), self.source)
        root_bdm = cloud_images.block_device_mappings(source)[1][0]
        pending = cloud_images.register_image(
            self.context(), 'pending one', '/dev/sda1', [root_bdm],
            state='pending')
        for code, kwargs in [
                ('InvalidAMIID.Malformed', {'SourceImageId': 'snap-1'}),
                ('InvalidAMIID.NotFound',
                 {'SourceImageId': 'ami-0123456789abcdef0'}),
                ('InvalidAMIID.Unavailable',
                 {'SourceImageId': cloud_images.image_ec2_id(pending)}),
                ('InvalidAMIName.Malformed', {'Name': 'x'}),
                ('InvalidAMIName.Duplicate', {'Name': 'source'}),
                ('UnsupportedOperation', {'SourceRegion': 'us-east-1'}),
                ('UnsupportedOperation', {'Encrypted': True}),
                ('UnsupportedOperation', {'KmsKeyId': 'key'}),
                ('UnsupportedOperation',
                 {'DestinationAvailabilityZone': 'nova'}),
                ('InvalidParameterValue',
                 {'SnapshotCopyCompletionDurationMinutes': 5}),
                ('InvalidParameterValue', {'Description': 'x' * 256}),
                ('InvalidParameterValue', {'ClientToken': 'x' * 65}),
                ('InvalidParameterValue', {'TagSpecifications': [
                    {'ResourceType': 'volume',
                     'Tags': [{'Key': 'k', 'Value': 'v'}]}]})]:
            kwargs.setdefault('SourceImageId', self.source)
            kwargs.setdefault('SourceRegion', 'RegionOne')
            kwargs.setdefault('Name', 'the copy')
            self.error(code, 'CopyImage', **kwargs)
        status, answer = self.call_form('CopyImage', {
            'SourceImageId': self.source, 'Name': 'x-copy'})
        self.assertEqual('MissingParameter', answer['Error']['Code'])
        self.assertEqual(2, len(self.ok('DescribeImages')['Images']))
        self.assertEqual(2, len(db.snapshot_list(self.context())))
