"""CreateImage NoReboot: live snapshots when the volume host takes them."""

from unittest import mock

import fixtures

from ebsboot.cloud import flows
from ebsboot import context as ebs_context
from ebsboot.db import api as db
from ebsboot.tests.unit import base


class ImageNoRebootTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.admin = ebs_context.get_admin_context()
        devices = []
        for index, name in enumerate(('vol-a', 'vol-b')):
            db.volume_create(self.admin, {
                'id': name + '-uuid', 'ec2_id': name, 'project_id': 'alpha',
                'availability_zone': 'nova', 'size': 1, 'volume_type': 'gp2',
                'status': 'in-use', 'host': 'vhost'})
            devices.append({'device_name': '/dev/vd' + 'ab'[index],
                            'boot_index': index, 'volume_id': name + '-uuid',
                            'volume_ec2_id': name,
                            'delete_on_termination': True,
                            'status': 'attached'})
        self.instance = db.instance_create(self.admin, {
            'id': 'i-1-uuid', 'ec2_id': 'i-1', 'reservation_id': 'r-0',
            'project_id': 'alpha', 'image_id': 'img', 'image_ec2_id': 'ami-0',
            'instance_type': 't', 'vcpus': 1, 'memory_mb': 64,
            'availability_zone': 'nova', 'state': 'running', 'host': 'chost',
            'task': None, 'launch_index': 0, 'shutdown_behavior': 'stop',
            'root_device_name': '/dev/vda'}, devices)
        self.volume_api = mock.Mock()
        self.volume_api.can_create_snapshots.return_value = True
        self.volume_api.get_stats.return_value = {
            'live_snapshot_support': True}
        self.compute_api = mock.Mock()
        self.compute_api.can_snapshot_disks.return_value = True
        self.useFixture(fixtures.MockPatch(
            'ebsboot.volume.rpcapi.VolumeAPI', return_value=self.volume_api))
        self.useFixture(fixtures.MockPatch(
            'ebsboot.compute.rpcapi.ComputeAPI',
            return_value=self.compute_api))
        self.data = {'reboot': False, 'ami': 'ami-1',
                     'snapshots': {'/dev/vda': 'sa-uuid',
                                   '/dev/vdb': 'sb-uuid'}}

    def _run(self):
        self.assertEqual('image_snapshot', flows.image_stop(
            self.admin, self.instance, self.data)[0])
        self.assertEqual('image_wait', flows.image_snapshot(
            self.admin, self.instance, self.data)[0])

    def test_live_host_snapshots_all_volumes_in_one_request(self):
        self._run()
        self.compute_api.pause.assert_not_called()
        self.assertEqual('vhost', self.data['live_host'])
        self.volume_api.create_snapshot.assert_not_called()
        self.volume_api.create_snapshots.assert_called_once_with(
            self.admin, 'vhost', ['sa-uuid', 'sb-uuid'])
        self.assertEqual(['pending', 'pending'], [
            db.snapshot_get(self.admin, s).status
            for s in ('sa-uuid', 'sb-uuid')])
        # A repeated step makes nothing again and asks nothing again.
        flows.image_snapshot(self.admin, self.instance, self.data)
        self.assertEqual(1, self.volume_api.create_snapshots.call_count)

    def test_volume_host_without_live_snapshots_pauses(self):
        self.volume_api.get_stats.return_value = {}
        self._run()
        self.compute_api.pause.assert_called_once()
        self.assertTrue(self.data['paused'])
        self.assertEqual(2, self.volume_api.create_snapshot.call_count)
        self.volume_api.create_snapshots.assert_not_called()

    def test_volumes_on_two_hosts_pause(self):
        db.volume_update(self.admin, 'vol-b-uuid', {'host': 'other'})
        self._run()
        self.compute_api.pause.assert_called_once()
        self.volume_api.get_stats.assert_not_called()

    def test_old_volume_service_pauses(self):
        self.volume_api.can_create_snapshots.return_value = False
        self._run()
        self.compute_api.pause.assert_called_once()
