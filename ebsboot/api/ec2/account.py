"""DescribeAccountAttributes.

The account is one of the VPC platform, with its default VPC (made on
first use, as DescribeVpcs would); ebsboot has no Elastic IPs or security
groups, so their limits are 0. ``max-instances`` is ``[compute]
max_count``, the most instances one project may ask for at once.
"""

from ebsboot.cloud import vpcs as cloud_vpcs
from ebsboot.conf import CONF
from ebsboot import exception


def _attributes(context):
    return {
        'supported-platforms': ['VPC'],
        'default-vpc': [cloud_vpcs.ensure_default_vpc(context).ec2_id],
        'max-instances': [str(CONF.compute.max_count)],
        'max-elastic-ips': ['0'],
        'vpc-max-elastic-ips': ['0'],
        'vpc-max-security-groups-per-interface': ['0'],
    }


def describe_account_attributes(context, params, request):
    params.check_unknown(('AttributeName', 'DryRun'))
    attributes = _attributes(context)
    names = params.get_list('AttributeName') or list(attributes)
    for name in names:
        if name not in attributes:
            raise exception.InvalidParameterValue(
                "Value (%s) for parameter attributeName is invalid. "
                "Expected one of: %s." % (name, ', '.join(attributes)))
    return {'accountAttributeSet': [
        {'attributeName': name,
         'attributeValueSet': [{'attributeValue': value}
                               for value in attributes[name]]}
        for name in dict.fromkeys(names)]}


ACTIONS = {
    'DescribeAccountAttributes': describe_account_attributes,
}
