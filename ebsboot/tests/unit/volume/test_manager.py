"""The volume manager finishes what a crashed run left behind."""

import fixtures

from ebsboot.conf import CONF
from ebsboot import context as ebs_context
from ebsboot.db import api as db
from ebsboot import exception
from ebsboot.tests.unit import base
from ebsboot.volume.drivers import fake as fake_volume
from ebsboot.volume import manager as volume_manager


def _volume(ec2_id, status, host=None, **extra):
    return dict({'id': ec2_id + '-uuid', 'ec2_id': ec2_id,
                 'project_id': 'alpha', 'availability_zone': 'nova',
                 'size': 1, 'volume_type': 'gp2', 'status': status,
                 'host': host}, **extra)


def _snapshot(ec2_id, volume_ec2_id, status, host=None):
    return {'id': ec2_id + '-uuid', 'ec2_id': ec2_id, 'project_id': 'alpha',
            'volume_id': volume_ec2_id + '-uuid',
            'volume_ec2_id': volume_ec2_id, 'volume_size': 1,
            'status': status, 'host': host, 'progress': 0}


class RecoveryTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.ctxt = ebs_context.get_admin_context()
        self.driver = fake_volume.FakeDriver(CONF)

    def _manager(self, host='test-host'):
        return volume_manager.VolumeManager(host=host, driver=self.driver)

    def test_unfinished_steps_resume_at_start(self):
        self.driver.create_volume({'id': 'vol-gone-uuid', 'size': 1})
        db.volume_create(self.ctxt, _volume('vol-new', 'creating'))
        db.volume_create(self.ctxt, _volume('vol-gone', 'deleting',
                                            host='test-host'))
        db.volume_create(self.ctxt, _volume('vol-src', 'available',
                                            host='test-host'))
        self.driver.create_volume({'id': 'vol-src-uuid', 'size': 1})
        db.snapshot_create(self.ctxt, _snapshot('snap-new', 'vol-src',
                                                'pending', 'test-host'))
        self._manager().init_host()

        new = db.volume_get_by_ec2_id(self.ctxt, 'vol-new')
        self.assertEqual(('available', 'test-host'), (new.status, new.host))
        self.assertIn('vol-new-uuid', self.driver.volumes)
        self.assertIsNone(db.volume_get_by_ec2_id(self.ctxt, 'vol-gone'))
        self.assertNotIn('vol-gone-uuid', self.driver.volumes)
        snap = db.snapshot_get_by_ec2_id(self.ctxt, 'snap-new')
        self.assertEqual(('completed', 100), (snap.status, snap.progress))

    def test_rows_of_other_hosts_are_left_alone(self):
        db.volume_create(self.ctxt, _volume('vol-theirs', 'creating',
                                            host='other-host'))
        self._manager().init_host()
        theirs = db.volume_get_by_ec2_id(self.ctxt, 'vol-theirs')
        self.assertEqual(('creating', 'other-host'),
                         (theirs.status, theirs.host))
        self.assertEqual([], self.driver.calls)

    def test_create_is_claimed_once(self):
        db.volume_create(self.ctxt, _volume('vol-new', 'creating'))
        first, second = self._manager('h1'), self._manager('h2')
        second.create_volume(self.ctxt, 'vol-new-uuid')
        first.create_volume(self.ctxt, 'vol-new-uuid')
        self.assertEqual([('create_volume', 'vol-new-uuid')],
                         self.driver.calls)
        self.assertEqual('h2',
                         db.volume_get_by_ec2_id(self.ctxt, 'vol-new').host)

    def test_snapshot_of_vanished_volume_fails_cleanly(self):
        db.snapshot_create(self.ctxt, _snapshot('snap-x', 'vol-none',
                                                'pending', 'test-host'))
        self._manager().init_host()
        snap = db.snapshot_get_by_ec2_id(self.ctxt, 'snap-x')
        self.assertEqual('error', snap.status)
        self.assertIn('vol-none', snap.state_message)

    def test_interrupted_import_fails_at_start(self):
        # ebsboot-manage snapshot import drives imports; one still pending
        # when the volume service starts was interrupted.
        values = dict(_snapshot('snap-imp', 'vol-ffffffff', 'pending',
                                'test-host'), volume_id=None)
        db.snapshot_create(self.ctxt, values)
        self._manager().init_host()
        snap = db.snapshot_get_by_ec2_id(self.ctxt, 'snap-imp')
        self.assertEqual('error', snap.status)
        self.assertIn('import of the snapshot did not finish',
                      snap.state_message)
        self.assertNotIn(('import_snapshot', 'snap-imp-uuid'),
                         self.driver.calls)


