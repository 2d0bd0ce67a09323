"""RPC plumbing: the real fake:// transport and the in-process shortcut."""

import threading

import oslo_messaging as messaging

from ebsboot.cloud import rpcapi as cloud_rpcapi
from ebsboot.compute import rpcapi as compute_rpcapi
from ebsboot.conf import CONF
from ebsboot import context as ebs_context
from ebsboot import rpc
from ebsboot.tests.unit import base
from ebsboot.volume import rpcapi as volume_rpcapi


class Endpoint:
    target = messaging.Target(version='1.2')

    def __init__(self):
        self.cast_done = threading.Event()
        self.seen = []

    def echo(self, context, value):
        self.seen.append((type(context), context.project_id, value))
        return {'value': value, 'project': context.project_id}

    def notify(self, context, value):
        self.seen.append(('cast', value))
        self.cast_done.set()

    def _private(self, context):
        return 'secret'


class RpcTest(base.TestCase):

    def setUp(self):
        super().setUp()
        rpc.init(CONF, url='fake://')
        self.addCleanup(rpc.cleanup)
        self.endpoint = Endpoint()
        self.ctxt = ebs_context.RequestContext(project_id='alpha',
                                               access_key='AK')

    def _server(self, topic, host='test-host', endpoint=None):
        server = rpc.get_server(messaging.Target(topic=topic,
                                                 server=host),
                                [endpoint or self.endpoint])
        server.start()
        self.addCleanup(server.wait)
        self.addCleanup(server.stop)

    def test_in_process_shortcut(self):
        self.assertTrue(rpc.is_in_process_transport())
        self._server('t-local')
        client = rpc.get_client(messaging.Target(topic='t-local',
                                                 version='1.0'))
        self.assertIsInstance(client, rpc.LocalClient)
        result = client.prepare(version='1.1').call(
            self.ctxt, 'echo', value=(1, 2))
        # Arguments and results cross a JSON boundary as on the wire.
        self.assertEqual({'value': [1, 2], 'project': 'alpha'}, result)
        ctxt_type, project, value = self.endpoint.seen[0]
        self.assertIs(ebs_context.RequestContext, ctxt_type)
        self.assertEqual([1, 2], value)
        client.cast(self.ctxt, 'notify', value='x')
        self.assertTrue(self.endpoint.cast_done.wait(5))
        self.assertRaises(messaging.UnsupportedVersion,
                          client.prepare(version='1.3').call, self.ctxt,
                          'echo', value=1)
        self.assertRaises(messaging.UnsupportedVersion,
                          client.prepare(version='2.0').call, self.ctxt,
                          'echo', value=1)
        self.assertRaises(messaging.NoSuchMethod, client.call, self.ctxt,
                          '_private')
        self.assertRaises(messaging.NoSuchMethod, client.call, self.ctxt,
                          'missing')

    def test_in_process_calls_go_to_the_named_host(self):
        self._server('t-local')
        other = Endpoint()
        self._server('t-local', host='other-host', endpoint=other)
        client = rpc.get_client(messaging.Target(topic='t-local',
                                                 version='1.0'))
        client.prepare(server='test-host').call(self.ctxt, 'echo', value=1)
        client.prepare(server='other-host', version='1.1').call(
            self.ctxt, 'echo', value=2)
        self.assertEqual([1], [seen[2] for seen in self.endpoint.seen])
        self.assertEqual([2], [seen[2] for seen in other.seen])

    def test_real_transport_when_server_is_elsewhere(self):
        # A server registered on another transport instance would not be
        # in this process' table: emulate by not using get_server.
        transport = rpc.TRANSPORT
        server = messaging.get_rpc_server(
            transport, messaging.Target(topic='t-remote', server='h'),
            [self.endpoint], serializer=rpc.ContextSerializer(),
            access_policy=messaging.DefaultRPCAccessPolicy)
        server.start()
        self.addCleanup(server.wait)
        self.addCleanup(server.stop)
        client = rpc.get_client(messaging.Target(topic='t-remote',
                                                 version='1.0'))
        self.assertNotIsInstance(client, rpc.LocalClient)
        result = client.prepare(timeout=10).call(self.ctxt, 'echo',
                                                 value='y')
        self.assertEqual({'value': 'y', 'project': 'alpha'}, result)
        self.assertIs(ebs_context.RequestContext, self.endpoint.seen[0][0])

    def test_version_compatibility(self):
        self.assertTrue(rpc.version_is_compatible('1.2', '1.0'))
        self.assertTrue(rpc.version_is_compatible('1.2', '1.2'))
        self.assertFalse(rpc.version_is_compatible('1.2', '1.3'))
        self.assertFalse(rpc.version_is_compatible('2.0', '1.0'))


class UpgradeLevelsTest(base.TestCase):
    """[upgrade_levels] caps what the in-process clients may send."""

    def test_caps(self):
        rpc.init(CONF, url='fake://')
        self.addCleanup(rpc.cleanup)
        apis = (compute_rpcapi.ComputeAPI, volume_rpcapi.VolumeAPI,
                cloud_rpcapi.CloudAPI)
        for api in apis:
            self.assertTrue(api().client.can_send_version(api.VERSION))
        self.config.config(compute='1.0', volume='1.0', cloud='1.0',
                           group='upgrade_levels')
        for api in (compute_rpcapi.ComputeAPI, volume_rpcapi.VolumeAPI):
            self.assertFalse(api().client.can_send_version('1.1'))
            self.assertTrue(api().client.can_send_version('1.0'))

    def test_reboot_needs_compute_1_3(self):
        rpc.init(CONF, url='fake://')
        self.addCleanup(rpc.cleanup)
        self.assertTrue(compute_rpcapi.ComputeAPI().can_reboot())
        self.config.config(compute='1.2', group='upgrade_levels')
        self.assertFalse(compute_rpcapi.ComputeAPI().can_reboot())

    def test_bad_version(self):
        self.assertRaises(ValueError, self.config.config, compute='one',
                          group='upgrade_levels')
