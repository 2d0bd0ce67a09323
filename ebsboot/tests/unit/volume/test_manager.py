"""The volume manager finishes what a crashed run left behind."""

from ebsboot.conf import CONF
from ebsboot import context as ebs_context
from ebsboot.db import api as db
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
