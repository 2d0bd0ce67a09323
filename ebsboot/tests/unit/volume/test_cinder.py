"""Tests of the cinder volume driver against an in-memory Cinder.

The functional tests (ebsboot/tests/functional/test_cinder.py) run it
against a real Cinder on a real Ceph; these check its logic: names,
types, holders, attachments and the mapping of Cinder's errors.
"""

import uuid

from cinderclient import exceptions as cinder_exc
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading
from keystoneauth1 import session as ks_session
from oslo_config import cfg
from oslo_config import fixture as config_fixture
from oslo_utils import uuidutils
import testtools

from ebsboot import conf as ebs_conf
from ebsboot.conf import cinder as cinder_conf
from ebsboot.conf import CONF
from ebsboot.volume import driver
from ebsboot.volume.drivers import cinder


class Resource:
    def __init__(self, **fields):
        self.__dict__.update(fields)


class Manager:
    """One collection of the in-memory Cinder."""

    def __init__(self, cinder, kind):
        self.cinder = cinder
        self.kind = kind
        self.items = {}

    def get(self, resource_id):
        self.cinder.tick()
        if resource_id not in self.items:
            raise cinder_exc.NotFound(404, '%s %s' % (self.kind,
                                                      resource_id))
        return self.items[resource_id]

    def list(self, search_opts=None, limit=None):
        search = search_opts or {}
        return [r for r in self.items.values()
                if all(getattr(r, k, None) == v for k, v in search.items())]


class Volumes(Manager):
    def create(self, size, snapshot_id=None, name=None, volume_type=None,
               metadata=None):
        self.cinder.fail('volumes.create')
        if snapshot_id is not None:
            self.cinder.snapshots.get(snapshot_id)
        volume = Resource(id=str(uuid.uuid4()), size=size, name=name,
                          volume_type=volume_type or '__DEFAULT__',
                          snapshot_id=snapshot_id,
                          metadata=dict(metadata or {}),
                          status=self.cinder.volume_status)
        self.items[volume.id] = volume
        self.cinder.pending.append(volume)
        return volume

    def delete(self, volume_id):
        volume = self.get(volume_id)
        if self.cinder.snapshots.list(search_opts={'volume_id': volume_id}):
            raise cinder_exc.BadRequest(400, 'Volume has snapshots')
        if volume.status == 'in-use':
            raise cinder_exc.BadRequest(400, 'Volume in use')
        volume.status = 'deleting'
        self.cinder.doomed.append((self, volume_id))

    def set_metadata(self, volume_id, metadata):
        self.get(volume_id).metadata.update(metadata)

    def update(self, volume_id, **fields):
        self.get(volume_id).__dict__.update(fields)

    def extend(self, volume_id, size):
        volume = self.get(volume_id)
        volume.status = 'extending'
        volume.target = size
        self.cinder.pending.append(volume)


class Snapshots(Manager):
    def create(self, volume_id, force=False, name=None, metadata=None):
        volume = self.cinder.volumes.get(volume_id)
        if volume.status == 'in-use' and not force:
            raise cinder_exc.BadRequest(400, 'in-use without force')
        snapshot = Resource(id=str(uuid.uuid4()), volume_id=volume_id,
                            name=name, size=volume.size, force=force,
                            metadata=dict(metadata or {}),
                            status='creating')
        self.items[snapshot.id] = snapshot
        self.cinder.pending.append(snapshot)
        return snapshot

    def delete(self, snapshot_id):
        self.get(snapshot_id).status = 'deleting'
        self.cinder.doomed.append((self, snapshot_id))


