"""Config drives: user data and metadata on a small ISO9660 disk.

The layout is Nova's (``openstack/latest/meta_data.json`` and
``openstack/latest/user_data``, volume label ``config-2``), so cloud-init
and similar tools in the guest find it.
"""

import base64
import ipaddress
import json
import os
import shutil
import tempfile

from oslo_concurrency import processutils


def wanted(instance):
    """Whether the instance has anything for a config drive."""
    return (instance.get('user_data') is not None or
            bool(instance.get('key_data')) or bool(instance.get('network')))


def network_data(network):
    """Nova's ``network_data.json`` of the instance's one interface.

    The address is static (what DHCP also hands out); there is no
    gateway or DNS server in the subnet, so no routes and no services.
    """
    subnet = ipaddress.ip_network(network['cidr'])
    link = 'eth0-' + network['mac_address'].replace(':', '')
    return {
        'links': [{'id': link, 'vif_id': link, 'type': 'bridge',
                   'mtu': 1500,
                   'ethernet_mac_address': network['mac_address']}],
        'networks': [{'id': 'network0', 'type': 'ipv4', 'link': link,
                      'ip_address': network['ip_address'],
                      'netmask': str(subnet.netmask),
                      'routes': [],
                      'network_id': network['subnet_id'],
                      'services': []}],
        'services': [],
    }


def build(path, instance, tool='genisoimage'):
    """Write the config drive of ``instance`` to ``path`` (atomically)."""
    meta = {
        'uuid': instance['id'],
        'name': instance['ec2_id'],
        'hostname': instance['ec2_id'],
        'availability_zone': instance.get('availability_zone'),
        'project_id': instance.get('project_id'),
        'meta': {'ec2_id': instance['ec2_id']},
        'launch_index': 0,
    }
    if instance.get('key_data'):
        # Nova's layout: the key by name, and in ``keys`` with its type.
        name = instance.get('key_name') or 'default'
        meta['public_keys'] = {name: instance['key_data']}
        meta['keys'] = [{'name': name, 'type': 'ssh',
                         'data': instance['key_data']}]
    staging = tempfile.mkdtemp(prefix='configdrive-')
    try:
        latest = os.path.join(staging, 'openstack', 'latest')
        os.makedirs(latest)
        with open(os.path.join(latest, 'meta_data.json'), 'w') as f:
            json.dump(meta, f)
        if instance.get('network'):
            with open(os.path.join(latest, 'network_data.json'), 'w') as f:
                json.dump(network_data(instance['network']), f)
        if instance.get('user_data'):
            with open(os.path.join(latest, 'user_data'), 'wb') as f:
                f.write(base64.b64decode(instance['user_data']))
        partial = path + '.tmp'
        processutils.execute(tool, '-o', partial, '-ldots',
                             '-allow-lowercase', '-allow-multidot', '-l',
                             '-V', 'config-2', '-r', '-J', '-quiet',
                             staging)
        os.rename(partial, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return path
