"""RunInstances of many instances: the batched launch steps.

The volume and compute services run in this process on their fake drivers,
with the real task runner.
"""

import collections
import uuid

import fixtures
from oslo_serialization import jsonutils
from oslo_utils import timeutils

from ebsboot.cloud import bdm
from ebsboot.cloud import flows
from ebsboot.cloud import images
from ebsboot.cloud import instances
from ebsboot.cloud import launch_batch
from ebsboot.cloud import tasks
from ebsboot.cloud import volumes
from ebsboot.compute import driver as compute_driver
from ebsboot.compute import manager as compute_manager
from ebsboot.conf import CONF
from ebsboot import context as ebs_context
from ebsboot.db import api as db
from ebsboot.tests.unit import base


class LaunchTestCase(base.ServiceTestCase):

    def setUp(self):
        super().setUp()
        self.ctxt = self.context()
        self.admin = ebs_context.get_admin_context()
        self.snapshot = self._snapshot(size=2)
        tasks.reset_runner()
        self.runner = tasks.get_runner()
        self.addCleanup(tasks.reset_runner)
        self.kick = self.useFixture(fixtures.MockPatchObject(
            self.runner, 'kick', side_effect=self.runner.kick)).mock

    # Helpers ---------------------------------------------------------------

    def _snapshot(self, size=1):
        volume = volumes.create_volume(self.ctxt, 'nova', size=size)
        self.wait_for(lambda: volumes.get_volume(
            self.ctxt, volume.ec2_id).status == 'available')
        snapshot = volumes.create_snapshot(self.ctxt, volume.ec2_id)
        return self.wait_for(
            lambda: volumes.get_snapshot(self.ctxt, snapshot.ec2_id).status
            == 'completed' and volumes.get_snapshot(self.ctxt,
                                                    snapshot.ec2_id))

    def _image(self):
        image = images.register_image(
            self.ctxt, 'img', '/dev/sda1', bdm.from_ec2_params(
                [{'DeviceName': '/dev/sda1',
                  'Ebs': {'SnapshotId': self.snapshot.ec2_id}}],
                self.ctxt))
        return image['properties']['ec2_id']

    def _start_compute(self):
        self.compute_manager = compute_manager.ComputeManager(
            driver=self.compute_driver)
        self.start_service(CONF.compute.topic, self.compute_manager)

    def _spy(self, obj, name):
        return self.useFixture(fixtures.MockPatchObject(
            obj, name, side_effect=getattr(obj, name))).mock

    def _create(self, devices, task='launch_volumes', **extra):
        """Instances as run_instances makes them, one per device list."""
        rows = []
        for index, device_list in enumerate(devices):
            values = dict({
                'id': str(uuid.uuid4()),
                'ec2_id': 'i-%017x' % (uuid.uuid4().int >> 60),
                'reservation_id': 'r-0', 'project_id': 'alpha',
                'image_id': 'img', 'image_ec2_id': 'ami-0',
                'instance_type': 't', 'vcpus': 1, 'memory_mb': 64,
                'availability_zone': 'nova', 'state': 'pending',
                'task': task, 'pending_terminate': False,
                'launch_index': index, 'shutdown_behavior': 'stop',
                'root_device_name': '/dev/sda1'}, **extra)
            rows.append((values, device_list))
        return db.instance_create_many(self.ctxt, rows)

    def _root(self, snapshot_id=None, **extra):
        return dict({'device_name': '/dev/sda1', 'boot_index': 0,
                     'snapshot_id': snapshot_id or self.snapshot.id,
                     'volume_size': 2, 'volume_type': 'gp2',
                     'delete_on_termination': True,
                     'status': 'attaching'}, **extra)

    def _done(self, ids):
        rows = [db.instance_get(self.admin, i) for i in ids]
        return all(r.task is None and not r.pending_terminate
                   for r in rows) and rows

    def _devices(self, instance_id):
        return db.block_device_list([instance_id])

    # RunInstances ----------------------------------------------------------

    def test_run_instances_launches_all_as_one_batch(self):
        self._start_compute()
        create_volumes = self._spy(self.volume_manager, 'create_volumes')
        create_volume = self._spy(self.volume_manager, 'create_volume')
        connects = self._spy(self.volume_manager, 'initialize_connections')
        connect = self._spy(self.volume_manager, 'initialize_connection')
        rows = instances.run_instances(self.ctxt, self._image(),
                                       min_count=5, max_count=5)
        self.assertEqual(5, len(rows))
        self.assertEqual([('pending', 'launch_volumes')] * 5,
                         [(r.state, r.task) for r in rows])
        ids = [r.id for r in rows]
        done = self.wait_for(lambda: self._done(ids))

        self.assertEqual([('running', 'test-host')] * 5,
                         [(r.state, r.host) for r in done])
        self.assertEqual(list(range(5)), [r.launch_index for r in done])
        self.assertEqual(1, len({r.reservation_id for r in done}))
        self.assertTrue(all(r.launched_at for r in done))

        made = [v for v in db.volume_list(self.admin)
                if v.id != self.snapshot.volume_id]
        self.assertEqual(5, len(made))
        self.assertEqual(
            [('in-use', 'test-host', self.snapshot.id, 2, 'alpha')] * 5,
            [(v.status, v.host, v.snapshot_id, v.size, v.project_id)
             for v in made])
        by_volume = {v.id: v for v in made}
        guests = self.compute_driver.guests
        self.assertEqual(sorted(ids), sorted(guests))
        for instance_id in ids:
            [device] = self._devices(instance_id)
            volume = by_volume[device.volume_id]
            info = {'driver_volume_type': 'fake',
                    'data': {'volume_id': volume.id,
                             'device_path': '/dev/fake/volume-%s'
                             % volume.id}}
            self.assertEqual(('attached', volume.ec2_id),
                             (device.status, device.volume_ec2_id))
            self.assertIsNotNone(device.attach_time)
            self.assertEqual(info, jsonutils.loads(device.connection_info))
            guest = guests[instance_id]
            self.assertEqual(compute_driver.POWER_RUNNING, guest['state'])
            [boot] = guest['block_device_info']
            self.assertEqual(('/dev/sda1', 0, volume.id, info),
                             (boot['device_name'], boot['boot_index'],
                              boot['volume_id'], boot['connection_info']))
            self.assertIn(('create_volume_from_snapshot', volume.id),
                          self.volume_driver.calls)

        # All of it as one batch: one RPC per step, nothing alone.
        self.kick.assert_not_called()
        self.assertEqual(1, create_volumes.call_count)
        self.assertEqual(sorted(by_volume),
                         sorted(create_volumes.call_args[1]['volume_ids']))
        create_volume.assert_not_called()
        self.assertEqual(1, connects.call_count)
        connect.assert_not_called()

    def test_one_instance_launches_alone(self):
        self._start_compute()
        [row] = instances.run_instances(self.ctxt, self._image())
        self.kick.assert_called_once_with(row.id)
        [done] = self.wait_for(lambda: self._done([row.id]))
        self.assertEqual('running', done.state)

    def test_volumes_get_their_tags_alone_and_in_a_batch(self):
        self._start_compute()
        image = self._image()
        for count in (1, 3):
            rows = instances.run_instances(
                self.ctxt, image, min_count=count, max_count=count,
                tags={'instance': {'Name': 'vm%d' % count},
                      'volume': {'Name': 'disk%d' % count, 'x': ''}})
            self.wait_for(lambda: self._done([r.id for r in rows]))
            volume_ids = [d.volume_ec2_id for r in rows
                          for d in self._devices(r.id)]
            self.assertEqual(count, len(volume_ids))
            tags = db.tags_by_resource(self.ctxt, 'volume', volume_ids)
            self.assertEqual(
                {v: [('Name', 'disk%d' % count), ('x', '')]
                 for v in volume_ids}, tags)
            self.assertEqual(
                {r.ec2_id: [('Name', 'vm%d' % count)] for r in rows},
                db.tags_by_resource(self.ctxt, 'instance',
                                    [r.ec2_id for r in rows]))

    def test_missing_snapshot_fails_that_instance_alone(self):
        self._start_compute()
        rows = self._create([[self._root()],
                             [self._root(snapshot_id=str(uuid.uuid4()))],
                             [self._root()]])
        ids = [r.id for r in rows]
        self.runner.kick_many(ids)
        done = self.wait_for(lambda: self._done(ids))
        self.assertEqual(['running', 'terminated', 'running'],
                         [r.state for r in done])
        failed = done[1]
        self.assertEqual(('Client.InvalidSnapshot.NotFound',
                          'The snapshot of /dev/sda1 is gone.'),
                         (failed.state_reason_code,
                          failed.state_reason_message))
        # It left the batch; its rollback ran through the single steps.
        self.kick.assert_called_once_with(failed.id)
        self.assertEqual([], self._devices(failed.id))
        self.assertNotIn(failed.id, self.compute_driver.guests)
        self.assertEqual(1 + 2, len(db.volume_list(self.admin)))

    def test_no_compute_host(self):
        rows = instances.run_instances(self.ctxt, self._image(),
                                       min_count=5, max_count=5)
        ids = [r.id for r in rows]
        done = self.wait_for(lambda: self._done(ids))
        self.assertEqual(
            [('terminated', 'Server.InsufficientInstanceCapacity',
              'No compute host is available.')] * 5,
            [(r.state, r.state_reason_code, r.state_reason_message)
             for r in done])
        self.assertEqual(sorted(ids),
                         sorted(c[0][0] for c in self.kick.call_args_list))
        # The failed launch deletes the volumes it made.
        self.wait_for(lambda: [v.id for v in db.volume_list(self.admin)]
                      == [self.snapshot.volume_id])

    def test_guests_are_spread_over_hosts(self):
        self._start_compute()
        db.service_heartbeat('host-b', CONF.compute.topic,
                             timeutils.utcnow())
        # host-b has 3 guests already; stopped ones do not count.
        self._create([[]] * 3, task=None, state='running', host='host-b')
        self._create([[]] * 2, task=None, state='stopped',
                     host='test-host')
        rows = instances.run_instances(self.ctxt, self._image(),
                                       min_count=5, max_count=5)
        done = self.wait_for(lambda: self._done([r.id for r in rows]))
        self.assertEqual({'test-host': 4, 'host-b': 1},
                         collections.Counter(r.host for r in done))
        self.assertEqual(['running'] * 5, [r.state for r in done])

    # Placement -------------------------------------------------------------

    def test_place_spreads_by_load(self):
        for host, state, count in [('h1', 'running', 2),
                                   ('h2', 'pending', 1),
                                   ('h4', 'stopped', 5),
                                   ('h9', 'running', 1)]:
            self._create([[]] * count, task=None, state=state, host=host)
        self.assertEqual(['h3', 'h4', 'h2', 'h3', 'h4', 'h1', 'h2'],
                         flows.place(['h1', 'h2', 'h3', 'h4'], 7))
        self.assertEqual(['h3'], flows.place(['h1', 'h2', 'h3'], 1))
        self.assertEqual([], flows.place(['h1'], 0))

    def test_pick_host(self):
        self.assertRaises(tasks.StepFailed, flows.pick_host)
        for host in ('h1', 'h2'):
            db.service_heartbeat(host, CONF.compute.topic,
                                 timeutils.utcnow())
        self._create([[]], task=None, state='running', host='h1')
        self.assertEqual('h2', flows.pick_host())

    # The batch steps one by one ------------------------------------------

    def _volume(self, status, host='test-host', in_driver=True):
        volume_id = str(uuid.uuid4())
        db.volume_create(self.admin, {
            'id': volume_id, 'ec2_id': 'vol-%017x' % (uuid.uuid4().int >> 60),
            'project_id': 'alpha', 'availability_zone': 'nova', 'size': 2,
            'volume_type': 'gp2', 'status': status, 'host': host,
            'snapshot_id': self.snapshot.id})
        if in_driver:
            self.volume_driver.create_volume({'id': volume_id, 'size': 2})
        return db.volume_get(self.admin, volume_id)

    def _waiting(self, *volume_rows):
        """One instance at launch_wait per volume row."""
        return self._create(
            [[self._root(volume_id=v.id, volume_ec2_id=v.ec2_id)]
             for v in volume_rows], task='launch_wait')

    def test_launch_volumes_writes_rows_and_casts_per_host(self):
        cast = self.useFixture(fixtures.MockPatch(
            'ebsboot.volume.rpcapi.VolumeAPI.create_volumes')).mock
        gone = str(uuid.uuid4())
        blank = {'device_name': '/dev/sdb', 'boot_index': -1,
                 'volume_size': 3, 'volume_type': 'gp3',
                 'delete_on_termination': False, 'status': 'attaching'}
        ephemeral = {'device_name': '/dev/sdc', 'boot_index': -1,
                     'virtual_name': 'ephemeral0',
                     'delete_on_termination': True, 'status': 'attached'}
        rows = self._create([[self._root(), blank, ephemeral],
                             [self._root(snapshot_id=gone), blank],
                             [self._root()]])
        before = len(db.volume_list(self.admin))
        outcomes = launch_batch.launch_volumes(self.admin, rows, {})
        self.assertEqual(('launch_wait', {}), outcomes[rows[0].id])
        self.assertEqual(('launch_wait', {}), outcomes[rows[2].id])
        failure = outcomes[rows[1].id]
        self.assertIsInstance(failure, tasks.StepFailed)
        self.assertEqual('Client.InvalidSnapshot.NotFound', failure.code)

        made = {v.id: v for v in db.volume_list(self.admin)}
        self.assertEqual(before + 3, len(made))
        hosts = {}
        for row in (rows[0], rows[2]):
            for device in self._devices(row.id):
                if device.virtual_name:
                    self.assertIsNone(device.volume_id)
                    continue
                volume = made[device.volume_id]
                self.assertEqual(('attaching', volume.ec2_id),
                                 (device.status, device.volume_ec2_id))
                self.assertEqual(('creating', device.volume_size,
                                  device.volume_type, 'alpha'),
                                 (volume.status, volume.size,
                                  volume.volume_type, volume.project_id))
                if device.snapshot_id:
                    self.assertEqual(
                        (self.snapshot.id, self.snapshot.ec2_id,
                         self.snapshot.host),
                        (volume.snapshot_id, volume.snapshot_ec2_id,
                         volume.host))
                hosts.setdefault(volume.host, []).append(volume.id)
        # Nothing of the failed one.
        self.assertEqual([None, None], [d.volume_id for d in
                                        self._devices(rows[1].id)])
        # One cast per volume host (the blank volume has none yet).
        self.assertEqual({'test-host': 2, None: 1},
                         {h: len(ids) for h, ids in hosts.items()})
        self.assertEqual(2, cast.call_count)
        self.assertEqual(
            {h: sorted(ids) for h, ids in hosts.items()},
            {c[0][1]: sorted(c[0][2]) for c in cast.call_args_list})

        # Again (a restart): the volumes are found, nothing new.
        cast.reset_mock()
        again = launch_batch.launch_volumes(self.admin, [rows[0]], {})
        self.assertEqual({rows[0].id: ('launch_wait', {})}, again)
        self.assertEqual(before + 3, len(db.volume_list(self.admin)))
        cast.assert_not_called()

    def test_launch_wait_connects_the_ready_ones(self):
        self._start_compute()
        ready = self._volume('available')
        # Same host, not made yet: the driver would refuse to connect it.
        creating = self._volume('creating', in_driver=False)
        failed = self._volume('error', in_driver=False)
        rows = self._waiting(ready, creating, failed)
        outcomes = launch_batch.launch_wait(self.admin, rows, {})
        # Placed on the only compute host, exported for its connector.
        self.assertEqual(('launch_spawn', {'host': 'test-host'}),
                         outcomes[rows[0].id])
        self.assertIsInstance(outcomes[rows[1].id], tasks.Retry)
        self.assertIsInstance(outcomes[rows[2].id], tasks.StepFailed)
        [device] = self._devices(rows[0].id)
        self.assertEqual('attached', device.status)
        self.assertEqual(ready.id, jsonutils.loads(
            device.connection_info)['data']['volume_id'])
        self.assertEqual(self.compute_driver.get_volume_connector(),
                         jsonutils.loads(device.connector))
        self.assertEqual([{'connector': jsonutils.loads(device.connector),
                           'instance_id': rows[0].id}],
                         self.volume_driver.connections[ready.id])
        self.assertEqual('in-use', db.volume_get(self.admin, ready.id).status)
        for row in rows[1:]:
            [device] = self._devices(row.id)
            self.assertEqual(('attaching', None),
                             (device.status, device.connection_info))
        self.assertEqual([('initialize_connection', ready.id)],
                         [c for c in self.volume_driver.calls
                          if c[0] == 'initialize_connection'])

    def test_launch_connect_rows_changed_under_it(self):
        self._start_compute()
        volumes = [self._volume('available') for _ in range(3)]
        rows = self._waiting(*volumes)
        devices = {r.id: self._devices(r.id)[0] for r in rows}
        real = db.write_many

        def racing(*args, **kwargs):
            # A volume taken by someone else, a block device gone.
            db.volume_update(self.admin, volumes[0].id,
                             {'status': 'deleting'})
            db.block_device_destroy(devices[rows[1].id].id)
            return real(*args, **kwargs)

        self.useFixture(fixtures.MockPatchObject(db, 'write_many',
                                                 side_effect=racing))
        outcomes = launch_batch.launch_connect(self.admin, rows, {})
        self.assertIsInstance(outcomes[rows[0].id], RuntimeError)
        self.assertIsInstance(outcomes[rows[1].id], RuntimeError)
        self.assertEqual(('launch_spawn', {'host': 'test-host'}),
                         outcomes[rows[2].id])

    def test_launch_connect_needs_a_compute_host(self):
        rows = self._waiting(self._volume('available'))
        outcomes = launch_batch.launch_connect(self.admin, rows, {})
        self.assertEqual('Server.InsufficientInstanceCapacity',
                         outcomes[rows[0].id].code)
        self.assertEqual([], [c for c in self.volume_driver.calls
                              if c[0] == 'initialize_connection'])

    def test_launch_connect_of_a_moved_instance_goes_alone(self):
        # Exported for another host before a crash: the single step
        # revokes that export first.
        self._start_compute()
        rows = self._waiting(self._volume('available'))
        [device] = self._devices(rows[0].id)
        db.block_device_update(device.id, {
            'connection_info': '{"driver_volume_type": "fake"}',
            'connector': '{"host": "gone-host"}'})
        outcomes = launch_batch.launch_connect(self.admin, rows, {})
        self.assertIsInstance(outcomes[rows[0].id], RuntimeError)
        self.assertEqual([], [c for c in self.volume_driver.calls
                              if c[0] == 'initialize_connection'])

    def test_launch_connect_host_failure(self):
        self._start_compute()
        volumes = [self._volume('available') for _ in range(2)]
        rows = self._waiting(*volumes)
        self.volume_driver.fail_next('initialize_connection')
        outcomes = launch_batch.launch_connect(self.admin, rows, {})
        # One call per host: both fail, and go on alone.
        for row in rows:
            self.assertIsInstance(outcomes[row.id], Exception)
            self.assertIsNone(self._devices(row.id)[0].connection_info)

    def test_launch_spawn_boots_on_live_hosts_only(self):
        self._start_compute()
        # Placed on a host that died since: the single step takes over.
        rows = self._create([[]] * 3, task='launch_spawn', host='gone')
        outcomes = launch_batch.launch_spawn(self.admin, rows, {})
        for row in rows:
            self.assertIsInstance(outcomes[row.id], RuntimeError)
        self.assertEqual({}, self.compute_driver.guests)
        rows = self._create([[]] * 2, task='launch_spawn',
                            host='test-host')
        real = self.compute_driver.spawn

        def spawn(instance, block_device_info):
            if instance['id'] == rows[1].id:
                raise RuntimeError('no room')
            return real(instance, block_device_info)

        self.useFixture(fixtures.MockPatchObject(
            self.compute_driver, 'spawn', side_effect=spawn))
        outcomes = launch_batch.launch_spawn(self.admin, rows, {})
        next_step, values = outcomes[rows[0].id]
        self.assertEqual((None, 'running'), (next_step, values['state']))
        self.assertIsInstance(outcomes[rows[1].id], Exception)
