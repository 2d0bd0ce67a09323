"""The controller's RPC endpoint: what compute hosts tell the controller.

It runs wherever the API runs (the controller lives there).
"""

from oslo_log import log as logging
import oslo_messaging as messaging

from ebsboot.cloud import tasks
from ebsboot import context as ebs_context
from ebsboot.db import api as db

LOG = logging.getLogger(__name__)


class CloudManager:
    target = messaging.Target(version='1.0')

    def init_host(self):
        pass

    def cleanup_host(self):
        pass

    def guest_power_changed(self, context, instance_id):
        """A hypervisor event: check the instance's power state now."""
        instance = db.instance_get(ebs_context.get_admin_context(),
                                   instance_id)
        if instance is not None:
            tasks.get_runner().check_power(instance)
