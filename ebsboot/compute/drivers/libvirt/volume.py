"""Turn Cinder-shaped connection info into libvirt disks, with os-brick.

As Nova's libvirt volume drivers do, each ``driver_volume_type`` has a
small class: host-attached types (``local``, ``iscsi``, ``nfs``) connect
the volume with the os-brick connector of that protocol and hand libvirt
the resulting path; ``rbd`` is never attached to the host, QEMU opens it as
a network disk.
"""

import os
import stat

from os_brick import initiator
from os_brick.initiator import connector as brick_connector

from ebsboot import exception


class Disk:
    """What the domain XML needs to know about one disk."""

    def __init__(self, source_type, source, driver_format='raw',
                 protocol=None, hosts=(), auth=None):
        self.source_type = source_type      # file | block | network
        self.source = source                # path, or network name
        self.driver_format = driver_format  # qcow2 | raw
        self.protocol = protocol            # rbd for network disks
        self.hosts = list(hosts)            # [(name, port)]
        self.auth = auth                    # {'username', 'secret_uuid'}


class HostAttachedVolume:
    """A volume os-brick makes appear on this host as a file or device."""

    protocol = None

    def __init__(self):
        self.connector = brick_connector.InitiatorConnector.factory(
            self.protocol, root_helper=None)

    def connect(self, connection_info):
        data = connection_info['data']
        device_info = self.connector.connect_volume(data)
        path = device_info['path']
        if not isinstance(path, str):
            raise exception.VolumeDriverError(
                'os-brick gave no host path for a %s volume'
                % connection_info['driver_volume_type'])
        is_block = stat.S_ISBLK(os.stat(path).st_mode)
        return Disk('block' if is_block else 'file', path,
                    data.get('format') or 'raw'), device_info

    def disconnect(self, connection_info, device_info):
        self.connector.disconnect_volume(connection_info['data'],
                                         device_info, force=True,
                                         ignore_errors=True)


class LocalVolume(HostAttachedVolume):
    """``local``: a path on this host (the qcow2 driver's files)."""
    protocol = initiator.LOCAL


class IscsiVolume(HostAttachedVolume):
    protocol = initiator.ISCSI


class NfsVolume(HostAttachedVolume):
    protocol = initiator.NFS


class RbdVolume:
    """``rbd``: QEMU's librbd talks to Ceph; nothing on the host."""

    def connect(self, connection_info):
        data = connection_info['data']
        auth = None
        if data.get('auth_enabled'):
            auth = {'username': data['auth_username'],
                    'secret_uuid': data['secret_uuid']}
        return Disk('network', data['name'], 'raw', protocol='rbd',
                    hosts=zip(data.get('hosts', []), data.get('ports', [])),
                    auth=auth), None

    def disconnect(self, connection_info, device_info):
        pass


VOLUME_DRIVERS = {
    'local': LocalVolume,
    'iscsi': IscsiVolume,
    'nfs': NfsVolume,
    'rbd': RbdVolume,
}


def get_volume_driver(connection_info):
    kind = connection_info.get('driver_volume_type')
    if kind not in VOLUME_DRIVERS:
        raise exception.VolumeDriverError(
            'volume type %r is not supported by the libvirt driver' % kind)
    return VOLUME_DRIVERS[kind]()