class ManyVolumesTest(base.TestCase):
    """create_volumes and initialize_connections (RPC API 1.1)."""

    def setUp(self):
        super().setUp()
        self.ctxt = ebs_context.get_admin_context()
        self.driver = fake_volume.FakeDriver(CONF)
        self.manager = volume_manager.VolumeManager(host='test-host',
                                                    driver=self.driver)
        self.writes = self.useFixture(fixtures.MockPatchObject(
            db, 'write_many', side_effect=db.write_many)).mock

    def _get(self, ec2_id):
        return db.volume_get_by_ec2_id(self.ctxt, ec2_id)

    def test_create_volumes(self):
        db.volume_create(self.ctxt, _volume('vol-src', 'available',
                                            'test-host'))
        self.driver.create_volume({'id': 'vol-src-uuid', 'size': 1})
        db.snapshot_create(self.ctxt, _snapshot('snap-s', 'vol-src',
                                                'completed', 'test-host'))
        self.driver.create_snapshot({'id': 'snap-s-uuid'},
                                    {'id': 'vol-src-uuid'})
        from_snapshot = {'snapshot_id': 'snap-s-uuid',
                         'snapshot_ec2_id': 'snap-s'}
        for ec2_id, status, host, extra in [
                ('vol-new', 'creating', None, {}),
                ('vol-mine', 'creating', 'test-host', {}),
                ('vol-theirs', 'creating', 'other-host', {}),
                ('vol-done', 'available', 'test-host', {}),
                ('vol-c1', 'creating', None, from_snapshot),
                ('vol-c2', 'creating', 'test-host', from_snapshot),
                ('vol-c3', 'creating', None, from_snapshot),
                ('vol-orphan', 'creating', None,
                 {'snapshot_id': 'gone-uuid', 'snapshot_ec2_id': 'snap-g'})]:
            db.volume_create(self.ctxt, _volume(ec2_id, status, host,
                                                **extra))
        snapshot_get = self.useFixture(fixtures.MockPatchObject(
            db, 'snapshot_get', side_effect=db.snapshot_get)).mock
        del self.driver.calls[:]
        ids = ['vol-%s-uuid' % n for n in (
            'new', 'mine', 'theirs', 'done', 'c1', 'c2', 'c3', 'orphan')]
        self.manager.create_volumes(self.ctxt, ids + ['vol-nope-uuid'])

        for ec2_id in ('vol-new', 'vol-mine', 'vol-c1', 'vol-c2', 'vol-c3'):
            volume = self._get(ec2_id)
            self.assertEqual(
                ('available', 'test-host',
                 'fake://volume/%s' % volume.id),
                (volume.status, volume.host, volume.provider_location))
        for ec2_id in ('vol-c1', 'vol-c2', 'vol-c3'):
            self.assertEqual('snap-s-uuid',
                             self.driver.volumes[ec2_id + '-uuid'][
                                 'snapshot_id'])
        self.assertEqual(('error', 'test-host'),
                         (self._get('vol-orphan').status,
                          self._get('vol-orphan').host))
        self.assertEqual(('creating', 'other-host'),
                         (self._get('vol-theirs').status,
                          self._get('vol-theirs').host))
        self.assertEqual(
            sorted(['vol-new-uuid', 'vol-mine-uuid', 'vol-c1-uuid',
                    'vol-c2-uuid', 'vol-c3-uuid']),
            sorted(volume_id for _, volume_id in self.driver.calls))
        # One write for the claims, one for the results; one read per
        # snapshot.
        self.assertEqual(2, self.writes.call_count)
        self.assertEqual(sorted(['snap-s-uuid', 'gone-uuid']),
                         sorted(c[0][1] for c in snapshot_get.call_args_list))

    def test_create_volumes_of_a_snapshot_in_one_driver_call(self):
        self.driver.create_volume({'id': 'vol-src-uuid', 'size': 1})
        db.snapshot_create(self.ctxt, _snapshot('snap-s', 'vol-src',
                                                'completed', 'test-host'))
        self.driver.create_snapshot({'id': 'snap-s-uuid'},
                                    {'id': 'vol-src-uuid'})
        for ec2_id in ('vol-c1', 'vol-c2', 'vol-c3'):
            db.volume_create(self.ctxt, _volume(
                ec2_id, 'creating', snapshot_id='snap-s-uuid',
                snapshot_ec2_id='snap-s'))
        real = self.driver.create_volumes_from_snapshot

        def one_fails(volumes, snapshot):
            results = real([v for v in volumes if v['id'] != 'vol-c2-uuid'],
                           snapshot)
            results['vol-c2-uuid'] = exception.VolumeDriverError('no room')
            return results

        batch = self.useFixture(fixtures.MockPatchObject(
            self.driver, 'create_volumes_from_snapshot',
            side_effect=one_fails)).mock
        self.manager.create_volumes(
            self.ctxt, ['vol-c1-uuid', 'vol-c2-uuid', 'vol-c3-uuid'])
        [call] = batch.call_args_list
        self.assertEqual(['vol-c1-uuid', 'vol-c2-uuid', 'vol-c3-uuid'],
                         sorted(v['id'] for v in call.args[0]))
        self.assertEqual('snap-s-uuid', call.args[1]['id'])
        self.assertEqual(
            ['available', 'error', 'available'],
            [self._get(ec2_id).status
             for ec2_id in ('vol-c1', 'vol-c2', 'vol-c3')])
        self.assertEqual('fake://volume/vol-c1-uuid',
                         self._get('vol-c1').provider_location)

    def test_create_volumes_skips_a_lost_claim(self):
        for ec2_id in ('vol-a', 'vol-b'):
            db.volume_create(self.ctxt, _volume(ec2_id, 'creating'))
        real = self.writes.side_effect

        def other_host_first(*args, **kwargs):
            if self.writes.call_count == 1:
                db.volume_update(self.ctxt, 'vol-b-uuid',
                                 {'host': 'other-host'},
                                 expected={'host': None})
            return real(*args, **kwargs)

        self.writes.side_effect = other_host_first
        self.manager.create_volumes(self.ctxt, ['vol-a-uuid', 'vol-b-uuid'])
        self.assertEqual([('create_volume', 'vol-a-uuid')],
                         self.driver.calls)
        self.assertEqual(('available', 'test-host'),
                         (self._get('vol-a').status, self._get('vol-a').host))
        self.assertEqual(('creating', 'other-host'),
                         (self._get('vol-b').status, self._get('vol-b').host))

    def test_create_volumes_keeps_a_change_made_meanwhile(self):
        db.volume_create(self.ctxt, _volume('vol-a', 'creating'))
        real = self.driver.create_volume

        def create(volume):
            db.volume_update(self.ctxt, volume['id'], {'status': 'deleting'})
            return real(volume)

        self.useFixture(fixtures.MockPatchObject(self.driver,
                                                 'create_volume',
                                                 side_effect=create))
        self.manager.create_volumes(self.ctxt, ['vol-a-uuid'])
        self.assertEqual('deleting', self._get('vol-a').status)

    def test_create_volumes_of_nothing_to_do(self):
        db.volume_create(self.ctxt, _volume('vol-a', 'available'))
        self.manager.create_volumes(self.ctxt, ['vol-a-uuid', 'nope'])
        self.manager.create_volumes(self.ctxt, [])
        self.assertEqual([], self.driver.calls)
        self.writes.assert_not_called()

    def test_initialize_connections(self):
        for ec2_id in ('vol-a', 'vol-b'):
            db.volume_create(self.ctxt, _volume(ec2_id, 'available',
                                                'test-host'))
            self.driver.create_volume({'id': ec2_id + '-uuid', 'size': 1})
        connector = {'host': 'compute-1', 'ip': '127.0.0.1'}
        infos = self.manager.initialize_connections(
            self.ctxt, ['vol-a-uuid', 'vol-b-uuid', 'nope'], connector,
            instance_ids={'vol-a-uuid': 'i1'})
        self.assertEqual({'vol-a-uuid', 'vol-b-uuid'}, set(infos))
        self.assertEqual('vol-a-uuid',
                         infos['vol-a-uuid']['data']['volume_id'])
        self.assertEqual([{'connector': connector, 'instance_id': 'i1'}],
                         self.driver.connections['vol-a-uuid'])
        self.assertEqual([{'connector': connector, 'instance_id': None}],
                         self.driver.connections['vol-b-uuid'])
        self.manager.terminate_connection(self.ctxt, 'vol-a-uuid', connector,
                                          instance_id='i1')
        self.assertNotIn('vol-a-uuid', self.driver.connections)
        # An old controller (1.3) names no instance.
        self.manager.initialize_connection(self.ctxt, 'vol-a-uuid',
                                           connector)
        self.assertEqual([{'connector': connector, 'instance_id': None}],
                         self.driver.connections['vol-a-uuid'])
