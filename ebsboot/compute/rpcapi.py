"""Client side of the compute service RPC API.

API version history:

* 1.0 - spawn, power_off, destroy, pause, unpause, attach_volume,
  detach_volume, get_power_state, get_console_output
* 1.1 - get_power_states (many guests at once)
* 1.2 - snapshot_disks, commit_disks (live snapshots of attached volumes)
* 1.3 - reboot_instance
* 1.4 - extend_disks (online growth of attached volumes)
* 1.5 - get_connector (the host's os-brick connector properties); spawn
  and attach_volume answer os-brick's device info; attach_volume and
  detach_volume take the volume id, detach_volume the device info
"""

import oslo_messaging as messaging

from ebsboot.conf import CONF
from ebsboot import rpc

# Slack on top of the guest shutdown timeout for the RPC round trip.
_RPC_MARGIN = 60
# A bound for a host's own clean-shutdown timeout.
_LONGEST_SHUTDOWN = 600


class ComputeAPI:
    VERSION = '1.5'

    def __init__(self):
        target = messaging.Target(topic=CONF.compute.topic,
                                  version=self.VERSION)
        self.client = rpc.get_client(
            target, version_cap=CONF.upgrade_levels.compute or self.VERSION)

    def _prepare(self, host, timeout=None, version='1.0'):
        kwargs = {'server': host, 'version': version}
        if timeout:
            kwargs['timeout'] = timeout
        return self.client.prepare(**kwargs)

    def spawn(self, context, host, instance, block_device_info):
        """Boot the guest; ``{device name: os-brick device info}``.

        A 1.4 host answers None (it keeps the device info in memory).
        """
        return self._prepare(host, _RPC_MARGIN * 5).call(
            context, 'spawn', instance=instance,
            block_device_info=block_device_info)

    def can_get_connector(self):
        return self.client.can_send_version('1.5')

    def get_connector(self, context, host):
        """The os-brick connector properties of ``host``.

        What the volume service exports a volume for. A host older than
        1.5 cannot tell: it gets ``{'host': host}``, which is all that
        the local connections of those releases need.
        """
        if not self.can_get_connector():
            return {'host': host}
        return self._prepare(host, _RPC_MARGIN, version='1.5').call(
            context, 'get_connector')

    def power_off(self, context, host, instance, timeout):
        """``timeout`` None: the host's clean-shutdown timeout; 0: force."""
        self._prepare(host, (timeout or _LONGEST_SHUTDOWN) + _RPC_MARGIN).call(
            context, 'power_off', instance=instance, timeout=timeout)

    def can_reboot(self):
        """Whether the compute services reboot guests in place."""
        return self.client.can_send_version('1.3')

    def reboot_instance(self, context, host, instance, timeout=None):
        """ACPI reboot, then a reset after ``timeout`` (None: the host's)."""
        self._prepare(host, (timeout or _LONGEST_SHUTDOWN) + _RPC_MARGIN,
                      version='1.3').call(context, 'reboot_instance',
                                          instance=instance, timeout=timeout)

    def destroy(self, context, host, instance, block_device_info,
                delete_files=False):
        self._prepare(host, _RPC_MARGIN * 5).call(
            context, 'destroy', instance=instance,
            block_device_info=block_device_info, delete_files=delete_files)

    def pause(self, context, host, instance):
        self._prepare(host, _RPC_MARGIN).call(context, 'pause',
                                              instance=instance)

    def unpause(self, context, host, instance):
        self._prepare(host, _RPC_MARGIN).call(context, 'unpause',
                                              instance=instance)

    def attach_volume(self, context, host, instance, connection_info,
                      device_name, volume_id=None):
        """Hot-plug a volume; os-brick's device info (None before 1.5)."""
        if self.can_get_connector():
            return self._prepare(host, _RPC_MARGIN, version='1.5').call(
                context, 'attach_volume', instance=instance,
                connection_info=connection_info, device_name=device_name,
                volume_id=volume_id)
        self._prepare(host, _RPC_MARGIN).call(
            context, 'attach_volume', instance=instance,
            connection_info=connection_info, device_name=device_name)
        return None

    def detach_volume(self, context, host, instance, connection_info,
                      device_name, volume_id=None, device_info=None):
        if self.can_get_connector():
            self._prepare(host, _RPC_MARGIN, version='1.5').call(
                context, 'detach_volume', instance=instance,
                connection_info=connection_info, device_name=device_name,
                volume_id=volume_id, device_info=device_info)
            return
        self._prepare(host, _RPC_MARGIN).call(
            context, 'detach_volume', instance=instance,
            connection_info=connection_info, device_name=device_name)

    def get_power_state(self, context, host, instance):
        return self._prepare(host).call(context, 'get_power_state',
                                        instance=instance)

    def get_power_states(self, context, host, instances):
        """``{instance id: power state}`` of guests of one host.

        A guest whose state the host could not read is left out.
        """
        if self.client.can_send_version('1.1'):
            return self._prepare(host, version='1.1').call(
                context, 'get_power_states', instances=instances)
        return {instance['id']: self.get_power_state(context, host, instance)
                for instance in instances}

    def can_snapshot_disks(self):
        """Whether the compute services take part in live snapshots."""
        return self.client.can_send_version('1.2')

    def snapshot_disks(self, context, host, instance, disks):
        """Switch disks of a running guest to overlays at one instant.

        See ``ComputeDriver.snapshot_disks``; ``{path: state}``.
        """
        return self._prepare(host, _RPC_MARGIN, version='1.2').call(
            context, 'snapshot_disks', instance=instance, disks=disks)

    def commit_disks(self, context, host, instance, disks):
        """Merge the overlays back (``ComputeDriver.commit_disks``)."""
        return self._prepare(
            host, CONF.compute.block_commit_timeout + _RPC_MARGIN,
            version='1.2').call(context, 'commit_disks', instance=instance,
                                disks=disks)

    def can_extend_disks(self):
        """Whether the compute services grow disks of running guests."""
        return self.client.can_send_version('1.4')

    def extend_disks(self, context, host, instance, disks):
        """Grow disks of a running guest (``ComputeDriver.extend_disks``)."""
        return self._prepare(host, _RPC_MARGIN, version='1.4').call(
            context, 'extend_disks', instance=instance, disks=disks)

    def get_console_output(self, context, host, instance):
        return self._prepare(host).call(context, 'get_console_output',
                                        instance=instance)
