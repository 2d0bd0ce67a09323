"""DescribeAccountAttributes.

ebsboot has no VPCs, Elastic IPs or security groups: the account is the
one of the EC2 platform without a default VPC, and the limits of what it
does not offer are 0. ``max-instances`` is ``[compute] max_count``, the
most instances one project may ask for at once.
"""

from ebsboot.conf import CONF
from ebsboot import exception


def _attributes():
    return {
        'supported-platforms': ['EC2'],
        'default-vpc': ['none'],
        'max-instances': [str(CONF.compute.max_count)],
        'max-elastic-ips': ['0'],
        'vpc-max-elastic-ips': ['0'],
        'vpc-max-security-groups-per-interface': ['0'],
    }


def describe_account_attributes(context, params, request):
    params.check_unknown(('AttributeName', 'DryRun'))
    attributes = _attributes()
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
