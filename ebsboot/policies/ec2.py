"""Rules of the EC2 actions: ``ec2:<Action>``."""

from oslo_policy import policy

from ebsboot.policies import base

READ_ACTIONS = (
    'DescribeRegions', 'DescribeAvailabilityZones', 'DescribeVolumes',
    'DescribeSnapshots', 'DescribeImages', 'DescribeImageAttribute',
    'DescribeInstances', 'DescribeInstanceStatus',
    'DescribeInstanceAttribute', 'GetConsoleOutput', 'DescribeTags',
    'DescribeInstanceTypes', 'DescribeAccountAttributes',
    'DescribeVolumeStatus', 'DescribeVolumeAttribute',
    'DescribeVolumesModifications',
    'DescribeSnapshotAttribute', 'DescribeKeyPairs', 'DescribeVpcs',
    'DescribeSubnets',
)
WRITE_ACTIONS = (
    'CreateVolume', 'DeleteVolume', 'CreateSnapshot', 'DeleteSnapshot',
    'RegisterImage', 'DeregisterImage', 'ModifyImageAttribute',
    'AttachVolume', 'DetachVolume', 'RunInstances', 'StartInstances',
    'StopInstances', 'TerminateInstances', 'ModifyInstanceAttribute',
    'CreateImage', 'CreateTags', 'DeleteTags', 'ModifyVolumeAttribute',
    'RebootInstances', 'ModifyVolume', 'ModifySnapshotAttribute',
    'ResetSnapshotAttribute', 'ResetImageAttribute',
    'ResetInstanceAttribute', 'CopySnapshot', 'CopyImage', 'CreateSnapshots',
    'CreateKeyPair', 'ImportKeyPair', 'DeleteKeyPair',
)


def _rule(action, check_str):
    return policy.DocumentedRuleDefault(
        name='ec2:%s' % action,
        check_str=check_str,
        description='EC2 %s.' % action,
        operations=[{'method': 'POST', 'path': '/?Action=%s' % action},
                    {'method': 'GET', 'path': '/?Action=%s' % action}],
        scope_types=['project'])


def list_rules():
    return ([_rule(a, base.PROJECT_READER) for a in READ_ACTIONS] +
            [_rule(a, base.PROJECT_MEMBER) for a in WRITE_ACTIONS])
