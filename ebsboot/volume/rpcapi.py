"""Client side of the volume service RPC API.

API version history:

* 1.0 - create/delete volume and snapshot, initialize/terminate
  connection, get_stats
"""

import oslo_messaging as messaging

from ebsboot.conf import CONF
from ebsboot import rpc


class VolumeAPI:
    VERSION = '1.0'

    def __init__(self):
        target = messaging.Target(topic=CONF.volume.topic,
                                  version=self.VERSION)
        self.client = rpc.get_client(target, version_cap=self.VERSION)

    def _prepare(self, host=None, timeout=None):
        kwargs = {'version': '1.0'}
        if host:
            kwargs['server'] = host
        if timeout:
            kwargs['timeout'] = timeout
        return self.client.prepare(**kwargs)

    def create_volume(self, context, volume):
        self._prepare(volume.get('host')).cast(
            context, 'create_volume', volume_id=volume['id'])

    def delete_volume(self, context, volume):
        self._prepare(volume.get('host')).cast(
            context, 'delete_volume', volume_id=volume['id'])

    def create_snapshot(self, context, snapshot):
        self._prepare(snapshot.get('host')).cast(
            context, 'create_snapshot', snapshot_id=snapshot['id'])

    def delete_snapshot(self, context, snapshot):
        self._prepare(snapshot.get('host')).cast(
            context, 'delete_snapshot', snapshot_id=snapshot['id'])

    def initialize_connection(self, context, volume, connector):
        return self._prepare(volume['host']).call(
            context, 'initialize_connection', volume_id=volume['id'],
            connector=connector)

    def terminate_connection(self, context, volume, connector):
        return self._prepare(volume['host']).call(
            context, 'terminate_connection', volume_id=volume['id'],
            connector=connector)

    def get_stats(self, context, host):
        return self._prepare(host).call(context, 'get_stats')
