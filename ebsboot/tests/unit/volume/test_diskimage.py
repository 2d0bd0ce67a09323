"""Tests of the checks on disk image files imported as snapshots."""

import os
import shutil
import struct
from unittest import mock

import fixtures
from oslo_concurrency import processutils
from oslo_utils import units
import testtools

from ebsboot import exception
from ebsboot import importfile
from ebsboot.volume import diskimage

HAVE_QEMU_IMG = bool(shutil.which('qemu-img'))


class SizeTestCase(testtools.TestCase):

    def test_size_in_gib(self):
        self.assertEqual(1, diskimage.size_in_gib(1))
        self.assertEqual(1, diskimage.size_in_gib(64 * units.Mi))
        self.assertEqual(1, diskimage.size_in_gib(units.Gi))
        self.assertEqual(2, diskimage.size_in_gib(units.Gi + 1))
        self.assertEqual(8, diskimage.size_in_gib(8 * units.Gi))


@testtools.skipUnless(HAVE_QEMU_IMG, 'qemu-img is not installed')
class InspectTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.root = self.useFixture(fixtures.TempDir()).path

    def _create(self, name, fmt, size='1M', *options):
        path = os.path.join(self.root, name)
        processutils.execute('qemu-img', 'create', '-q', '-f', fmt,
                             *options, path, size)
        return path

    def _inspect(self, path, *args):
        with importfile.open_source(path, block_devices=True) as source:
            return diskimage.inspect(source, *args)

    def _patch(self, path, offset, data):
        with open(path, 'r+b') as f:
            f.seek(offset)
            f.write(data)

    def assertRefused(self, path, reason):
        e = self.assertRaises(exception.InvalidDiskImage,
                              self._inspect, path)
        self.assertIn(reason, str(e))

    def test_raw(self):
        path = self._create('disk.raw', 'raw', '3M')
        self.assertEqual(diskimage.DiskImage(path, 'raw', 3 * units.Mi),
                         self._inspect(path))

    def test_qcow2(self):
        path = self._create('disk.qcow2', 'qcow2', '5G')
        self.assertEqual(diskimage.DiskImage(path, 'qcow2', 5 * units.Gi),
                         self._inspect(path))

    def test_relative_path_is_made_absolute(self):
        self._create('nbd:localhost:10809', 'raw')
        self.useFixture(fixtures.MonkeyPatch('os.getcwd',
                                             lambda: self.root))
        image = self._inspect('nbd:localhost:10809')
        self.assertEqual(os.path.join(self.root, 'nbd:localhost:10809'),
                         image.path)
        self.assertEqual('raw', image.format)

    def test_other_formats(self):
        for fmt in ('vmdk', 'vdi', 'vpc', 'vhdx', 'qed'):
            self.assertRefused(self._create('disk.' + fmt, fmt),
                               'has format %s' % fmt)

    def test_reads_the_open_file_not_the_path(self):
        path = self._create('disk.qcow2', 'qcow2', '2M')
        base = self._create('base.raw', 'raw')
        evil = self._create('evil.qcow2', 'qcow2', '1M', '-b', base, '-F',
                            'raw')
        with importfile.open_source(path) as source:
            os.rename(evil, path)
            self.assertEqual(
                diskimage.DiskImage(path, 'qcow2', 2 * units.Mi),
                diskimage.inspect(source))
            # Twice: the first look does not leave the file elsewhere.
            self.assertEqual('qcow2', diskimage.inspect(source).format)
        self.assertRefused(path, 'has a backing file (%s)' % base)

    def test_qemu_img_is_told_the_format_and_reads_the_descriptor(self):
        real = diskimage.execute
        calls = []

        def execute(cmd, pass_fds=(), limit=False):
            calls.append((list(cmd), pass_fds, limit))
            return real(cmd, pass_fds=pass_fds, limit=limit)

        self.useFixture(fixtures.MonkeyPatch(
            'ebsboot.volume.diskimage.execute', execute))
        for fmt in ('raw', 'qcow2'):
            path = self._create('disk.' + fmt, fmt)
            with importfile.open_source(path) as source:
                diskimage.inspect(source)
                self.assertEqual(
                    (['qemu-img', 'info', '-f', fmt, '--output=json',
                      '/proc/self/fd/%d' % source.fd], (source.fd,), True),
                    calls.pop())

    def test_safety_checks_run_before_qemu_img(self):
        base = self._create('base.raw', 'raw')
        path = self._create('overlay.qcow2', 'qcow2', '1M', '-b', base,
                            '-F', 'raw')
        with mock.patch.object(diskimage, 'execute') as execute:
            self.assertRefused(path, 'has a backing file (%s)' % base)
        execute.assert_not_called()

    def test_qemu_img_info_must_agree(self):
        path = self._create('disk.raw', 'raw')
        for out, reason in [('{"format": "qcow2", "virtual-size": 1}',
                             'format qcow2, not raw'),
                            ('nonsense', 'gave no JSON'),
                            ('[]', 'no JSON object')]:
            with mock.patch.object(diskimage, 'execute',
                                   return_value=(out, '')):
                self.assertRefused(path, reason)

    def test_unknown_qcow2_features(self):
        path = self._create('disk.qcow2', 'qcow2')
        # An incompatible feature bit that format_inspector does not know.
        self._patch(path, 72, (1 << 9).to_bytes(8, 'big'))
        self.assertRefused(path, 'fails the safety checks of format qcow2')

    def test_data_file_bit_without_name(self):
        path = self._create('disk.qcow2', 'qcow2')
        self._patch(path, 72, (1 << 2).to_bytes(8, 'big'))
        self.assertRefused(path, 'has an external data file')

    def test_partitioned_raw_disk(self):
        path = self._create('disk.raw', 'raw', '2M')
        # One MBR partition: format_inspector says gpt, qemu says raw.
        entry = struct.pack('<B3BB3BII', 0x80, 0, 2, 0, 0x83, 0, 0, 0,
                            2048, 2048)
        self._patch(path, 446, entry)
        self._patch(path, 510, b'\x55\xaa')
        self.assertEqual('raw', self._inspect(path).format)
        # A boot flag that is neither 0 nor 0x80 fails its safety check.
        self._patch(path, 446, b'\x01')
        self.assertRefused(path, 'fails the safety checks of format gpt')

    def test_raw_that_looks_like_two_formats(self):
        path = self._create('disk.raw', 'raw', '2M')
        # A qcow2 magic and an MBR signature in one header.
        self._patch(path, 0, b'QFI\xfb' + (3).to_bytes(4, 'big'))
        self._patch(path, 510, b'\x55\xaa')
        self.assertRefused(path, 'several formats at once (gpt, qcow2)')

    def test_backing_file(self):
        base = self._create('base.raw', 'raw')
        path = self._create('overlay.qcow2', 'qcow2', '1M', '-b', base,
                            '-F', 'raw')
        self.assertRefused(path, 'has a backing file (%s)' % base)

    def test_missing_backing_file(self):
        base = self._create('base.qcow2', 'qcow2')
        path = self._create('overlay.qcow2', 'qcow2', '1M', '-b', base,
                            '-F', 'qcow2')
        os.unlink(base)
        self.assertRefused(path, base)

    def test_external_data_file(self):
        data = os.path.join(self.root, 'data.raw')
        path = self._create('disk.qcow2', 'qcow2', '1M', '-o',
                            'data_file=%s' % data)
        self.assertRefused(path, 'external data file (%s)' % data)

    def test_encrypted(self):
        # qemu-img times the LUKS key derivation and gives up ("Unable to
        # get accurate CPU usage") when a busy host starves it: try again.
        for attempt in range(5):
            try:
                path = self._create(
                    'secret.qcow2', 'qcow2', '1M', '--object',
                    'secret,id=sec0,data=123456', '-o',
                    'encrypt.format=luks,encrypt.key-secret=sec0')
                break
            except processutils.ProcessExecutionError as e:
                if 'accurate CPU usage' not in (e.stderr or '') or \
                        attempt == 4:
                    raise
        self.assertRefused(path, 'encrypted')

    def test_empty_file(self):
        path = os.path.join(self.root, 'empty.raw')
        open(path, 'wb').close()
        self.assertRefused(path, 'is empty')

    def test_qemu_img_missing(self):
        path = self._create('disk.raw', 'raw')
        e = self.assertRaises(exception.InvalidDiskImage, self._inspect,
                              path, '/nonexistent/qemu-img')
        self.assertIn('/nonexistent/qemu-img', str(e))


