"""DescribeInstanceTypes, from ``[compute] instance_types``.

Every type is EBS-only (no instance store), x86_64, HVM and boots by
legacy BIOS, as the compute service's guests do; vCPUs and memory are the
configured ones, one thread per core.
"""

from ebsboot.api.ec2 import filters as ec2_filters
from ebsboot.conf import compute as compute_conf
from ebsboot.conf import CONF
from ebsboot import exception

# The families AWS still lists as current generation.
_CURRENT_FAMILIES = ('t2', 't3', 'm5')
_FREE_TIER = ('t2.micro', 't3.micro')


def _type_info(name, vcpus, memory_mb):
    return {
        'instanceType': name,
        'currentGeneration': name.split('.')[0] in _CURRENT_FAMILIES,
        'freeTierEligible': name in _FREE_TIER,
        'supportedUsageClasses': ['on-demand'],
        'supportedRootDeviceTypes': ['ebs'],
        'supportedVirtualizationTypes': ['hvm'],
        'bareMetal': False,
        'processorInfo': {'supportedArchitectures': ['x86_64']},
        'vCpuInfo': {'defaultVCpus': vcpus, 'defaultCores': vcpus,
                     'defaultThreadsPerCore': 1},
        'memoryInfo': {'sizeInMiB': memory_mb},
        'instanceStorageSupported': False,
        'ebsInfo': {'ebsOptimizedSupport': 'unsupported',
                    'encryptionSupport': 'unsupported',
                    'nvmeSupport': 'unsupported'},
        'hibernationSupported': False,
        'burstablePerformanceSupported': False,
        'dedicatedHostsSupported': False,
        'autoRecoverySupported': False,
        'supportedBootModes': ['legacy-bios'],
    }


def _get(*path):
    def extract(item):
        for key in path:
            item = item[key]
        return item
    return extract


INSTANCE_TYPE_FILTERS = {
    'instance-type': _get('instanceType'),
    'current-generation': _get('currentGeneration'),
    'free-tier-eligible': _get('freeTierEligible'),
    'bare-metal': _get('bareMetal'),
    'burstable-performance-supported': _get(
        'burstablePerformanceSupported'),
    'hibernation-supported': _get('hibernationSupported'),
    'dedicated-hosts-supported': _get('dedicatedHostsSupported'),
    'auto-recovery-supported': _get('autoRecoverySupported'),
    'instance-storage-supported': _get('instanceStorageSupported'),
    'memory-info.size-in-mib': _get('memoryInfo', 'sizeInMiB'),
    'vcpu-info.default-vcpus': _get('vCpuInfo', 'defaultVCpus'),
    'vcpu-info.default-cores': _get('vCpuInfo', 'defaultCores'),
    'vcpu-info.default-threads-per-core': _get(
        'vCpuInfo', 'defaultThreadsPerCore'),
    'processor-info.supported-architecture': _get(
        'processorInfo', 'supportedArchitectures'),
    'supported-boot-mode': _get('supportedBootModes'),
    'supported-root-device-type': _get('supportedRootDeviceTypes'),
    'supported-usage-class': _get('supportedUsageClasses'),
    'supported-virtualization-type': _get('supportedVirtualizationTypes'),
    'ebs-info.ebs-optimized-support': _get('ebsInfo', 'ebsOptimizedSupport'),
    'ebs-info.encryption-support': _get('ebsInfo', 'encryptionSupport'),
    'ebs-info.nvme-support': _get('ebsInfo', 'nvmeSupport'),
}


def describe_instance_types(context, params, request):
    params.check_unknown(('InstanceType', 'Filter', 'MaxResults',
                          'NextToken', 'IncludeUnsupportedInRegion',
                          'DryRun'))
    params.get_bool('IncludeUnsupportedInRegion')
    wanted = params.get_list('InstanceType')
    if len(wanted) > 100:
        raise exception.InvalidParameterValue(
            'The parameter InstanceType has %d entries; at most 100 are '
            'accepted.' % len(wanted))
    # AWS pages these whether or not types are named.
    pager = ec2_filters.Pager(params, maximum=100)
    types = compute_conf.instance_types(CONF)
    unknown = [name for name in wanted if name not in types]
    if unknown:
        raise exception.InvalidInstanceType(
            'The following supplied instance types do not exist: [%s]'
            % ', '.join(unknown))
    names = sorted(types) if not wanted else sorted(set(wanted))
    items = [_type_info(name, *types[name]) for name in names]
    items = ec2_filters.apply(items, params.get_filters(),
                              INSTANCE_TYPE_FILTERS)
    page, token = pager.page(items)
    return {'instanceTypeSet': page, 'nextToken': token}


ACTIONS = {
    'DescribeInstanceTypes': describe_instance_types,
}
