"""Client side of the controller's RPC API (used by compute hosts).

API version history:

* 1.0 - guest_power_changed
"""

import oslo_messaging as messaging

from ebsboot.conf import CONF
from ebsboot import rpc


class CloudAPI:
    VERSION = '1.0'

    def __init__(self):
        target = messaging.Target(topic=CONF.cloud_topic,
                                  version=self.VERSION)
        self.client = rpc.get_client(
            target, version_cap=CONF.upgrade_levels.cloud or self.VERSION)

    def guest_power_changed(self, context, instance_id):
        self.client.cast(context, 'guest_power_changed',
                         instance_id=instance_id)
