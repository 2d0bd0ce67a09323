"""Start-up and shut-down shared by the console scripts."""

import gc
import os
import signal
import threading

from oslo_log import log as logging

from ebsboot.api.ec2 import app as ec2_app
from ebsboot.api import server as api_server
from ebsboot.cloud import flows  # noqa: F401 (registers the flows)
from ebsboot.cloud import manager as cloud_manager
from ebsboot.cloud import tasks
from ebsboot import conf
from ebsboot.conf import CONF
from ebsboot import rpc
from ebsboot import service as service_module
from ebsboot import version

LOG = logging.getLogger(__name__)


def setup(argv):
    """Parse config and command line, set up logging and the state path."""
    conf.parse_args(argv)
    logging.setup(CONF, 'ebsboot')
    os.makedirs(CONF.state_path, exist_ok=True)
    LOG.info('ebsboot %s starting', version.version_string())


def init_api(argv):
    """Set up a process that only serves the API (WSGI containers)."""
    setup(argv)
    rpc.init(CONF)
    return ec2_app.EC2Application()


def wait_for_signal():
    """Block until SIGINT or SIGTERM arrives."""
    stop = threading.Event()

    def handler(signum, frame):
        LOG.info('Signal %d received, shutting down', signum)
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    while not stop.wait(1):
        pass


def _settle_heap():
    """Keep what start-up made out of the garbage collector's sweeps.

    Modules, options and drivers live as long as the process; without
    this every full collection walks them again, a pause of tens of
    milliseconds in whatever request is running.
    """
    gc.collect()
    gc.freeze()


def serve(services, with_api=False, transport_url=None):
    """Run ``services`` (and the EC2 API) until SIGINT/SIGTERM.

    Services start before the API so that no request finds them missing;
    shut-down goes the other way round.
    """
    rpc.init(CONF, url=transport_url)
    started = []
    api = None
    if with_api:
        services = list(services) + [
            service_module.Service(CONF.cloud_topic,
                                   cloud_manager.CloudManager())]
    try:
        for service in services:
            service.start()
            started.append(service)
        if with_api:
            # The controller runs where the API runs: resume its flows.
            runner = tasks.get_runner()
            runner.start()
            api = api_server.APIServer(ec2_app.EC2Application(),
                                       CONF.api.host, CONF.api.port)
            api.start()
            LOG.info('EC2 API listening on http://%s:%d/', CONF.api.host,
                     api.port)
        _settle_heap()
        wait_for_signal()
    finally:
        if api is not None:
            api.stop()
        if with_api:
            tasks.reset_runner()
        for service in reversed(started):
            service.stop()
        rpc.cleanup()
        LOG.info('Stopped')
