"""The volume RPC client: calls after 1.0 and their fallbacks."""

from unittest import mock

import fixtures

from ebsboot.tests.unit import base
from ebsboot.volume import rpcapi as volume_rpcapi

CONNECTOR = {'host': 'ebsboot'}


class VolumeAPITest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.client = mock.Mock()
        self.client.can_send_version.return_value = True
        self.useFixture(fixtures.MockPatch('ebsboot.rpc.get_client',
                                           return_value=self.client))
        self.api = volume_rpcapi.VolumeAPI()
        self.ctxt = self.context()

    def _old_server(self):
        self.client.can_send_version.return_value = False

    def _server_at(self, newest):
        self.client.can_send_version.side_effect = (
            lambda version: tuple(map(int, version.split('.'))) <=
            tuple(map(int, newest.split('.'))))

    def _prepared(self):
        """(prepare keyword arguments, method, call keyword arguments)."""
        prepared = self.client.prepare.return_value
        sent = [c for c in prepared.mock_calls if c[0] in ('call', 'cast')]
        self.assertEqual(len(sent), len(self.client.prepare.call_args_list))
        return [(p[1], s[0], s[1][1], s[2])
                for p, s in zip(self.client.prepare.call_args_list, sent)]

    def test_version_cap(self):
        get_client = self.useFixture(fixtures.MockPatch(
            'ebsboot.rpc.get_client', return_value=self.client)).mock
        volume_rpcapi.VolumeAPI()
        self.assertEqual('1.4', get_client.call_args.kwargs['version_cap'])
        self.config.config(volume='1.0', group='upgrade_levels')
        volume_rpcapi.VolumeAPI()
        self.assertEqual('1.0', get_client.call_args.kwargs['version_cap'])

    def test_create_volumes(self):
        self.api.create_volumes(self.ctxt, 'h1', ['a', 'b'])
        self.client.can_send_version.assert_called_once_with('1.1')
        self.assertEqual(
            [({'version': '1.1', 'server': 'h1'}, 'cast', 'create_volumes',
              {'volume_ids': ['a', 'b']})], self._prepared())

    def test_create_volumes_of_no_host_go_to_any(self):
        self.api.create_volumes(self.ctxt, None, ['a'])
        self.assertEqual(
            [({'version': '1.1'}, 'cast', 'create_volumes',
              {'volume_ids': ['a']})], self._prepared())

    def test_create_volumes_falls_back_to_1_0(self):
        self._old_server()
        self.api.create_volumes(self.ctxt, 'h1', ['a', 'b'])
        self.client.can_send_version.assert_called_once_with('1.1')
        self.assertEqual(
            [({'version': '1.0', 'server': 'h1'}, 'cast', 'create_volume',
              {'volume_id': 'a'}),
             ({'version': '1.0', 'server': 'h1'}, 'cast', 'create_volume',
              {'volume_id': 'b'})], self._prepared())

    def test_create_volumes_falls_back_to_any_host(self):
        self._old_server()
        self.api.create_volumes(self.ctxt, None, ['a'])
        self.assertEqual(
            [({'version': '1.0'}, 'cast', 'create_volume',
              {'volume_id': 'a'})], self._prepared())

    def test_initialize_connections(self):
        infos = {'a': {'data': 1}, 'b': {'data': 2}}
        self.client.prepare.return_value.call.return_value = infos
        self.assertEqual(infos, self.api.initialize_connections(
            self.ctxt, 'h1', ['a', 'b'], CONNECTOR,
            instance_ids={'a': 'i1', 'b': 'i2'}))
        self.client.can_send_version.assert_called_once_with('1.4')
        self.assertEqual(
            [({'version': '1.4', 'server': 'h1'}, 'call',
              'initialize_connections',
              {'volume_ids': ['a', 'b'], 'connector': CONNECTOR,
               'instance_ids': {'a': 'i1', 'b': 'i2'}})],
            self._prepared())

    def test_initialize_connections_of_a_1_3_server(self):
        self._server_at('1.3')
        self.client.prepare.return_value.call.return_value = {}
        self.api.initialize_connections(self.ctxt, 'h1', ['a', 'b'],
                                        CONNECTOR, instance_ids={'a': 'i1'})
        self.assertEqual(
            [({'version': '1.1', 'server': 'h1'}, 'call',
              'initialize_connections',
              {'volume_ids': ['a', 'b'], 'connector': CONNECTOR})],
            self._prepared())

    def test_one_connection_with_its_instance(self):
        self.api.initialize_connection(self.ctxt, {'id': 'a', 'host': 'h1'},
                                       CONNECTOR, instance_id='i1')
        self.api.terminate_connection(self.ctxt, {'id': 'a', 'host': 'h1'},
                                      CONNECTOR, instance_id='i1')
        self.assertEqual(
            [({'version': '1.4', 'server': 'h1'}, 'call', method,
              {'volume_id': 'a', 'connector': CONNECTOR,
               'instance_id': 'i1'})
             for method in ('initialize_connection',
                            'terminate_connection')], self._prepared())

    def test_one_connection_of_a_1_3_server(self):
        # The instance is not sent: a 1.3 server would refuse the call.
        self._server_at('1.3')
        self.api.initialize_connection(self.ctxt, {'id': 'a', 'host': 'h1'},
                                       CONNECTOR, instance_id='i1')
        self.api.terminate_connection(self.ctxt, {'id': 'a', 'host': 'h1'},
                                      CONNECTOR, instance_id='i1')
        self.assertEqual(
            [({'version': '1.0', 'server': 'h1'}, 'call', method,
              {'volume_id': 'a', 'connector': CONNECTOR})
             for method in ('initialize_connection',
                            'terminate_connection')], self._prepared())

    def test_initialize_connections_falls_back_to_1_0(self):
        self._old_server()
        self.client.prepare.return_value.call.side_effect = [
            {'data': 1}, {'data': 2}]
        self.assertEqual({'a': {'data': 1}, 'b': {'data': 2}},
                         self.api.initialize_connections(
                             self.ctxt, 'h1', ['a', 'b'], CONNECTOR))
        self.assertEqual(
            [({'version': '1.0', 'server': 'h1'}, 'call',
              'initialize_connection',
              {'volume_id': volume_id, 'connector': CONNECTOR})
             for volume_id in ('a', 'b')], self._prepared())

    def test_initialize_connections_fallback_error(self):
        self._old_server()
        self.client.prepare.return_value.call.side_effect = [
            {'data': 1}, RuntimeError('refused')]
        self.assertRaises(RuntimeError, self.api.initialize_connections,
                          self.ctxt, 'h1', ['a', 'b'], CONNECTOR)

    def test_1_0_methods_stay_at_1_0(self):
        self.api.create_volume(self.ctxt, {'id': 'a', 'host': 'h1'})
        self.api.delete_volume(self.ctxt, {'id': 'a', 'host': 'h1'})
        self.assertEqual(
            [{'version': '1.0', 'server': 'h1'}] * 2,
            [c[1] for c in self.client.prepare.call_args_list])

    def test_create_snapshots(self):
        self.api.create_snapshots(self.ctxt, 'h1', ['a', 'b'])
        self.client.can_send_version.assert_called_once_with('1.2')
        self.assertEqual(
            [({'version': '1.2', 'server': 'h1'}, 'cast', 'create_snapshots',
              {'snapshot_ids': ['a', 'b']})], self._prepared())

    def test_create_snapshots_one_by_one_for_an_old_server(self):
        self._old_server()
        self.api.create_snapshots(self.ctxt, 'h1', ['a', 'b'])
        self.assertEqual(
            [({'version': '1.0', 'server': 'h1'}, 'cast', 'create_snapshot',
              {'snapshot_id': 'a'}),
             ({'version': '1.0', 'server': 'h1'}, 'cast', 'create_snapshot',
              {'snapshot_id': 'b'})], self._prepared())

    def test_extend_volume(self):
        self.assertTrue(self.api.can_extend_volume())
        self.client.can_send_version.assert_called_once_with('1.3')
        self.api.extend_volume(self.ctxt, {'id': 'm1', 'host': 'h1'})
        self.assertEqual(
            [({'version': '1.3', 'server': 'h1'}, 'cast', 'extend_volume',
              {'modification_id': 'm1'})], self._prepared())

    def test_extend_volume_needs_1_3(self):
        self._old_server()
        self.assertFalse(self.api.can_extend_volume())
