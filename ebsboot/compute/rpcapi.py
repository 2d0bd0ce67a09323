"""Client side of the compute service RPC API.

API version history:

* 1.0 - get_power_state
"""

import oslo_messaging as messaging

from ebsboot.conf import CONF
from ebsboot import rpc


class ComputeAPI:
    VERSION = '1.0'

    def __init__(self):
        target = messaging.Target(topic=CONF.compute.topic,
                                  version=self.VERSION)
        self.client = rpc.get_client(target, version_cap=self.VERSION)

    def get_power_state(self, context, host, instance):
        return self.client.prepare(server=host, version='1.0').call(
            context, 'get_power_state', instance=instance)
