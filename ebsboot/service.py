"""A service hosts one manager behind an RPC server on its topic."""

from oslo_log import log as logging
import oslo_messaging as messaging

from ebsboot.conf import CONF
from ebsboot import rpc

LOG = logging.getLogger(__name__)


class Service:
    """Listens on ``topic`` (any server) and ``topic.host`` (this one)."""

    def __init__(self, topic, manager, host=None):
        self.topic = topic
        self.manager = manager
        self.host = host or CONF.host
        self._server = None

    def start(self):
        self.manager.init_host()
        target = messaging.Target(topic=self.topic, server=self.host)
        self._server = rpc.get_server(target, [self.manager])
        self._server.start()
        LOG.info('Service %s started on host %s', self.topic, self.host)

    def stop(self):
        if self._server is not None:
            self._server.stop()
            self._server.wait()
            self._server = None
        self.manager.cleanup_host()
        LOG.info('Service %s stopped', self.topic)
