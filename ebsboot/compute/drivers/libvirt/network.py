"""The guest networks of a compute host: one per subnet, DHCP in a netns.

Each subnet with instances on this host gets, as Neutron's DHCP agent
makes them:

* a Linux bridge (``ebsb<id>``) without an address on the host, which the
  guests' virtio NICs join (libvirt ``<interface type='bridge'>``);
* a network namespace (``ebsboot-<id>``) holding one end of a veth pair
  whose other end is on the bridge, with the subnet's DHCP address (the
  third of the subnet, ``.2``: the first four are never instances');
* a dnsmasq in that namespace answering DHCP for the MAC addresses of the
  subnet's instances on this host only (``dhcp-range=<net>,static``),
  with the address ebsboot allocated to each; it is restarted with the
  new list when an instance joins or leaves.

The host itself has no address on these networks and no route into
them: projects' subnets, which may have the same addresses (every
default VPC is 172.31.0.0/16), cannot see each other or the host. An
isolated libvirt network was not used because libvirt refuses two
networks with the same addresses on one host.

Limits: no routing or NAT out of the subnet, no DNS, one host (a subnet's
instances on two hosts are on two separate bridges).
"""

import ipaddress
import os
import signal
import threading
import time

from oslo_concurrency import processutils
from oslo_log import log as logging

LOG = logging.getLogger(__name__)

_LOCK = threading.Lock()
#: The DHCP server's address in a subnet: the one AWS gives its DNS.
DHCP_SERVER_OFFSET = 2


def _id(subnet_id):
    return subnet_id.replace('-', '')[:11]


def names(subnet_id):
    """``(netns, bridge, host veth, netns veth)`` names of a subnet."""
    short = _id(subnet_id)
    return ('ebsboot-' + short, 'ebsb' + short, 'ebsh' + short,
            'ebsn' + short)


def _run(*args, check_exit_code=True):
    return processutils.execute(*args, check_exit_code=check_exit_code)


def _link_exists(name, netns=None):
    prefix = ('ip', 'netns', 'exec', netns) if netns else ()
    _out, err = _run(*(prefix + ('ip', 'link', 'show', name)),
                     check_exit_code=[0, 1])
    return not err


def _netns_exists(name):
    return os.path.exists(os.path.join('/run/netns', name))


