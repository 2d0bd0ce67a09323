"""Start-up and shut-down shared by the console scripts."""

import atexit
import gc
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
from ebsboot import fileperms
from ebsboot import rpc
from ebsboot import service as service_module
from ebsboot import version

LOG = logging.getLogger(__name__)


def setup(argv):
    """Parse config and command line, set up logging and the state path."""
    conf.parse_args(argv)
    # Before the log file is opened.
    fileperms.restrict_umask()
    logging.setup(CONF, 'ebsboot')
    fileperms.protect_state(CONF)
    LOG.info('ebsboot %s starting', version.version_string())


def init_api(argv):
    """Set up a WSGI container's process: the controller and the API app.

    The controller (the cloud RPC service and the flow runner) runs where
    the API runs, as in ``ebsboot-api``: a RunInstances hands its flow to
    this process' runner. It stops when the process exits.
    """
    setup(argv)
    rpc.init(CONF)
    controller = Controller()
    controller.start()
    atexit.register(controller.stop)
    _settle_heap()
    return ec2_app.EC2Application()


class Controller:
    """The cloud controller: the ``cloud`` RPC topic and the flow runner.

    Started, it resumes the flows that a previous controller left.
    """

    def __init__(self):
        self._service = service_module.Service(CONF.cloud_topic,
                                               cloud_manager.CloudManager())
        self._started = False

    def start(self):
        self._service.start()
        self._started = True
        tasks.get_runner().start()

    def stop(self):
        if self._started:
            tasks.reset_runner()
            self._service.stop()
            self._started = False


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
    controller = Controller() if with_api else None
    try:
        for service in services:
            service.start()
            started.append(service)
        if with_api:
            # The controller runs where the API runs.
            controller.start()
            api = api_server.APIServer(ec2_app.EC2Application(),
                                       CONF.api.host, CONF.api.port)
            api.start()
            LOG.info('EC2 API listening on %s://%s:%d/', api.scheme,
                     CONF.api.host, api.port)
        _settle_heap()
        wait_for_signal()
    finally:
        if api is not None:
            api.stop()
        if controller is not None:
            controller.stop()
        for service in reversed(started):
            service.stop()
        rpc.cleanup()
        LOG.info('Stopped')
