"""Tests of the qcow2 volume driver against real qemu-img files."""

import json
import os
import shutil
import subprocess
import time

import fixtures
from oslo_concurrency import processutils
from oslo_config import cfg
from oslo_utils import units
from oslo_utils import uuidutils
import testtools

from ebsboot.conf import volume as volume_conf
from ebsboot import exception
from ebsboot.volume.drivers import qcow2

HAVE_QEMU = bool(shutil.which('qemu-img') and shutil.which('qemu-io'))


def _info(path, chain=False):
    args = ['qemu-img', 'info', '--output=json', '-U', path]
    if chain:
        args.insert(2, '--backing-chain')
    out, _err = processutils.execute(*args)
    return json.loads(out)


def _write(path, pattern, offset=0, length='64k'):
    command = ('write -z %s %s' % (offset, length) if pattern == 'zero'
               else 'write -P %s %s %s' % (pattern, offset, length))
    processutils.execute('qemu-io', '-f', 'qcow2', '-c', command, path)


@testtools.skipUnless(HAVE_QEMU, 'qemu-img and qemu-io are not installed')
class Qcow2DriverTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.root = self.useFixture(fixtures.TempDir()).path
        self.volumes_dir = os.path.join(self.root, 'volumes')
        self.snapshots_dir = os.path.join(self.root, 'snapshots')
        self.conf = cfg.ConfigOpts()
        self.conf.register_opt(cfg.StrOpt('state_path'))
        volume_conf.register_opts(self.conf)
        self.conf([], default_config_files=[], default_config_dirs=[])
        # The option groups are module objects shared by every ConfigOpts.
        self.addCleanup(self.conf.reset)
        self.conf.set_override('state_path', self.root)
        self.conf.set_override('volumes_dir', self.volumes_dir,
                               group='qcow2')
        self.conf.set_override('snapshots_dir', self.snapshots_dir,
                               group='qcow2')
        self.driver = qcow2.Qcow2Driver(self.conf)
        self.driver.do_setup()

    # Helpers ---------------------------------------------------------------

    def _volume(self, size=1, snapshot=None):
        volume = {'id': uuidutils.generate_uuid(), 'size': size,
                  'provider_location': None,
                  'snapshot_id': snapshot['id'] if snapshot else None}
        if snapshot:
            update = self.driver.create_volume_from_snapshot(volume,
                                                             snapshot)
        else:
            update = self.driver.create_volume(volume)
        volume.update(update)
        return volume

    def _snapshot(self, volume):
        snapshot = {'id': uuidutils.generate_uuid(),
                    'volume_id': volume['id'],
                    'volume_size': volume['size'],
                    'provider_location': None}
        snapshot.update(self.driver.create_snapshot(snapshot, volume))
        return snapshot

    def _vpath(self, volume):
        return os.path.join(self.volumes_dir,
                            'volume-%s.qcow2' % volume['id'])

    def _spath(self, snapshot):
        return os.path.join(self.snapshots_dir,
                            'snapshot-%s.qcow2' % snapshot['id'])

    def _deps(self, snapshot):
        deps = os.path.join(self.snapshots_dir,
                            'snapshot-%s.deps' % snapshot['id'])
        return sorted(os.listdir(deps)) if os.path.isdir(deps) else None

    def assertData(self, path, pattern, offset=0, length='64k'):
        out, _err = processutils.execute(
            'qemu-io', '-r', '-f', 'qcow2', '-c',
            'read -P %s %s %s' % (pattern, offset, length), path,
            check_exit_code=False)
        self.assertIn('read ', out)
        self.assertNotIn('verification failed', out)

    def assertNoLeftovers(self):
        for folder in (self.volumes_dir, self.snapshots_dir):
            self.assertEqual(
                [], [name for name in os.listdir(folder)
                     if name.endswith('.tmp')])

    # Setup -----------------------------------------------------------------

    def test_do_setup_creates_folders(self):
        self.assertTrue(os.path.isdir(self.volumes_dir))
        self.assertTrue(os.path.isdir(self.snapshots_dir))
        self.driver.do_setup()
        self.driver.check_for_setup_error()

    def test_check_for_setup_error_without_qemu_img(self):
        self.conf.set_override('qemu_img', '/nonexistent/qemu-img',
                               group='qcow2')
        e = self.assertRaises(exception.VolumeDriverError,
                              self.driver.check_for_setup_error)
        self.assertIn('qemu-img is not usable', str(e))
        self.assertIn('/nonexistent/qemu-img', str(e))

    def test_check_for_setup_error_without_folder(self):
        os.rmdir(self.snapshots_dir)
        e = self.assertRaises(exception.VolumeDriverError,
                              self.driver.check_for_setup_error)
        self.assertIn(self.snapshots_dir, str(e))

    def test_invalid_id(self):
        self.assertRaises(exception.VolumeDriverError,
                          self.driver.create_volume,
                          {'id': '../../etc/x', 'size': 1})

    # Volumes ---------------------------------------------------------------

    def test_create_volume(self):
        volume = self._volume(size=2)
        path = self._vpath(volume)
        self.assertEqual(path, volume['provider_location'])
        info = _info(path)
        self.assertEqual('qcow2', info['format'])
        self.assertEqual(2 * units.Gi, info['virtual-size'])
        self.assertNotIn('backing-filename', info)
        self.assertNoLeftovers()

    def test_create_volume_twice_keeps_data(self):
        volume = self._volume()
        _write(volume['provider_location'], '0x5a')
        self.assertEqual({'provider_location': self._vpath(volume)},
                         self.driver.create_volume(volume))
        self.assertData(self._vpath(volume), '0x5a')

    def test_create_volume_overwrites_leftover(self):
        volume = {'id': uuidutils.generate_uuid(), 'size': 1}
        tmp = os.path.join(self.volumes_dir,
                           '.volume-%s.qcow2.tmp' % volume['id'])
        with open(tmp, 'wb') as f:
            f.write(b'half written')
        self.driver.create_volume(volume)
        self.assertEqual(units.Gi,
                         _info(self._vpath(volume))['virtual-size'])
        self.assertNoLeftovers()

    def test_create_volume_failure(self):
        volume = {'id': uuidutils.generate_uuid(), 'size': 10 ** 10}
        e = self.assertRaises(exception.VolumeDriverError,
                              self.driver.create_volume, volume)
        self.assertIn('Invalid image size', str(e))
        self.assertEqual([], os.listdir(self.volumes_dir))

    def test_delete_volume(self):
        volume = self._volume()
        self.driver.delete_volume(volume)
        self.assertFalse(os.path.exists(self._vpath(volume)))
        self.driver.delete_volume(volume)
        self.driver.delete_volume({'id': uuidutils.generate_uuid(),
                                   'size': 1, 'snapshot_id': None,
                                   'provider_location': None})
        self.assertEqual([], os.listdir(self.volumes_dir))

    # Snapshots and clones --------------------------------------------------

    def test_volume_from_snapshot_is_overlay(self):
        source = self._volume()
        _write(source['provider_location'], '0x5a', 0, '4M')
        snapshot = self._snapshot(source)
        clone = self._volume(size=2, snapshot=snapshot)
        path = self._vpath(clone)
        self.assertEqual(path, clone['provider_location'])
        info = _info(path)
        self.assertEqual(2 * units.Gi, info['virtual-size'])
        self.assertEqual(self._spath(snapshot), info['backing-filename'])
        self.assertEqual('qcow2', info['backing-filename-format'])
        # O(1): the overlay holds none of the snapshot's 4 MiB.
        self.assertLess(info['actual-size'], units.Mi)
        self.assertData(path, '0x5a', 0, '4M')
        self.assertData(path, '0', '4M', '64k')
        self.assertData(path, '0', '1G', '64k')
        self.assertEqual(['volume-%s' % clone['id']], self._deps(snapshot))
        self.assertNoLeftovers()

    def test_volume_from_snapshot_twice(self):
        snapshot = self._snapshot(self._volume())
        clone = self._volume(snapshot=snapshot)
        _write(clone['provider_location'], '0x11')
        self.assertEqual(
            {'provider_location': self._vpath(clone)},
            self.driver.create_volume_from_snapshot(clone, snapshot))
        self.assertData(self._vpath(clone), '0x11')
        self.assertEqual(['volume-%s' % clone['id']], self._deps(snapshot))

    def test_volume_from_snapshot_too_small(self):
        snapshot = self._snapshot(self._volume(size=2))
        before = os.listdir(self.volumes_dir)
        self.assertRaises(exception.VolumeDriverError,
                          self._volume, size=1, snapshot=snapshot)
        self.assertEqual(before, os.listdir(self.volumes_dir))
        self.assertIsNone(self._deps(snapshot))

    def test_volume_from_missing_snapshot(self):
        snapshot = {'id': uuidutils.generate_uuid(), 'volume_size': 1}
        self.assertRaises(exception.VolumeDriverError,
                          self._volume, snapshot=snapshot)
        self.assertEqual([], os.listdir(self.volumes_dir))
        self.assertEqual([], os.listdir(self.snapshots_dir))

    def test_volume_from_snapshot_failure_releases_marker(self):
        snapshot = self._snapshot(self._volume())
        before = os.listdir(self.volumes_dir)
        e = self.assertRaises(exception.VolumeDriverError,
                              self._volume, size=10 ** 10,
                              snapshot=snapshot)
        self.assertIn('Invalid image size', str(e))
        self.assertEqual([], self._deps(snapshot))
        self.assertEqual(before, os.listdir(self.volumes_dir))
        self.assertNoLeftovers()

    def test_snapshot_is_immutable(self):
        volume = self._volume()
        path = self._vpath(volume)
        inode = os.stat(path).st_ino
        _write(path, '0x5a')
        snapshot = self._snapshot(volume)
        self.assertEqual(self._spath(snapshot),
                         snapshot['provider_location'])
        self.assertEqual(inode, os.stat(path).st_ino)
        info = _info(self._spath(snapshot))
        self.assertEqual('qcow2', info['format'])
        self.assertEqual(units.Gi, info['virtual-size'])
        self.assertNotIn('backing-filename', info)
        _write(path, '0x77')
        self.assertData(path, '0x77')
        self.assertData(self._spath(snapshot), '0x5a')
        clone = self._volume(snapshot=snapshot)
        self.assertData(self._vpath(clone), '0x5a')
        self.assertNoLeftovers()

    def test_snapshot_twice(self):
        volume = self._volume()
        _write(self._vpath(volume), '0x5a')
        snapshot = self._snapshot(volume)
        stat = os.stat(self._spath(snapshot))
        _write(self._vpath(volume), '0x77')
        self.assertEqual({'provider_location': self._spath(snapshot)},
                         self.driver.create_snapshot(snapshot, volume))
        self.assertEqual(stat.st_ino, os.stat(self._spath(snapshot)).st_ino)
        self.assertData(self._spath(snapshot), '0x5a')

    def test_snapshot_of_volume_in_use(self):
        volume = self._volume()
        path = self._vpath(volume)
        _write(path, '0x5a')
        # A qemu-io process holds the image read-write like a guest would.
        guest = subprocess.Popen(['qemu-io', '-f', 'qcow2', path],
                                 stdin=subprocess.PIPE,
                                 stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        self.addCleanup(guest.wait, 10)
        self.addCleanup(guest.communicate, b'quit\n', 10)
        deadline = time.time() + 10
        while time.time() < deadline:
            _out, err = processutils.execute(
                'qemu-img', 'info', path, check_exit_code=False)
            if 'lock' in err:
                break
            time.sleep(0.01)
        else:
            self.fail('qemu-io did not lock %s' % path)
        snapshot = self._snapshot(volume)
        self.assertData(self._spath(snapshot), '0x5a')
        connection = self.driver.initialize_connection(volume, {})
        self.assertEqual(path, connection['data']['device_path'])

    def test_snapshot_of_clone_keeps_parent_as_backing(self):
        source = self._volume()
        _write(source['provider_location'], '0x5a', 0, '4M')
        parent = self._snapshot(source)
        clone = self._volume(size=2, snapshot=parent)
        _write(self._vpath(clone), '0x11', '1M', '64k')
        _write(self._vpath(clone), 'zero', '2M', '64k')
        child = self._snapshot(clone)
        info = _info(self._spath(child))
        self.assertEqual(self._spath(parent), info['backing-filename'])
        self.assertEqual('qcow2', info['backing-filename-format'])
        self.assertEqual(2 * units.Gi, info['virtual-size'])
        # Only what the clone wrote: far less than the parent's 4 MiB.
        self.assertLess(info['actual-size'], units.Mi)
        self.assertGreater(_info(self._spath(parent))['actual-size'],
                           4 * units.Mi)
        self.assertEqual(sorted(['volume-%s' % clone['id'],
                                 'snapshot-%s' % child['id']]),
                         self._deps(parent))
        for path in (self._spath(child),
                     self._vpath(self._volume(size=2, snapshot=child))):
            self.assertData(path, '0x5a', 0, '1M')
            self.assertData(path, '0x11', '1M', '64k')
            self.assertData(path, '0x5a', '1088k', '960k')
            self.assertData(path, '0', '2M', '64k')
            self.assertData(path, '0x5a', '2112k', '1984k')
            self.assertData(path, '0', '4M', '64k')
        self.assertNoLeftovers()

    # Deleting snapshots ----------------------------------------------------

    def test_delete_snapshot(self):
        snapshot = self._snapshot(self._volume())
        self.driver.delete_snapshot(snapshot)
        self.assertEqual([], os.listdir(self.snapshots_dir))
        self.driver.delete_snapshot(snapshot)
        self.driver.delete_snapshot({'id': uuidutils.generate_uuid()})
        self.assertEqual([], os.listdir(self.snapshots_dir))

    def test_delete_snapshot_with_volume(self):
        source = self._volume()
        _write(self._vpath(source), '0x5a')
        snapshot = self._snapshot(source)
        clone = self._volume(snapshot=snapshot)
        self.driver.delete_snapshot(snapshot)
        self.driver.delete_snapshot(snapshot)
        self.assertTrue(os.path.exists(self._spath(snapshot)))
        self.assertData(self._vpath(clone), '0x5a')
        # A deleted snapshot gets no new volumes.
        self.assertRaises(exception.VolumeDriverError,
                          self._volume, snapshot=snapshot)
        self.driver.delete_volume(clone)
        self.assertEqual([], os.listdir(self.snapshots_dir))

    def test_delete_snapshot_chain(self):
        source = self._volume()
        _write(self._vpath(source), '0x5a')
        s1 = self._snapshot(source)
        v2 = self._volume(snapshot=s1)
        _write(self._vpath(v2), '0x11', '1M')
        s2 = self._snapshot(v2)
        v3 = self._volume(snapshot=s2)
        s3 = self._snapshot(v3)
        self.assertEqual(self._spath(s2),
                         _info(self._spath(s3))['backing-filename'])
        for resource in (s1, s2):
            self.driver.delete_snapshot(resource)
        self.driver.delete_volume(v2)
        self.driver.delete_volume(v3)
        # s3 -> s2 -> s1 is all that is left, still readable.
        self.assertEqual(3, len(_info(self._spath(s3), chain=True)))
        self.assertData(self._spath(s3), '0x5a')
        self.assertData(self._spath(s3), '0x11', '1M')
        self.driver.delete_snapshot(s3)
        self.assertEqual([], os.listdir(self.snapshots_dir))
        self.assertEqual(['volume-%s.qcow2' % source['id']],
                         os.listdir(self.volumes_dir))

    def test_delete_parent_keeps_snapshot_of_clone_readable(self):
        source = self._volume()
        _write(self._vpath(source), '0x5a')
        s1 = self._snapshot(source)
        v2 = self._volume(snapshot=s1)
        self.driver.delete_snapshot(s1)
        # A deleted parent kept alive by v2 may gain s2 as a dependent.
        s2 = self._snapshot(v2)
        self.driver.delete_volume(v2)
        self.assertTrue(os.path.exists(self._spath(s1)))
        self.assertData(self._vpath(self._volume(snapshot=s2)), '0x5a')
        self.driver.delete_snapshot(s2)
        self.assertTrue(os.path.exists(self._spath(s1)))

    def test_delete_volume_retry_after_crash(self):
        snapshot = self._snapshot(self._volume())
        clone = self._volume(snapshot=snapshot)
        self.driver.delete_snapshot(snapshot)
        # Crash after the file went, before the marker did.
        os.unlink(self._vpath(clone))
        self.assertTrue(os.path.exists(self._spath(snapshot)))
        self.driver.delete_volume(clone)
        self.assertEqual([], os.listdir(self.snapshots_dir))

    def test_do_setup_finishes_collection(self):
        snapshot = self._snapshot(self._volume())
        clone = self._volume(snapshot=snapshot)
        self.driver.delete_snapshot(snapshot)
        # Crash after the marker went, before the snapshot was collected.
        os.unlink(self._vpath(clone))
        os.unlink(os.path.join(self.snapshots_dir,
                               'snapshot-%s.deps' % snapshot['id'],
                               'volume-%s' % clone['id']))
        qcow2.Qcow2Driver(self.conf).do_setup()
        self.assertEqual([], os.listdir(self.snapshots_dir))

    # Imported snapshots ----------------------------------------------------

    def _raw_image(self, size=3 * units.Mi):
        """A sparse raw image: 0x5a in its first 64 KiB, 0xa5 at 2 MiB."""
        path = os.path.join(self.root, 'image.raw')
        with open(path, 'wb') as f:
            f.truncate(size)
            f.write(b'\x5a' * 65536)
            f.seek(2 * units.Mi)
            f.write(b'\xa5' * 65536)
        return path

    def _imported(self, source, source_format, size=1):
        snapshot = {'id': uuidutils.generate_uuid(), 'volume_id': None,
                    'volume_size': size, 'provider_location': None}
        snapshot.update(self.driver.import_snapshot(snapshot, source,
                                                    source_format))
        return snapshot

    def test_import_raw(self):
        source = self._raw_image()
        snapshot = self._imported(source, 'raw')
        path = self._spath(snapshot)
        self.assertEqual(path, snapshot['provider_location'])
        info = _info(path)
        self.assertEqual('qcow2', info['format'])
        self.assertEqual(3 * units.Mi, info['virtual-size'])
        self.assertNotIn('backing-filename', info)
        self.assertData(path, '0x5a')
        self.assertData(path, '0', '64k', '64k')
        self.assertData(path, '0xa5', '2M', '64k')
        self.assertIsNone(self._deps(snapshot))
        self.assertNoLeftovers()

        # A volume made from it reads the image, then zeros.
        clone = self._volume(size=1, snapshot=snapshot)
        self.assertEqual(units.Gi,
                         _info(self._vpath(clone))['virtual-size'])
        self.assertData(self._vpath(clone), '0x5a')
        self.assertData(self._vpath(clone), '0xa5', '2M', '64k')
        self.assertData(self._vpath(clone), '0', '3M', '64k')
        self.assertEqual(['volume-%s' % clone['id']], self._deps(snapshot))
        # The source is only read.
        with open(source, 'rb') as f:
            self.assertEqual(b'\x5a' * 16, f.read(16))

    def test_import_qcow2(self):
        source = os.path.join(self.root, 'image.qcow2')
        processutils.execute('qemu-img', 'create', '-q', '-f', 'qcow2',
                             source, '2G')
        _write(source, '0x3c', '1G', '64k')
        snapshot = self._imported(source, 'qcow2', size=2)
        path = self._spath(snapshot)
        info = _info(path)
        self.assertEqual(2 * units.Gi, info['virtual-size'])
        self.assertNotIn('backing-filename', info)
        self.assertData(path, '0')
        self.assertData(path, '0x3c', '1G', '64k')
        self.assertLess(info['actual-size'], 4 * units.Mi)

    def test_import_twice_keeps_the_first_copy(self):
        source = self._raw_image()
        snapshot = self._imported(source, 'raw')
        inode = os.stat(self._spath(snapshot)).st_ino
        os.unlink(source)
        self.assertEqual(
            {'provider_location': self._spath(snapshot)},
            self.driver.import_snapshot(snapshot, source, 'raw'))
        self.assertEqual(inode, os.stat(self._spath(snapshot)).st_ino)

    def test_import_then_delete(self):
        snapshot = self._imported(self._raw_image(), 'raw')
        self.driver.delete_snapshot(snapshot)
        self.assertEqual([], os.listdir(self.snapshots_dir))

    def test_import_refuses_backing_file(self):
        # What the caller checked may have changed since: the driver
        # checks again before it copies anything.
        source = self._evil_volume(self._outside_raw())
        e = self.assertRaises(exception.VolumeDriverError,
                              self._imported, self._vpath(source), 'qcow2')
        self.assertIn('backing file', str(e))
        self.assertEqual([], os.listdir(self.snapshots_dir))

    def test_import_refuses_external_data_file(self):
        source = os.path.join(self.root, 'image.qcow2')
        processutils.execute(
            'qemu-img', 'create', '-q', '-f', 'qcow2', '-o',
            'data_file=%s' % self._outside_raw(), source, '1M')
        e = self.assertRaises(exception.VolumeDriverError,
                              self._imported, source, 'qcow2')
        self.assertIn('data file', str(e))
        self.assertEqual([], os.listdir(self.snapshots_dir))

    def test_import_format_mismatch(self):
        source = self._raw_image()
        e = self.assertRaises(exception.VolumeDriverError,
                              self._imported, source, 'qcow2')
        self.assertIn('format raw, not qcow2', str(e))
        self.assertEqual([], os.listdir(self.snapshots_dir))

    def test_import_missing_source(self):
        e = self.assertRaises(exception.VolumeDriverError, self._imported,
                              os.path.join(self.root, 'nope.raw'), 'raw')
        self.assertIn('No such file', str(e))
        self.assertEqual([], os.listdir(self.snapshots_dir))

    def test_import_failure_leaves_nothing(self):
        source = self._raw_image()
        real = self.driver._qemu_img

        def convert_fails(*args, **kwargs):
            if args[0] != 'convert':
                return real(*args, **kwargs)
            with open(args[-1], 'wb') as f:
                f.write(b'half written')
            raise exception.VolumeDriverError('qemu-img convert failed')

        self.useFixture(fixtures.MonkeyPatch(
            'ebsboot.volume.drivers.qcow2.Qcow2Driver._qemu_img',
            lambda driver, *args, **kwargs: convert_fails(*args, **kwargs)))
        self.assertRaises(exception.VolumeDriverError,
                          self._imported, source, 'raw')
        self.assertEqual([], os.listdir(self.snapshots_dir))

    # Backing chain validation ----------------------------------------------

    def _evil_volume(self, backing, backing_format='raw', volume=None):
        volume = volume or {'id': uuidutils.generate_uuid(), 'size': 1,
                            'snapshot_id': None, 'provider_location': None}
        processutils.execute('qemu-img', 'create', '-q', '-f', 'qcow2',
                             '-b', backing, '-F', backing_format,
                             self._vpath(volume), '1G')
        return volume

    def _outside_raw(self):
        outside = os.path.join(self.root, 'outside', 'outside.raw')
        os.makedirs(os.path.dirname(outside))
        with open(outside, 'wb') as f:
            f.write(b'secret' * 1024)
        return outside

    def test_validate_chain(self):
        snapshot = self._snapshot(self._volume())
        clone = self._volume(snapshot=snapshot)
        chain = self.driver._validate_chain(self._vpath(clone))
        self.assertEqual([self._vpath(clone), self._spath(snapshot)],
                         [image['filename'] for image in chain])

    def test_validate_chain_backing_outside_store(self):
        volume = self._evil_volume(self._outside_raw())
        e = self.assertRaises(exception.UnsafeBackingChain,
                              self.driver._validate_chain,
                              self._vpath(volume))
        self.assertIn('outside.raw', str(e))
        self.assertRaises(exception.UnsafeBackingChain,
                          self.driver.initialize_connection, volume, {})
        snapshot = {'id': uuidutils.generate_uuid(),
                    'volume_id': volume['id'], 'volume_size': 1}
        self.assertRaises(exception.UnsafeBackingChain,
                          self.driver.create_snapshot, snapshot, volume)
        self.assertEqual([], os.listdir(self.snapshots_dir))

    def test_validate_chain_qcow2_backing_outside_store(self):
        outside = os.path.join(self.root, 'outside.qcow2')
        processutils.execute('qemu-img', 'create', '-q', '-f', 'qcow2',
                             outside, '1G')
        volume = self._evil_volume(outside, 'qcow2')
        e = self.assertRaises(exception.UnsafeBackingChain,
                              self.driver._validate_chain,
                              self._vpath(volume))
        self.assertIn('outside the volume store', str(e))

    def test_validate_chain_raw_backing_inside_store(self):
        raw = os.path.join(self.snapshots_dir,
                           'snapshot-%s.qcow2' % uuidutils.generate_uuid())
        with open(raw, 'wb') as f:
            f.write(b'\0' * 65536)
        volume = self._evil_volume(raw)
        e = self.assertRaises(exception.UnsafeBackingChain,
                              self.driver._validate_chain,
                              self._vpath(volume))
        self.assertIn('raw', str(e))

    def test_validate_chain_raw_snapshot(self):
        # A raw file where a snapshot should be is not probed into use.
        snapshot = {'id': uuidutils.generate_uuid(), 'volume_size': 1}
        with open(self._spath(snapshot), 'wb') as f:
            f.write(b'\0' * 65536)
        self.assertRaises(exception.UnsafeBackingChain,
                          self._volume, snapshot=snapshot)
        self.assertEqual([], os.listdir(self.volumes_dir))
        self.assertIsNone(self._deps(snapshot))

    def test_validate_chain_evil_snapshot(self):
        volume = self._evil_volume(self._outside_raw())
        snapshot = {'id': uuidutils.generate_uuid(), 'volume_size': 1}
        os.rename(self._vpath(volume), self._spath(snapshot))
        self.assertRaises(exception.UnsafeBackingChain,
                          self._volume, snapshot=snapshot)
        self.assertEqual([], os.listdir(self.volumes_dir))
        self.assertIsNone(self._deps(snapshot))

    def test_validate_chain_symlink_outside_store(self):
        outside = os.path.join(self.root, 'outside.qcow2')
        processutils.execute('qemu-img', 'create', '-q', '-f', 'qcow2',
                             outside, '1G')
        volume = {'id': uuidutils.generate_uuid()}
        os.symlink(outside, self._vpath(volume))
        self.assertRaises(exception.UnsafeBackingChain,
                          self.driver.initialize_connection, volume, {})

    def test_validate_chain_external_data_file(self):
        volume = {'id': uuidutils.generate_uuid()}
        processutils.execute(
            'qemu-img', 'create', '-q', '-f', 'qcow2', '-o',
            'data_file=%s' % os.path.join(self.volumes_dir, 'data.raw'),
            self._vpath(volume), '1M')
        e = self.assertRaises(exception.UnsafeBackingChain,
                              self.driver.initialize_connection, volume, {})
        self.assertIn('data file', str(e))

    def test_validate_chain_missing_file(self):
        e = self.assertRaises(exception.VolumeDriverError,
                              self.driver._validate_chain,
                              os.path.join(self.volumes_dir, 'nope.qcow2'))
        self.assertIn('No such file', str(e))

    # Connections and stats -------------------------------------------------

    def test_initialize_connection(self):
        volume = self._volume()
        connection = self.driver.initialize_connection(
            volume, {'host': 'h1', 'ip': '127.0.0.1'})
        self.assertEqual({'driver_volume_type': 'local',
                          'data': {'device_path': self._vpath(volume),
                                   'format': 'qcow2',
                                   'volume_id': volume['id']}},
                         connection)
        self.assertIsNone(self.driver.terminate_connection(volume, {}))

    def test_get_volume_stats(self):
        stats = self.driver.get_volume_stats()
        self.assertEqual('qcow2', stats['volume_backend_name'])
        self.assertEqual('local', stats['storage_protocol'])
        self.assertGreater(stats['total_capacity_gb'], 0)
        self.assertGreaterEqual(stats['total_capacity_gb'],
                                stats['free_capacity_gb'])
        self.assertGreaterEqual(stats['free_capacity_gb'], 0)
        json.dumps(stats)
