"""The compute RPC client: 1.5 (connectors, device info) and fallbacks."""

from unittest import mock

import fixtures

from ebsboot.compute import rpcapi as compute_rpcapi
from ebsboot.tests.unit import base

INFO = {'driver_volume_type': 'local', 'data': {'device_path': '/v'}}
INSTANCE = {'id': 'i-uuid', 'ec2_id': 'i-1'}


class ComputeAPITest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.client = mock.Mock()
        self.client.can_send_version.return_value = True
        self.get_client = self.useFixture(fixtures.MockPatch(
            'ebsboot.rpc.get_client', return_value=self.client)).mock
        self.api = compute_rpcapi.ComputeAPI()
        self.ctxt = self.context()
        self.prepared = self.client.prepare.return_value

    def _old_server(self):
        self.client.can_send_version.return_value = False

    def _sent(self):
        """(prepare keyword arguments without timeout, method, kwargs)."""
        calls = [c for c in self.prepared.mock_calls if c[0] == 'call']
        return [({k: v for k, v in p[1].items() if k != 'timeout'},
                 c[1][1], c[2])
                for p, c in zip(self.client.prepare.call_args_list, calls)]

    def test_version_cap(self):
        self.assertEqual('1.5',
                         self.get_client.call_args.kwargs['version_cap'])

    def test_get_connector(self):
        self.prepared.call.return_value = {'host': 'h1', 'ip': '192.0.2.1'}
        self.assertEqual({'host': 'h1', 'ip': '192.0.2.1'},
                         self.api.get_connector(self.ctxt, 'h1'))
        self.client.can_send_version.assert_called_once_with('1.5')
        self.assertEqual([({'server': 'h1', 'version': '1.5'},
                           'get_connector', {})], self._sent())

    def test_get_connector_of_an_old_host(self):
        self._old_server()
        self.assertEqual({'host': 'h1'},
                         self.api.get_connector(self.ctxt, 'h1'))
        self.assertEqual([], self._sent())

    def test_attach_and_detach_with_volume_and_device_info(self):
        self.prepared.call.return_value = {'type': 'local', 'path': '/v'}
        self.assertEqual({'type': 'local', 'path': '/v'},
                         self.api.attach_volume(self.ctxt, 'h1', INSTANCE,
                                                INFO, '/dev/sdf', 'vol'))
        self.api.detach_volume(self.ctxt, 'h1', INSTANCE, INFO, '/dev/sdf',
                               'vol', {'type': 'local', 'path': '/v'})
        self.assertEqual(
            [({'server': 'h1', 'version': '1.5'}, 'attach_volume',
              {'instance': INSTANCE, 'connection_info': INFO,
               'device_name': '/dev/sdf', 'volume_id': 'vol'}),
             ({'server': 'h1', 'version': '1.5'}, 'detach_volume',
              {'instance': INSTANCE, 'connection_info': INFO,
               'device_name': '/dev/sdf', 'volume_id': 'vol',
               'device_info': {'type': 'local', 'path': '/v'}})],
            self._sent())

    def test_attach_and_detach_on_an_old_host(self):
        self._old_server()
        self.assertIsNone(self.api.attach_volume(
            self.ctxt, 'h1', INSTANCE, INFO, '/dev/sdf', 'vol'))
        self.api.detach_volume(self.ctxt, 'h1', INSTANCE, INFO, '/dev/sdf',
                               'vol', {'path': '/v'})
        self.assertEqual(
            [({'server': 'h1', 'version': '1.0'}, method,
              {'instance': INSTANCE, 'connection_info': INFO,
               'device_name': '/dev/sdf'})
             for method in ('attach_volume', 'detach_volume')],
            self._sent())

    def test_spawn_answers_the_device_info(self):
        self.prepared.call.return_value = {'/dev/sda1': {'path': '/v'}}
        self.assertEqual({'/dev/sda1': {'path': '/v'}},
                         self.api.spawn(self.ctxt, 'h1', INSTANCE, []))
