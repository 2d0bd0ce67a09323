"""EC2 tags through boto3 and the AWS CLI against a running all-in-one."""

from ebsboot.tests.functional import base
from ebsboot.tests.functional import test_instances


def _tags(**tags):
    return [{'Key': k, 'Value': v} for k, v in sorted(tags.items())]


class TagsTest(base.FunctionalTestCase, test_instances.EbsTestMixin):

    def setUp(self):
        super().setUp()
        self.cloud = self.useFixture(base.Cloud())
        self.ec2 = self.cloud.client()

    def test_tag_find_describe_untag_with_boto3(self):
        ec2 = self.ec2
        volume = ec2.create_volume(
            AvailabilityZone='nova', Size=1, TagSpecifications=[
                {'ResourceType': 'volume', 'Tags': _tags(Name='data')}])
        self.assertEqual(_tags(Name='data'), volume['Tags'])
        volume_id = volume['VolumeId']
        self.wait_volume(ec2, volume_id)
        snapshot = ec2.create_snapshot(VolumeId=volume_id, TagSpecifications=[
            {'ResourceType': 'snapshot', 'Tags': _tags(Name='backup')}])
        self.assertEqual(_tags(Name='backup'), snapshot['Tags'])
        self.wait_snapshot(ec2, snapshot['SnapshotId'])

        # Found by tag, with its tags; the untagged one is not.
        plain = ec2.create_volume(AvailabilityZone='nova', Size=1)
        self.wait_volume(ec2, plain['VolumeId'])
        [found] = ec2.describe_volumes(Filters=[
            {'Name': 'tag:Name', 'Values': ['da*']}])['Volumes']
        self.assertEqual((volume_id, _tags(Name='data')),
                         (found['VolumeId'], found['Tags']))
        self.assertNotIn('Tags', ec2.describe_volumes(
            VolumeIds=[plain['VolumeId']])['Volumes'][0])

        ec2.create_tags(Resources=[volume_id, plain['VolumeId']],
                        Tags=_tags(env='prod'))
        described = ec2.describe_tags(Filters=[
            {'Name': 'resource-type', 'Values': ['volume']}])['Tags']
        self.assertEqual(sorted([
            (volume_id, 'Name', 'data'), (volume_id, 'env', 'prod'),
            (plain['VolumeId'], 'env', 'prod')]),
            sorted((t['ResourceId'], t['Key'], t['Value'])
                   for t in described))
        self.assertEqual({'volume'}, {t['ResourceType'] for t in described})
        # The other project sees none of them, and cannot tag them.
        other = self.cloud.client('beta')
        self.assertEqual([], other.describe_tags()['Tags'])
        self.assertEC2Error('InvalidVolume.NotFound', other.create_tags,
                            Resources=[volume_id], Tags=_tags(a='b'))
        # AWS's limits and codes.
        self.assertEC2Error('InvalidParameterValue', ec2.create_tags,
                            Resources=[volume_id], Tags=_tags(**{'aws:x': ''}))
        self.assertEC2Error('InvalidID', ec2.create_tags,
                            Resources=['vol-nothex'], Tags=_tags(a='b'))
        self.assertEC2Error('TagLimitExceeded', ec2.create_tags,
                            Resources=[volume_id],
                            Tags=[{'Key': 'k%d' % n, 'Value': ''}
                                  for n in range(50)])

        ec2.delete_tags(Resources=[volume_id], Tags=[{'Key': 'env'}])
        self.assertEqual(_tags(Name='data'), ec2.describe_volumes(
            VolumeIds=[volume_id])['Volumes'][0]['Tags'])

        # Tags go with their resource.
        ec2.delete_snapshot(SnapshotId=snapshot['SnapshotId'])
        for volume_id in (volume_id, plain['VolumeId']):
            ec2.delete_volume(VolumeId=volume_id)
        base.wait_for(lambda: not ec2.describe_volumes()['Volumes'] and
                      not ec2.describe_snapshots()['Snapshots'],
                      what='everything deleted')
        self.assertEqual([], ec2.describe_tags()['Tags'])

    def test_launch_tagged_with_the_cli(self):
        image_id, _snapshot_id = self._image(self.ec2)
        _, image = self.cloud.aws(
            'create-tags', '--resources', image_id, '--tags',
            'Key=os,Value=linux')
        _, reservation = self.cloud.aws(
            'run-instances', '--image-id', image_id, '--count', '2',
            '--tag-specifications',
            'ResourceType=instance,Tags=[{Key=Name,Value=web}]',
            'ResourceType=volume,Tags=[{Key=Name,Value=web-disk}]')
        ids = sorted(i['InstanceId'] for i in reservation['Instances'])
        self.assertEqual([_tags(Name='web')] * 2,
                         [i['Tags'] for i in reservation['Instances']])
        for instance_id in ids:
            self.wait_state(self.ec2, instance_id, 'running')
        _, found = self.cloud.aws(
            'describe-instances', '--filters', 'Name=tag:Name,Values=web',
            '--query', 'Reservations[].Instances[].InstanceId')
        self.assertEqual(ids, sorted(found))
        _, volumes = self.cloud.aws(
            'describe-volumes', '--filters', 'Name=tag:Name,Values=web-disk',
            '--query', 'Volumes[].Attachments[].InstanceId')
        # The image maps /dev/sda1 and /dev/sdb: two volumes each.
        self.assertEqual(sorted(ids * 2), sorted(volumes))
        _, described = self.cloud.aws(
            'describe-tags', '--filters', 'Name=resource-id,Values=%s'
            % image_id)
        self.assertEqual([{'ResourceId': image_id, 'ResourceType': 'image',
                           'Key': 'os', 'Value': 'linux'}],
                         described['Tags'])
        code, err = self.cloud.aws(
            'create-tags', '--resources', ids[0], '--tags',
            'Key=aws:owner,Value=me', check=False)
        self.assertNotEqual(0, code)
        self.assertIn('InvalidParameterValue', err)

        self.cloud.aws('delete-tags', '--resources', ids[0])
        _, found = self.cloud.aws(
            'describe-instances', '--filters', 'Name=tag-key,Values=Name',
            '--query', 'Reservations[].Instances[].InstanceId')
        self.assertEqual(ids[1:], found)
        self.cloud.aws('terminate-instances', '--instance-ids', *ids)
        self.cloud.aws('deregister-image', '--image-id', image_id)
        _, left = self.cloud.aws(
            'describe-tags', '--filters', 'Name=resource-type,Values=image')
        self.assertEqual([], left['Tags'])