@testtools.skipUnless(HAVE_QEMU_IMG, 'qemu-img is not installed')
class Qcow2HeaderTestCase(testtools.TestCase):
    """qcow2_header against files qemu-img made (and a few crafted ones)."""

    def setUp(self):
        super().setUp()
        self.root = self.useFixture(fixtures.TempDir()).path

    def _create(self, name, size='1G', *options):
        path = os.path.join(self.root, name)
        processutils.execute('qemu-img', 'create', '-q', '-f', 'qcow2',
                             *options, path, size)
        return path

    def _patch(self, path, offset, data):
        with open(path, 'r+b') as f:
            f.seek(offset)
            f.write(data)

    def assertRefused(self, path, reason):
        e = self.assertRaises(exception.InvalidDiskImage,
                              diskimage.qcow2_header, path)
        self.assertIn(reason, str(e))

    def test_plain(self):
        path = self._create('plain.qcow2', '3G')
        self.assertEqual(
            diskimage.Qcow2Header(3, 3 * units.Gi, None, None, None, False),
            diskimage.qcow2_header(path))

    def test_backing_file(self):
        base = self._create('base.qcow2')
        path = self._create('overlay.qcow2', '2G', '-b', base, '-F', 'qcow2')
        self.assertEqual(
            diskimage.Qcow2Header(3, 2 * units.Gi, base, 'qcow2', None,
                                  False),
            diskimage.qcow2_header(path))

    def test_backing_file_of_format_raw(self):
        base = os.path.join(self.root, 'base.raw')
        processutils.execute('qemu-img', 'create', '-q', '-f', 'raw', base,
                             '1M')
        path = self._create('overlay.qcow2', '1M', '-b', base, '-F', 'raw')
        header = diskimage.qcow2_header(path)
        self.assertEqual((base, 'raw'),
                         (header.backing_file, header.backing_format))

    def test_external_data_file(self):
        data = os.path.join(self.root, 'data.raw')
        path = self._create('disk.qcow2', '1M', '-o', 'data_file=%s' % data)
        header = diskimage.qcow2_header(path)
        self.assertEqual((data, None), (header.data_file,
                                        header.backing_file))

    def test_data_file_bit_without_name(self):
        # The incompatible feature bit alone makes qemu use a data file
        # (named by the user at open time): that counts as one.
        path = self._create('disk.qcow2')
        self._patch(path, 72, (1 << 2).to_bytes(8, 'big'))
        self.assertEqual('', diskimage.qcow2_header(path).data_file)

    def test_encrypted(self):
        path = self._create('disk.qcow2')
        self._patch(path, 32, (2).to_bytes(4, 'big'))
        self.assertTrue(diskimage.qcow2_header(path).encrypted)
        self.assertFalse(diskimage.qcow2_header(
            self._create('plain.qcow2')).encrypted)

    def test_version_2(self):
        base = self._create('base.qcow2')
        path = self._create('v2.qcow2', '5G', '-o', 'compat=0.10')
        self.assertEqual(
            diskimage.Qcow2Header(2, 5 * units.Gi, None, None, None, False),
            diskimage.qcow2_header(path))
        path = self._create('v2-overlay.qcow2', '1G', '-o', 'compat=0.10',
                            '-b', base, '-F', 'qcow2')
        self.assertEqual(
            diskimage.Qcow2Header(2, units.Gi, base, 'qcow2', None, False),
            diskimage.qcow2_header(path))

    def test_raw_file(self):
        path = os.path.join(self.root, 'disk.raw')
        processutils.execute('qemu-img', 'create', '-q', '-f', 'raw', path,
                             '1M')
        self.assertRefused(path, 'is not a qcow2 file')

    def test_missing_file(self):
        self.assertRefused(os.path.join(self.root, 'nope.qcow2'),
                           'No such file')

    def test_truncated(self):
        base = self._create('base.qcow2')
        path = self._create('overlay.qcow2', '1G', '-b', base, '-F', 'qcow2')
        with open(path, 'rb') as f:
            head = f.read(4096)
        name_at = head.index(base.encode())
        for length, reason in [(0, 'is not a qcow2 file'),
                               (71, 'is not a qcow2 file'),
                               (100, 'short header'),
                               (name_at + 3, 'bad backing file name')]:
            with open(path, 'wb') as f:
                f.write(head[:length])
            self.assertRefused(path, reason)
        # Up to the end of the name it still reads.
        with open(path, 'wb') as f:
            f.write(head[:name_at + len(base)])
        self.assertEqual(base, diskimage.qcow2_header(path).backing_file)

    def test_backing_file_name_too_long(self):
        path = self._create('disk.qcow2')
        # backing_file_offset, backing_file_size: 2000 bytes at 512.
        self._patch(path, 8, (512).to_bytes(8, 'big') +
                    (2000).to_bytes(4, 'big'))
        self.assertRefused(path, 'bad backing file name')
