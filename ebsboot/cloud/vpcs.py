"""The default VPC of a project, its subnets and instances' addresses.

Every project gets, on first use (any VPC or subnet call, or its first
RunInstances), the default VPC AWS gives every account: 172.31.0.0/16
with one default /20 subnet per availability zone (172.31.0.0/20,
172.31.16.0/20, ...). Projects' VPCs overlap, as accounts' do in AWS;
each project's is a network of its own on the compute hosts.

Private addresses are allocated here, from the subnet, and persisted on
the instance: unique in the subnet (a unique key in the database), kept
across stop and start, released at termination. As in AWS the first
four addresses of a subnet (network, router, DNS, reserved) and the
last (broadcast) are never given to instances.
"""

import ipaddress
import secrets
import uuid

from oslo_log import log as logging

from ebsboot.cloud import ec2ids
from ebsboot.conf import CONF
from ebsboot.db import api as db
from ebsboot import exception

LOG = logging.getLogger(__name__)

DEFAULT_VPC_CIDR = '172.31.0.0/16'
DEFAULT_SUBNET_PREFIX = 20
#: Addresses AWS reserves at the start of every subnet.
RESERVED_AT_START = 4


def zones():
    """The availability zones of the region."""
    return [CONF.default_availability_zone]


def default_subnet_cidrs(vpc_cidr=DEFAULT_VPC_CIDR):
    """``{zone: cidr}`` of the default subnets, in AWS's order."""
    blocks = ipaddress.ip_network(vpc_cidr).subnets(
        new_prefix=DEFAULT_SUBNET_PREFIX)
    return {zone: str(next(blocks)) for zone in zones()}


def ensure_default_vpc(context):
    """The project's default VPC row, made with its subnets if missing."""
    found = db.vpc_list(context, is_default=True,
                        project_id=context.project_id)
    if found:
        return found[0]
    vpc = {'id': str(uuid.uuid4()), 'ec2_id': ec2ids.new_id('vpc'),
           'project_id': context.project_id,
           'cidr_block': DEFAULT_VPC_CIDR, 'is_default': True}
    subnets = [{'id': str(uuid.uuid4()), 'ec2_id': ec2ids.new_id('subnet'),
                'project_id': context.project_id, 'vpc_id': vpc['id'],
                'vpc_ec2_id': vpc['ec2_id'], 'availability_zone': zone,
                'cidr_block': cidr, 'default_for_az': True}
               for zone, cidr in default_subnet_cidrs().items()]
    try:
        db.default_vpc_create(context, vpc, subnets)
        LOG.info('Created the default VPC %s of project %s',
                 vpc['ec2_id'], context.project_id)
    except db.DuplicateError:
        pass  # A parallel request made it.
    return db.vpc_list(context, is_default=True,
                       project_id=context.project_id)[0]


def _check(kind, ec2_ids, error):
    for ec2_id in ec2_ids or ():
        if not ec2ids.is_valid(kind, ec2_id):
            raise error(id=ec2_id)


def list_vpcs(context, ec2_ids=None):
    ensure_default_vpc(context)
    _check('vpc', ec2_ids, exception.InvalidVpcIDMalformed)
    return _named(db.vpc_list(context, ec2_ids=_unique(ec2_ids)),
                  ec2_ids, exception.InvalidVpcIDNotFound)


def list_subnets(context, ec2_ids=None):
    ensure_default_vpc(context)
    _check('subnet', ec2_ids, exception.InvalidSubnetIDMalformed)
    return _named(db.subnet_list(context, ec2_ids=_unique(ec2_ids)),
                  ec2_ids, exception.InvalidSubnetIDNotFound)


def _unique(ec2_ids):
    """The ids to look up; None (all) if none are given."""
    return list(set(ec2_ids)) if ec2_ids else None


def _named(rows, ec2_ids, not_found):
    found = {row.ec2_id for row in rows}
    for ec2_id in ec2_ids or ():
        if ec2_id not in found:
            raise not_found(id=ec2_id)
    return rows


def launch_subnet(context, subnet_ec2_id=None, zone=None):
    """The subnet RunInstances places instances in.

    The named one (the project's, else InvalidSubnetID.NotFound), or the
    default subnet of the zone.
    """
    ensure_default_vpc(context)
    if subnet_ec2_id:
        [subnet] = list_subnets(context, [subnet_ec2_id])
        if zone and zone != subnet.availability_zone:
            raise exception.InvalidParameterValue(
                "The subnet '%s' is in availability zone %s, not %s."
                % (subnet_ec2_id, subnet.availability_zone, zone))
        return subnet
    zone = zone or CONF.default_availability_zone
    subnets = [s for s in db.subnet_list(context, default_for_az=True)
               if s.availability_zone == zone]
    if not subnets:
        raise exception.InvalidParameterValue(
            'There is no default subnet in availability zone %s.' % zone)
    return subnets[0]


def usable_addresses(cidr):
    """The addresses instances may have in a subnet, in order."""
    network = ipaddress.ip_network(cidr)
    first = network.network_address + RESERVED_AT_START
    last = network.broadcast_address - 1
    address = first
    while address <= last:
        yield address
        address += 1


def allocate_addresses(subnet, count, taken=None):
    """``count`` free addresses of the subnet (lowest first).

    ``taken``: the addresses in use (read from the database if None).
    The database's unique key catches a parallel allocation: the caller
    tries again.
    """
    if taken is None:
        taken = db.subnet_addresses(subnet.id)
    free = []
    for address in usable_addresses(subnet.cidr_block):
        if str(address) not in taken:
            free.append(str(address))
            if len(free) == count:
                return free
    raise exception.InsufficientFreeAddressesInSubnet(
        'There are not enough free addresses in subnet %s to satisfy the '
        'requested number of instances.' % subnet.ec2_id)


def new_mac_address():
    """A locally administered unicast MAC address (``02:...``)."""
    return '02:' + ':'.join('%02x' % b for b in secrets.token_bytes(5))


def gateway(cidr):
    """The subnet's router: its first address after the network's."""
    return str(ipaddress.ip_network(cidr).network_address + 1)


def dns_name(address, region):
    """``ip-172-31-0-4.<region>.compute.internal``."""
    if not address:
        return ''
    return 'ip-%s.%s.compute.internal' % (address.replace('.', '-'),
                                          region)
