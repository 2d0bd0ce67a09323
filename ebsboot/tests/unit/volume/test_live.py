"""Live snapshots: real qcow2 files, a simulated guest, crashes at each step.

The guest is simulated by ``FakeGuest``: it knows which file each of its
disks writes (the volume file, or an overlay after ``snapshot_disks``),
writes data there with ``qemu-io``, and merges an overlay back with
``qemu-img commit`` as QEMU's block commit would. A crash is an exception
no step catches; the volume service then starts again (a new manager, its
``init_host``) and must finish with the guest on its volume files, no
overlay left and the snapshot completed, holding the data of the instant of
the one switch.
"""

import glob
import os
import subprocess
from unittest import mock

import fixtures
from oslo_config import cfg
import oslo_messaging as messaging

from ebsboot.conf import volume as volume_conf
from ebsboot import context as ebs_context
from ebsboot.db import api as db
from ebsboot.tests.unit import base
from ebsboot.volume.drivers import qcow2
from ebsboot.volume import live
from ebsboot.volume import manager as volume_manager

HOST = 'volume-host'
COMPUTE = 'compute-host'
MIB = 1024 * 1024


class Crash(BaseException):
    """The service died here."""


class FakeGuest:
    """The compute RPC API with one running guest on qcow2 files."""

    def __init__(self):
        self.on = {}           # volume file -> file the guest writes
        self.running = True
        self.calls = []
        self.switches = 0      # times a disk really moved to an overlay
        self.fail = {}         # (method, when) -> exceptions to raise

    def can_snapshot_disks(self):
        return True

    def _maybe_fail(self, method, when):
        errors = self.fail.get((method, when))
        if errors:
            raise errors.pop(0)

    def snapshot_disks(self, context, host, instance, disks):
        self.calls.append(('snapshot_disks', sorted(d['path']
                                                    for d in disks)))
        self._maybe_fail('snapshot_disks', 'before')
        if not self.running:
            return {d['path']: 'inactive' for d in disks}
        for d in disks:
            if self.on.get(d['path'], d['path']) == d['path']:
                self.on[d['path']] = d['overlay']
                self.switches += 1
        self._maybe_fail('snapshot_disks', 'after')
        return {d['path']: 'switched' for d in disks}

    def commit_disks(self, context, host, instance, disks):
        self.calls.append(('commit_disks', sorted(d['path']
                                                  for d in disks)))
        self._maybe_fail('commit_disks', 'before')
        if not self.running:
            return {d['path']: 'inactive' for d in disks}
        for d in disks:
            if self.on.get(d['path']) == d['overlay']:
                subprocess.run(['qemu-img', 'commit', '-q', '-f', 'qcow2',
                                d['overlay']], check=True)
                self.on[d['path']] = d['path']
        return {d['path']: 'committed' for d in disks}

    def write(self, volume_path, pattern):
        """The guest writes 1 MiB of ``pattern`` at the start of a disk."""
        target = self.on.get(volume_path, volume_path)
        subprocess.run(['qemu-io', '-f', 'qcow2', '-c',
                        'write -P %d 0 1M' % pattern, target], check=True,
                       capture_output=True)


def _pattern(path):
    """The byte the first MiB of a qcow2 file (and chain) reads as."""
    raw = path + '.raw'
    subprocess.run(['qemu-img', 'convert', '-U', '-f', 'qcow2', '-O', 'raw',
                    path, raw], check=True)
    try:
        with open(raw, 'rb') as f:
            out = f.read(MIB)
    finally:
        os.unlink(raw)
    values = set(out)
    assert len(values) == 1, values
    return values.pop()


class LiveSnapshotTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.ctxt = ebs_context.get_admin_context()
        root = self.useFixture(fixtures.TempDir()).path
        self.conf = cfg.ConfigOpts()
        self.conf.register_opt(cfg.StrOpt('state_path'))
        volume_conf.register_opts(self.conf)
        self.conf([], default_config_files=[], default_config_dirs=[])
        self.addCleanup(self.conf.reset)
        self.conf.set_override('volumes_dir', os.path.join(root, 'volumes'),
                               group='qcow2')
        self.conf.set_override('snapshots_dir',
                               os.path.join(root, 'snapshots'),
                               group='qcow2')
        self.guest = FakeGuest()
        self.useFixture(fixtures.MockPatch(
            'ebsboot.compute.rpcapi.ComputeAPI', return_value=self.guest))
        self.useFixture(fixtures.MockPatchObject(live, 'COMPUTE_RETRY_DELAY',
                                                 0))
        self.manager = self._start()
        db.instance_create(self.ctxt, {
            'id': 'i-1-uuid', 'ec2_id': 'i-1', 'reservation_id': 'r-0',
            'project_id': 'alpha', 'image_id': 'img', 'image_ec2_id': 'ami-0',
            'instance_type': 't', 'vcpus': 1, 'memory_mb': 64,
            'availability_zone': 'nova', 'state': 'running', 'host': COMPUTE,
            'task': None, 'launch_index': 0, 'shutdown_behavior': 'stop',
            'root_device_name': '/dev/vda'}, [])
        self.paths = {}
        for index, name in enumerate(('vol-a', 'vol-b')):
            self._volume(name, '/dev/vd' + 'ab'[index], index)

    def _start(self):
        """A volume service (re)starting: a new driver, recovery run."""
        manager = volume_manager.VolumeManager(
            host=HOST, driver=qcow2.Qcow2Driver(self.conf))
        manager.init_host()
        return manager

    def _volume(self, name, device, index):
        values = {'id': name + '-uuid', 'ec2_id': name,
                  'project_id': 'alpha', 'availability_zone': 'nova',
                  'size': 1, 'volume_type': 'gp2', 'status': 'in-use',
                  'host': HOST}
        values.update(self.manager.driver.create_volume(values))
        db.volume_create(self.ctxt, values)
        db.block_device_create({
            'instance_id': 'i-1-uuid', 'device_name': device,
            'boot_index': index, 'volume_id': values['id'],
            'volume_ec2_id': name, 'delete_on_termination': True,
            'status': 'attached'})
        self.paths[name] = values['provider_location']

    def _snapshot(self, name, volume):
        db.snapshot_create(self.ctxt, {
            'id': name + '-uuid', 'ec2_id': name, 'project_id': 'alpha',
            'volume_id': volume + '-uuid', 'volume_ec2_id': volume,
            'volume_size': 1, 'status': 'pending', 'host': HOST,
            'progress': 0})
        return name + '-uuid'

    def _patch(self, target, name, *args, **kwargs):
        """A patch the test stops itself (the service 'crashed')."""
        patch = mock.patch.object(target, name, *args, **kwargs)
        patch.start()
        self.addCleanup(patch.stop)
        return patch

    def _row(self, name):
        return db.snapshot_get_by_ec2_id(self.ctxt, name)

    def _snapshot_file(self, name):
        return self._row(name).provider_location

    def _assert_clean(self):
        """The guest is on its volume files; no overlay is left."""
        for path in self.paths.values():
            self.assertEqual(path, self.guest.on.get(path, path))
        self.assertEqual([], glob.glob(os.path.join(
            self.conf.qcow2.volumes_dir, 'overlays', '*')))

    def _calls(self, method):
        return [c for c in self.guest.calls if c[0] == method]

    # The sequence ---------------------------------------------------------

    def test_snapshot_holds_the_instant_of_the_switch(self):
        self.guest.write(self.paths['vol-a'], 1)
        self._snapshot('snap-1', 'vol-a')
        real_copy = self.manager.driver.create_snapshot

        def copy_while_guest_writes(*args, **kwargs):
            self.guest.write(self.paths['vol-a'], 2)   # into the overlay
            return real_copy(*args, **kwargs)

        self.useFixture(fixtures.MockPatchObject(
            self.manager.driver, 'create_snapshot',
            side_effect=copy_while_guest_writes))
        self.manager.create_snapshot(self.ctxt, 'snap-1-uuid')

        row = self._row('snap-1')
        self.assertEqual(('completed', 100), (row.status, row.progress))
        self.assertEqual(1, _pattern(row.provider_location))
        self.assertEqual(2, _pattern(self.paths['vol-a']))
        self.assertEqual(1, len(self._calls('snapshot_disks')))
        self.assertEqual(1, len(self._calls('commit_disks')))
        self._assert_clean()

    def test_snapshots_stay_incremental_and_chains_short(self):
        for number in range(1, 4):
            self.guest.write(self.paths['vol-a'], number)
            self._snapshot('snap-%d' % number, 'vol-a')
            self.manager.create_snapshot(self.ctxt, 'snap-%d-uuid' % number)
            self._assert_clean()
        files = [self._snapshot_file('snap-%d' % n) for n in (1, 2, 3)]
        self.assertEqual([1, 2, 3], [_pattern(f) for f in files])
        # The volume file is still one file on nothing, whatever the
        # number of snapshots.
        driver = self.manager.driver
        self.assertEqual(1, len(driver._validate_chain(
            self.paths['vol-a'])))
        # Deleting the middle snapshot keeps the others readable.
        driver.delete_snapshot({'id': 'snap-2-uuid'})
        self.assertEqual([1, 3], [_pattern(files[0]), _pattern(files[2])])

    def test_create_image_switches_all_volumes_at_once(self):
        ids = [self._snapshot('snap-a', 'vol-a'),
               self._snapshot('snap-b', 'vol-b')]
        self.manager.create_snapshots(self.ctxt, ids)
        self.assertEqual(
            [('snapshot_disks', sorted(self.paths.values()))],
            self._calls('snapshot_disks'))
        self.assertEqual(['completed', 'completed'],
                         [self._row(n).status for n in ('snap-a', 'snap-b')])
        self._assert_clean()

    def test_stopped_guest_gets_a_plain_copy(self):
        db.instance_update(self.ctxt, 'i-1-uuid', {'state': 'stopped'})
        self.guest.write(self.paths['vol-a'], 3)
        self._snapshot('snap-1', 'vol-a')
        self.manager.create_snapshot(self.ctxt, 'snap-1-uuid')
        self.assertEqual([], self.guest.calls)
        self.assertEqual(3, _pattern(self._snapshot_file('snap-1')))

    def test_progress_is_reported_while_pending(self):
        self._snapshot('snap-1', 'vol-a')
        seen = []
        real_copy = self.manager.driver.create_snapshot

        def copy(*args, **kwargs):
            seen.append(self._row('snap-1').progress)
            kwargs['progress'](50.0)
            seen.append(self._row('snap-1').progress)
            return real_copy(*args, **kwargs)

        self.useFixture(fixtures.MockPatchObject(
            self.manager.driver, 'create_snapshot', side_effect=copy))
        self.manager.create_snapshot(self.ctxt, 'snap-1-uuid')
        self.assertEqual([10, 50], seen)
        self.assertEqual(100, self._row('snap-1').progress)

    # Crashes of the volume service -----------------------------------------

    def _crash_then_restart(self, method, target=None,
                            write_after_switch=True):
        """Crash in ``method`` (of the driver) on its first call; restart."""
        target = target or self.manager.driver
        self.guest.write(self.paths['vol-a'], 1)
        self._snapshot('snap-1', 'vol-a')
        real = getattr(target, method)
        calls = []

        def crash_once(*args, **kwargs):
            calls.append(args)
            if len(calls) == 1:
                raise Crash()
            return real(*args, **kwargs)

        patch = self._patch(target, method, side_effect=crash_once)
        self.assertRaises(Crash, self.manager.create_snapshot, self.ctxt,
                          'snap-1-uuid')
        self.assertEqual('pending', self._row('snap-1').status)
        if write_after_switch:
            # Whatever the guest writes now is after the snapshot's
            # instant if the switch happened.
            self.guest.write(self.paths['vol-a'], 2)
        patch.stop()
        self.manager = self._start()
        row = self._row('snap-1')
        self.assertEqual('completed', row.status)
        self._assert_clean()
        self.assertEqual(2 if write_after_switch else 1,
                         _pattern(self.paths['vol-a']))
        return row

    def test_crash_after_the_overlay_is_made(self):
        row = self._crash_then_restart('snapshot_disks', self.guest,
                                       write_after_switch=False)
        self.assertEqual(1, _pattern(row.provider_location))

    def test_crash_after_the_switch(self):
        row = self._crash_then_restart('create_snapshot')
        # Not switched again: the copy is of the first instant.
        self.assertEqual(1, _pattern(row.provider_location))
        self.assertEqual(1, self.guest.switches)

    def test_crash_during_the_copy(self):
        row = self._crash_then_restart('_convert')
        self.assertEqual(1, _pattern(row.provider_location))
        self.assertEqual([], glob.glob(os.path.join(
            self.conf.qcow2.snapshots_dir, '.*.tmp')))

    def test_crash_after_the_copy(self):
        row = self._crash_then_restart('commit_disks', self.guest)
        self.assertEqual(1, _pattern(row.provider_location))
        self.assertEqual(1, len(self._calls('snapshot_disks')))

    def test_crash_after_the_commit(self):
        self.guest.write(self.paths['vol-a'], 1)
        self._snapshot('snap-1', 'vol-a')
        patch = self._patch(qcow2.Qcow2Driver, 'delete_overlay',
                            side_effect=Crash())
        self.assertRaises(Crash, self.manager.create_snapshot, self.ctxt,
                          'snap-1-uuid')
        patch.stop()
        self.manager = self._start()
        self.assertEqual('completed', self._row('snap-1').status)
        self.assertEqual(1, len(self._calls('snapshot_disks')))
        self._assert_clean()

    def test_crash_before_the_row_is_written(self):
        self.guest.write(self.paths['vol-a'], 1)
        self._snapshot('snap-1', 'vol-a')
        # Run the steps, then die before the database write.
        real_take = live.LiveSnapshotter.take

        def take_then_crash(snapshotter, *args):
            real_take(snapshotter, *args)
            raise Crash()

        patch = self._patch(live.LiveSnapshotter, 'take', take_then_crash)
        self.assertRaises(Crash, self.manager.create_snapshot, self.ctxt,
                          'snap-1-uuid')
        self.assertEqual('pending', self._row('snap-1').status)
        patch.stop()
        self.guest.calls = []
        self.manager = self._start()
        self.assertEqual('completed', self._row('snap-1').status)
        self.assertEqual(1, _pattern(self._snapshot_file('snap-1')))
        self.assertEqual([], self.guest.calls)

    def test_crash_between_the_overlays_of_a_create_image(self):
        ids = [self._snapshot('snap-a', 'vol-a'),
               self._snapshot('snap-b', 'vol-b')]
        real = qcow2.Qcow2Driver.live_snapshot_overlay
        made = []

        def second_crashes(driver, *args):
            made.append(args)
            if len(made) == 2:
                raise Crash()
            return real(driver, *args)

        patch = self._patch(qcow2.Qcow2Driver, 'live_snapshot_overlay',
                            second_crashes)
        self.assertRaises(Crash, self.manager.create_snapshots, self.ctxt,
                          ids)
        patch.stop()
        self.manager = self._start()
        # Recovery switched both at one instant, as the first run would.
        self.assertEqual(
            [('snapshot_disks', sorted(self.paths.values()))],
            self._calls('snapshot_disks'))
        self.assertEqual(['completed', 'completed'],
                         [self._row(n).status for n in ('snap-a', 'snap-b')])
        self._assert_clean()

    # The compute service and the guest ---------------------------------------

    def test_compute_dies_after_switching(self):
        self.guest.write(self.paths['vol-a'], 1)
        self._snapshot('snap-1', 'vol-a')
        self.guest.fail[('snapshot_disks', 'after')] = [
            messaging.MessagingTimeout() for _ in range(live.COMPUTE_TRIES)]
        self.manager.create_snapshot(self.ctxt, 'snap-1-uuid')
        row = self._row('snap-1')
        # Switched, but the volume service cannot know: the copy may not
        # be of one instant, so the snapshot fails and the overlay merges.
        self.assertEqual('error', row.status)
        self._assert_clean()

    def test_compute_call_is_tried_again(self):
        self.guest.write(self.paths['vol-a'], 1)
        self._snapshot('snap-1', 'vol-a')
        self.guest.fail[('snapshot_disks', 'after')] = [
            messaging.MessagingTimeout()]
        self.manager.create_snapshot(self.ctxt, 'snap-1-uuid')
        self.assertEqual('completed', self._row('snap-1').status)
        self.assertEqual(1, _pattern(self._snapshot_file('snap-1')))
        self._assert_clean()

    def test_compute_unreachable_for_the_commit_keeps_it_pending(self):
        self._snapshot('snap-1', 'vol-a')
        self.guest.fail[('commit_disks', 'before')] = [
            messaging.MessagingTimeout()]
        self.useFixture(fixtures.MockPatchObject(live, 'COMPUTE_TRIES', 1))
        self.manager.create_snapshot(self.ctxt, 'snap-1-uuid')
        self.assertEqual('pending', self._row('snap-1').status)
        self.assertNotEqual(self.paths['vol-a'],
                            self.guest.on[self.paths['vol-a']])
        # The service restarts (or the compute comes back): finished.
        self.manager = self._start()
        self.assertEqual('completed', self._row('snap-1').status)
        self._assert_clean()

    def test_guest_stopped_before_the_commit(self):
        self.guest.write(self.paths['vol-a'], 1)
        self._snapshot('snap-1', 'vol-a')
        real_copy = qcow2.Qcow2Driver.create_snapshot

        def copy_then_stop(driver, *args, **kwargs):
            self.guest.write(self.paths['vol-a'], 2)
            # The guest powers off: the hypervisor no longer has it.
            self.guest.running = False
            return real_copy(driver, *args, **kwargs)

        self.useFixture(fixtures.MockPatchObject(
            qcow2.Qcow2Driver, 'create_snapshot', copy_then_stop))
        self.manager.create_snapshot(self.ctxt, 'snap-1-uuid')
        self.assertEqual('completed', self._row('snap-1').status)
        self.assertEqual(1, _pattern(self._snapshot_file('snap-1')))
        # The volume service merged the overlay itself.
        self.assertEqual(2, _pattern(self.paths['vol-a']))
        self.guest.on.clear()
        self._assert_clean()

    def test_connecting_the_volume_merges_a_left_overlay(self):
        # Switched, then the service died during the copy, and the guest
        # was stopped: starting it must not boot without its last writes.
        self.guest.write(self.paths['vol-a'], 1)
        self._snapshot('snap-1', 'vol-a')
        patch = self._patch(self.manager.driver, '_convert',
                            side_effect=Crash())
        self.assertRaises(Crash, self.manager.create_snapshot, self.ctxt,
                          'snap-1-uuid')
        patch.stop()
        self.guest.write(self.paths['vol-a'], 2)
        self.guest.running = False
        manager = volume_manager.VolumeManager(
            host=HOST, driver=qcow2.Qcow2Driver(self.conf))
        manager.driver.do_setup()
        manager.initialize_connections(self.ctxt, ['vol-a-uuid'], {})
        self.assertEqual('completed', self._row('snap-1').status)
        self.assertEqual(1, _pattern(self._snapshot_file('snap-1')))
        self.assertEqual(2, _pattern(self.paths['vol-a']))
        self.guest.on.clear()
        self._assert_clean()
