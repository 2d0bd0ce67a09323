"""CopyImage and CreateSnapshots through a running all-in-one.

Real qcow2 volumes and snapshots; the fake compute driver (no guest is
needed: a stopped or fake-running instance's volumes are files either
way). Device names given short come back short.
"""

import glob
import json
import os
import subprocess

from ebsboot.tests.functional import base


class ImageCopiesTest(base.FunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.cloud = self.useFixture(base.Cloud())
        self.ec2 = self.cloud.client()

    def _snapshot(self, size=1):
        volume = self.ec2.create_volume(AvailabilityZone='nova', Size=size)
        self.wait_volume(self.ec2, volume['VolumeId'])
        snapshot = self.ec2.create_snapshot(VolumeId=volume['VolumeId'])
        self.wait_snapshot(self.ec2, snapshot['SnapshotId'])
        return snapshot['SnapshotId']

    def _image(self, image_id, state=None):
        def find():
            [image] = self.ec2.describe_images(ImageIds=[image_id])['Images']
            return image if state in (None, image['State']) else None
        return base.wait_for(find, what='%s %s' % (image_id, state))

    def _backing_files(self):
        files = {}
        for path in glob.glob(os.path.join(self.cloud.state, 'snapshots',
                                           '*.qcow2')):
            info = json.loads(subprocess.run(
                ['qemu-img', 'info', '--output=json', '-U', path],
                check=True, capture_output=True, text=True).stdout)
            files[path] = info.get('backing-filename')
        return files

    def test_copy_image_with_boto3_and_the_cli(self):
        root, data = self._snapshot(), self._snapshot(2)
        source_id = self.ec2.register_image(
            Name='source', RootDeviceName='sda1', BlockDeviceMappings=[
                {'DeviceName': 'sda1', 'Ebs': {'SnapshotId': root}},
                {'DeviceName': '/dev/sdb', 'Ebs': {'SnapshotId': data}}],
            TagSpecifications=[{'ResourceType': 'image', 'Tags': [
                {'Key': 'team', 'Value': 'web'}]}])['ImageId']
        source = self._image(source_id)
        self.assertEqual(('sda1', ['sda1', '/dev/sdb']), (
            source['RootDeviceName'],
            [m['DeviceName'] for m in source['BlockDeviceMappings']]))

        copy_id = self.ec2.copy_image(
            SourceRegion='RegionOne', SourceImageId=source_id, Name='copy',
            Description='a copy', CopyImageTags=True, TagSpecifications=[
                {'ResourceType': 'snapshot',
                 'Tags': [{'Key': 'backup', 'Value': 'yes'}]}])['ImageId']
        copy = self._image(copy_id, 'available')
        self.assertEqual(
            ('copy', 'a copy', 'sda1', [{'Key': 'team', 'Value': 'web'}]),
            (copy['Name'], copy['Description'], copy['RootDeviceName'],
             copy['Tags']))
        copies = [m['Ebs']['SnapshotId']
                  for m in copy['BlockDeviceMappings']]
        self.assertEqual([], sorted(set(copies) & {root, data}))
        described = self.ec2.describe_snapshots(SnapshotIds=copies)[
            'Snapshots']
        self.assertEqual(
            [('completed', [{'Key': 'backup', 'Value': 'yes'}])] * 2,
            [(s['State'], s['Tags']) for s in described])
        self.assertEqual([1, 2], sorted(s['VolumeSize'] for s in described))
        # Copies are whole files: four snapshot files, none backed.
        files = self._backing_files()
        self.assertEqual([None] * 4, list(files.values()))

        # The AWS CLI, with a client token: the same answer twice.
        args = ('copy-image', '--source-region', 'RegionOne',
                '--source-image-id', copy_id, '--name', 'cli-copy',
                '--client-token', 'cli-token-1')
        _, first = self.cloud.aws(*args)
        _, again = self.cloud.aws(*args)
        self.assertEqual(first['ImageId'], again['ImageId'])
        self._image(first['ImageId'], 'available')
        _, listed = self.cloud.aws('describe-images', '--image-ids',
                                   first['ImageId'])
        self.assertEqual(('cli-copy', 'available'), (
            listed['Images'][0]['Name'], listed['Images'][0]['State']))
        code, error = self.cloud.aws(
            'copy-image', '--source-region', 'us-east-1',
            '--source-image-id', source_id, '--name', 'x-copy',
            check=False)
        self.assertNotEqual(0, code)
        self.assertIn('UnsupportedOperation', error)

        # The source goes; its copies stay usable.
        self.ec2.deregister_image(ImageId=source_id,
                                  DeleteAssociatedSnapshots=True)
        volume = self.ec2.create_volume(AvailabilityZone='nova',
                                        SnapshotId=copies[1])
        self.assertEqual(2, self.wait_volume(
            self.ec2, volume['VolumeId'])['Size'])

    def test_create_snapshots_with_boto3_and_the_cli(self):
        image_id = self.ec2.register_image(
            Name='boot', RootDeviceName='/dev/sda1', BlockDeviceMappings=[
                {'DeviceName': '/dev/sda1',
                 'Ebs': {'SnapshotId': self._snapshot()}}])['ImageId']
        instance_id = self.ec2.run_instances(
            ImageId=image_id, MinCount=1, MaxCount=1, BlockDeviceMappings=[
                {'DeviceName': 'sdb', 'Ebs': {'VolumeSize': 1}}],
            TagSpecifications=[{'ResourceType': 'volume', 'Tags': [
                {'Key': 'app', 'Value': 'db'}]}])['Instances'][0][
            'InstanceId']
        base.wait_for(lambda: self.ec2.describe_instances(
            InstanceIds=[instance_id])['Reservations'][0]['Instances'][0][
            'State']['Name'] == 'running', what='running')
        instance = self.ec2.describe_instances(InstanceIds=[instance_id])[
            'Reservations'][0]['Instances'][0]
        volumes = {m['DeviceName']: m['Ebs']['VolumeId']
                   for m in instance['BlockDeviceMappings']}
        self.assertEqual(['/dev/sda1', 'sdb'], sorted(volumes))

        made = self.ec2.create_snapshots(
            InstanceSpecification={'InstanceId': instance_id},
            Description='both', CopyTagsFromSource='volume')['Snapshots']
        self.assertEqual(
            [(volumes['/dev/sda1'], 'both', [{'Key': 'app', 'Value': 'db'}]),
             (volumes['sdb'], 'both', [{'Key': 'app', 'Value': 'db'}])],
            [(s['VolumeId'], s['Description'], s['Tags']) for s in made])
        for snapshot in made:
            self.wait_snapshot(self.ec2, snapshot['SnapshotId'])

        _, answer = self.cloud.aws(
            'create-snapshots', '--instance-specification',
            'InstanceId=%s,ExcludeBootVolume=true' % instance_id,
            '--tag-specifications',
            'ResourceType=snapshot,Tags=[{Key=Name,Value=data}]')
        [snapshot] = answer['Snapshots']
        self.assertEqual((volumes['sdb'], [{'Key': 'Name', 'Value': 'data'}]),
                         (snapshot['VolumeId'], snapshot['Tags']))
        self.wait_snapshot(self.ec2, snapshot['SnapshotId'])
        code, error = self.cloud.aws(
            'create-snapshots', '--instance-specification',
            'InstanceId=%s,ExcludeDataVolumeIds=%s' % (
                instance_id, volumes['/dev/sda1']), check=False)
        self.assertNotEqual(0, code)
        self.assertIn('InvalidParameterValue', error)
        self.assertEqual(3, len(self.ec2.describe_snapshots(
            Filters=[{'Name': 'volume-id',
                      'Values': list(volumes.values())}])['Snapshots']))
