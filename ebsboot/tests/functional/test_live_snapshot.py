"""Snapshots of a running guest that keeps writing are point-in-time.

The writer guest (``writer_guest``) rewrites sectors of its volumes in a
fixed order, each write flushed before the next, so only some combinations
of their numbers ever exist at one instant. Every snapshot taken while it
writes must hold one of them: the test reads each snapshot file, and boots
one CreateImage NoReboot image, whose guest checks its own disks.
"""

import json
import os

from ebsboot.tests.functional import base
from ebsboot.tests.functional import test_qemu
from ebsboot.tests.functional import writer_guest

ROUNDS = 6


class LiveSnapshotTest(base.FunctionalTestCase, test_qemu.QemuTestMixin):

    def setUp(self):
        super().setUp()
        files = self.start_cloud()
        work = self.useFixture(test_qemu.fixtures.TempDir()).path
        initrd = os.path.join(work, 'writer.initrd')
        writer_guest.build_initrd(files.initrd, initrd)
        blank = os.path.join(work, 'blank.raw')
        writer_guest.blank_disk(blank)
        imported = {}
        for what, path in (('kernel', files.kernel), ('ramdisk', initrd)):
            imported[what] = json.loads(self.cloud.manage(
                'image', 'import-' + what, path, '--project', 'alpha',
                '--format', 'json'))['image_id']
        self.blank_snapshot = json.loads(self.cloud.manage(
            'snapshot', 'import', blank, '--project', 'alpha',
            '--format', 'json'))['snapshot_id']
        self.work = work
        self.image_id = self.ec2.register_image(
            Name='writer', RootDeviceName='/dev/vda',
            KernelId=imported['kernel'], RamdiskId=imported['ramdisk'],
            BlockDeviceMappings=[
                {'DeviceName': dev, 'Ebs': {'SnapshotId':
                                            self.blank_snapshot}}
                for dev in ('/dev/vda', '/dev/vdb')])['ImageId']

    def _snapshot_numbers(self, snapshot_ids):
        """The writer's numbers in snapshots (in device order)."""
        raws = {}
        for dev, snapshot_id in snapshot_ids:
            [uuid] = self._uuids('SELECT id FROM snapshots WHERE ec2_id = ?',
                                 snapshot_id)
            path = os.path.join(self.cloud.state, 'snapshots',
                                'snapshot-%s.qcow2' % uuid)
            raws[dev] = writer_guest.qemu_img_raw(
                path, os.path.join(self.work, '%s.raw' % snapshot_id))
        numbers = writer_guest.sequence_numbers(raws)
        for path in raws.values():
            os.unlink(path)
        return numbers

    def _assert_bounded(self, instance_id):
        """The guest runs on its volume files again; no overlay is left."""
        volumes = os.path.join(self.cloud.state, 'volumes')
        for disk in self.domain_xml(instance_id).iter('disk'):
            source = disk.find('source')
            alias = disk.find('alias')
            # The volumes only (alias ua-<volume id>), not the config drive.
            if source is None or alias is None or \
                    not alias.get('name').startswith('ua-'):
                continue
            self.assertEqual(volumes, os.path.dirname(source.get('file')))
            # Below it only the snapshot it was made from.
            chain = [s.get('file') for s in disk.iter('source')]
            self.assertEqual(
                [os.path.join(self.cloud.state, 'snapshots')],
                [os.path.dirname(path) for path in chain[1:]])
        overlays = os.path.join(volumes, 'overlays')
        self.assertEqual([], os.listdir(overlays)
                         if os.path.isdir(overlays) else [])

    def _writing_guest(self):
        instance_id = self.run_one()
        self.wait_console(instance_id, 'writer ready')
        return instance_id

    def test_create_snapshot_of_a_writing_guest_is_point_in_time(self):
        ec2 = self.ec2
        instance_id = self._writing_guest()
        root = [v for v in ec2.describe_volumes()['Volumes']
                if v['Attachments'][0]['Device'] == '/dev/vda'][0]
        seen = []
        for _round in range(ROUNDS):
            snapshot = ec2.create_snapshot(VolumeId=root['VolumeId'])
            self.assertEqual('pending', snapshot['State'])
            self.wait_snapshot(ec2, snapshot['SnapshotId'])
            numbers = self._snapshot_numbers(
                [('vda', snapshot['SnapshotId'])])
            self.assertTrue(writer_guest.consistent(numbers),
                            'torn snapshot: %s' % numbers)
            seen.append(numbers[0])
            self._assert_bounded(instance_id)
        # The guest wrote between the snapshots, and no snapshot went back.
        self.assertEqual(sorted(seen), seen)
        self.assertGreater(seen[-1], seen[0])
        log = self.cloud.log(tail=None)
        self.assertEqual(ROUNDS, log.count('switched vda to overlays'))
        self.assertEqual(ROUNDS, log.count('merged the overlay of vda back'))
        ec2.terminate_instances(InstanceIds=[instance_id])
        self.wait_state(ec2, instance_id, 'terminated', timeout=90)
        self.assertNotIn('Traceback', self.cloud.log(tail=None))

    def test_create_image_no_reboot_of_a_writing_guest(self):
        # Both volumes at one instant; no pause, no reboot.
        ec2 = self.ec2
        instance_id = self._writing_guest()
        images = []
        for _round in range(3):
            images.append(ec2.create_image(
                InstanceId=instance_id, NoReboot=True,
                Name='writer-%d' % _round)['ImageId'])
            base.wait_for(lambda: ec2.describe_images(ImageIds=[images[-1]])[
                'Images'][0]['State'] == 'available', timeout=180,
                interval=1, what='image available')
            mappings = {m['DeviceName']: m['Ebs']['SnapshotId']
                        for m in ec2.describe_images(ImageIds=[images[-1]])[
                            'Images'][0]['BlockDeviceMappings']}
            numbers = self._snapshot_numbers(
                [('vda', mappings['/dev/vda']), ('vdb', mappings['/dev/vdb'])])
            self.assertEqual(3, len(numbers))
            self.assertTrue(writer_guest.consistent(numbers),
                            'torn image: %s' % numbers)
            self._assert_bounded(instance_id)
        # CreateSnapshots takes the same path: one switch of both disks.
        made = ec2.create_snapshots(
            InstanceSpecification={'InstanceId': instance_id})['Snapshots']
        for snapshot in made:
            self.wait_snapshot(ec2, snapshot['SnapshotId'])
        numbers = self._snapshot_numbers(
            [('vda', made[0]['SnapshotId']), ('vdb', made[1]['SnapshotId'])])
        self.assertTrue(writer_guest.consistent(numbers),
                        'torn CreateSnapshots: %s' % numbers)
        self._assert_bounded(instance_id)
        log = self.cloud.log(tail=None)
        self.assertEqual(4, log.count('switched vda, vdb to overlays'))
        self.assertEqual(1, self.console(ec2, instance_id).count(
            'writer ready'))

        # A guest booted from the last image finds its disks consistent.
        child = self.run_one(images[-1])
        self.wait_console(child, 'writer ready')
        console = self.console(ec2, child)
        self.assertIn('writer-check ok', console)
        ec2.terminate_instances(InstanceIds=[instance_id, child])
        self.wait_state(ec2, child, 'terminated', timeout=90)
        self.wait_state(ec2, instance_id, 'terminated', timeout=90)
        self.assertNotIn('Traceback', self.cloud.log(tail=None))
