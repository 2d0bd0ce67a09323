"""DescribeRegions and DescribeAvailabilityZones."""

from ebsboot.api.ec2 import filters as ec2_filters
from ebsboot.conf import CONF
from ebsboot import exception


def describe_regions(context, params, request):
    params.check_unknown(('RegionName', 'Filter', 'AllRegions', 'DryRun'))
    region = CONF.api.region_name
    regions = [{'regionName': region,
                'regionEndpoint': request.host_url,
                'optInStatus': 'opt-in-not-required'}]
    for name in params.get_list('RegionName'):
        if name != region:
            raise exception.InvalidParameterValue(
                "Invalid region: %s" % name)
    regions = ec2_filters.apply(regions, params.get_filters(), {
        'region-name': lambda r: r['regionName'],
        'endpoint': lambda r: r['regionEndpoint'],
        'opt-in-status': lambda r: r['optInStatus'],
    })
    return {'regionInfo': regions}


def describe_availability_zones(context, params, request):
    params.check_unknown(('ZoneName', 'ZoneId', 'Filter',
                          'AllAvailabilityZones', 'DryRun'))
    zone = CONF.default_availability_zone
    region = CONF.api.region_name
    zones = [{'zoneName': zone,
              'zoneState': 'available',
              'regionName': region,
              'zoneId': '%s-%s' % (region.lower(), zone),
              'zoneType': 'availability-zone',
              'optInStatus': 'opt-in-not-required',
              'groupName': region,
              'networkBorderGroup': region,
              'messageSet': []}]
    for name in params.get_list('ZoneName'):
        if name != zone:
            raise exception.InvalidParameterValue(
                "The zone '%s' does not exist." % name)
    for zone_id in params.get_list('ZoneId'):
        if zone_id != zones[0]['zoneId']:
            raise exception.InvalidParameterValue(
                "The zone id '%s' does not exist." % zone_id)
    zones = ec2_filters.apply(zones, params.get_filters(), {
        'zone-name': lambda z: z['zoneName'],
        'zone-id': lambda z: z['zoneId'],
        'state': lambda z: z['zoneState'],
        'region-name': lambda z: z['regionName'],
        'zone-type': lambda z: z['zoneType'],
        'group-name': lambda z: z['groupName'],
        'opt-in-status': lambda z: z['optInStatus'],
    })
    return {'availabilityZoneInfo': zones}


ACTIONS = {
    'DescribeRegions': describe_regions,
    'DescribeAvailabilityZones': describe_availability_zones,
}
