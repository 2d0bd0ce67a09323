"""Opening the files operators import: once, and only what may be read."""

import errno
import os
import stat
import threading
from unittest import mock

import fixtures
import testtools

from ebsboot import importfile


class OpenSourceTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.root = self.useFixture(fixtures.TempDir()).path
        self.file = self._write('file', b'import me')

    def _write(self, name, data):
        path = os.path.join(self.root, name)
        with open(path, 'wb') as f:
            f.write(data)
        return path

    def assertRefused(self, path, reason, **kwargs):
        e = self.assertRaises(importfile.RefusedFile,
                              importfile.open_source, path, **kwargs)
        self.assertIn(reason, str(e))

    def _open_quickly(self, path, **kwargs):
        """open_source in a thread that must not block on the path."""
        outcome = []

        def run():
            try:
                outcome.append(importfile.open_source(path, **kwargs))
            except Exception as e:
                outcome.append(e)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        thread.join(10)
        if thread.is_alive():
            # Let the blocked open go (a writer opens the FIFO).
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
            self.fail('opening %s blocked' % path)
        return outcome[0]

    def test_regular_file(self):
        with importfile.open_source(self.file) as source:
            self.assertEqual(self.file, source.path)
            self.assertEqual(b'import me', source.rewind().read())
            self.assertEqual(9, source.size())
            self.assertEqual(b'import me', source.rewind().read())
            self.assertEqual('/proc/self/fd/%d' % source.fd,
                             source.proc_path)
            self.assertFalse(os.get_inheritable(source.fd))
            self.assertTrue(os.get_blocking(source.fd))
            self.assertFalse(source.is_block_device)
        self.assertTrue(source.file.closed)

    def test_relative_path_is_made_absolute(self):
        self.useFixture(fixtures.MonkeyPatch('os.getcwd', lambda: self.root))
        with importfile.open_source('file') as source:
            self.assertEqual(self.file, source.path)

    def test_the_open_file_stays_when_the_path_changes(self):
        other = self._write('other', b'swapped in')
        with importfile.open_source(self.file) as source:
            os.rename(other, self.file)
            self.assertEqual(b'import me', source.rewind().read())
            with open(source.proc_path, 'rb') as f:
                self.assertEqual(b'import me', f.read())

    def test_missing(self):
        self.assertRefused(os.path.join(self.root, 'nope'),
                           'No such file or directory')

    def test_symbolic_link(self):
        link = os.path.join(self.root, 'link')
        os.symlink(self.file, link)
        self.assertRefused(link, 'is a symbolic link')
        self.assertRefused(link, 'is a symbolic link', block_devices=True)

    def test_symbolic_link_swapped_in_after_the_first_look(self):
        link = os.path.join(self.root, 'link')
        os.symlink(self.file, link)
        regular = os.lstat(self.file)
        with mock.patch('os.lstat', return_value=regular):
            self.assertRefused(link, 'is a symbolic link')

    def test_directory(self):
        self.assertRefused(self.root, 'is not a regular file')
        self.assertRefused(self.root, 'not a file or a block device',
                           block_devices=True)

    def test_fifo(self):
        fifo = os.path.join(self.root, 'fifo')
        os.mkfifo(fifo)
        result = self._open_quickly(fifo)
        self.assertIsInstance(result, importfile.RefusedFile)
        self.assertIn('is not a regular file', str(result))

    def test_fifo_swapped_in_after_the_first_look(self):
        # The open itself must not wait for a writer; fstat refuses.
        fifo = os.path.join(self.root, 'fifo')
        os.mkfifo(fifo)
        regular = os.lstat(self.file)
        with mock.patch('os.lstat', return_value=regular):
            result = self._open_quickly(fifo, block_devices=True)
        self.assertIsInstance(result, importfile.RefusedFile)
        self.assertIn('not a file or a block device', str(result))

    def test_character_device(self):
        self.assertRefused('/dev/null', 'is not a regular file')
        self.assertRefused('/dev/null', 'not a file or a block device',
                           block_devices=True)

    def test_block_devices_only_where_allowed(self):
        importfile._check_mode('/dev/sdz', stat.S_IFBLK | 0o600, True)
        self.assertRaises(importfile.RefusedFile, importfile._check_mode,
                          '/dev/sdz', stat.S_IFBLK | 0o600, False)

    def test_unreadable(self):
        if os.geteuid() == 0:
            self.skipTest('root reads every file')
        os.chmod(self.file, 0)
        self.assertRefused(self.file, 'Permission denied')


class CopyTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.root = self.useFixture(fixtures.TempDir()).path
        self.data = os.urandom(importfile.CHUNK * 2 + 123)
        path = os.path.join(self.root, 'source')
        with open(path, 'wb') as f:
            f.write(self.data)
        self.source = importfile.open_source(path)
        self.addCleanup(self.source.close)

    def _copy(self):
        with open(os.path.join(self.root, 'copy'), 'w+b') as target:
            self.assertEqual(len(self.data),
                             importfile.copy_to(self.source, target))
            target.seek(0)
            return target.read()

    def test_copy(self):
        # Wherever the source's position is.
        self.source.file.seek(100)
        self.assertEqual(self.data, self._copy())

    def test_copy_through_a_buffer(self):
        with mock.patch('os.copy_file_range',
                        side_effect=OSError(errno.EXDEV, 'cross-device')):
            self.assertEqual(self.data, self._copy())

    def test_copy_errors(self):
        with mock.patch('os.copy_file_range',
                        side_effect=OSError(errno.EIO, 'I/O error')):
            self.assertRaises(OSError, self._copy)
