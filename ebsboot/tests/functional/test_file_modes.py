"""No other local user may read or change what ebsboot keeps.

A real deployment (the libvirt driver, a QEMU guest booted directly from
its kernel and ramdisk with a config drive, volumes, snapshots, an image)
is walked while the guest runs and after it stopped: every folder is
0700, or 0750 with QEMU's group where QEMU must reach files; every file is
0600 (0640 at most). The secret keys are not in the database nor the log.
"""

import grp
import json
import os
import sqlite3
import stat

from ebsboot.tests.functional import base
from ebsboot.tests.functional import test_qemu

# What the test harness itself writes into the state path.
HARNESS_FILES = ('ebsboot.conf', 'ebsboot-all-in-one.out')


class FileModesTest(base.FunctionalTestCase, test_qemu.QemuTestMixin):

    def setUp(self):
        super().setUp()
        files = self.start_cloud(
            extra_conf='[DEFAULT]\ndebug = true\n')
        self.kernel_id, self.ramdisk_id = (
            self.import_boot_file(what, path)
            for what, path in (('kernel', files.kernel),
                               ('ramdisk', files.initrd)))
        self.image_id = self.register_demo_guest(
            'demo-guest-kernel', KernelId=self.kernel_id,
            RamdiskId=self.ramdisk_id)

    def import_boot_file(self, what, path):
        return json.loads(self.cloud.manage(
            'image', 'import-' + what, path, '--project', 'alpha',
            '--format', 'json'))['image_id']

    def walk(self):
        """``{path: stat}`` of everything in the state path."""
        found = {self.cloud.state: os.lstat(self.cloud.state)}
        for folder, dirs, files in os.walk(self.cloud.state):
            for name in dirs + files:
                path = os.path.join(folder, name)
                if folder == self.cloud.state and name in HARNESS_FILES:
                    continue
                found[path] = os.lstat(path)
        return found

    def assert_private(self, found):
        qemu_gid = grp.getgrnam('libvirt-qemu').gr_gid
        wrong = []
        for path, st in sorted(found.items()):
            mode = stat.S_IMODE(st.st_mode)
            if stat.S_ISDIR(st.st_mode):
                ok = mode == 0o700 or (mode == 0o750 and
                                       st.st_gid == qemu_gid)
            else:
                ok = stat.S_ISREG(st.st_mode) and mode in (0o600, 0o640)
            if not ok:
                wrong.append('%s %o %d:%d' % (path, mode, st.st_uid,
                                              st.st_gid))
        self.assertEqual([], wrong)

    def test_nothing_is_readable_by_other_users(self):
        ec2 = self.ec2
        state = self.cloud.state
        volume = ec2.create_volume(Size=1, AvailabilityZone='nova')
        self.wait_volume(ec2, volume['VolumeId'])
        snapshot = ec2.create_snapshot(VolumeId=volume['VolumeId'])
        self.wait_snapshot(ec2, snapshot['SnapshotId'])
        clone = ec2.create_volume(SnapshotId=snapshot['SnapshotId'],
                                  AvailabilityZone='nova')
        self.wait_volume(ec2, clone['VolumeId'])

        instance_id = self.run_one(UserData='aGVsbG8=')
        self.wait_state(ec2, instance_id, 'running', timeout=60)
        self.wait_console(instance_id, 'boot-count=1')
        running = self.walk()
        kinds = {os.path.relpath(p, state).split(os.sep)[0]
                 for p in running}
        self.assertLessEqual({'volumes', 'snapshots', 'kernels', 'images',
                              'instances', 'consoles', 'ebsboot.sqlite',
                              'ebsboot.sqlite-wal', 'credential.key',
                              'ebsboot.log'}, kinds)
        self.assertTrue([p for p in running
                         if p.endswith('config-drive.iso')])
        self.assertTrue([p for p in running if '/templates/' in p])
        self.assert_private(running)
        for name in ('credential.key', 'ebsboot.sqlite',
                     'ebsboot.sqlite-wal', 'ebsboot.sqlite-shm'):
            self.assertEqual(0o600, stat.S_IMODE(
                running[os.path.join(state, name)].st_mode), name)

        ec2.stop_instances(InstanceIds=[instance_id])
        self.wait_state(ec2, instance_id, 'stopped', timeout=90)
        self.assert_private(self.walk())

        secrets = [c['secret_key'] for c in self.cloud.credentials.values()]
        db = sqlite3.connect(os.path.join(state, 'ebsboot.sqlite'))
        try:
            stored = [r[0] for r in db.execute(
                'SELECT secret_key FROM credentials')]
        finally:
            db.close()
        self.assertEqual(2, len(stored))
        self.assertEqual([], [s for s in secrets if s in stored])
        log = self.cloud.log(tail=None)
        self.assertIn('DEBUG', log)
        self.assertEqual([], [s for s in secrets if s in log])

        ec2.terminate_instances(InstanceIds=[instance_id])
        self.wait_state(ec2, instance_id, 'terminated', timeout=90)
