"""Exports for the host that boots, and the attach/detach flows.

The whole cloud runs in this process on the fake drivers: the fake volume
driver records every export with its connector and instance, the fake
compute driver answers a connector of its own host and records what it
disconnects with which device info.
"""

from unittest import mock

import fixtures
from oslo_serialization import jsonutils

from ebsboot.cloud import attachments
from ebsboot.cloud import bdm
from ebsboot.cloud import flows
from ebsboot.cloud import images
from ebsboot.cloud import instances
from ebsboot.cloud import tasks
from ebsboot.cloud import volumes
from ebsboot.compute.drivers import fake as fake_compute
from ebsboot.compute import manager as compute_manager
from ebsboot.conf import CONF
from ebsboot import context as ebs_context
from ebsboot.db import api as db
from ebsboot import exception
from ebsboot import service
from ebsboot.tests.unit import base


class AttachmentTestCase(base.ServiceTestCase):

    def setUp(self):
        super().setUp()
        self.ctxt = self.context()
        self.admin = ebs_context.get_admin_context()
        self.start_service(CONF.compute.topic,
                           compute_manager.ComputeManager(
                               driver=self.compute_driver))
        tasks.reset_runner()
        self.runner = tasks.get_runner()
        self.runner.start()
        self.addCleanup(tasks.reset_runner)

    # Helpers ---------------------------------------------------------------

    def _volume(self, size=1):
        volume = volumes.create_volume(self.ctxt, 'nova', size=size)
        return self.wait_for(lambda: (lambda v: v.status == 'available' and v)(
            volumes.get_volume(self.ctxt, volume.ec2_id)))

    def _instance(self):
        """A running instance booted from a root volume."""
        source = self._volume()
        snapshot = volumes.create_snapshot(self.ctxt, source.ec2_id)
        self.wait_for(lambda: volumes.get_snapshot(
            self.ctxt, snapshot.ec2_id).status == 'completed')
        image = images.register_image(
            self.ctxt, 'img', '/dev/sda1', bdm.from_ec2_params(
                [{'DeviceName': '/dev/sda1',
                  'Ebs': {'SnapshotId': snapshot.ec2_id}}], self.ctxt))
        [row] = instances.run_instances(self.ctxt,
                                        image['properties']['ec2_id'])
        return self._idle(row.id, 'running')

    def _idle(self, instance_id, state=None):
        def idle():
            row = db.instance_get(self.admin, instance_id)
            if row.task is None and (state is None or row.state == state):
                return row
        return self.wait_for(idle)

    def _device(self, instance, volume):
        for device in db.block_device_list([instance.id]):
            if device.volume_id == volume.id:
                return device
        return None

    def _exports(self, volume):
        return self.volume_driver.connections.get(volume.id, [])

    def _connector(self, host='test-host'):
        driver = fake_compute.FakeDriver(CONF)
        driver.init_host(host)
        return driver.get_volume_connector()

    def _second_host(self, host='other-host'):
        """Another compute service, with a fake hypervisor of its own."""
        driver = fake_compute.FakeDriver(CONF)
        svc = service.Service(CONF.compute.topic,
                              compute_manager.ComputeManager(
                                  host=host, driver=driver), host=host)
        svc.start()
        self.addCleanup(svc.stop)
        return driver

    # Booting ---------------------------------------------------------------

    def test_boot_exports_for_the_host_it_boots_on(self):
        instance = self._instance()
        [root] = db.block_device_list([instance.id])
        volume = db.volume_get(self.admin, root.volume_id)
        self.assertEqual('test-host', instance.host)
        self.assertEqual(self._connector(), jsonutils.loads(root.connector))
        self.assertEqual([{'connector': self._connector(),
                           'instance_id': instance.id}],
                         self._exports(volume))
        # os-brick's device info from the compute host, kept.
        self.assertEqual(
            self.compute_driver._device_info(instance, '/dev/sda1'),
            jsonutils.loads(root.device_info))

    def test_stop_releases_the_export_and_start_exports_again(self):
        instance = self._instance()
        [root] = db.block_device_list([instance.id])
        volume = db.volume_get(self.admin, root.volume_id)
        instances.stop_instances(self.ctxt, [instance.ec2_id])
        self._idle(instance.id, 'stopped')
        self.assertEqual([], self._exports(volume))
        [root] = db.block_device_list([instance.id])
        self.assertEqual((None, None, None), (root.connection_info,
                                              root.connector,
                                              root.device_info))
        # The destroy had the device info to disconnect with.
        self.assertIn((instance.id, '/dev/sda1', self.compute_driver
                       ._device_info(instance, '/dev/sda1')),
                      self.compute_driver.disconnected)
        instances.start_instances(self.ctxt, [instance.ec2_id])
        self._idle(instance.id, 'running')
        self.assertEqual([{'connector': self._connector(),
                           'instance_id': instance.id}],
                         self._exports(volume))

    def test_start_goes_to_another_live_host(self):
        instance = self._instance()
        [root] = db.block_device_list([instance.id])
        volume = db.volume_get(self.admin, root.volume_id)
        instances.stop_instances(self.ctxt, [instance.ec2_id])
        self._idle(instance.id, 'stopped')
        other = self._second_host()
        # The first host is down (no heartbeat within service_down_time).
        self.useFixture(fixtures.MockPatchObject(
            flows, 'live_hosts', return_value=['other-host']))
        instances.start_instances(self.ctxt, [instance.ec2_id])
        moved = self._idle(instance.id, 'running')
        self.assertEqual('other-host', moved.host)
        self.assertIn(instance.id, other.guests)
        self.assertEqual([{'connector': self._connector('other-host'),
                           'instance_id': instance.id}],
                         self._exports(volume))

    def test_start_goes_to_a_less_loaded_host(self):
        instance = self._instance()
        instances.stop_instances(self.ctxt, [instance.ec2_id])
        self._idle(instance.id, 'stopped')
        self.assertIn(instance.id, self.compute_driver.consoles)
        other = self._second_host()
        self.useFixture(fixtures.MockPatchObject(
            flows, 'live_hosts', return_value=['other-host', 'test-host']))
        self.useFixture(fixtures.MockPatchObject(
            db, 'instance_count_by_host',
            return_value={'test-host': 3}))
        instances.start_instances(self.ctxt, [instance.ec2_id])
        self.assertEqual('other-host',
                         self._idle(instance.id, 'running').host)
        self.assertIn(instance.id, other.guests)
        # The host it left deleted what it kept of it.
        self.assertNotIn(instance.id, self.compute_driver.consoles)

    def test_start_prefers_the_previous_host_on_a_tie(self):
        instance = self._instance()
        instances.stop_instances(self.ctxt, [instance.ec2_id])
        self._idle(instance.id, 'stopped')
        self._second_host('a-host')
        self.useFixture(fixtures.MockPatchObject(
            flows, 'live_hosts', return_value=['a-host', 'test-host']))
        instances.start_instances(self.ctxt, [instance.ec2_id])
        self.assertEqual('test-host',
                         self._idle(instance.id, 'running').host)

    def test_a_host_that_died_before_the_spawn_is_left(self):
        instance = self._instance()
        instances.stop_instances(self.ctxt, [instance.ec2_id])
        instance = self._idle(instance.id, 'stopped')
        [root] = db.block_device_list([instance.id])
        volume = db.volume_get(self.admin, root.volume_id)
        flows.connect_volumes(instance)
        self.useFixture(fixtures.MockPatchObject(
            flows, 'live_hosts', return_value=[]))
        self.assertEqual(('start_connect', {'host': None}),
                         flows.start_spawn(self.admin, instance, {}))
        self.assertEqual([], self._exports(volume))

    def test_an_export_for_another_host_is_revoked_first(self):
        instance = self._instance()
        [root] = db.block_device_list([instance.id])
        volume = db.volume_get(self.admin, root.volume_id)
        old = self._connector('gone-host')
        self.volume_driver.connections[volume.id] = [
            {'connector': old, 'instance_id': instance.id}]
        db.block_device_update(root.id, {'connector': jsonutils.dumps(old)})
        flows.connect_volumes(instance)
        self.assertEqual([{'connector': self._connector(),
                           'instance_id': instance.id}],
                         self._exports(volume))

    def test_exports_from_before_connectors_were_stored(self):
        instance = self._instance()
        [root] = db.block_device_list([instance.id])
        volume = db.volume_get(self.admin, root.volume_id)
        self.volume_driver.connections[volume.id] = [
            {'connector': flows.LEGACY_CONNECTOR,
             'instance_id': instance.id}]
        db.block_device_update(root.id, {'connector': None})
        flows.disconnect_volumes(instance)
        self.assertEqual([], self._exports(volume))

    # AttachVolume / DetachVolume ------------------------------------------

    def test_attach_and_detach_a_running_instance(self):
        instance = self._instance()
        volume = self._volume()
        device, _, _ = instances.attach_volume(self.ctxt, volume.ec2_id,
                                               instance.ec2_id, '/dev/sdf')
        self.assertEqual('attaching', device.status)
        self._idle(instance.id)
        device = self._device(instance, volume)
        self.assertEqual('attached', device.status)
        self.assertIsNotNone(device.attach_time)
        self.assertEqual([{'connector': self._connector(),
                           'instance_id': instance.id}],
                         self._exports(volume))
        guest = self.compute_driver.guests[instance.id]
        self.assertIn(('/dev/sdf', volume.id),
                      [(d['device_name'], d.get('volume_id'))
                       for d in guest['block_device_info']])
        info = self.compute_driver._device_info(instance, '/dev/sdf')
        self.assertEqual(info, jsonutils.loads(device.device_info))

        instances.detach_volume(self.ctxt, volume.ec2_id)
        self._idle(instance.id)
        self.assertIsNone(self._device(instance, volume))
        self.assertEqual('available', db.volume_get(self.admin,
                                                    volume.id).status)
        self.assertEqual([], self._exports(volume))
        self.assertIn((instance.id, '/dev/sdf', info),
                      self.compute_driver.disconnected)

    def test_detach_while_attaching_is_refused(self):
        instance = self._instance()
        volume = self._volume()
        with mock.patch.object(self.runner, 'kick'):
            instances.attach_volume(self.ctxt, volume.ec2_id,
                                    instance.ec2_id, '/dev/sdf')
        self.assertRaises(exception.IncorrectState, instances.detach_volume,
                          self.ctxt, volume.ec2_id)

    def test_a_failed_attach_releases_the_export(self):
        instance = self._instance()
        volume = self._volume()
        self.compute_driver.fail['attach_volume'] = RuntimeError('no slot')
        instances.attach_volume(self.ctxt, volume.ec2_id, instance.ec2_id,
                                '/dev/sdf')
        done = self._idle(instance.id)
        self.assertEqual('running', done.state)
        self.assertIsNone(self._device(instance, volume))
        self.assertEqual('available', db.volume_get(self.admin,
                                                    volume.id).status)
        self.assertEqual([], self._exports(volume))
        # Unplugged in case the host plugged it before failing.
        self.assertIn(('detach_volume', instance.id, volume.id),
                      self.compute_driver.calls)

    def test_a_refused_detach_leaves_the_volume_attached(self):
        instance = self._instance()
        volume = self._volume()
        instances.attach_volume(self.ctxt, volume.ec2_id, instance.ec2_id,
                                '/dev/sdf')
        self._idle(instance.id)
        self.compute_driver.fail['detach_volume'] = RuntimeError('busy')
        instances.detach_volume(self.ctxt, volume.ec2_id)
        self._idle(instance.id)
        self.assertEqual('attached', self._device(instance, volume).status)
        self.assertEqual(1, len(self._exports(volume)))
        # Forced: it goes even though the host failed.
        self.compute_driver.fail['detach_volume'] = RuntimeError('busy')
        instances.detach_volume(self.ctxt, volume.ec2_id, force=True)
        self._idle(instance.id)
        self.assertIsNone(self._device(instance, volume))
        self.assertEqual([], self._exports(volume))

    def test_attach_to_a_stopped_instance_exports_at_start(self):
        instance = self._instance()
        instances.stop_instances(self.ctxt, [instance.ec2_id])
        self._idle(instance.id, 'stopped')
        volume = self._volume()
        instances.attach_volume(self.ctxt, volume.ec2_id, instance.ec2_id,
                                '/dev/sdf')
        self.assertIsNone(db.instance_get(self.admin, instance.id).task)
        self.assertEqual('attached', self._device(instance, volume).status)
        self.assertEqual([], self._exports(volume))
        instances.start_instances(self.ctxt, [instance.ec2_id])
        self._idle(instance.id, 'running')
        self.assertEqual(1, len(self._exports(volume)))
        instances.stop_instances(self.ctxt, [instance.ec2_id])
        self._idle(instance.id, 'stopped')
        instances.detach_volume(self.ctxt, volume.ec2_id)
        self.assertEqual('available', db.volume_get(self.admin,
                                                    volume.id).status)

    # Crash and resume -----------------------------------------------------

    def _crash_at(self, instance, step, data):
        """Leave the instance in ``step`` as a dead controller would."""
        db.instance_update(self.admin, instance.id, {
            'task': step, 'task_data': jsonutils.dumps(data)})
        tasks.reset_runner()
        self.runner = tasks.get_runner()

    def test_attach_resumes_after_a_crash(self):
        instance = self._instance()
        volume = self._volume()
        with mock.patch.object(self.runner, 'kick'):
            device, _, _ = instances.attach_volume(
                self.ctxt, volume.ec2_id, instance.ec2_id, '/dev/sdf')
        row = db.instance_get(self.admin, instance.id)
        data = jsonutils.loads(row.task_data)
        # The export was made and stored; the step was not recorded.
        attachments.attach_connect(self.admin, row, data)
        self._crash_at(row, 'attach_connect', data)
        self.runner.start()
        self._idle(instance.id)
        device = self._device(instance, volume)
        self.assertEqual('attached', device.status)
        # The repeated step exported once more for the same host: one
        # export, and the volume plugged once.
        self.assertEqual(1, len(self._exports(volume)))
        self.assertEqual(1, self.compute_driver.calls.count(
            ('attach_volume', instance.id, volume.id)))

    def test_detach_resumes_after_a_crash(self):
        instance = self._instance()
        volume = self._volume()
        instances.attach_volume(self.ctxt, volume.ec2_id, instance.ec2_id,
                                '/dev/sdf')
        self._idle(instance.id)
        with mock.patch.object(self.runner, 'kick'):
            instances.detach_volume(self.ctxt, volume.ec2_id)
        self.assertEqual('detaching', self._device(instance, volume).status)
        row = db.instance_get(self.admin, instance.id)
        data = jsonutils.loads(row.task_data)
        # Unplugged before the crash, the export still there.
        self.assertEqual(('detach_release', {}),
                         attachments.detach_unplug(self.admin, row, data))
        self._crash_at(row, 'detach_release', data)
        self.runner.start()
        self._idle(instance.id)
        self.assertIsNone(self._device(instance, volume))
        self.assertEqual([], self._exports(volume))
        self.assertEqual('available', db.volume_get(self.admin,
                                                    volume.id).status)

    def test_terminate_during_an_attach_releases_everything(self):
        instance = self._instance()
        volume = self._volume()
        with mock.patch.object(self.runner, 'kick'):
            instances.attach_volume(self.ctxt, volume.ec2_id,
                                    instance.ec2_id, '/dev/sdf')
        row = db.instance_get(self.admin, instance.id)
        attachments.attach_connect(self.admin, row,
                                   jsonutils.loads(row.task_data))
        instances.terminate_instances(self.ctxt, [instance.ec2_id])
        self._idle(instance.id, 'terminated')
        self.assertEqual([], self._exports(volume))
        self.assertEqual('available', db.volume_get(self.admin,
                                                    volume.id).status)
