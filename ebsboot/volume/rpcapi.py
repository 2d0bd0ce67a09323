"""Client side of the volume service RPC API.

API version history:

* 1.0 - create/delete volume and snapshot, initialize/terminate
  connection, get_stats
* 1.1 - create_volumes and initialize_connections (many volumes at once)
* 1.2 - create_snapshots (snapshots of one guest at one instant)
* 1.3 - extend_volume (ModifyVolume)
* 1.4 - initialize_connection(s) and terminate_connection take the
  instance the volume is exported for (``instance_id``, ``instance_ids``)
"""

import oslo_messaging as messaging

from ebsboot.conf import CONF
from ebsboot import rpc


class VolumeAPI:
    VERSION = '1.4'

    def __init__(self):
        target = messaging.Target(topic=CONF.volume.topic,
                                  version=self.VERSION)
        self.client = rpc.get_client(
            target, version_cap=CONF.upgrade_levels.volume or self.VERSION)

    def _prepare(self, host=None, timeout=None, version='1.0'):
        kwargs = {'version': version}
        if host:
            kwargs['server'] = host
        if timeout:
            kwargs['timeout'] = timeout
        return self.client.prepare(**kwargs)

    def create_volume(self, context, volume):
        self._prepare(volume.get('host')).cast(
            context, 'create_volume', volume_id=volume['id'])

    def create_volumes(self, context, host, volume_ids):
        if self.client.can_send_version('1.1'):
            self._prepare(host, version='1.1').cast(
                context, 'create_volumes', volume_ids=volume_ids)
        else:
            for volume_id in volume_ids:
                self.create_volume(context, {'id': volume_id, 'host': host})

    def delete_volume(self, context, volume):
        self._prepare(volume.get('host')).cast(
            context, 'delete_volume', volume_id=volume['id'])

    def create_snapshot(self, context, snapshot):
        self._prepare(snapshot.get('host')).cast(
            context, 'create_snapshot', snapshot_id=snapshot['id'])

    def can_create_snapshots(self):
        return self.client.can_send_version('1.2')

    def create_snapshots(self, context, host, snapshot_ids):
        """Snapshots of one host's volumes; one guest's at one instant."""
        if self.can_create_snapshots():
            self._prepare(host, version='1.2').cast(
                context, 'create_snapshots', snapshot_ids=snapshot_ids)
        else:
            for snapshot_id in snapshot_ids:
                self.create_snapshot(context, {'id': snapshot_id,
                                               'host': host})

    def delete_snapshot(self, context, snapshot):
        self._prepare(snapshot.get('host')).cast(
            context, 'delete_snapshot', snapshot_id=snapshot['id'])

    def can_extend_volume(self):
        """Whether every volume service can run ModifyVolume."""
        return self.client.can_send_version('1.3')

    def extend_volume(self, context, modification):
        """Run a ``modifying`` volume modification on its volume's host."""
        self._prepare(modification.get('host'), version='1.3').cast(
            context, 'extend_volume', modification_id=modification['id'])

    def _connection_version(self):
        """1.4 if every volume service takes the instance, else 1.0."""
        return '1.4' if self.client.can_send_version('1.4') else None

    def initialize_connection(self, context, volume, connector,
                              instance_id=None):
        """Export ``volume`` to the compute host ``connector`` describes."""
        kwargs = {}
        version = self._connection_version()
        if version:
            kwargs['instance_id'] = instance_id
        return self._prepare(volume['host'], version=version or '1.0').call(
            context, 'initialize_connection', volume_id=volume['id'],
            connector=connector, **kwargs)

    def initialize_connections(self, context, host, volume_ids, connector,
                               instance_ids=None):
        """``{volume_id: connection_info}`` of volumes of one host.

        ``instance_ids``: ``{volume_id: instance id}``.
        """
        instance_ids = instance_ids or {}
        version = self._connection_version()
        if version:
            return self._prepare(host, version=version).call(
                context, 'initialize_connections', volume_ids=volume_ids,
                connector=connector, instance_ids=instance_ids)
        if self.client.can_send_version('1.1'):
            return self._prepare(host, version='1.1').call(
                context, 'initialize_connections', volume_ids=volume_ids,
                connector=connector)
        return {volume_id: self.initialize_connection(
            context, {'id': volume_id, 'host': host}, connector)
            for volume_id in volume_ids}

    def terminate_connection(self, context, volume, connector,
                             instance_id=None):
        kwargs = {}
        version = self._connection_version()
        if version:
            kwargs['instance_id'] = instance_id
        return self._prepare(volume['host'], version=version or '1.0').call(
            context, 'terminate_connection', volume_id=volume['id'],
            connector=connector, **kwargs)

    def get_stats(self, context, host):
        return self._prepare(host).call(context, 'get_stats')
