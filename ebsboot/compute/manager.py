"""The compute manager: runs guests through the compute driver.

It is the RPC endpoint of the compute service; the controller decides what
should happen, this manager makes the hypervisor do it.
"""

from oslo_log import log as logging
import oslo_messaging as messaging
from stevedore import driver as stevedore_driver

from ebsboot.conf import CONF

LOG = logging.getLogger(__name__)


def load_driver(conf=CONF):
    return stevedore_driver.DriverManager(
        'ebsboot.compute.drivers', conf.compute.driver,
        invoke_on_load=True, invoke_args=(conf,)).driver


class ComputeManager:
    target = messaging.Target(version='1.0')

    def __init__(self, host=None, driver=None):
        self.host = host or CONF.host
        self.driver = driver or load_driver()

    def init_host(self):
        self.driver.init_host(self.host)

    def cleanup_host(self):
        pass

    def get_power_state(self, context, instance):
        return self.driver.get_power_state(instance)
