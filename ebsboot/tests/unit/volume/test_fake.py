"""Tests of the in-memory volume driver."""

import os

import fixtures
from oslo_utils import uuidutils
import testtools

from ebsboot import exception
from ebsboot import importfile
from ebsboot.volume import driver
from ebsboot.volume.drivers import fake


def _volume(size=1, snapshot=None):
    return {'id': uuidutils.generate_uuid(), 'size': size,
            'provider_location': None,
            'snapshot_id': snapshot['id'] if snapshot else None}


def _snapshot(volume):
    return {'id': uuidutils.generate_uuid(), 'volume_id': volume['id'],
            'volume_size': volume['size'], 'provider_location': None}


class FakeDriverTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.driver = fake.FakeDriver(None)
        self.driver.do_setup()
        self.driver.check_for_setup_error()

    def test_is_a_volume_driver(self):
        self.assertIsInstance(self.driver, driver.VolumeDriver)

    def test_create_and_delete_volume(self):
        volume = _volume(size=3)
        self.assertEqual(
            {'provider_location': 'fake://volume/%s' % volume['id']},
            self.driver.create_volume(volume))
        self.assertEqual(3, self.driver.volumes[volume['id']]['size'])
        self.driver.volumes[volume['id']]['data']['mbr'] = 'boot'
        self.driver.create_volume(volume)
        self.assertEqual({'mbr': 'boot'},
                         self.driver.volumes[volume['id']]['data'])
        self.driver.delete_volume(volume)
        self.driver.delete_volume(volume)
        self.assertEqual({}, self.driver.volumes)
        self.assertEqual([('create_volume', volume['id'])] * 2 +
                         [('delete_volume', volume['id'])] * 2,
                         self.driver.calls)

    def test_snapshot_is_point_in_time(self):
        volume = _volume()
        self.driver.create_volume(volume)
        data = self.driver.volumes[volume['id']]['data']
        data['block0'] = 'old'
        snapshot = _snapshot(volume)
        self.assertEqual(
            {'provider_location': 'fake://snapshot/%s' % snapshot['id']},
            self.driver.create_snapshot(snapshot, volume))
        data['block0'] = 'new'
        self.driver.create_snapshot(snapshot, volume)
        self.assertEqual({'block0': 'old'},
                         self.driver.snapshots[snapshot['id']]['data'])
        clone = _volume(size=2, snapshot=snapshot)
        self.driver.create_volume_from_snapshot(clone, snapshot)
        self.assertEqual({'block0': 'old'},
                         self.driver.volumes[clone['id']]['data'])
        self.assertEqual(snapshot['id'],
                         self.driver.volumes[clone['id']]['snapshot_id'])
        # Volumes made from a snapshot outlive it.
        self.driver.delete_snapshot(snapshot)
        self.driver.delete_snapshot(snapshot)
        self.assertIn(clone['id'], self.driver.volumes)
        self.assertRaises(exception.VolumeDriverError,
                          self.driver.create_volume_from_snapshot,
                          _volume(), snapshot)

    def test_volume_from_snapshot_too_small(self):
        volume = _volume(size=2)
        self.driver.create_volume(volume)
        snapshot = _snapshot(volume)
        self.driver.create_snapshot(snapshot, volume)
        self.assertRaises(exception.VolumeDriverError,
                          self.driver.create_volume_from_snapshot,
                          _volume(size=1), snapshot)

    def test_snapshot_of_missing_volume(self):
        volume = _volume()
        self.assertRaises(exception.VolumeDriverError,
                          self.driver.create_snapshot, _snapshot(volume),
                          volume)

    def test_import_snapshot(self):
        image = os.path.join(self.useFixture(fixtures.TempDir()).path,
                             'disk.raw')
        with open(image, 'wb') as f:
            f.write(b'boot')
        snapshot = {'id': uuidutils.generate_uuid(), 'volume_id': None,
                    'volume_size': 2, 'provider_location': None}
        source = importfile.open_source(image)
        self.addCleanup(source.close)
        self.assertEqual(
            {'provider_location': 'fake://snapshot/%s' % snapshot['id']},
            self.driver.import_snapshot(snapshot, source, 'raw'))
        self.assertEqual({'volume_id': None, 'volume_size': 2,
                          'data': {'image': (image, 'raw')}},
                         self.driver.snapshots[snapshot['id']])
        # Repeated: the first import stays.
        source.close()
        self.driver.import_snapshot(snapshot, source, 'qcow2')
        self.assertEqual({'image': (image, 'raw')},
                         self.driver.snapshots[snapshot['id']]['data'])
        clone = _volume(size=2, snapshot=snapshot)
        self.driver.create_volume_from_snapshot(clone, snapshot)
        self.assertEqual({'image': (image, 'raw')},
                         self.driver.volumes[clone['id']]['data'])
        self.assertRaises(exception.VolumeDriverError,
                          self.driver.create_volume_from_snapshot,
                          _volume(size=1), snapshot)
        self.driver.delete_snapshot(snapshot)
        self.assertEqual({}, self.driver.snapshots)
        self.assertEqual([('import_snapshot', snapshot['id'])] * 2,
                         [c for c in self.driver.calls
                          if c[0] == 'import_snapshot'])

    def test_import_snapshot_failures(self):
        snapshot = {'id': uuidutils.generate_uuid(), 'volume_id': None,
                    'volume_size': 1, 'provider_location': None}
        source = importfile.open_source(__file__)
        source.close()
        self.assertRaises(exception.VolumeDriverError,
                          self.driver.import_snapshot, snapshot, source,
                          'raw')
        self.driver.fail_next('import_snapshot')
        with importfile.open_source(__file__) as source:
            self.assertRaises(exception.VolumeDriverError,
                              self.driver.import_snapshot, snapshot, source,
                              'raw')
        self.assertEqual({}, self.driver.snapshots)

    def test_connection(self):
        volume = _volume()
        self.driver.create_volume(volume)
        connector = {'host': 'h1'}
        info = self.driver.initialize_connection(volume, connector, 'i1')
        self.assertEqual('fake', info['driver_volume_type'])
        self.assertEqual(volume['id'], info['data']['volume_id'])
        self.driver.initialize_connection(volume, connector, 'i1')
        self.assertEqual([{'connector': connector, 'instance_id': 'i1'}],
                         self.driver.connections[volume['id']])
        self.driver.terminate_connection(volume, connector, 'i1')
        self.driver.terminate_connection(volume, connector, 'i1')
        self.assertEqual({}, self.driver.connections)
        self.assertRaises(exception.VolumeDriverError,
                          self.driver.initialize_connection, _volume(),
                          connector)

    def test_fail_next(self):
        volume = _volume()
        self.driver.fail_next('create_volume')
        self.assertRaises(exception.VolumeDriverError,
                          self.driver.create_volume, volume)
        self.assertEqual({}, self.driver.volumes)
        self.driver.create_volume(volume)
        self.driver.fail_next('delete_volume', RuntimeError('boom'))
        self.assertRaises(RuntimeError, self.driver.delete_volume, volume)
        self.assertIn(volume['id'], self.driver.volumes)

    def test_stats(self):
        self.driver.create_volume(_volume(size=10))
        stats = self.driver.get_volume_stats()
        self.assertEqual('fake', stats['volume_backend_name'])
        self.assertEqual(1000, stats['total_capacity_gb'])
        self.assertEqual(990, stats['free_capacity_gb'])
