"""ebsboot-manage snapshot import of a path someone keeps swapping.

Real qemu-img and the qcow2 driver: while the imports run, a thread renames
(rename(2), atomic) a clean qcow2 image and a qcow2 image whose backing file
is a host file over the imported path, again and again. No snapshot may
ever hold the host file's data.
"""

import io
import os
import shutil
import subprocess
import threading

import fixtures
import testtools

from ebsboot.cmd import manage
from ebsboot.conf import CONF
from ebsboot import context as ebs_context
from ebsboot.db import api as db
from ebsboot.tests.unit import base

HAVE_QEMU = bool(shutil.which('qemu-img') and shutil.which('qemu-io'))
IMPORTS = 120
MARKER = b'ebsboot race test: a host file that must stay on the host\n'


def _run(*cmd):
    subprocess.run(cmd, check=True, capture_output=True)


@testtools.skipUnless(HAVE_QEMU, 'qemu-img and qemu-io are not installed')
class SnapshotImportRaceTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.config.config(driver='qcow2', group='volume')
        self.snapshots_dir = CONF.qcow2.snapshots_dir
        self.useFixture(fixtures.MonkeyPatch('sys.stdout', io.StringIO()))
        incoming = os.path.join(self.state, 'incoming')
        os.mkdir(incoming)
        self.host_file = os.path.join(self.state, 'host-secret.raw')
        with open(self.host_file, 'wb') as f:
            f.write((MARKER * (2 ** 20 // len(MARKER) + 1))[:2 ** 20])
        self.clean = os.path.join(incoming, 'clean.qcow2')
        _run('qemu-img', 'create', '-q', '-f', 'qcow2', self.clean, '1M')
        _run('qemu-io', '-f', 'qcow2', '-c', 'write -P 0x5a 0 64k',
             self.clean)
        self.evil = os.path.join(incoming, 'evil.qcow2')
        _run('qemu-img', 'create', '-q', '-f', 'qcow2', '-b', self.host_file,
             '-F', 'raw', self.evil, '1M')
        self.path = os.path.join(incoming, 'image.qcow2')
        shutil.copyfile(self.clean, self.path)

    def _swap(self, stop):
        """Rename the clean and the evil image over the path, forever."""
        n = 0
        while not stop.is_set():
            for image in (self.clean, self.evil):
                n += 1
                tmp = '%s.%d' % (self.path, n)
                os.link(image, tmp)
                os.rename(tmp, self.path)

    def _raw_data(self, path):
        raw = os.path.join(self.state, 'check.raw')
        _run('qemu-img', 'convert', '-f', 'qcow2', '-O', 'raw', path, raw)
        with open(raw, 'rb') as f:
            return f.read()

    def test_swapped_path(self):
        stop = threading.Event()
        swapper = threading.Thread(target=self._swap, args=(stop,),
                                   daemon=True)
        swapper.start()
        imported, refusals = 0, []
        try:
            for _ in range(IMPORTS):
                try:
                    manage.SnapshotCommands().import_image(
                        self.path, 'alpha', None, 'json')
                    imported += 1
                except SystemExit as e:
                    refusals.append(str(e.code))
        finally:
            stop.set()
            swapper.join()

        # Both images were met: the race did happen.
        self.assertGreater(imported, 0)
        self.assertGreater(len(refusals), 0)
        # Every refusal is the clean one of the evil image, made before
        # anything was created.
        for refusal in refusals:
            self.assertIn('has a backing file (%s)' % self.host_file,
                          refusal)
        rows = db.snapshot_list(ebs_context.get_admin_context())
        self.assertEqual(imported, len(rows))
        self.assertEqual(['completed'] * imported, [r.status for r in rows])
        self.assertEqual(
            sorted(['snapshot-%s.qcow2' % r.id for r in rows] +
                   ['templates']),
            sorted(os.listdir(self.snapshots_dir)))
        self.assertEqual([], os.listdir(os.path.join(self.snapshots_dir,
                                                     'templates')))
        clean = self._raw_data(self.clean)
        for row in rows:
            data = self._raw_data(row.provider_location)
            self.assertNotIn(MARKER, data)
            self.assertEqual(clean, data)
