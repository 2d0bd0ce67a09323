"""DescribeVpcs and DescribeSubnets: the project's default VPC.

CreateVpc, CreateSubnet and the rest of VPC are not implemented (see the
networking page of the docs).
"""

import ipaddress

from ebsboot.api.ec2 import filters as ec2_filters
from ebsboot.api.ec2 import tags as ec2_tags
from ebsboot.cloud import vpcs as cloud_vpcs
from ebsboot.conf import CONF
from ebsboot.db import api as db


def _association_id(vpc):
    # One CIDR block per VPC: an id derived from the VPC's, stable.
    return 'vpc-cidr-assoc-' + vpc.ec2_id.split('-', 1)[1]


VPC_FILTERS = {
    'vpc-id': lambda v: v.ec2_id,
    'cidr': lambda v: v.cidr_block,
    'cidr-block-association.cidr-block': lambda v: v.cidr_block,
    'cidr-block-association.state': lambda v: 'associated',
    'cidr-block-association.association-id': _association_id,
    'is-default': lambda v: v.is_default,
    'isDefault': lambda v: v.is_default,
    'owner-id': lambda v: v.project_id,
    'state': lambda v: 'available',
    'dhcp-options-id': lambda v: 'default',
}


def describe_vpcs(context, params, request):
    params.check_unknown(('VpcId', 'Filter', 'MaxResults', 'NextToken',
                          'DryRun'))
    ids = params.get_list('VpcId')
    pager = ec2_filters.Pager(params, ids_given=bool(ids), maximum=1000)
    rows = cloud_vpcs.list_vpcs(context, ids)
    tags = ec2_tags.TagIndex(context, 'vpc', rows)
    rows = ec2_filters.apply(rows, params.get_filters(), VPC_FILTERS,
                             tags=tags.of)
    page, token = pager.page(rows)
    return {'vpcSet': [{
        'ownerId': v.project_id,
        'instanceTenancy': 'default',
        'cidrBlockAssociationSet': [{
            'associationId': _association_id(v),
            'cidrBlock': v.cidr_block,
            'cidrBlockState': {'state': 'associated'}}],
        'isDefault': v.is_default,
        'tagSet': ec2_tags.tag_set(tags.of(v)),
        'vpcId': v.ec2_id,
        'state': 'available',
        'cidrBlock': v.cidr_block,
        'dhcpOptionsId': 'default'} for v in page],
        'nextToken': token}


def _zone_id(zone):
    return '%s-%s' % (CONF.api.region_name.lower(), zone)


def _arn(subnet):
    return 'arn:aws:ec2:%s:%s:subnet/%s' % (
        CONF.api.region_name, subnet.project_id, subnet.ec2_id)


class _FreeCounts:
    """Free addresses of subnets, counted on first use."""

    def __init__(self):
        self._counts = {}

    def __call__(self, subnet):
        if subnet.id not in self._counts:
            network = ipaddress.ip_network(subnet.cidr_block)
            usable = (network.num_addresses -
                      cloud_vpcs.RESERVED_AT_START - 1)
            self._counts[subnet.id] = usable - len(
                db.subnet_addresses(subnet.id))
        return self._counts[subnet.id]


def subnet_filters(free):
    return {
        'subnet-id': lambda s: s.ec2_id,
        'subnet-arn': _arn,
        'vpc-id': lambda s: s.vpc_ec2_id,
        'availability-zone': lambda s: s.availability_zone,
        'availabilityZone': lambda s: s.availability_zone,
        'availability-zone-id': lambda s: _zone_id(s.availability_zone),
        'available-ip-address-count': free,
        'cidr': lambda s: s.cidr_block,
        'cidr-block': lambda s: s.cidr_block,
        'cidrBlock': lambda s: s.cidr_block,
        'default-for-az': lambda s: s.default_for_az,
        'defaultForAz': lambda s: s.default_for_az,
        'map-public-ip-on-launch': lambda s: False,
        'owner-id': lambda s: s.project_id,
        'state': lambda s: 'available',
    }


def describe_subnets(context, params, request):
    params.check_unknown(('SubnetId', 'Filter', 'MaxResults', 'NextToken',
                          'DryRun'))
    ids = params.get_list('SubnetId')
    pager = ec2_filters.Pager(params, ids_given=bool(ids), maximum=1000)
    rows = cloud_vpcs.list_subnets(context, ids)
    tags = ec2_tags.TagIndex(context, 'subnet', rows)
    free = _FreeCounts()
    rows = ec2_filters.apply(rows, params.get_filters(),
                             subnet_filters(free), tags=tags.of)
    page, token = pager.page(rows)
    return {'subnetSet': [{
        'availabilityZoneId': _zone_id(s.availability_zone),
        'mapCustomerOwnedIpOnLaunch': False,
        'ownerId': s.project_id,
        'assignIpv6AddressOnCreation': False,
        'ipv6CidrBlockAssociationSet': [],
        'tagSet': ec2_tags.tag_set(tags.of(s)),
        'subnetArn': _arn(s),
        'enableDns64': False,
        'ipv6Native': False,
        'privateDnsNameOptionsOnLaunch': {
            'hostnameType': 'ip-name',
            'enableResourceNameDnsARecord': False,
            'enableResourceNameDnsAAAARecord': False},
        'subnetId': s.ec2_id,
        'state': 'available',
        'vpcId': s.vpc_ec2_id,
        'cidrBlock': s.cidr_block,
        'availableIpAddressCount': free(s),
        'availabilityZone': s.availability_zone,
        'defaultForAz': s.default_for_az,
        'mapPublicIpOnLaunch': False} for s in page],
        'nextToken': token}


ACTIONS = {
    'DescribeVpcs': describe_vpcs,
    'DescribeSubnets': describe_subnets,
}