class Attachments(Manager):
    def create(self, volume_id, connector, instance_id=None, mode='null'):
        volume = self.cinder.volumes.get(volume_id)
        attachment = Resource(id=str(uuid.uuid4()), volume_id=volume_id,
                              instance_id=instance_id, connector=connector,
                              status='reserved', mode=mode)
        self.items[attachment.id] = attachment
        return {'id': attachment.id, 'status': 'reserved',
                'connection_info': {
                    'driver_volume_type': 'rbd',
                    'name': 'volumes/volume-%s' % volume.id,
                    'hosts': ['127.0.0.1'], 'ports': ['6789'],
                    'auth_username': 'ebsboot',
                    'secret_uuid': 'sec', 'attachment_id': attachment.id}}

    def complete(self, attachment_id):
        attachment = self.get(attachment_id)
        attachment.status = 'attached'
        self.cinder.volumes.get(attachment.volume_id).status = 'in-use'

    def delete(self, attachment_id):
        attachment = self.items.pop(attachment_id)
        if not self.list(search_opts={'volume_id': attachment.volume_id}):
            self.cinder.volumes.get(attachment.volume_id).status = \
                'available'


class FakeCinder:
    """Resources become ready, or go, at the next read."""

    def __init__(self):
        self.volumes = Volumes(self, 'volume')
        self.volume_snapshots = self.snapshots = Snapshots(self, 'snapshot')
        self.attachments = Attachments(self, 'attachment')
        self.pending = []
        self.doomed = []
        self.volume_status = 'creating'
        self.failures = {}

    def fail(self, call):
        error = self.failures.pop(call, None)
        if error is not None:
            raise error

    def tick(self):
        pending, self.pending = self.pending, []
        for resource in pending:
            if resource.status == 'extending':
                resource.size = resource.target
            if resource.status in ('creating', 'extending'):
                resource.status = 'available'
        doomed, self.doomed = self.doomed, []
        for manager, resource_id in doomed:
            manager.items.pop(resource_id, None)


def _volume(size=1, volume_type='gp2'):
    return {'id': uuidutils.generate_uuid(), 'size': size,
            'provider_location': None, 'snapshot_id': None,
            'volume_type': volume_type}


def _snapshot(volume):
    return {'id': uuidutils.generate_uuid(), 'volume_id': volume['id'],
            'volume_size': volume['size'], 'provider_location': None}


class CinderDriverTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        ebs_conf.parse_args(['ebsboot-test'], default_config_files=[])
        self.config = self.useFixture(config_fixture.Config(CONF))
        self.config.config(volume_type_map={'io1': 'fast'},
                           status_poll_interval=0.05, status_timeout=5,
                           group='cinder')
        self.cinder = FakeCinder()
        self.now = 0.0

        def sleep(seconds):
            self.now += seconds

        self.driver = cinder.CinderDriver(
            CONF, client=self.cinder, sleep=sleep, clock=lambda: self.now)

    def _create(self, **kwargs):
        volume = _volume(**kwargs)
        volume.update(self.driver.create_volume(volume))
        return volume

    def test_is_a_volume_driver_without_live_snapshots(self):
        self.assertIsInstance(self.driver, driver.VolumeDriver)
        self.assertFalse(self.driver.supports_live_snapshot)

    def test_create_volume_waits_and_maps_the_type(self):
        volume = self._create(size=3, volume_type='io1')
        made = self.cinder.volumes.items[volume['provider_location']]
        self.assertEqual('available', made.status)
        self.assertEqual((3, 'fast', 'ebsboot-volume-%s' % volume['id']),
                         (made.size, made.volume_type, made.name))
        self.assertEqual(volume['id'], made.metadata['ebsboot_id'])
        other = self._create(volume_type='gp2')
        self.assertEqual('__DEFAULT__', self.cinder.volumes.items[
            other['provider_location']].volume_type)

    def test_create_volume_again_finds_the_first(self):
        volume = _volume()
        first = self.driver.create_volume(volume)
        self.assertEqual(first, self.driver.create_volume(volume))
        self.assertEqual(1, len(self.cinder.volumes.items))

    def test_a_volume_in_error_fails_and_is_replaced_next_time(self):
        self.cinder.volume_status = 'error'
        volume = _volume()
        error = self.assertRaises(cinder.CinderError,
                                  self.driver.create_volume, volume)
        self.assertIn('is error', str(error))
        self.cinder.volume_status = 'creating'
        made = self.driver.create_volume(volume)
        self.assertEqual([made['provider_location']],
                         list(self.cinder.volumes.items))

    def test_timeout(self):
        self.cinder.volume_status = 'downloading'
        error = self.assertRaises(cinder.CinderError,
                                  self.driver.create_volume, _volume())
        self.assertIn('still downloading after 5 s', str(error))
        self.assertGreaterEqual(self.now, 5)

    def test_snapshot_and_volume_from_it(self):
        volume = self._create(size=2)
        snapshot = _snapshot(volume)
        snapshot.update(self.driver.create_snapshot(snapshot, volume))
        made = self.cinder.snapshots.items[snapshot['provider_location']]
        self.assertEqual(('available', volume['provider_location'], True),
                         (made.status, made.volume_id, made.force))
        clone = _volume(size=5)
        clone['provider_location'] = self.driver.create_volume_from_snapshot(
            clone, snapshot)['provider_location']
        cloned = self.cinder.volumes.items[clone['provider_location']]
        self.assertEqual((made.id, 5), (cloned.snapshot_id, cloned.size))

    def test_volume_from_a_lost_snapshot_fails(self):
        volume = self._create()
        snapshot = dict(_snapshot(volume), provider_location='gone')
        self.assertRaises(cinder.CinderError,
                          self.driver.create_volume_from_snapshot,
                          _volume(), snapshot)

    def test_deleted_volume_waits_for_its_snapshots(self):
        volume = self._create()
        snapshot = _snapshot(volume)
        snapshot.update(self.driver.create_snapshot(snapshot, volume))
        self.driver.delete_volume(volume)
        self.driver.delete_volume(volume)
        held = self.cinder.volumes.items[volume['provider_location']]
        self.assertEqual('ebsboot-holder-%s' % volume['id'], held.name)
        self.assertEqual('true', held.metadata['ebsboot_deleted'])
        self.driver.delete_snapshot(snapshot)
        self.driver.delete_snapshot(snapshot)
        self.cinder.tick()
        self.assertEqual({}, self.cinder.volumes.items)
        self.assertEqual({}, self.cinder.snapshots.items)

    def test_deleting_a_snapshot_keeps_a_live_volume(self):
        volume = self._create()
        snapshot = _snapshot(volume)
        snapshot.update(self.driver.create_snapshot(snapshot, volume))
        self.driver.delete_snapshot(snapshot)
        self.assertEqual([volume['provider_location']],
                         list(self.cinder.volumes.items))
        self.driver.delete_volume(volume)
        self.assertEqual({}, self.cinder.volumes.items)

    def test_copy_snapshot_is_a_holder_and_its_snapshot(self):
        volume = self._create(size=2)
        source = _snapshot(volume)
        source.update(self.driver.create_snapshot(source, volume))
        copy = dict(_snapshot(volume), volume_id=None)
        copy.update(self.driver.copy_snapshot(copy, source))
        self.assertEqual(copy, dict(copy, **self.driver.copy_snapshot(
            copy, source)))
        made = self.cinder.snapshots.items[copy['provider_location']]
        holder = self.cinder.volumes.items[made.volume_id]
        self.assertEqual(source['provider_location'], holder.snapshot_id)
        self.assertEqual('ebsboot-holder-%s' % copy['id'], holder.name)
        # The copy outlives its source and the source's volume.
        self.driver.delete_snapshot(source)
        self.driver.delete_volume(volume)
        self.cinder.tick()
        self.assertIn(made.id, self.cinder.snapshots.items)
        self.driver.delete_snapshot(copy)
        self.cinder.tick()
        self.assertEqual({}, self.cinder.volumes.items)

    def test_import_needs_rbd_options(self):
        self.assertRaises(cinder.CinderError, self.driver.import_snapshot,
                          {'id': 'x', 'volume_size': 1}, None, 'raw')

    def test_extend(self):
        volume = self._create(size=1)
        self.driver.extend_volume(volume, 4)
        self.driver.extend_volume(volume, 4)
        made = self.cinder.volumes.items[volume['provider_location']]
        self.assertEqual((4, 'available'), (made.size, made.status))
        self.assertIsNone(self.driver.guest_disk(volume))

    def test_connections_are_attachments(self):
        volume = self._create()
        connector = {'host': 'compute-a', 'ip': '127.0.0.1'}
        info = self.driver.initialize_connection(volume, connector,
                                                 instance_id='i1')
        self.assertEqual('rbd', info['driver_volume_type'])
        self.assertEqual('volumes/volume-%s' % volume['provider_location'],
                         info['data']['name'])
        made = self.cinder.volumes.items[volume['provider_location']]
        self.assertEqual('in-use', made.status)
        # Again (a crash, another host): still one attachment.
        info = self.driver.initialize_connection(
            volume, {'host': 'compute-b'}, instance_id='i1')
        attachments = list(self.cinder.attachments.items.values())
        self.assertEqual([('compute-b', 'i1', 'attached')],
                         [(a.connector['host'], a.instance_id, a.status)
                          for a in attachments])
        self.assertEqual(attachments[0].id, info['data']['attachment_id'])
        self.driver.terminate_connection(volume, connector,
                                         instance_id='i1')
        self.driver.terminate_connection(volume, connector,
                                         instance_id='i1')
        self.assertEqual({}, self.cinder.attachments.items)
        self.assertEqual('available', made.status)

    def test_deleting_an_attached_volume_detaches_it(self):
        volume = self._create()
        self.driver.initialize_connection(volume, {'host': 'h'})
        self.driver.delete_volume(volume)
        self.cinder.tick()
        self.assertEqual({}, self.cinder.volumes.items)

    def test_connecting_a_lost_volume_fails(self):
        volume = dict(_volume(), provider_location='gone')
        self.assertRaises(cinder.CinderError,
                          self.driver.initialize_connection, volume, {})
        self.driver.terminate_connection(volume, {})
        self.driver.delete_volume(volume)

    def test_errors_are_mapped(self):
        for error, expected in (
                (cinder_exc.ClientException(500, 'boom'),
                 cinder.CinderUnavailable),
                (cinder_exc.OverLimit(413, 'quota'), cinder.CinderError),
                (ks_exc.ConnectFailure('refused'), cinder.CinderUnavailable),
                (ks_exc.Unauthorized('who?'), cinder.CinderUnavailable)):
            self.cinder.failures['volumes.create'] = error
            raised = self.assertRaises(cinder.CinderError,
                                       self.driver.create_volume, _volume())
            self.assertIsInstance(raised, expected)


