"""ebsboot-manage snapshot import, then the snapshot through the EC2 API."""

import glob
import json
import os
import subprocess

from ebsboot.tests.functional import base

MiB = 1024 ** 2


class SnapshotImportTest(base.FunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.cloud = self.useFixture(base.Cloud())
        self.ec2 = self.cloud.client()

    def _raw_image(self, name='disk.raw'):
        """A 3 MiB raw image with a recognisable pattern in each MiB."""
        path = os.path.join(self.cloud.state, name)
        with open(path, 'wb') as f:
            for mib in range(3):
                block = ('ebsboot import test, MiB %d\n' % mib).encode()
                f.write((block * (MiB // len(block) + 1))[:MiB])
        return path

    def _manage(self, *args):
        return subprocess.run(
            [os.path.join(base.BIN, 'ebsboot-manage'), '--config-file',
             self.cloud.conf] + list(args),
            capture_output=True, text=True, timeout=120)

    def _volume_files(self):
        return glob.glob(os.path.join(self.cloud.state, 'volumes',
                                      '*.qcow2'))

    def test_import_register_and_create_volume(self):
        image = self._raw_image()
        out = self.cloud.manage('snapshot', 'import', image, '--project',
                                'alpha', '--format', 'json')
        snapshot_id = json.loads(out)['snapshot_id']
        self.assertRegex(snapshot_id, r'^snap-[0-9a-f]{17}$')

        [snapshot] = self.ec2.describe_snapshots(
            SnapshotIds=[snapshot_id])['Snapshots']
        self.assertEqual(
            ('completed', '100%', 1, 'vol-ffffffff', 'alpha',
             'Imported from disk.raw'),
            (snapshot['State'], snapshot['Progress'], snapshot['VolumeSize'],
             snapshot['VolumeId'], snapshot['OwnerId'],
             snapshot['Description']))
        # Owned by the project it was imported for, and by no other.
        self.assertEqual([], self.cloud.client('beta').describe_snapshots()[
            'Snapshots'])

        image_id = self.ec2.register_image(
            Name='imported', RootDeviceName='/dev/sda1',
            BlockDeviceMappings=[{'DeviceName': '/dev/sda1',
                                  'Ebs': {'SnapshotId': snapshot_id}}],
        )['ImageId']
        [ami] = self.ec2.describe_images(ImageIds=[image_id])['Images']
        self.assertEqual('available', ami['State'])
        self.assertEqual('ebs', ami['RootDeviceType'])
        [root] = ami['BlockDeviceMappings']
        self.assertEqual((snapshot_id, 1),
                         (root['Ebs']['SnapshotId'],
                          root['Ebs']['VolumeSize']))

        volume = self.ec2.create_volume(AvailabilityZone='nova',
                                        SnapshotId=snapshot_id)
        volume = self.wait_volume(self.ec2, volume['VolumeId'])
        self.assertEqual((1, snapshot_id),
                         (volume['Size'], volume['SnapshotId']))
        [path] = self._volume_files()
        # The volume reads the image's bytes, then zeros up to 1 GiB.
        compare = subprocess.run(
            ['qemu-img', 'compare', '-U', '-f', 'raw', '-F', 'qcow2',
             image, path], capture_output=True, text=True)
        self.assertEqual(0, compare.returncode,
                         compare.stdout + compare.stderr)
        info = json.loads(subprocess.run(
            ['qemu-img', 'info', '--output=json', '-U', path],
            check=True, capture_output=True, text=True).stdout)
        self.assertEqual(1024 ** 3, info['virtual-size'])
        self.assertNotIn('Traceback', self.cloud.log())

    def test_import_qcow2_and_refusals(self):
        raw = self._raw_image()
        qcow2 = os.path.join(self.cloud.state, 'disk.qcow2')
        subprocess.run(['qemu-img', 'convert', '-f', 'raw', '-O', 'qcow2',
                        raw, qcow2], check=True)
        out = self.cloud.manage('snapshot', 'import', qcow2, '--project',
                                'alpha', '--description', 'from qcow2')
        self.assertEqual('snapshot_id', out.split()[0])
        snapshot = self.wait_snapshot(self.ec2, out.split()[1])
        self.assertEqual(('from qcow2', 1),
                         (snapshot['Description'], snapshot['VolumeSize']))

        overlay = os.path.join(self.cloud.state, 'overlay.qcow2')
        subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', '-b',
                        raw, '-F', 'raw', overlay], check=True)
        vmdk = os.path.join(self.cloud.state, 'disk.vmdk')
        subprocess.run(['qemu-img', 'create', '-q', '-f', 'vmdk', vmdk,
                        '1M'], check=True)
        link = os.path.join(self.cloud.state, 'link.qcow2')
        os.symlink(qcow2, link)
        fifo = os.path.join(self.cloud.state, 'fifo.raw')
        os.mkfifo(fifo)
        for path, reason in [(overlay, 'has a backing file'),
                             (vmdk, 'has format vmdk'),
                             (link, 'is a symbolic link'),
                             (fifo, 'is not a file or a block device')]:
            result = self._manage('snapshot', 'import', path, '--project',
                                  'alpha')
            self.assertEqual(1, result.returncode)
            self.assertIn(reason, result.stderr)
            self.assertEqual('', result.stdout)
        self.assertEqual([snapshot['SnapshotId']],
                         [s['SnapshotId'] for s in
                          self.ec2.describe_snapshots()['Snapshots']])
