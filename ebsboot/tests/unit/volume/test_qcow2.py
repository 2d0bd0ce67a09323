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
from ebsboot import importfile
from ebsboot.volume import diskimage
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
        self.templates_dir = os.path.join(self.snapshots_dir, 'templates')
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

    def _snapshot_files(self):
        """What the snapshots folder holds, templates included.

        The (empty) templates folder itself does not count.
        """
        names = sorted(os.listdir(self.snapshots_dir))
        names.remove('templates')
        return names + ['templates/' + name for name in sorted(
            os.listdir(self.templates_dir))]

    def assertNoLeftovers(self):
        for folder in (self.volumes_dir, self.snapshots_dir,
                       self.templates_dir):
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
        shutil.rmtree(self.snapshots_dir)
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

    def test_extend_volume_keeps_data(self):
        volume = self._volume(size=1)
        _write(self._vpath(volume), '0x5a', offset=units.Gi - 65536)
        self.driver.extend_volume(volume, 3)
        self.assertEqual(3 * units.Gi,
                         _info(self._vpath(volume))['virtual-size'])
        processutils.execute(
            'qemu-io', '-f', 'qcow2', '-c',
            'read -P 0x5a %d 64k' % (units.Gi - 65536), '-c',
            'read -P 0 %d 64k' % (2 * units.Gi), self._vpath(volume))
        # Again, or to a smaller size: left alone.
        self.driver.extend_volume(volume, 3)
        self.driver.extend_volume(volume, 2)
        self.assertEqual(3 * units.Gi,
                         _info(self._vpath(volume))['virtual-size'])

    def test_extend_volume_made_from_a_snapshot(self):
        source = self._volume(size=1)
        _write(self._vpath(source), '0x11')
        volume = self._volume(size=1, snapshot=self._snapshot(source))
        self.driver.extend_volume(volume, 2)
        info = _info(self._vpath(volume), chain=True)
        self.assertEqual(2 * units.Gi, info[0]['virtual-size'])
        self.assertEqual(2, len(info))
        processutils.execute('qemu-io', '-f', 'qcow2', '-c',
                             'read -P 0x11 0 64k', self._vpath(volume))

    def test_extend_volume_refuses_a_file_a_process_holds(self):
        volume = self._volume(size=1)
        # qemu-io keeps the image open (and locked) while it reads stdin.
        holder = subprocess.Popen(
            ['qemu-io', '-f', 'qcow2', self._vpath(volume)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT)
        self.addCleanup(holder.wait)
        self.addCleanup(holder.stdin.close)
        holder.stdin.write(b'read 0 512\n')
        holder.stdin.flush()
        holder.stdout.readline()
        self.assertRaises(exception.VolumeDriverError,
                          self.driver.extend_volume, volume, 2)
        self.assertEqual(units.Gi,
                         _info(self._vpath(volume))['virtual-size'])

    def test_extend_volume_outside_the_store(self):
        volume = self._volume(size=1)
        os.rename(self._vpath(volume), os.path.join(self.root, 'x.qcow2'))
        os.symlink(os.path.join(self.root, 'x.qcow2'), self._vpath(volume))
        self.assertRaises(exception.UnsafeBackingChain,
                          self.driver.extend_volume, volume, 2)

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
        self.assertEqual([], self._snapshot_files())

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

    def _new_volumes(self, sizes, snapshot):
        return [{'id': uuidutils.generate_uuid(), 'size': size,
                 'provider_location': None, 'snapshot_id': snapshot['id']}
                for size in sizes]

    def test_volumes_from_snapshot_together(self):
        source = self._volume()
        _write(source['provider_location'], '0x5a', 0, '1M')
        snapshot = self._snapshot(source)
        existing = self._volume(snapshot=snapshot)
        _write(existing['provider_location'], '0x11')
        volumes = self._new_volumes([1, 2, 1], snapshot) + [existing]
        fsyncs = self.useFixture(fixtures.MockPatch(
            'ebsboot.volume.drivers.qcow2._fsync',
            side_effect=qcow2._fsync)).mock
        results = self.driver.create_volumes_from_snapshot(volumes,
                                                           snapshot)
        self.assertEqual({v['id']: {'provider_location': self._vpath(v)}
                          for v in volumes}, results)
        for volume in volumes[:3]:
            info = _info(self._vpath(volume))
            self.assertEqual(volume['size'] * units.Gi, info['virtual-size'])
            self.assertEqual(self._spath(snapshot), info['backing-filename'])
            self.assertData(self._vpath(volume), '0x5a', 0, '1M')
        # The volume that was there already keeps its data.
        self.assertData(self._vpath(existing), '0x11')
        self.assertEqual(sorted('volume-%s' % v['id'] for v in volumes),
                         self._deps(snapshot))
        # Each new file once, the markers' and the volumes' folders once
        # (and a new template's file and folder).
        flushed = [call.args[0] for call in fsyncs.call_args_list]
        for volume in volumes[:3]:
            tmp = qcow2._tmp_path(self._vpath(volume))
            self.assertEqual(1, flushed.count(tmp))
        self.assertEqual(1, flushed.count(self.volumes_dir), flushed)
        self.assertEqual(1, flushed.count(
            os.path.join(self.snapshots_dir,
                         'snapshot-%s.deps' % snapshot['id'])))
        self.assertNoLeftovers()
        # Again: nothing changes.
        self.assertEqual(results, self.driver.create_volumes_from_snapshot(
            volumes, snapshot))

    def test_volumes_from_snapshot_one_too_small(self):
        snapshot = self._snapshot(self._volume(size=2))
        small, big, other = self._new_volumes([1, 2, 3], snapshot)
        results = self.driver.create_volumes_from_snapshot(
            [small, big, other], snapshot)
        self.assertIsInstance(results[small['id']],
                              exception.VolumeDriverError)
        self.assertEqual({'provider_location': self._vpath(big)},
                         results[big['id']])
        self.assertTrue(os.path.exists(self._vpath(other)))
        self.assertFalse(os.path.exists(self._vpath(small)))
        self.assertEqual(sorted(['volume-%s' % big['id'],
                                 'volume-%s' % other['id']]),
                         self._deps(snapshot))

    def test_volumes_from_snapshot_failure_goes_one_by_one(self):
        snapshot = self._snapshot(self._volume())
        volumes = self._new_volumes([1, 1, 1], snapshot)
        real_copy = shutil.copyfile
        copies = []

        def copy(source, target):
            # The second copy of the batch fails; the one-by-one retry
            # of that volume works.
            copies.append(target)
            if len(copies) == 2:
                raise OSError('disk full')
            return real_copy(source, target)

        self.useFixture(fixtures.MockPatch(
            'ebsboot.volume.drivers.qcow2.shutil.copyfile',
            side_effect=copy))
        results = self.driver.create_volumes_from_snapshot(volumes,
                                                           snapshot)
        self.assertEqual({v['id']: {'provider_location': self._vpath(v)}
                          for v in volumes}, results)
        for volume in volumes:
            self.assertEqual(self._spath(snapshot),
                             _info(self._vpath(volume))['backing-filename'])
        self.assertNoLeftovers()

    def test_volumes_from_deleted_snapshot(self):
        snapshot = self._snapshot(self._volume())
        self.driver.delete_snapshot(snapshot)
        before = os.listdir(self.volumes_dir)
        volumes = self._new_volumes([1, 1], snapshot)
        results = self.driver.create_volumes_from_snapshot(volumes,
                                                           snapshot)
        for volume in volumes:
            self.assertIsInstance(results[volume['id']],
                                  exception.VolumeDriverError)
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
        self.assertEqual([], self._snapshot_files())
        self.driver.delete_snapshot(snapshot)
        self.driver.delete_snapshot({'id': uuidutils.generate_uuid()})
        self.assertEqual([], self._snapshot_files())

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
        self.assertEqual([], self._snapshot_files())

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
        self.assertEqual([], self._snapshot_files())
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

    def _copy(self, source):
        copy = {'id': uuidutils.generate_uuid(), 'volume_id': None,
                'volume_size': source['volume_size'],
                'provider_location': None}
        copy.update(self.driver.copy_snapshot(copy, source))
        return copy

    def test_copy_snapshot_outlives_its_source(self):
        source = self._volume()
        _write(self._vpath(source), '0x5a')
        s1 = self._snapshot(source)
        clone = self._volume(snapshot=s1)
        _write(self._vpath(clone), '0x11', '1M')
        s2 = self._snapshot(clone)
        copy = self._copy(s2)
        self.assertEqual(copy, dict(copy, **self.driver.copy_snapshot(
            copy, s2)))
        info = _info(self._spath(copy))
        self.assertNotIn('backing-filename', info)
        self.assertIsNone(self._deps(copy))
        for snapshot in (s1, s2):
            self.driver.delete_snapshot(snapshot)
        self.driver.delete_volume(clone)
        self.assertFalse(os.path.exists(self._spath(s2)))
        self.assertData(self._spath(copy), '0x5a')
        self.assertData(self._spath(copy), '0x11', '1M')
        restored = self._volume(snapshot=copy)
        self.assertData(self._vpath(restored), '0x11', '1M')
        self.assertNoLeftovers()

    def test_copy_of_missing_snapshot(self):
        self.assertRaises(exception.VolumeDriverError, self._copy,
                          {'id': uuidutils.generate_uuid(),
                           'volume_size': 1})
        self.assertNoLeftovers()

    def test_delete_volume_retry_after_crash(self):
        snapshot = self._snapshot(self._volume())
        clone = self._volume(snapshot=snapshot)
        self.driver.delete_snapshot(snapshot)
        # Crash after the file went, before the marker did.
        os.unlink(self._vpath(clone))
        self.assertTrue(os.path.exists(self._spath(snapshot)))
        self.driver.delete_volume(clone)
        self.assertEqual([], self._snapshot_files())

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
        self.assertEqual([], self._snapshot_files())

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

    def _imported(self, source, source_format, size=1, snapshot=None):
        snapshot = snapshot or {
            'id': uuidutils.generate_uuid(), 'volume_id': None,
            'volume_size': size, 'provider_location': None}
        with importfile.open_source(source) as opened:
            snapshot.update(self.driver.import_snapshot(snapshot, opened,
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

    def test_import_raw_of_a_size_not_in_sectors(self):
        source = os.path.join(self.root, 'odd.raw')
        with open(source, 'wb') as f:
            f.write(b'\x5a' * 1000)
        snapshot = self._imported(source, 'raw')
        self.assertEqual(1024, _info(self._spath(snapshot))['virtual-size'])
        self.assertData(self._spath(snapshot), '0x5a', 0, 1000)

    def test_import_twice_keeps_the_first_copy(self):
        source = self._raw_image()
        snapshot = self._imported(source, 'raw')
        inode = os.stat(self._spath(snapshot)).st_ino
        with open(source, 'wb') as f:
            f.write(b'other data')
        self.assertEqual(self._spath(snapshot), self._imported(
            source, 'raw', snapshot=snapshot)['provider_location'])
        self.assertEqual(inode, os.stat(self._spath(snapshot)).st_ino)

    def test_import_then_delete(self):
        snapshot = self._imported(self._raw_image(), 'raw')
        self.driver.delete_snapshot(snapshot)
        self.assertEqual([], self._snapshot_files())

    def test_import_refuses_backing_file(self):
        # What the caller checked may have changed since: the driver
        # checks again before it copies anything.
        source = self._evil_volume(self._outside_raw())
        e = self.assertRaises(exception.VolumeDriverError,
                              self._imported, self._vpath(source), 'qcow2')
        self.assertIn('backing file', str(e))
        self.assertEqual([], self._snapshot_files())

    def test_import_refuses_external_data_file(self):
        source = os.path.join(self.root, 'image.qcow2')
        processutils.execute(
            'qemu-img', 'create', '-q', '-f', 'qcow2', '-o',
            'data_file=%s' % self._outside_raw(), source, '1M')
        e = self.assertRaises(exception.VolumeDriverError,
                              self._imported, source, 'qcow2')
        self.assertIn('data file', str(e))
        self.assertEqual([], self._snapshot_files())

    def test_import_format_mismatch(self):
        source = self._raw_image()
        e = self.assertRaises(exception.VolumeDriverError,
                              self._imported, source, 'qcow2')
        self.assertIn('format raw, not qcow2', str(e))
        self.assertEqual([], self._snapshot_files())

    def test_import_reads_the_open_file(self):
        source = os.path.join(self.root, 'image.qcow2')
        processutils.execute('qemu-img', 'create', '-q', '-f', 'qcow2',
                             source, '1M')
        _write(source, '0x3c')
        evil = self._evil_volume(self._outside_raw())
        snapshot = {'id': uuidutils.generate_uuid(), 'volume_id': None,
                    'volume_size': 1, 'provider_location': None}
        with importfile.open_source(source) as opened:
            # Another file under the name: the open one is imported.
            os.rename(self._vpath(evil), source)
            self.driver.import_snapshot(snapshot, opened, 'qcow2')
        self.assertData(self._spath(snapshot), '0x3c')
        self.assertNotIn('backing-filename', _info(self._spath(snapshot)))
        self.assertNoLeftovers()

    def _change_after_inspection(self, change):
        """Run ``change()`` right after the driver's own inspection."""
        real = diskimage.inspect

        def inspect(source, *args):
            image = real(source, *args)
            change()
            return image

        self.useFixture(fixtures.MonkeyPatch(
            'ebsboot.volume.diskimage.inspect', inspect))

    def test_import_qcow2_converts_what_it_checked(self):
        # The owner of the file rewrites it in place (same inode) after
        # the checks: the driver converts its private copy.
        source = os.path.join(self.root, 'image.qcow2')
        processutils.execute('qemu-img', 'create', '-q', '-f', 'qcow2',
                             source, '1M')
        _write(source, '0x3c')
        evil = os.path.join(self.root, 'evil.qcow2')
        processutils.execute('qemu-img', 'create', '-q', '-f', 'qcow2',
                             '-b', self._outside_raw(), '-F', 'raw', evil,
                             '1M')

        def rewrite():
            with open(evil, 'rb') as f, open(source, 'r+b') as g:
                g.truncate(0)
                g.write(f.read())

        self._change_after_inspection(rewrite)
        snapshot = self._imported(source, 'qcow2')
        self.assertIn('backing-filename', _info(source))
        self.assertNotIn('backing-filename', _info(self._spath(snapshot)))
        self.assertData(self._spath(snapshot), '0x3c')
        # The copy had no name and is gone.
        self.assertEqual(['snapshot-%s.qcow2' % snapshot['id']],
                         self._snapshot_files())
        self.assertNoLeftovers()

    def test_import_refuses_raw_that_changed_size(self):
        source = self._raw_image()

        def grow():
            with open(source, 'ab') as f:
                f.write(b'\x5a' * units.Mi)

        self._change_after_inspection(grow)
        e = self.assertRaises(exception.VolumeDriverError, self._imported,
                              source, 'raw')
        self.assertIn('changed during the import', str(e))
        self.assertEqual([], self._snapshot_files())
        self.assertNoLeftovers()

    def test_import_refuses_other_size(self):
        e = self.assertRaises(exception.VolumeDriverError, self._imported,
                              self._raw_image(), 'raw', size=2)
        self.assertIn('not the 2 GiB of snapshot', str(e))
        self.assertEqual([], self._snapshot_files())

    def test_import_of_a_closed_file(self):
        snapshot = {'id': uuidutils.generate_uuid(), 'volume_id': None,
                    'volume_size': 1, 'provider_location': None}
        opened = importfile.open_source(self._raw_image())
        opened.close()
        self.assertRaises(ValueError, self.driver.import_snapshot, snapshot,
                          opened, 'raw')
        self.assertEqual([], self._snapshot_files())

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
        self.assertEqual([], self._snapshot_files())

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
        self.assertEqual([], self._snapshot_files())

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

    # Templates -------------------------------------------------------------

    def _tpath(self, snapshot, size):
        return os.path.join(self.templates_dir, 'snapshot-%s-%dG.qcow2'
                            % (snapshot['id'], size))

    def _read(self, path):
        with open(path, 'rb') as f:
            return f.read()

    def _count_qemu_img(self, command):
        """Count the driver's ``qemu-img <command>`` runs."""
        calls = []
        real = self.driver._qemu_img

        def counting(*args, **kwargs):
            if args[0] == command:
                calls.append(args)
            return real(*args, **kwargs)

        self.useFixture(fixtures.MockPatchObject(
            self.driver, '_qemu_img', side_effect=counting))
        return calls

    def test_volumes_from_snapshot_are_copies_of_a_template(self):
        source = self._volume()
        _write(source['provider_location'], '0x5a', 0, '1M')
        snapshot = self._snapshot(source)
        creates = self._count_qemu_img('create')
        first = self._volume(size=2, snapshot=snapshot)
        second = self._volume(size=2, snapshot=snapshot)
        # One qemu-img create for both: the template's.
        self.assertEqual(1, len(creates))
        self.assertEqual(['templates/snapshot-%s-2G.qcow2' % snapshot['id']],
                         [n for n in self._snapshot_files()
                          if n.startswith('templates/')])
        template = self._read(self._tpath(snapshot, 2))
        # What qemu-img create makes at the volume's own path.
        reference = os.path.join(self.root, 'reference.qcow2')
        processutils.execute('qemu-img', 'create', '-q', '-f', 'qcow2',
                             '-b', self._spath(snapshot), '-F', 'qcow2',
                             reference, '2G')
        self.assertEqual(self._read(reference), template)
        for clone in (first, second):
            path = self._vpath(clone)
            self.assertEqual(template, self._read(path))
            self.assertNotEqual(os.stat(self._tpath(snapshot, 2)).st_ino,
                                os.stat(path).st_ino)
            info = _info(path)
            self.assertEqual(2 * units.Gi, info['virtual-size'])
            self.assertEqual(self._spath(snapshot), info['backing-filename'])
            self.assertEqual('qcow2', info['backing-filename-format'])
            self.assertData(path, '0x5a', 0, '1M')
            self.assertData(path, '0', '1M', '64k')
        # Copies, not links: a write to one is not seen by the other.
        _write(self._vpath(first), '0x11')
        self.assertData(self._vpath(second), '0x5a')
        self.assertEqual(template, self._read(self._tpath(snapshot, 2)))
        self.assertEqual(sorted(['volume-%s' % first['id'],
                                 'volume-%s' % second['id']]),
                         self._deps(snapshot))
        self.assertNoLeftovers()

    def test_other_size_makes_another_template(self):
        snapshot = self._snapshot(self._volume())
        creates = self._count_qemu_img('create')
        small = self._volume(size=1, snapshot=snapshot)
        big = self._volume(size=3, snapshot=snapshot)
        self._volume(size=3, snapshot=snapshot)
        self.assertEqual(2, len(creates))
        self.assertEqual(
            ['templates/snapshot-%s-%dG.qcow2' % (snapshot['id'], size)
             for size in (1, 3)],
            [n for n in self._snapshot_files() if n.startswith('templates/')])
        self.assertEqual(units.Gi, _info(self._vpath(small))['virtual-size'])
        self.assertEqual(3 * units.Gi,
                         _info(self._vpath(big))['virtual-size'])
        self.assertNotEqual(self._read(self._tpath(snapshot, 1)),
                            self._read(self._tpath(snapshot, 3)))

    def test_templates_are_per_snapshot(self):
        s1 = self._snapshot(self._volume())
        s2 = self._snapshot(self._volume())
        v1 = self._volume(snapshot=s1)
        v2 = self._volume(snapshot=s2)
        self.assertEqual(self._spath(s1),
                         _info(self._vpath(v1))['backing-filename'])
        self.assertEqual(self._spath(s2),
                         _info(self._vpath(v2))['backing-filename'])

    def test_templates_go_with_their_snapshot(self):
        snapshot = self._snapshot(self._volume())
        other = self._snapshot(self._volume())
        clones = [self._volume(size=size, snapshot=snapshot)
                  for size in (1, 2)]
        kept = self._volume(snapshot=other)
        self.driver.delete_snapshot(snapshot)
        # Deleted but alive (two volumes use it): the templates stay.
        self.assertTrue(os.path.exists(self._tpath(snapshot, 1)))
        self.assertTrue(os.path.exists(self._tpath(snapshot, 2)))
        self.driver.delete_volume(clones[0])
        self.assertTrue(os.path.exists(self._tpath(snapshot, 2)))
        self.driver.delete_volume(clones[1])
        # Collected: its file and its templates are gone, not the others.
        self.assertEqual(
            sorted(['snapshot-%s.qcow2' % other['id'],
                    'snapshot-%s.deps' % other['id'],
                    'templates/snapshot-%s-1G.qcow2' % other['id']]),
            self._snapshot_files())
        self.assertNotIn(snapshot['id'], self.driver._trusted)
        self.assertIn(other['id'], self.driver._trusted)
        self.driver.delete_volume(kept)
        self.driver.delete_snapshot(other)
        self.assertEqual([], self._snapshot_files())

    def test_do_setup_collection_removes_templates(self):
        snapshot = self._snapshot(self._volume())
        clone = self._volume(snapshot=snapshot)
        self.driver.delete_snapshot(snapshot)
        # Crash after the volume's marker went, before the collection.
        os.unlink(self._vpath(clone))
        os.unlink(os.path.join(self.snapshots_dir,
                               'snapshot-%s.deps' % snapshot['id'],
                               'volume-%s' % clone['id']))
        qcow2.Qcow2Driver(self.conf).do_setup()
        self.assertEqual([], self._snapshot_files())

    def test_template_failure_leaves_nothing(self):
        snapshot = self._snapshot(self._volume())
        e = self.assertRaises(exception.VolumeDriverError, self._volume,
                              size=10 ** 10, snapshot=snapshot)
        self.assertIn('Invalid image size', str(e))
        self.assertEqual([], os.listdir(self.templates_dir))
        self.assertEqual([], self._deps(snapshot))
        # The snapshot itself is fine for other sizes.
        self._volume(size=1, snapshot=snapshot)
        self.assertNoLeftovers()

    def test_chain_of_a_snapshot_is_validated_once(self):
        snapshot = self._snapshot(self._volume())
        validate = self.useFixture(fixtures.MockPatchObject(
            self.driver, '_validate_chain',
            side_effect=self.driver._validate_chain)).mock
        clones = [self._volume(size=size, snapshot=snapshot)
                  for size in (1, 1, 2)]
        for clone in clones:
            self.driver.initialize_connection(clone, {})
        self.assertEqual([((self._spath(snapshot),), {})],
                         [tuple(c) for c in validate.call_args_list])
        # Each snapshot on its own.
        other = self._snapshot(self._volume())
        for _ in range(2):
            self.driver.initialize_connection(
                self._volume(snapshot=other), {})
        validated = [c[0][0] for c in validate.call_args_list]
        self.assertEqual(1, validated.count(self._spath(other)))
        self.assertEqual(1, validated.count(self._spath(snapshot)))
        # A collected snapshot is forgotten: validated again if it came
        # back (here it does not exist, so that fails).
        self.driver.delete_snapshot(other)
        for clone in clones:
            self.driver.delete_volume(clone)
        self.driver.delete_snapshot(snapshot)
        self.assertNotIn(snapshot['id'], self.driver._trusted)
        self.assertRaises(exception.VolumeDriverError,
                          self.driver._trust_snapshot, snapshot['id'])

    def test_snapshot_with_bad_chain_is_not_trusted(self):
        evil = self._evil_volume(self._outside_raw())
        snapshot = {'id': uuidutils.generate_uuid(), 'volume_size': 1}
        os.rename(self._vpath(evil), self._spath(snapshot))
        for _attempt in range(2):
            self.assertRaises(exception.UnsafeBackingChain,
                              self.driver._trust_snapshot, snapshot['id'])
        self.assertNotIn(snapshot['id'], self.driver._trusted)

    # initialize_connection reads the volume's header -----------------------

    def _crafted(self, *options, size='1G'):
        volume = {'id': uuidutils.generate_uuid(), 'size': 1,
                  'snapshot_id': None, 'provider_location': None}
        processutils.execute('qemu-img', 'create', '-q', '-f', 'qcow2',
                             *options, self._vpath(volume), size)
        return volume

    def assertRefused(self, volume, reason):
        e = self.assertRaises(exception.UnsafeBackingChain,
                              self.driver.initialize_connection, volume, {})
        self.assertIn(reason, str(e))

    def test_connection_accepts_volumes_ebsboot_makes(self):
        snapshot = self._snapshot(self._volume())
        for volume in (self._volume(), self._volume(snapshot=snapshot),
                       self._volume(size=2, snapshot=snapshot),
                       # A later snapshot of a clone backs it too.
                       self._volume(snapshot=self._snapshot(
                           self._volume(snapshot=snapshot)))):
            connection = self.driver.initialize_connection(volume, {})
            self.assertEqual(self._vpath(volume),
                             connection['data']['device_path'])
        # As qemu-img create would have made it (no template).
        manual = self._crafted('-b', self._spath(snapshot), '-F', 'qcow2')
        self.driver.initialize_connection(manual, {})

    def test_connection_refuses_backing_outside_store(self):
        outside = os.path.join(self.root, 'outside.qcow2')
        processutils.execute('qemu-img', 'create', '-q', '-f', 'qcow2',
                             outside, '1G')
        self.assertRefused(self._crafted('-b', outside, '-F', 'qcow2'),
                           'is not a snapshot')

    def test_connection_refuses_backing_that_is_not_a_snapshot(self):
        snapshot = self._snapshot(self._volume())
        other = self._volume()
        template = self._tpath(snapshot, 1)
        self._volume(snapshot=snapshot)
        for backing in (self._vpath(other), template,
                        os.path.join(self.snapshots_dir, 'other.qcow2')):
            if not os.path.exists(backing):
                shutil.copyfile(self._spath(snapshot), backing)
            self.assertRefused(self._crafted('-b', backing, '-F', 'qcow2'),
                               'is not a snapshot')

    def test_connection_refuses_snapshot_backing_of_format_raw(self):
        snapshot = self._snapshot(self._volume())
        self.assertRefused(
            self._crafted('-b', self._spath(snapshot), '-F', 'raw'),
            'is not a snapshot')

    def test_connection_refuses_relative_backing_name(self):
        # qemu would look for it next to the volume; a realpath taken
        # from the right working directory would find the snapshot.
        snapshot = self._snapshot(self._volume())
        self.useFixture(fixtures.MonkeyPatch('os.getcwd',
                                             lambda: self.snapshots_dir))
        self.assertRefused(
            self._crafted('-u', '-b', os.path.basename(
                self._spath(snapshot)), '-F', 'qcow2'),
            'is not a snapshot')

    def test_connection_refuses_data_file(self):
        data = os.path.join(self.volumes_dir, 'data.raw')
        self.assertRefused(self._crafted('-o', 'data_file=%s' % data,
                                         size='1M'),
                           'external data file')

    def test_connection_refuses_file_that_is_not_qcow2(self):
        volume = {'id': uuidutils.generate_uuid()}
        with open(self._vpath(volume), 'wb') as f:
            f.write(b'\0' * 65536)
        self.assertRefused(volume, 'not a qcow2 file')
        self.assertRaises(exception.UnsafeBackingChain,
                          self.driver.initialize_connection,
                          {'id': uuidutils.generate_uuid()}, {})

    def test_connection_refuses_snapshot_with_bad_chain(self):
        # The volume's header is fine; the snapshot it names is not.
        evil = self._evil_volume(self._outside_raw())
        snapshot = {'id': uuidutils.generate_uuid(), 'volume_size': 1}
        os.rename(self._vpath(evil), self._spath(snapshot))
        self.assertRefused(
            self._crafted('-b', self._spath(snapshot), '-F', 'qcow2'),
            'outside.raw')

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
