"""CopySnapshot on the wire, with the fake volume driver."""

from ebsboot.db import api as db
from ebsboot.tests.unit.api import wire
from ebsboot.tests.unit import base


class CopySnapshotTest(wire.WireTestCase, base.ServiceTestCase):

    def setUp(self):
        super().setUp()
        volume = self.ok('CreateVolume', AvailabilityZone='nova', Size=2)
        self.wait_for(lambda: self.ok(
            'DescribeVolumes', VolumeIds=[volume['VolumeId']])[
            'Volumes'][0]['State'] == 'available')
        self.source = self.completed(self.ok(
            'CreateSnapshot', VolumeId=volume['VolumeId'],
            Description='the source')['SnapshotId'])

    def completed(self, snapshot_id, project='alpha'):
        self.wait_for(lambda: self.ok(
            'DescribeSnapshots', project=project, SnapshotIds=[snapshot_id])[
            'Snapshots'][0]['State'] == 'completed')
        return snapshot_id

    def copy(self, project='alpha', **kwargs):
        kwargs.setdefault('SourceSnapshotId', self.source)
        return self.ok('CopySnapshot', project=project,
                       SourceRegion='RegionOne', **kwargs)

    def test_copy_outlives_its_source(self):
        answer = self.copy(Description='a copy', TagSpecifications=[
            {'ResourceType': 'snapshot',
             'Tags': [{'Key': 'Name', 'Value': 'backup'}]}])
        self.assertEqual([{'Key': 'Name', 'Value': 'backup'}],
                         answer['Tags'])
        copy_id = self.completed(answer['SnapshotId'])
        self.assertNotEqual(self.source, copy_id)
        [copy] = self.ok('DescribeSnapshots',
                         SnapshotIds=[copy_id])['Snapshots']
        self.assertEqual(
            ('a copy', 2, 'alpha', 'vol-ffffffff', '100%',
             [{'Key': 'Name', 'Value': 'backup'}]),
            (copy['Description'], copy['VolumeSize'], copy['OwnerId'],
             copy['VolumeId'], copy['Progress'], copy['Tags']))
        source_row = db.snapshot_get_by_ec2_id(self.context(), self.source)
        copy_row = db.snapshot_get_by_ec2_id(self.context(), copy_id)
        self.assertEqual(self.volume_driver.snapshots[source_row.id]['data'],
                         self.volume_driver.snapshots[copy_row.id]['data'])
        self.ok('DeleteSnapshot', SnapshotId=self.source)
        self.wait_for(lambda: [copy_id] == [
            s['SnapshotId']
            for s in self.ok('DescribeSnapshots')['Snapshots']])
        self.assertNotIn(source_row.id, self.volume_driver.snapshots)
        volume = self.ok('CreateVolume', AvailabilityZone='nova',
                         SnapshotId=copy_id)
        self.wait_for(lambda: self.ok(
            'DescribeVolumes', VolumeIds=[volume['VolumeId']])[
            'Volumes'][0]['State'] == 'available')

    def test_default_description(self):
        copy_id = self.completed(self.copy()['SnapshotId'])
        [copy] = self.ok('DescribeSnapshots',
                         SnapshotIds=[copy_id])['Snapshots']
        self.assertEqual('[Copied %s from RegionOne]' % self.source,
                         copy['Description'])
        self.assertNotIn('Tags', self.copy())

    def test_copy_of_a_shared_snapshot_belongs_to_the_copier(self):
        self.error('InvalidSnapshot.NotFound', 'CopySnapshot',
                   project='beta', SourceRegion='RegionOne',
                   SourceSnapshotId=self.source)
        self.ok('ModifySnapshotAttribute', SnapshotId=self.source,
                Attribute='createVolumePermission', OperationType='add',
                UserIds=['beta'])
        copy_id = self.completed(self.copy(project='beta')['SnapshotId'],
                                 project='beta')
        [copy] = self.ok('DescribeSnapshots', project='beta',
                         OwnerIds=['self'])['Snapshots']
        self.assertEqual(('beta', copy_id), (copy['OwnerId'],
                                             copy['SnapshotId']))
        self.assertEqual([self.source], [
            s['SnapshotId'] for s in self.ok('DescribeSnapshots')[
                'Snapshots']])

    def test_bad_requests(self):
        for code, kwargs in [
                ('InvalidSnapshotID.Malformed',
                 {'SourceSnapshotId': 'vol-1'}),
                ('InvalidSnapshot.NotFound',
                 {'SourceSnapshotId': 'snap-0123456789abcdef0'}),
                ('UnsupportedOperation', {'SourceRegion': 'us-east-1'}),
                ('UnsupportedOperation', {'DestinationRegion': 'eu-west-1'}),
                ('UnsupportedOperation', {'Encrypted': True}),
                ('UnsupportedOperation', {'KmsKeyId': 'key'}),
                ('InvalidParameterValue',
                 {'CompletionDurationMinutes': 5}),
                ('InvalidParameterValue', {'Description': 'x' * 256}),
                ('InvalidParameterValue', {'TagSpecifications': [
                    {'ResourceType': 'volume',
                     'Tags': [{'Key': 'k', 'Value': 'v'}]}]})]:
            kwargs.setdefault('SourceSnapshotId', self.source)
            kwargs.setdefault('SourceRegion', 'RegionOne')
            self.error(code, 'CopySnapshot', **kwargs)
        status, answer = self.call_form('CopySnapshot',
                                        {'SourceSnapshotId': self.source})
        self.assertEqual('MissingParameter', answer['Error']['Code'])
        self.assertEqual(1, len(self.ok('DescribeSnapshots')['Snapshots']))

    def test_source_not_deleted_while_copied(self):
        row = db.snapshot_get_by_ec2_id(self.context(), self.source)
        db.snapshot_create(self.context(), {
            'id': 'copy-uuid', 'ec2_id': 'snap-0000000000000000c',
            'project_id': 'alpha', 'volume_ec2_id': 'vol-ffffffff',
            'volume_size': 2, 'status': 'pending', 'progress': 0,
            'source_snapshot_id': row.id})
        self.error('IncorrectState', 'DeleteSnapshot',
                   SnapshotId=self.source)
