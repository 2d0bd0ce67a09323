"""Sharing and copying snapshots through a running all-in-one."""

import glob
import json
import os
import subprocess

from ebsboot.tests.functional import base


class SnapshotSharingAndCopyTest(base.FunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.cloud = self.useFixture(base.Cloud())
        self.alpha = self.cloud.client()
        self.beta = self.cloud.client('beta')

    def _snapshot(self):
        volume = self.alpha.create_volume(AvailabilityZone='nova', Size=1)
        self.wait_volume(self.alpha, volume['VolumeId'])
        snapshot = self.alpha.create_snapshot(VolumeId=volume['VolumeId'])
        self.wait_snapshot(self.alpha, snapshot['SnapshotId'])
        return snapshot['SnapshotId']

    def _snapshot_files(self):
        """``{path: backing file or None}`` of the snapshot files."""
        files = {}
        for path in glob.glob(os.path.join(self.cloud.state, 'snapshots',
                                           '*.qcow2')):
            result = subprocess.run(
                ['qemu-img', 'info', '--output=json', '-U', path],
                capture_output=True, text=True)
            if result.returncode and not os.path.exists(path):
                continue    # removed meanwhile
            self.assertEqual(0, result.returncode, result.stderr)
            files[path] = json.loads(result.stdout).get('backing-filename')
        return files

    def test_share_copy_and_delete_the_source(self):
        snapshot_id = self._snapshot()
        self.assertEqual([], self.beta.describe_snapshots()['Snapshots'])
        self.assertEC2Error('InvalidSnapshot.NotFound',
                            self.beta.create_volume,
                            AvailabilityZone='nova', SnapshotId=snapshot_id)

        # Shared with beta by the AWS CLI.
        self.cloud.aws('modify-snapshot-attribute', '--snapshot-id',
                       snapshot_id, '--attribute', 'createVolumePermission',
                       '--operation-type', 'add', '--user-ids', 'beta')
        _, attribute = self.cloud.aws(
            'describe-snapshot-attribute', '--snapshot-id', snapshot_id,
            '--attribute', 'createVolumePermission')
        self.assertEqual([{'UserId': 'beta'}],
                         attribute['CreateVolumePermissions'])
        self.assertEqual([snapshot_id], [
            s['SnapshotId'] for s in self.beta.describe_snapshots(
                RestorableByUserIds=['self'])['Snapshots']])
        volume = self.beta.create_volume(AvailabilityZone='nova',
                                         SnapshotId=snapshot_id)
        self.wait_volume(self.beta, volume['VolumeId'])
        self.assertEC2Error('AuthFailure', self.beta.modify_snapshot_attribute,
                            SnapshotId=snapshot_id,
                            Attribute='createVolumePermission',
                            OperationType='add', UserIds=['gamma'])

        # Beta copies it: its own snapshot, a file without backing file.
        copy = self.beta.copy_snapshot(
            SourceRegion='RegionOne', SourceSnapshotId=snapshot_id,
            Description='beta copy', TagSpecifications=[
                {'ResourceType': 'snapshot',
                 'Tags': [{'Key': 'Name', 'Value': 'kept'}]}])
        self.assertEqual([{'Key': 'Name', 'Value': 'kept'}], copy['Tags'])
        done = self.wait_snapshot(self.beta, copy['SnapshotId'])
        self.assertEqual(('beta', 'beta copy', 1),
                         (done['OwnerId'], done['Description'],
                          done['VolumeSize']))
        files = self._snapshot_files()
        self.assertEqual([None, None], list(files.values()))

        # The source goes; the copy stays and restores.
        self.alpha.modify_snapshot_attribute(
            SnapshotId=snapshot_id, Attribute='createVolumePermission',
            OperationType='remove', UserIds=['beta'])
        self.assertEqual([copy['SnapshotId']], [
            s['SnapshotId'] for s in self.beta.describe_snapshots()[
                'Snapshots']])
        self.alpha.delete_snapshot(SnapshotId=snapshot_id)
        base.wait_for(lambda: not self.alpha.describe_snapshots()[
            'Snapshots'], what='source deleted')
        # Beta's first volume, an overlay of the source, keeps its file.
        self.assertEqual(2, len(self._snapshot_files()))
        self.beta.delete_volume(VolumeId=volume['VolumeId'])
        base.wait_for(lambda: len(self._snapshot_files()) == 1,
                      what='source file removed')
        restored = self.beta.create_volume(AvailabilityZone='nova',
                                           SnapshotId=copy['SnapshotId'])
        self.wait_volume(self.beta, restored['VolumeId'])
        self.assertNotIn('Traceback', self.cloud.log())
