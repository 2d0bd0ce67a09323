"""A compute host's copies of kernels and ramdisks, and atomic files."""

import grp
import os
import stat
import uuid

import fixtures
from oslo_config import fixture as config_fixture
import testtools

from ebsboot.conf import CONF
from ebsboot.image import cache
from ebsboot.image import files


class FakeBackend:

    def __init__(self, images):
        self.images = images
        self.downloads = []

    def download(self, context, image_id, path):
        self.downloads.append((context, image_id))
        if image_id not in self.images:
            raise LookupError(image_id)
        data = self.images[image_id]
        if isinstance(data, Exception):
            with open(path, 'wb') as f:
                f.write(b'half')
            raise data
        with open(path, 'wb') as f:
            f.write(data)


class BootFileCacheTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.path = os.path.join(self.dir, 'kernels')
        self.kernel_id = str(uuid.uuid4())
        self.backend = FakeBackend({self.kernel_id: b'kernel bytes'})
        self.cache = cache.BootFileCache(self.path, lambda: self.backend)

    def _entries(self):
        return sorted(os.listdir(self.path)) if os.path.exists(
            self.path) else []

    def test_downloads_once_where_qemu_may_reach_it(self):
        gid = os.getgid()
        self.useFixture(config_fixture.Config(CONF)).config(
            qemu_group=grp.getgrgid(gid).gr_name)
        path = self.cache.fetch('ctxt', self.kernel_id)
        self.assertEqual(os.path.join(self.path, self.kernel_id), path)
        with open(path, 'rb') as f:
            self.assertEqual(b'kernel bytes', f.read())
        # libvirt hands the file to QEMU; QEMU's group traverses the folder.
        self.assertEqual(0o600, stat.S_IMODE(os.stat(path).st_mode))
        self.assertEqual((0o750, gid), (stat.S_IMODE(
            os.stat(self.path).st_mode), os.stat(self.path).st_gid))
        self.assertEqual(path, self.cache.fetch('ctxt', self.kernel_id))
        self.assertEqual([('ctxt', self.kernel_id)], self.backend.downloads)
        self.assertEqual([self.kernel_id], self._entries())

    def test_failed_download_leaves_nothing(self):
        broken = str(uuid.uuid4())
        self.backend.images[broken] = IOError('connection lost')
        self.assertRaises(IOError, self.cache.fetch, 'ctxt', broken)
        self.assertEqual([], self._entries())
        missing = str(uuid.uuid4())
        self.assertRaises(LookupError, self.cache.fetch, 'ctxt', missing)
        self.assertEqual([], self._entries())
        # The next try downloads again.
        self.backend.images[broken] = b'fixed'
        self.assertEqual(os.path.join(self.path, broken),
                         self.cache.fetch('ctxt', broken))

    def test_only_image_uuids_name_files(self):
        for bogus in ('../etc/passwd', '', None, 'x' * 36):
            self.assertRaises(ValueError, self.cache.fetch, 'ctxt', bogus)
        self.assertEqual([], self.backend.downloads)


class AtomicFileTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.target = os.path.join(self.dir, 'data')

    def test_whole_or_nothing(self):
        files.remove(self.target)
        with files.atomic_file(self.target) as tmp:
            self.assertNotEqual(self.target, tmp)
            self.assertEqual(self.dir, os.path.dirname(tmp))
            self.assertEqual(os.path.getsize(__file__),
                             files.copy(__file__, tmp))
            self.assertFalse(os.path.exists(self.target))
        with open(__file__, 'rb') as f, open(self.target, 'rb') as g:
            self.assertEqual(f.read(), g.read())
        self.assertEqual(0o600,
                         stat.S_IMODE(os.stat(self.target).st_mode))

        def fail():
            with files.atomic_file(self.target) as tmp:
                with open(tmp, 'wb') as f:
                    f.write(b'partial')
                raise KeyboardInterrupt()

        self.assertRaises(KeyboardInterrupt, fail)
        self.assertEqual(['data'], os.listdir(self.dir))
        with open(__file__, 'rb') as f, open(self.target, 'rb') as g:
            self.assertEqual(f.read(), g.read())
        files.remove(self.target)
        files.remove(self.target)
        self.assertEqual([], os.listdir(self.dir))