class CinderClientTestCase(testtools.TestCase):
    """The client made from the [cinder] options (a private ConfigOpts)."""

    def setUp(self):
        super().setUp()
        self.conf = cfg.ConfigOpts()
        cinder_conf.register_opts(self.conf)
        self.conf([], default_config_files=[])

    def test_noauth_client_acts_with_the_service_role(self):
        project = uuid.uuid4().hex
        # As loading the plugin registers them.
        self.conf.register_opts(
            ks_loading.get_auth_plugin_conf_options('noauth'),
            group='cinder')
        self.conf.set_override('auth_type', 'noauth', group='cinder')
        self.conf.set_override('user_id', 'ebsboot', group='cinder')
        self.conf.set_override('project_id', project, group='cinder')
        self.conf.set_override('endpoint', 'http://127.0.0.1:1/v3',
                               group='cinder')
        client = cinder.CinderDriver(self.conf).client
        auth = client.client.session.auth
        self.assertIsInstance(auth, cinder._ServiceNoAuth)
        session = ks_session.Session()
        headers = auth.get_headers(session)
        self.assertEqual(('service', 'ebsboot:%s' % project),
                         (headers['X-Service-Roles'],
                          headers['X-Auth-Token']))
        self.assertEqual('http://127.0.0.1:1/v3/%s' % project,
                         auth.get_endpoint(session))
        self.assertEqual(cinder.API_VERSION,
                         client.api_version.get_string())

    def test_without_auth_type(self):
        self.assertRaises(cinder.CinderError,
                          lambda: cinder.CinderDriver(self.conf).client)
