"""Telling kernels and ramdisks apart before an import."""

import os
import struct

import fixtures
import testtools

from ebsboot.image import bootfiles
from ebsboot.tests.unit.image import fakes


class BootFilesTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path

    def _file(self, data, name='file'):
        return fakes.write(os.path.join(self.dir, name), data)

    def _inspect(self, kind, path, *args):
        with bootfiles.open_boot_file(path) as source:
            return bootfiles.inspect(kind, source, *args)

    def test_kernel_architectures(self):
        for architecture in ('x86_64', 'i386', 'arm64'):
            self.assertEqual(architecture, bootfiles.kernel_architecture(
                fakes.kernel(architecture)))
        # Boot protocol 2.04 has no xloadflags: a 32-bit kernel.
        old = bytearray(fakes.kernel('x86_64'))
        struct.pack_into('<H', old, 0x206, 0x0204)
        self.assertEqual('i386', bootfiles.kernel_architecture(bytes(old)))
        for other in (b'', b'\0' * 4096, fakes.ramdisk(),
                      b'HdrS' + b'\0' * 600):
            self.assertIsNone(bootfiles.kernel_architecture(other))

    def test_inspect_kernel(self):
        path = self._file(fakes.kernel('x86_64'))
        self.assertEqual('x86_64', self._inspect(bootfiles.KERNEL, path))
        self.assertEqual('x86_64', self._inspect(bootfiles.KERNEL, path,
                                                 'x86_64'))
        e = self.assertRaises(bootfiles.InvalidBootFile, self._inspect,
                              bootfiles.KERNEL, path, 'arm64')
        self.assertIn('is a x86_64 kernel, not arm64', str(e))

    def test_unknown_kernel_needs_its_architecture(self):
        path = self._file(b'\x1f\x8b compressed arm64 kernel')
        e = self.assertRaises(bootfiles.InvalidBootFile, self._inspect,
                              bootfiles.KERNEL, path)
        self.assertIn('is not a Linux kernel', str(e))
        self.assertEqual('arm64', self._inspect(bootfiles.KERNEL, path,
                                                'arm64'))

    def test_inspect_ramdisk(self):
        path = self._file(fakes.ramdisk())
        self.assertEqual('x86_64', self._inspect(bootfiles.RAMDISK, path))
        self.assertEqual('arm64', self._inspect(bootfiles.RAMDISK, path,
                                                'arm64'))
        swapped = self._file(fakes.kernel(), 'vmlinuz')
        e = self.assertRaises(bootfiles.InvalidBootFile, self._inspect,
                              bootfiles.RAMDISK, swapped)
        self.assertIn('is a Linux kernel, not a ramdisk', str(e))

    def test_not_a_file_with_data(self):
        fifo = os.path.join(self.dir, 'fifo')
        os.mkfifo(fifo)
        link = os.path.join(self.dir, 'link')
        os.symlink(self._file(fakes.kernel(), 'vmlinuz'), link)
        for kind in (bootfiles.KERNEL, bootfiles.RAMDISK):
            for path, reason in [
                    (self._file(b'', 'empty'), 'not a regular file with'),
                    (os.path.join(self.dir, 'missing'), 'No such file'),
                    (self.dir, 'is not a regular file'),
                    (fifo, 'is not a regular file'),
                    ('/dev/zero', 'is not a regular file'),
                    (link, 'is a symbolic link')]:
                e = self.assertRaises(bootfiles.InvalidBootFile,
                                      self._inspect, kind, path, 'x86_64')
                self.assertIn(reason, str(e))
