"""A service hosts one manager behind an RPC server on its topic."""

import threading

from oslo_log import log as logging
import oslo_messaging as messaging
from oslo_utils import timeutils

from ebsboot.conf import CONF
from ebsboot.db import api as db
from ebsboot import rpc

LOG = logging.getLogger(__name__)


class Service:
    """Listens on ``topic`` (any server) and ``topic.host`` (this one)."""

    def __init__(self, topic, manager, host=None):
        self.topic = topic
        self.manager = manager
        self.host = host or CONF.host
        self._server = None
        self._heartbeat = None
        self._stop = threading.Event()

    def start(self):
        self.manager.init_host()
        target = messaging.Target(topic=self.topic, server=self.host)
        self._server = rpc.get_server(target, [self.manager])
        self._server.start()
        self._beat()
        self._stop.clear()
        self._heartbeat = threading.Thread(target=self._heartbeat_loop,
                                           name='heartbeat-' + self.topic,
                                           daemon=True)
        self._heartbeat.start()
        LOG.info('Service %s started on host %s', self.topic, self.host)

    def _beat(self):
        db.service_heartbeat(self.host, self.topic, timeutils.utcnow())

    def _heartbeat_loop(self):
        while not self._stop.wait(CONF.report_interval):
            try:
                self._beat()
            except Exception:
                LOG.exception('Heartbeat of %s failed', self.topic)

    def stop(self):
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join()
            self._heartbeat = None
        if self._server is not None:
            self._server.stop()
            self._server.wait()
            self._server = None
        self.manager.cleanup_host()
        LOG.info('Service %s stopped', self.topic)
