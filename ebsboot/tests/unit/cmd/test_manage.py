"""Tests of ebsboot-manage snapshot import and image import-*."""

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import threading
from unittest import mock

import fixtures
from oslo_concurrency import processutils
from oslo_utils import units
import testtools

from ebsboot.cloud import images as cloud_images
from ebsboot.cmd import manage
from ebsboot.conf import CONF
from ebsboot import context as ebs_context
from ebsboot.db import api as db
from ebsboot.tests.unit import base
from ebsboot.tests.unit.image import fakes
from ebsboot.volume.drivers import fake as fake_volume

HAVE_QEMU_IMG = bool(shutil.which('qemu-img'))


class ParserTestCase(testtools.TestCase):

    def test_snapshot_import_arguments(self):
        parser = argparse.ArgumentParser()
        manage.add_command_parsers(parser.add_subparsers(dest='category'))
        args = parser.parse_args(['snapshot', 'import', 'disk.raw',
                                  '--project', 'alpha', '--format', 'json'])
        self.assertEqual(('disk.raw', 'alpha', None, 'json'),
                         (args.file, args.project, args.description,
                          args.format))
        self.assertTrue(callable(args.func))
        args = parser.parse_args(['snapshot', 'import', 'disk.raw',
                                  '--project', 'beta', '--description', 'd'])
        self.assertEqual(('d', 'table'), (args.description, args.format))
        with fixtures.MonkeyPatch('sys.stderr', io.StringIO()):
            self.assertRaises(SystemExit, parser.parse_args,
                              ['snapshot', 'import', 'disk.raw'])

    def test_image_import_arguments(self):
        parser = argparse.ArgumentParser()
        manage.add_command_parsers(parser.add_subparsers(dest='category'))
        args = parser.parse_args(['image', 'import-kernel', 'vmlinuz',
                                  '--project', 'alpha', '--format', 'json'])
        self.assertEqual(
            ('import-kernel', 'vmlinuz', 'alpha', None, None, None, False,
             'json'),
            (args.action, args.file, args.project, args.image_name,
             args.description, args.architecture, args.public, args.format))
        args = parser.parse_args(['image', 'import-ramdisk', 'initrd',
                                  '--project', 'beta', '--name', 'rd',
                                  '--description', 'd', '--public',
                                  '--architecture', 'arm64'])
        self.assertEqual(('import-ramdisk', 'rd', 'd', 'arm64', True,
                          'table'),
                         (args.action, args.image_name, args.description,
                          args.architecture, args.public, args.format))
        self.assertTrue(callable(args.func))
        with fixtures.MonkeyPatch('sys.stderr', io.StringIO()):
            for argv in (['image', 'import-kernel', 'vmlinuz'],
                         ['image', 'import-kernel', 'vmlinuz', '--project',
                          'a', '--architecture', 'sparc'],
                         ['image', 'import', 'vmlinuz', '--project', 'a']):
                self.assertRaises(SystemExit, parser.parse_args, argv)


class ImageImportTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.stdout = io.StringIO()
        self.useFixture(fixtures.MonkeyPatch('sys.stdout', self.stdout))
        self.kernel = fakes.write(os.path.join(self.state, 'vmlinuz-6.1'),
                                  fakes.kernel())
        self.ramdisk = fakes.write(os.path.join(self.state, 'initrd.img'),
                                   fakes.ramdisk())

    def _import(self, kind, path, project='alpha', fmt='json', **kwargs):
        manage.ImageCommands().import_image(kind, path, project, fmt=fmt,
                                            **kwargs)
        return self.stdout.getvalue()

    def _images(self, project='alpha'):
        return cloud_images.list_images(self.context(project))

    def test_import_kernel_and_ramdisk(self):
        out = json.loads(self._import('aki', self.kernel))
        [kernel] = self._images()
        self.assertEqual({'image_id': cloud_images.image_ec2_id(kernel)},
                         out)
        self.assertRegex(out['image_id'], r'^aki-[0-9a-f]{17}$')
        self.assertEqual(
            ('vmlinuz-6.1', 'kernel', 'x86_64', 'private', 4096),
            (kernel['name'], cloud_images.image_type(kernel),
             kernel['properties']['architecture'], kernel['visibility'],
             kernel['size']))
        self.stdout.seek(0)
        self.stdout.truncate()
        out = self._import('ari', self.ramdisk, fmt='table', name='initrd',
                           description='the initramfs', public=True)
        ramdisk = [i for i in self._images('beta')][0]
        self.assertEqual(['image_id', cloud_images.image_ec2_id(ramdisk)],
                         out.split())
        self.assertEqual(('initrd', 'ramdisk', 'the initramfs', 'public'),
                         (ramdisk['name'], cloud_images.image_type(ramdisk),
                          ramdisk['properties']['description'],
                          ramdisk['visibility']))

    def assertRefused(self, message, *args, **kwargs):
        e = self.assertRaises(SystemExit, self._import, *args, **kwargs)
        self.assertIn(message, str(e.code))
        self.assertEqual([], self._images())
        self.assertEqual('', self.stdout.getvalue())

    def test_refusals(self):
        self.assertRefused('is a Linux kernel, not a ramdisk', 'ari',
                           self.kernel)
        self.assertRefused('is not a Linux kernel', 'aki', self.ramdisk)
        self.assertRefused('is a x86_64 kernel, not arm64', 'aki',
                           self.kernel, architecture='arm64')
        self.assertRefused('No such file', 'aki',
                           os.path.join(self.state, 'missing'))
        self.assertRefused('AMI names must be', 'aki', self.kernel,
                           name='k!')
        self.assertRefused('at most 255', 'aki', self.kernel,
                           description='d' * 256)
        self.assertRefused('--project is required', 'aki', self.kernel,
                           project=None)
        self._import('aki', self.kernel)
        e = self.assertRaises(SystemExit, self._import, 'aki', self.kernel)
        self.assertIn('AMI name vmlinuz-6.1 is already in use', str(e.code))
        self.assertEqual(1, len(self._images()))

    def test_refuses_special_files(self):
        link = os.path.join(self.state, 'vmlinuz')
        os.symlink(self.kernel, link)
        self.assertRefused('is a symbolic link', 'aki', link)
        self.assertRefused('is not a regular file', 'aki', self.state)
        self.assertRefused('is not a regular file', 'ari', '/dev/zero')

    def test_fifo_fails_fast(self):
        # Opening a FIFO for reading waits for a writer, unless told not
        # to: the import must give up at once, not hang.
        fifo = os.path.join(self.state, 'fifo')
        os.mkfifo(fifo)
        errors = []

        def run():
            try:
                self._import('aki', fifo, architecture='x86_64')
            except SystemExit as e:
                errors.append(str(e.code))

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        thread.join(10)
        if thread.is_alive():
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            self.fail('import-kernel of a FIFO blocked')
        self.assertEqual(1, len(errors))
        self.assertIn('is not a regular file', errors[0])
        self.assertEqual([], self._images())

    def test_fifo_fails_fast_in_the_command(self):
        # The same through the ebsboot-manage entry point, in a process
        # of its own that the timeout ends should it hang.
        fifo = os.path.join(self.state, 'fifo')
        os.mkfifo(fifo)
        config = fakes.write(
            os.path.join(self.state, 'ebsboot.conf'),
            b'[DEFAULT]\nstate_path = %s\n[database]\n'
            b'connection = sqlite:///%s/ebsboot.sqlite\n'
            % (self.state.encode(), self.state.encode()))
        result = subprocess.run(
            [sys.executable, '-c',
             'import sys; from ebsboot.cmd import manage; '
             'manage.main(["ebsboot-manage"] + sys.argv[1:])',
             '--config-file', config, 'image', 'import-kernel', fifo,
             '--project', 'alpha', '--architecture', 'x86_64'],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(1, result.returncode)
        self.assertIn('Cannot import %s: %s is not a regular file'
                      % (fifo, fifo), result.stderr)
        self.assertEqual('', result.stdout)

    def test_stores_the_bytes_it_checked(self):
        # The file is read once open: a file renamed over the path after
        # the open is not what is stored.
        real = cloud_images.bootfiles.inspect

        def inspect_then_swap(kind, source, architecture=None):
            found = real(kind, source, architecture)
            fakes.write(self.kernel + '.new', fakes.ramdisk())
            os.rename(self.kernel + '.new', self.kernel)
            return found

        with mock.patch.object(cloud_images.bootfiles, 'inspect',
                               inspect_then_swap):
            self._import('aki', self.kernel)
        [kernel] = self._images()
        data = os.path.join(self.state, 'images', kernel['id'])
        with open(data, 'rb') as f:
            self.assertEqual(fakes.kernel(), f.read())

    def test_backend_failure(self):
        with mock.patch.object(cloud_images.get_backend(),
                               'create_with_data',
                               side_effect=OSError(28, 'No space left')):
            self.assertRefused('No space left', 'aki', self.kernel)


@testtools.skipUnless(HAVE_QEMU_IMG, 'qemu-img is not installed')
class SnapshotImportTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.ctxt = ebs_context.get_admin_context()
        self.driver = fake_volume.FakeDriver(CONF)
        self.useFixture(fixtures.MonkeyPatch(
            'ebsboot.volume.manager.load_driver', lambda: self.driver))
        self.stdout = io.StringIO()
        self.useFixture(fixtures.MonkeyPatch('sys.stdout', self.stdout))

    def _image(self, size=units.Mi, fmt='raw', name=None):
        path = os.path.join(self.state, name or 'disk.' + fmt)
        processutils.execute('qemu-img', 'create', '-q', '-f', fmt, path,
                             str(size))
        return path

    def _import(self, path, project='alpha', description=None,
                fmt='json'):
        manage.SnapshotCommands().import_image(path, project, description,
                                               fmt)

    def _rows(self):
        return db.snapshot_list(self.ctxt)

    def test_import_raw(self):
        path = self._image(size=units.Gi + units.Mi)
        self._import(path)
        [row] = self._rows()
        self.assertEqual({'snapshot_id': row.ec2_id},
                         json.loads(self.stdout.getvalue()))
        self.assertRegex(row.ec2_id, r'^snap-[0-9a-f]{17}$')
        self.assertEqual(
            ('alpha', None, 'vol-ffffffff', 2, 'completed', 100,
             'test-host', 'Imported from disk.raw',
             'fake://snapshot/%s' % row.id),
            (row.project_id, row.volume_id, row.volume_ec2_id,
             row.volume_size, row.status, row.progress, row.host,
             row.description, row.provider_location))
        self.assertEqual({'image': (path, 'raw')},
                         self.driver.snapshots[row.id]['data'])
        self.assertEqual([('import_snapshot', row.id)], self.driver.calls)

    def test_import_qcow2_with_description_as_table(self):
        path = self._image(size=64 * units.Mi, fmt='qcow2')
        self._import(path, project='beta', description='demo guest',
                     fmt='table')
        [row] = self._rows()
        self.assertEqual(['snapshot_id', row.ec2_id],
                         self.stdout.getvalue().split())
        self.assertEqual(('beta', 1, 'demo guest', 'completed'),
                         (row.project_id, row.volume_size, row.description,
                          row.status))
        self.assertEqual({'image': (path, 'qcow2')},
                         self.driver.snapshots[row.id]['data'])

    def test_relative_path(self):
        self._image(name='rel.raw')
        self.useFixture(fixtures.MonkeyPatch('os.getcwd',
                                             lambda: self.state))
        self._import('rel.raw')
        [row] = self._rows()
        self.assertEqual(
            {'image': (os.path.join(self.state, 'rel.raw'), 'raw')},
            self.driver.snapshots[row.id]['data'])

    def assertRefused(self, message, *args, **kwargs):
        e = self.assertRaises(SystemExit, self._import, *args, **kwargs)
        self.assertIn(message, str(e.code))
        self.assertEqual([], self._rows())
        self.assertEqual([], self.driver.calls)

    def test_refuses_other_formats(self):
        self.assertRefused('has format vmdk',
                           self._image(fmt='vmdk'))

    def test_refuses_backing_file(self):
        base = self._image(name='base.raw')
        overlay = os.path.join(self.state, 'overlay.qcow2')
        processutils.execute('qemu-img', 'create', '-q', '-f', 'qcow2',
                             '-b', base, '-F', 'raw', overlay)
        self.assertRefused('has a backing file', overlay)

    def test_refuses_missing_file(self):
        self.assertRefused('No such file',
                           os.path.join(self.state, 'nope.raw'))

    def test_refuses_special_files(self):
        fifo = os.path.join(self.state, 'fifo')
        os.mkfifo(fifo)
        link = os.path.join(self.state, 'link.raw')
        os.symlink(self._image(), link)
        for path, reason in [(fifo, 'is not a file or a block device'),
                             (self.state, 'is not a file or a block device'),
                             ('/dev/zero', 'is not a file or a block device'),
                             (link, 'is a symbolic link')]:
            self.assertRefused(reason, path)

    def test_refuses_external_data_file(self):
        path = os.path.join(self.state, 'disk.qcow2')
        processutils.execute(
            'qemu-img', 'create', '-q', '-f', 'qcow2', '-o',
            'data_file=%s' % os.path.join(self.state, 'data.raw'), path,
            '1M')
        self.assertRefused('has an external data file', path)

    def test_driver_gets_the_open_file(self):
        path = self._image()
        seen = []
        real = self.driver.import_snapshot

        def import_snapshot(snapshot, source, source_format):
            seen.append((source.path, os.fstat(source.fd).st_ino))
            return real(snapshot, source, source_format)

        self.driver.import_snapshot = import_snapshot
        self._import(path)
        self.assertEqual([(path, os.stat(path).st_ino)], seen)

    def test_refuses_too_large(self):
        self.config.config(max_volume_size=1, group='volume')
        self.assertRefused('max_volume_size',
                           self._image(size=units.Gi + 1))

    def test_refuses_long_description(self):
        self.assertRefused('longer than 255', self._image(),
                           description='x' * 256)

    def test_long_default_description_is_cut(self):
        self._import(self._image(name='d' * 250 + '.raw'))
        [row] = self._rows()
        self.assertEqual(255, len(row.description))

    def test_driver_failure(self):
        self.driver.fail_next('import_snapshot')
        e = self.assertRaises(SystemExit, self._import, self._image())
        [row] = self._rows()
        self.assertIn('Importing', str(e.code))
        self.assertIn(row.ec2_id, str(e.code))
        self.assertIn('injected failure of import_snapshot', str(e.code))
        self.assertEqual(('error', 'injected failure of import_snapshot'),
                         (row.status, row.state_message))
        self.assertEqual([('import_snapshot', row.id),
                          ('delete_snapshot', row.id)], self.driver.calls)
        self.assertEqual('', self.stdout.getvalue())

    def test_failed_cleanup_is_reported(self):
        self.driver.fail_next('import_snapshot')
        self.driver.fail_next('delete_snapshot')
        stderr = self.useFixture(fixtures.StringStream('stderr')).stream
        self.useFixture(fixtures.MonkeyPatch('sys.stderr', stderr))
        self.assertRaises(SystemExit, self._import, self._image())
        [row] = self._rows()
        self.assertEqual('error', row.status)
        stderr.seek(0)
        self.assertIn('Could not remove the data of snapshot %s'
                      % row.ec2_id, stderr.read())

    def test_interrupted(self):
        self.driver.fail_next('import_snapshot', KeyboardInterrupt())
        self.assertRaises(KeyboardInterrupt, self._import, self._image())
        [row] = self._rows()
        self.assertEqual(('error', 'KeyboardInterrupt'),
                         (row.status, row.state_message))
        self.assertEqual({}, self.driver.snapshots)

    def test_snapshot_failed_by_volume_service_meanwhile(self):
        real = self.driver.import_snapshot

        def import_while_service_restarts(snapshot, *args):
            result = real(snapshot, *args)
            db.snapshot_update(self.ctxt, snapshot['id'],
                               {'status': 'error',
                                'state_message': 'did not finish'})
            return result

        self.driver.import_snapshot = import_while_service_restarts
        e = self.assertRaises(SystemExit, self._import, self._image())
        self.assertIn('changed state during the import', str(e.code))
        [row] = self._rows()
        self.assertEqual(('error', 'did not finish'),
                         (row.status, row.state_message))
        self.assertEqual({}, self.driver.snapshots)

    def test_driver_setup_failure_writes_nothing(self):
        def broken():
            raise RuntimeError('no such driver')

        self.useFixture(fixtures.MonkeyPatch(
            'ebsboot.volume.manager.load_driver', broken))
        e = self.assertRaises(SystemExit, self._import, self._image())
        self.assertIn('no such driver', str(e.code))
        self.assertEqual([], self._rows())
