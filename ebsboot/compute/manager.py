"""The compute manager: runs guests through the compute driver.

It is the RPC endpoint of the compute service. The controller decides what
should happen and keeps the state; this manager makes the hypervisor do it.
Every method is idempotent, so the controller may repeat a step after a
crash.
"""

import base64

from oslo_log import log as logging
import oslo_messaging as messaging
from stevedore import driver as stevedore_driver

from ebsboot.cloud import rpcapi as cloud_rpcapi
from ebsboot.conf import CONF
from ebsboot import context as ebs_context

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
        self.driver.event_callback = self._guest_event
        self.driver.init_host(self.host)

    def _guest_event(self, instance_id, power_state):
        """A guest changed power state by itself: tell the controller."""
        LOG.info('Guest %s is now %s', instance_id, power_state)
        cloud_rpcapi.CloudAPI().guest_power_changed(
            ebs_context.get_admin_context(), instance_id)

    def cleanup_host(self):
        pass

    def spawn(self, context, instance, block_device_info):
        LOG.info('Spawning %s', instance['ec2_id'])
        self.driver.spawn(instance, block_device_info)

    def power_off(self, context, instance, timeout):
        LOG.info('Powering off %s (timeout %ss)', instance['ec2_id'],
                 timeout)
        self.driver.power_off(instance, timeout)

    def destroy(self, context, instance, block_device_info,
                delete_files=False):
        LOG.info('Destroying %s', instance['ec2_id'])
        self.driver.destroy(instance, block_device_info,
                            delete_files=delete_files)

    def pause(self, context, instance):
        self.driver.pause(instance)

    def unpause(self, context, instance):
        self.driver.unpause(instance)

    def attach_volume(self, context, instance, connection_info,
                      device_name):
        self.driver.attach_volume(instance, connection_info, device_name)

    def detach_volume(self, context, instance, connection_info,
                      device_name):
        self.driver.detach_volume(instance, connection_info, device_name)

    def get_power_state(self, context, instance):
        return self.driver.get_power_state(instance)

    def get_console_output(self, context, instance):
        """The console so far, base64-encoded (RPC carries text only)."""
        output = self.driver.get_console_output(instance)
        return base64.b64encode(output).decode('ascii')
