"""The storage controller with the volume service on the fake driver."""

import fixtures

from ebsboot.cloud import volumes
from ebsboot.db import api as db
from ebsboot import exception
from ebsboot.tests.unit import base


class CloudVolumesTest(base.ServiceTestCase):

    def _wait(self, getter, ec2_id, status):
        return self.wait_for(
            lambda: getter(self.ctxt, ec2_id).status == status and
            getter(self.ctxt, ec2_id))

    def setUp(self):
        super().setUp()
        self.ctxt = self.context()

    def _available_volume(self, size=1, **kwargs):
        volume = volumes.create_volume(self.ctxt, 'nova', size=size,
                                       **kwargs)
        return self._wait(volumes.get_volume, volume.ec2_id, 'available')

    def test_create_volume_runs_on_this_host(self):
        volume = self._available_volume(size=2)
        self.assertEqual('test-host', volume.host)
        self.assertEqual(2, self.volume_driver.volumes[volume.id]['size'])
        self.assertEqual('fake://volume/%s' % volume.id,
                         volume.provider_location)

    def test_snapshot_and_clone_keep_point_in_time_data(self):
        volume = self._available_volume()
        self.volume_driver.volumes[volume.id]['data']['block0'] = 'v1'
        snapshot = volumes.create_snapshot(self.ctxt, volume.ec2_id, 'd')
        self.assertEqual('pending', snapshot.status)
        snapshot = self._wait(volumes.get_snapshot, snapshot.ec2_id,
                              'completed')
        self.assertEqual(100, snapshot.progress)
        self.volume_driver.volumes[volume.id]['data']['block0'] = 'v2'
        clone = self._available_volume(size=5,
                                       snapshot_ec2_id=snapshot.ec2_id)
        self.assertEqual(snapshot.id, clone.snapshot_id)
        self.assertEqual({'block0': 'v1'},
                         self.volume_driver.volumes[clone.id]['data'])

    def test_clone_size_defaults_to_snapshot_and_cannot_shrink(self):
        volume = self._available_volume(size=4)
        snapshot = volumes.create_snapshot(self.ctxt, volume.ec2_id)
        self._wait(volumes.get_snapshot, snapshot.ec2_id, 'completed')
        clone = self._available_volume(size=None,
                                       snapshot_ec2_id=snapshot.ec2_id)
        self.assertEqual(4, clone.size)
        error = self.assertRaises(exception.InvalidParameterValue,
                                  volumes.create_volume, self.ctxt, 'nova',
                                  size=3, snapshot_ec2_id=snapshot.ec2_id)
        self.assertIn('expect size >= 4GB', error.msg)

    def test_driver_failure_marks_error_and_delete_cleans(self):
        self.volume_driver.fail_next('create_volume')
        volume = volumes.create_volume(self.ctxt, 'nova', size=1)
        volume = self._wait(volumes.get_volume, volume.ec2_id, 'error')
        volumes.delete_volume(self.ctxt, volume.ec2_id)
        self.wait_for(lambda: not db.volume_list(self.ctxt))

    def test_refusals_write_nothing(self):
        volume = self._available_volume()
        calls = list(self.volume_driver.calls)
        for args, error in [
                (('elsewhere', 1), exception.InvalidZoneNotFound),
                (('nova', None), exception.MissingParameter),
                (('nova', 0), exception.InvalidParameterValue),
                (('nova', 17000), exception.InvalidParameterValue)]:
            self.assertRaises(error, volumes.create_volume, self.ctxt, *args)
        self.assertRaises(exception.InvalidSnapshotNotFound,
                          volumes.create_volume, self.ctxt, 'nova',
                          snapshot_ec2_id='snap-0123456789abcdef0')
        self.assertRaises(exception.InvalidVolumeIDMalformed,
                          volumes.create_snapshot, self.ctxt, 'vol-x')
        for kwargs in ({'volume_type': 'gp9'}, {'volume_type': 'GP2'},
                       {'client_token': 'x' * 65},
                       {'client_token': '\u00fc'}):
            self.assertRaises(exception.InvalidParameterValue,
                              volumes.create_volume, self.ctxt, 'nova',
                              size=1, **kwargs)
        self.assertRaises(exception.InvalidParameterValue,
                          volumes.create_snapshot, self.ctxt, volume.ec2_id,
                          description='x' * 70000)
        self.assertEqual(1, db.count_rows(self.ctxt, 'Volume'))
        self.assertEqual(0, db.count_rows(self.ctxt, 'Snapshot'))
        self.assertEqual(calls, self.volume_driver.calls)
        self.assertEqual([volume.ec2_id],
                         [v.ec2_id for v in volumes.list_volumes(self.ctxt)])

    def test_longest_description(self):
        volume = self._available_volume()
        snapshot = volumes.create_snapshot(self.ctxt, volume.ec2_id,
                                           description='d' * 255)
        self.assertEqual('d' * 255, snapshot.description)

    def test_state_guards(self):
        volume = self._available_volume()
        db.volume_update(self.ctxt, volume.id, {'status': 'in-use'})
        self.assertRaises(exception.VolumeInUse, volumes.delete_volume,
                          self.ctxt, volume.ec2_id)
        db.volume_update(self.ctxt, volume.id, {'status': 'creating'})
        self.assertRaises(exception.IncorrectState, volumes.delete_volume,
                          self.ctxt, volume.ec2_id)
        self.assertRaises(exception.IncorrectState, volumes.create_snapshot,
                          self.ctxt, volume.ec2_id)

    def test_snapshot_pending_cannot_be_cloned_or_deleted(self):
        volume = self._available_volume()
        # The volume service never gets to take it: it stays pending.
        self.useFixture(fixtures.MockPatchObject(self.volume_manager,
                                                 'create_snapshot'))
        snapshot = volumes.create_snapshot(self.ctxt, volume.ec2_id)
        self.assertRaises(exception.IncorrectState, volumes.create_volume,
                          self.ctxt, 'nova', snapshot_ec2_id=snapshot.ec2_id)
        self.assertRaises(exception.IncorrectState, volumes.delete_snapshot,
                          self.ctxt, snapshot.ec2_id)

    def test_client_token(self):
        first = volumes.create_volume(self.ctxt, 'nova', size=1,
                                      client_token='abc')
        again = volumes.create_volume(self.ctxt, 'nova', size=1,
                                      client_token='abc')
        self.assertEqual(first.ec2_id, again.ec2_id)
        self.assertRaises(exception.IdempotentParameterMismatch,
                          volumes.create_volume, self.ctxt, 'nova', size=1,
                          volume_type='gp3', client_token='abc')
        other = volumes.create_volume(self.context('beta'), 'nova', size=1,
                                      client_token='abc')
        self.assertNotEqual(first.ec2_id, other.ec2_id)

    def test_list_by_ids_fails_whole_request_on_one_unknown(self):
        volume = self._available_volume()
        self.assertRaises(exception.InvalidVolumeNotFound,
                          volumes.list_volumes, self.ctxt,
                          [volume.ec2_id, 'vol-0123456789abcdef0'])
        self.assertRaises(exception.InvalidVolumeNotFound,
                          volumes.list_volumes, self.context('beta'),
                          [volume.ec2_id])
