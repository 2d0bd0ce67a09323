"""oslo.messaging plumbing: transport, servers, clients, context passing.

With the in-process ``fake://`` transport, oslo.messaging's listener polls
every 50 ms, so each call would cost ~50 ms. When the server of a topic runs
in this very process (the all-in-one), clients therefore dispatch to its
endpoint directly, keeping the wire contract (context and arguments go
through the same serialization as on a real transport; casts run on a
worker thread). Services on other hosts always use the real transport.
"""

import threading

import futurist
from oslo_log import log as logging
import oslo_messaging as messaging
from oslo_serialization import jsonutils

from ebsboot.conf import CONF
from ebsboot import context as ebs_context

LOG = logging.getLogger(__name__)

TRANSPORT = None
_IN_PROCESS = False
_LOCAL_ENDPOINTS = {}
_LOCAL_LOCK = threading.Lock()
_CAST_EXECUTOR = None


class ContextSerializer(messaging.Serializer):
    """Send ebsboot RequestContexts as dicts; arguments as JSON."""

    def serialize_entity(self, ctxt, entity):
        return jsonutils.to_primitive(entity, convert_instances=True)

    def deserialize_entity(self, ctxt, entity):
        return entity

    def serialize_context(self, ctxt):
        return ctxt.to_dict()

    def deserialize_context(self, ctxt):
        return ebs_context.RequestContext.from_dict(ctxt)


def init(conf=CONF, url=None):
    """Create the process' RPC transport (``url`` overrides the config)."""
    global TRANSPORT, _IN_PROCESS
    if TRANSPORT is None:
        parsed = messaging.TransportURL.parse(conf, url)
        _IN_PROCESS = parsed.transport == 'fake'
        TRANSPORT = messaging.get_rpc_transport(conf, url=url)
    return TRANSPORT


def cleanup():
    global TRANSPORT, _CAST_EXECUTOR, _IN_PROCESS
    with _LOCAL_LOCK:
        _LOCAL_ENDPOINTS.clear()
    if _CAST_EXECUTOR is not None:
        _CAST_EXECUTOR.shutdown(wait=True)
        _CAST_EXECUTOR = None
    if TRANSPORT is not None:
        TRANSPORT.cleanup()
        TRANSPORT = None
        _IN_PROCESS = False


def is_in_process_transport():
    return TRANSPORT is not None and _IN_PROCESS


def version_is_compatible(offered, wanted):
    """True if an endpoint at version ``offered`` serves ``wanted``."""
    offered_major, offered_minor = (int(p) for p in offered.split('.')[:2])
    wanted_major, wanted_minor = (int(p) for p in wanted.split('.')[:2])
    return offered_major == wanted_major and offered_minor >= wanted_minor


def get_server(target, endpoints):
    """An RPC server on the process transport (native threads)."""
    if is_in_process_transport():
        with _LOCAL_LOCK:
            for endpoint in endpoints:
                # By topic (any server) and by topic and server: several
                # hosts of one topic in one process (tests) each get
                # their own calls.
                _LOCAL_ENDPOINTS[target.topic] = endpoint
                _LOCAL_ENDPOINTS[(target.topic, target.server)] = endpoint
    return messaging.get_rpc_server(
        TRANSPORT, target, endpoints,
        serializer=ContextSerializer(),
        access_policy=messaging.DefaultRPCAccessPolicy)


def get_client(target, version_cap=None):
    endpoint = _LOCAL_ENDPOINTS.get(target.topic)
    if endpoint is not None:
        return LocalClient(endpoint, target, version_cap)
    return messaging.get_rpc_client(TRANSPORT, target,
                                    version_cap=version_cap,
                                    serializer=ContextSerializer())


def _cast_executor():
    global _CAST_EXECUTOR
    with _LOCAL_LOCK:
        if _CAST_EXECUTOR is None:
            _CAST_EXECUTOR = futurist.ThreadPoolExecutor(
                max_workers=CONF.executor_thread_pool_size)
        return _CAST_EXECUTOR


class LocalClient:
    """An ``RPCClient`` look-alike that dispatches in this process.

    It offers what ebsboot's RPC APIs use: prepare, call, cast and
    can_send_version.
    """

    def __init__(self, endpoint, target, version_cap=None, timeout=None):
        self._endpoint = endpoint
        self.target = target
        self.version_cap = version_cap
        self.timeout = timeout
        self._serializer = ContextSerializer()

    def prepare(self, version=None, timeout=None, server=None, **kwargs):
        target = self.target
        endpoint = self._endpoint
        if server is not None:
            endpoint = _LOCAL_ENDPOINTS.get((target.topic, server),
                                            endpoint)
        if version is not None or server is not None:
            target = messaging.Target(topic=target.topic,
                                      server=server or target.server,
                                      version=version or target.version)
        return LocalClient(endpoint, target, self.version_cap, timeout)

    def can_send_version(self, version):
        return (self.version_cap is None or
                version_is_compatible(self.version_cap, version))

    def _dispatch(self, ctxt, method, kwargs):
        if method.startswith('_'):
            raise messaging.NoSuchMethod(method)
        wanted = self.target.version or '1.0'
        offered = self._endpoint.target.version
        if not version_is_compatible(offered, wanted):
            raise messaging.UnsupportedVersion(wanted, method=method)
        func = getattr(self._endpoint, method, None)
        if func is None:
            raise messaging.NoSuchMethod(method)
        wire_ctxt = self._serializer.deserialize_context(
            jsonutils.loads(jsonutils.dumps(
                self._serializer.serialize_context(ctxt))))
        wire_kwargs = jsonutils.loads(jsonutils.dumps(
            self._serializer.serialize_entity(ctxt, kwargs)))
        return func(wire_ctxt, **wire_kwargs)

    def call(self, ctxt, method, **kwargs):
        result = self._dispatch(ctxt, method, kwargs)
        return jsonutils.loads(jsonutils.dumps(
            jsonutils.to_primitive(result, convert_instances=True)))

    def cast(self, ctxt, method, **kwargs):
        def run():
            try:
                self._dispatch(ctxt, method, kwargs)
            except Exception:
                LOG.exception('Cast %s to %s failed', method,
                              self.target.topic)
        _cast_executor().submit(run)