class SubnetNetworks:
    """The subnets' bridges, namespaces and DHCP servers of this host."""

    def __init__(self, state_dir):
        self.state_dir = state_dir

    def _dir(self, subnet_id):
        return os.path.join(self.state_dir, subnet_id)

    def _hosts_file(self, subnet_id):
        return os.path.join(self._dir(subnet_id), 'hosts')

    def _pid_file(self, subnet_id):
        return os.path.join(self._dir(subnet_id), 'dnsmasq.pid')

    def _read_hosts(self, subnet_id):
        try:
            with open(self._hosts_file(subnet_id)) as f:
                return [line.strip() for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def _write_hosts(self, subnet_id, lines):
        path = self._hosts_file(subnet_id)
        with open(path + '.tmp', 'w') as f:
            f.write(''.join(line + '\n' for line in lines))
        os.rename(path + '.tmp', path)

    def _dnsmasq_pid(self, subnet_id):
        try:
            with open(self._pid_file(subnet_id)) as f:
                pid = int(f.read().strip())
            os.kill(pid, 0)
            return pid
        except (FileNotFoundError, ValueError, ProcessLookupError):
            return None

    def plug(self, network):
        """Set up the subnet of ``network`` with its DHCP host entry.

        ``network``: the instance's ``network`` (flows.network_info).
        Returns the bridge the guest's NIC joins.
        """
        subnet_id = network['subnet_id']
        entry = '%s,%s,%s' % (network['mac_address'], network['ip_address'],
                              network.get('hostname') or 'ip-' +
                              network['ip_address'].replace('.', '-'))
        with _LOCK:
            os.makedirs(self._dir(subnet_id), exist_ok=True)
            lines = [line for line in self._read_hosts(subnet_id)
                     if not line.startswith(network['mac_address'] + ',')
                     and line.split(',')[1] != network['ip_address']]
            self._write_hosts(subnet_id, lines + [entry])
            self._ensure(subnet_id, network['cidr'])
        return names(subnet_id)[1]

    def unplug(self, network):
        """Remove the instance's host entry; the last one removes all."""
        subnet_id = network['subnet_id']
        with _LOCK:
            lines = [line for line in self._read_hosts(subnet_id)
                     if not line.startswith(network['mac_address'] + ',')]
            if lines:
                self._write_hosts(subnet_id, lines)
                self._start_dnsmasq(subnet_id, network['cidr'])
            else:
                self._teardown(subnet_id)

    def _stop_dnsmasq(self, subnet_id):
        pid = self._dnsmasq_pid(subnet_id)
        if pid:
            os.kill(pid, signal.SIGTERM)
            for _attempt in range(50):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)

    def _ensure(self, subnet_id, cidr):
        netns, bridge, host_end, ns_end = names(subnet_id)
        network = ipaddress.ip_network(cidr)
        server = network.network_address + DHCP_SERVER_OFFSET
        if not _link_exists(bridge):
            _run('ip', 'link', 'add', bridge, 'type', 'bridge')
            _run('ip', 'link', 'set', bridge, 'up')
        if not _netns_exists(netns):
            _run('ip', 'netns', 'add', netns)
            _run('ip', 'netns', 'exec', netns, 'ip', 'link', 'set', 'lo',
                 'up')
        if not _link_exists(host_end):
            if _link_exists(ns_end):
                _run('ip', 'link', 'del', ns_end)
            _run('ip', 'link', 'add', host_end, 'type', 'veth', 'peer',
                 'name', ns_end)
            _run('ip', 'link', 'set', host_end, 'master', bridge)
            _run('ip', 'link', 'set', host_end, 'up')
            _run('ip', 'link', 'set', ns_end, 'netns', netns)
            _run('ip', 'netns', 'exec', netns, 'ip', 'addr', 'add',
                 '%s/%d' % (server, network.prefixlen), 'dev', ns_end)
            _run('ip', 'netns', 'exec', netns, 'ip', 'link', 'set', ns_end,
                 'up')
        self._start_dnsmasq(subnet_id, cidr)

    def _start_dnsmasq(self, subnet_id, cidr):
        """(Re)start the subnet's dnsmasq with its hosts.

        The hosts go on the command line, not in a file dnsmasq reads
        again: it reads files as ``nobody``, who cannot enter ebsboot's
        private state directory.
        """
        netns, bridge, _host_end, ns_end = names(subnet_id)
        network = ipaddress.ip_network(cidr)
        self._stop_dnsmasq(subnet_id)
        hosts = ['--dhcp-host=' + line
                 for line in self._read_hosts(subnet_id)]
        _run('ip', 'netns', 'exec', netns, 'dnsmasq',
             '--conf-file=/dev/null', '--no-hosts', '--no-resolv',
             '--port=0', '--bind-interfaces', '--interface=' + ns_end,
             '--except-interface=lo',
             '--dhcp-range=%s,static,%s,12h' % (network.network_address,
                                                network.netmask),
             # Static hosts only: no lease database to keep.
             '--leasefile-ro',
             '--pid-file=' + self._pid_file(subnet_id),
             # No router: nothing routes out of the subnet.
             '--dhcp-option=option:router',
             # To syslog: dnsmasq makes a log file of its own 0660.
             '--dhcp-authoritative', '--log-dhcp',
             *hosts)
        # dnsmasq writes its pid file 0644 once, at start; state_path
        # keeps nothing readable by other users.
        os.chmod(self._pid_file(subnet_id), 0o600)
        LOG.info('DHCP for subnet %s on bridge %s (netns %s)', subnet_id,
                 bridge, netns)

    def _teardown(self, subnet_id):
        netns, bridge, host_end, _ns_end = names(subnet_id)
        self._stop_dnsmasq(subnet_id)
        if _netns_exists(netns):
            _run('ip', 'netns', 'del', netns)
        for link in (host_end, bridge):
            if _link_exists(link):
                _run('ip', 'link', 'del', link)
        try:
            os.unlink(self._hosts_file(subnet_id))
        except FileNotFoundError:
            pass
        LOG.info('Removed the network of subnet %s', subnet_id)

    def teardown_all(self):
        """Remove every subnet network this host set up (tests, cleanup)."""
        if not os.path.isdir(self.state_dir):
            return
        with _LOCK:
            for subnet_id in os.listdir(self.state_dir):
                self._teardown(subnet_id)
