"""EC2 tags on the wire: CreateTags, DeleteTags, DescribeTags,
TagSpecifications and the tagSet and tag filters of the Describe calls.

The volume and compute services run in this process on their fake drivers,
with the real task runner.
"""

from ebsboot import context as ebs_context
from ebsboot.db import api as db
from ebsboot.tests.unit.api import wire
from ebsboot.tests.unit import base


def _spec(resource_type, **tags):
    return {'ResourceType': resource_type,
            'Tags': [{'Key': k, 'Value': v} for k, v in sorted(tags.items())]}


def _tags(**tags):
    return [{'Key': k, 'Value': v} for k, v in sorted(tags.items())]


class TagsTest(wire.WireTestCase, base.CloudTestCase):

    def setUp(self):
        super().setUp()
        self.admin = ebs_context.get_admin_context()

    # Helpers ---------------------------------------------------------------

    def volume(self, project='alpha', tags=None, **kwargs):
        if tags:
            kwargs['TagSpecifications'] = [_spec('volume', **tags)]
        volume = self.ok('CreateVolume', project=project,
                         AvailabilityZone='nova', Size=1, **kwargs)
        self.wait_for(lambda: self.ok(
            'DescribeVolumes', project=project,
            VolumeIds=[volume['VolumeId']])['Volumes'][0]['State']
            == 'available')
        return volume

    def snapshot(self, volume_id, **kwargs):
        snapshot = self.ok('CreateSnapshot', VolumeId=volume_id, **kwargs)
        self.wait_for(lambda: self.ok(
            'DescribeSnapshots', SnapshotIds=[snapshot['SnapshotId']])[
            'Snapshots'][0]['State'] == 'completed')
        return snapshot

    def image(self, **kwargs):
        snapshot = self.snapshot(self.volume()['VolumeId'])
        return self.ok('RegisterImage', Name=kwargs.pop('Name', 'img'),
                       RootDeviceName='/dev/sda1', BlockDeviceMappings=[
                           {'DeviceName': '/dev/sda1',
                            'Ebs': {'SnapshotId': snapshot['SnapshotId']}}],
                       **kwargs)['ImageId']

    def described(self, **filters):
        return {(t['ResourceId'], t['Key'], t['Value'])
                for t in self.ok('DescribeTags', Filters=[
                    {'Name': k.replace('_', '-'), 'Values': v}
                    for k, v in filters.items()])['Tags']}

    def tag_rows(self):
        return db.tag_rows(self.admin)

    # CreateTags / DeleteTags / DescribeTags --------------------------------

    def test_create_describe_delete(self):
        volume_id = self.volume()['VolumeId']
        self.ok('CreateTags', Resources=[volume_id],
                Tags=_tags(Name='web', env='prod', empty=''))
        answer = self.ok('DescribeTags')
        self.assertEqual([
            {'ResourceId': volume_id, 'ResourceType': 'volume',
             'Key': k, 'Value': v}
            for k, v in (('Name', 'web'), ('empty', ''), ('env', 'prod'))],
            answer['Tags'])
        # Overwrite one, add one.
        self.ok('CreateTags', Resources=[volume_id],
                Tags=_tags(env='test', team='a'))
        self.assertEqual(
            {(volume_id, 'Name', 'web'), (volume_id, 'empty', ''),
             (volume_id, 'env', 'test'), (volume_id, 'team', 'a')},
            self.described())
        # A value deletes only a tag of that value; none: any value; ''
        # only an empty one.
        self.ok('DeleteTags', Resources=[volume_id],
                Tags=[{'Key': 'env', 'Value': 'prod'}, {'Key': 'team'},
                      {'Key': 'Name', 'Value': ''},
                      {'Key': 'empty', 'Value': ''}])
        self.assertEqual({(volume_id, 'Name', 'web'),
                          (volume_id, 'env', 'test')}, self.described())
        # No tags: all of them.
        self.ok('DeleteTags', Resources=[volume_id])
        self.assertEqual(set(), self.described())

    def test_every_kind_of_resource(self):
        volume_id = self.volume()['VolumeId']
        snapshot_id = self.snapshot(volume_id)['SnapshotId']
        image_id = self.image()
        reservation = self.ok('RunInstances', ImageId=image_id, MinCount=1,
                              MaxCount=1)
        instance_id = reservation['Instances'][0]['InstanceId']
        ids = [volume_id, snapshot_id, image_id, instance_id]
        self.ok('CreateTags', Resources=ids, Tags=_tags(k='v'))
        answer = self.ok('DescribeTags')['Tags']
        self.assertEqual(
            {(image_id, 'image'), (instance_id, 'instance'),
             (snapshot_id, 'snapshot'), (volume_id, 'volume')},
            {(t['ResourceId'], t['ResourceType']) for t in answer})
        for resource_type, resource_id in (('volume', volume_id),
                                           ('instance', instance_id)):
            self.assertEqual({(resource_id, 'k', 'v')},
                             self.described(resource_type=[resource_type]))

    def test_describe_filters_and_pages(self):
        first = self.volume(tags={'Name': 'a', 'env': 'prod'})['VolumeId']
        second = self.volume(tags={'Name': 'b', 'team': 'x'})['VolumeId']
        self.assertEqual({(first, 'Name', 'a'), (second, 'Name', 'b')},
                         self.described(key=['Name']))
        self.assertEqual({(first, 'Name', 'a')},
                         self.described(key=['Name'], value=['a']))
        self.assertEqual({(first, 'Name', 'a'), (first, 'env', 'prod')},
                         self.described(resource_id=[first]))
        self.assertEqual({(second, 'team', 'x')},
                         self.described(value=['x*']))
        self.assertEqual(set(), self.described(resource_type=['image']))
        # tag:<key>: the tags of the resources that have that tag.
        self.assertEqual({(first, 'Name', 'a'), (first, 'env', 'prod')},
                         {t for t in self.described(**{'tag:env': ['prod']})})
        self.error('InvalidParameterValue', 'DescribeTags',
                   Filters=[{'Name': 'owner-id', 'Values': ['alpha']}])
        seen, token = [], None
        while True:
            kwargs = {'NextToken': token} if token else {}
            page = self.ok('DescribeTags', MaxResults=5, **kwargs)
            seen += page['Tags']
            token = page.get('NextToken')
            if not token:
                break
        self.assertEqual(4, len(seen))
        self.error('InvalidParameterValue', 'DescribeTags', MaxResults=4)

    def test_errors_change_nothing(self):
        volume_id = self.volume()['VolumeId']
        for code, kwargs in [
                ('InvalidID', {'Resources': ['vol-xyz']}),
                ('InvalidID', {'Resources': ['sg-12345678']}),
                ('InvalidID', {'Resources': [volume_id, 'nonsense']}),
                ('InvalidVolume.NotFound',
                 {'Resources': [volume_id, 'vol-00000000000000000']}),
                ('InvalidInstanceID.NotFound',
                 {'Resources': ['i-00000000000000000']}),
                ('InvalidSnapshot.NotFound',
                 {'Resources': ['snap-00000000000000000']}),
                ('InvalidAMIID.NotFound',
                 {'Resources': ['ami-00000000000000000']}),
                ('InvalidParameterValue',
                 {'Resources': [volume_id], 'Tags': _tags(**{'aws:x': 'v'})}),
                ('InvalidParameterValue',
                 {'Resources': [volume_id], 'Tags': _tags(**{'AWS:x': 'v'})}),
                ('InvalidParameterValue',
                 {'Resources': [volume_id], 'Tags': _tags(**{'k' * 129: ''})}),
                ('InvalidParameterValue',
                 {'Resources': [volume_id], 'Tags': _tags(k='v' * 257)}),
                ('InvalidParameterValue',
                 {'Resources': [volume_id], 'Tags': [{'Value': 'v'}]}),
                ('InvalidParameterValue',
                 {'Resources': [volume_id],
                  'Tags': [{'Key': 'k', 'Value': '1'},
                           {'Key': 'k', 'Value': '2'}]}),
                ('TagLimitExceeded',
                 {'Resources': [volume_id],
                  'Tags': [{'Key': 'k%d' % n, 'Value': ''}
                           for n in range(51)]}),
                ('MissingParameter', {'Resources': [volume_id],
                                      'Tags': None}),
                ('MissingParameter', {'Resources': []})]:
            kwargs.setdefault('Tags', _tags(k='v'))
            if kwargs['Tags'] is None:
                del kwargs['Tags']
            self.error(code, 'CreateTags', **kwargs)
        self.ok('CreateTags', Resources=[volume_id], Tags=_tags(
            **{'k' * 128: 'v' * 256}))
        self.assertEqual(1, len(self.tag_rows()))
        self.error('InvalidParameterValue', 'DeleteTags',
                   Resources=[volume_id], Tags=[{'Key': 'aws:name'}])
        self.error('InvalidID', 'DeleteTags', Resources=['x'])

    def test_fifty_tags_per_resource(self):
        volume_id = self.volume()['VolumeId']
        self.ok('CreateTags', Resources=[volume_id],
                Tags=[{'Key': 'k%d' % n, 'Value': ''} for n in range(49)])
        # Overwriting does not count twice.
        self.ok('CreateTags', Resources=[volume_id],
                Tags=[{'Key': 'k0', 'Value': 'x'},
                      {'Key': 'new', 'Value': ''}])
        self.assertEqual(50, len(self.tag_rows()))
        self.assertIn('exceeded', self.error(
            'TagLimitExceeded', 'CreateTags', Resources=[volume_id],
            Tags=[{'Key': 'one-more', 'Value': ''}]))
        self.assertEqual(50, len(self.tag_rows()))

    def test_projects_see_and_change_their_own_only(self):
        mine = self.volume(tags={'owner': 'alpha'})['VolumeId']
        theirs = self.volume(project='beta', tags={'owner': 'beta'})[
            'VolumeId']
        self.error('InvalidVolume.NotFound', 'CreateTags',
                   Resources=[theirs], Tags=_tags(k='v'))
        self.error('InvalidVolume.NotFound', 'DeleteTags',
                   Resources=[theirs])
        self.assertEqual({(mine, 'owner', 'alpha')}, self.described())
        self.assertEqual({(theirs, 'owner', 'beta')}, {
            (t['ResourceId'], t['Key'], t['Value'])
            for t in self.ok('DescribeTags', project='beta')['Tags']})

    def test_shared_images_tagged_by_each_project_for_itself(self):
        image_id = self.image()
        self.ok('ModifyImageAttribute', ImageId=image_id,
                LaunchPermission={'Add': [{'Group': 'all'}]})
        self.ok('CreateTags', Resources=[image_id], Tags=_tags(by='alpha'))
        self.ok('CreateTags', project='beta', Resources=[image_id],
                Tags=_tags(by='beta'))
        for project in ('alpha', 'beta'):
            [image] = self.ok('DescribeImages', project=project,
                              ImageIds=[image_id])['Images']
            self.assertEqual([{'Key': 'by', 'Value': project}],
                             image['Tags'])
        self.ok('DeregisterImage', ImageId=image_id)
        self.assertEqual([], self.tag_rows())

    # TagSpecifications and tagSet ---------------------------------------

    def test_create_volume_and_snapshot_with_tags(self):
        volume = self.volume(tags={'Name': 'data'})
        self.assertEqual([{'Key': 'Name', 'Value': 'data'}], volume['Tags'])
        [described] = self.ok('DescribeVolumes',
                              VolumeIds=[volume['VolumeId']])['Volumes']
        self.assertEqual(volume['Tags'], described['Tags'])
        snapshot = self.snapshot(volume['VolumeId'], TagSpecifications=[
            _spec('snapshot', Name='backup', day='mon')])
        self.assertEqual(_tags(Name='backup', day='mon'), snapshot['Tags'])
        [described] = self.ok('DescribeSnapshots', SnapshotIds=[
            snapshot['SnapshotId']])['Snapshots']
        self.assertEqual(snapshot['Tags'], described['Tags'])
        # Untagged: no tagSet at all, as AWS answers.
        untagged = self.volume()
        self.assertNotIn('Tags', untagged)
        self.assertNotIn('Tags', self.ok('DescribeVolumes', VolumeIds=[
            untagged['VolumeId']])['Volumes'][0])

    def test_create_volume_client_token_covers_the_tags(self):
        first = self.volume(tags={'a': '1'}, ClientToken='tok')
        again = self.ok('CreateVolume', AvailabilityZone='nova', Size=1,
                        ClientToken='tok',
                        TagSpecifications=[_spec('volume', a='1')])
        self.assertEqual((first['VolumeId'], first['Tags']),
                         (again['VolumeId'], again['Tags']))
        self.error('IdempotentParameterMismatch', 'CreateVolume',
                   AvailabilityZone='nova', Size=1, ClientToken='tok',
                   TagSpecifications=[_spec('volume', a='2')])

    def test_tag_specifications_refused_as_aws_refuses_them(self):
        volume_id = self.volume()['VolumeId']
        rows = self.tag_rows()
        for action, kwargs in [
                ('CreateVolume', {'AvailabilityZone': 'nova', 'Size': 1,
                                  'TagSpecifications': [_spec(
                                      'snapshot', a='b')]}),
                ('CreateVolume', {'AvailabilityZone': 'nova', 'Size': 1,
                                  'TagSpecifications': [_spec(
                                      'volume', **{'aws:a': 'b'})]}),
                ('CreateVolume', {'AvailabilityZone': 'nova', 'Size': 1,
                                  'TagSpecifications': [
                                      _spec('volume', a='b'),
                                      _spec('volume', c='d')]}),
                ('CreateSnapshot', {'VolumeId': volume_id,
                                    'TagSpecifications': [_spec(
                                        'volume', a='b')]}),
                ('CreateSnapshot', {'VolumeId': volume_id,
                                    'TagSpecifications': [_spec(
                                        'snapshot', a='b' * 257)]}),
                ('RunInstances', {'ImageId': 'ami-00000000000000000',
                                  'MinCount': 1, 'MaxCount': 1,
                                  'TagSpecifications': [_spec(
                                      'image', a='b')]})]:
            self.error('InvalidParameterValue', action, **kwargs)
        self.assertEqual(rows, self.tag_rows())
        self.assertEqual(1, len(db.volume_list(self.admin)))

    def test_run_instances_tags_instances_and_their_volumes(self):
        image_id = self.image(TagSpecifications=[_spec('image', os='linux')])
        [image] = self.ok('DescribeImages', ImageIds=[image_id])['Images']
        self.assertEqual(_tags(os='linux'), image['Tags'])
        reservation = self.ok(
            'RunInstances', ImageId=image_id, MinCount=2, MaxCount=2,
            BlockDeviceMappings=[{'DeviceName': '/dev/sdb',
                                  'Ebs': {'VolumeSize': 1}}],
            TagSpecifications=[_spec('instance', Name='web'),
                               _spec('volume', Name='web-disk')])
        ids = [i['InstanceId'] for i in reservation['Instances']]
        self.assertEqual([_tags(Name='web')] * 2,
                         [i['Tags'] for i in reservation['Instances']])
        self.wait_for(lambda: all(
            i['State']['Name'] == 'running'
            for r in self.ok('DescribeInstances', InstanceIds=ids)[
                'Reservations'] for i in r['Instances']))
        [described] = self.ok('DescribeInstances', Filters=[
            {'Name': 'tag:Name', 'Values': ['web']}])['Reservations']
        self.assertEqual(ids, [i['InstanceId']
                               for i in described['Instances']])
        self.assertEqual([_tags(Name='web')] * 2,
                         [i['Tags'] for i in described['Instances']])
        volume_ids = {m['Ebs']['VolumeId'] for i in described['Instances']
                      for m in i['BlockDeviceMappings']}
        self.assertEqual(4, len(volume_ids))
        tagged = self.ok('DescribeVolumes', Filters=[
            {'Name': 'tag:Name', 'Values': ['web-disk']}])['Volumes']
        self.assertEqual(volume_ids, {v['VolumeId'] for v in tagged})
        self.assertEqual([_tags(Name='web-disk')] * 4,
                         [v['Tags'] for v in tagged])

    def test_tag_filters_on_every_describe(self):
        tagged = self.volume(tags={'env': 'prod'})['VolumeId']
        plain = self.volume()['VolumeId']
        snapshot_id = self.snapshot(plain, TagSpecifications=[
            _spec('snapshot', env='prod')])['SnapshotId']
        image_id = self.image(TagSpecifications=[_spec('image', env='dev')])
        for action, key, ids_key, expected in [
                ('DescribeVolumes', 'Volumes', 'VolumeId', [tagged]),
                ('DescribeSnapshots', 'Snapshots', 'SnapshotId',
                 [snapshot_id]),
                ('DescribeImages', 'Images', 'ImageId', [])]:
            for name, values in (('tag:env', ['prod']), ('tag-key', ['env']),
                                 ('tag-value', ['pr*'])):
                found = self.ok(action, Filters=[
                    {'Name': name, 'Values': values}])[key]
                if action == 'DescribeImages' and name == 'tag-key':
                    self.assertEqual([image_id],
                                     [i[ids_key] for i in found])
                else:
                    self.assertEqual(expected, [i[ids_key] for i in found],
                                     (action, name))
        self.assertEqual([image_id], [i['ImageId'] for i in self.ok(
            'DescribeImages', Filters=[{'Name': 'tag:env',
                                        'Values': ['dev']}])['Images']])

    def test_create_image_tags_image_and_snapshots(self):
        image_id = self.image()
        reservation = self.ok('RunInstances', ImageId=image_id, MinCount=1,
                              MaxCount=1)
        instance_id = reservation['Instances'][0]['InstanceId']
        self.wait_for(lambda: self.ok(
            'DescribeInstances', InstanceIds=[instance_id])[
            'Reservations'][0]['Instances'][0]['State']['Name'] == 'running')
        self.error('InvalidParameterValue', 'CreateImage',
                   InstanceId=instance_id, Name='copy',
                   TagSpecifications=[_spec('volume', a='b')])
        ami = self.ok('CreateImage', InstanceId=instance_id, Name='copy',
                      NoReboot=True,
                      TagSpecifications=[_spec('image', kind='golden'),
                                         _spec('snapshot', kind='part')])[
            'ImageId']
        self.wait_for(lambda: self.ok('DescribeImages', ImageIds=[ami])[
            'Images'][0]['State'] == 'available')
        [image] = self.ok('DescribeImages', ImageIds=[ami])['Images']
        self.assertEqual(_tags(kind='golden'), image['Tags'])
        snapshot_id = image['BlockDeviceMappings'][0]['Ebs']['SnapshotId']
        [snapshot] = self.ok('DescribeSnapshots', Filters=[
            {'Name': 'tag:kind', 'Values': ['part']}])['Snapshots']
        self.assertEqual(snapshot_id, snapshot['SnapshotId'])

    # Tags go with their resource ----------------------------------------

    def test_tags_go_with_their_resource(self):
        volume_id = self.volume(tags={'a': 'b'})['VolumeId']
        snapshot_id = self.snapshot(volume_id, TagSpecifications=[
            _spec('snapshot', a='b')])['SnapshotId']
        self.assertEqual(2, len(self.tag_rows()))
        self.ok('DeleteSnapshot', SnapshotId=snapshot_id)
        self.ok('DeleteVolume', VolumeId=volume_id)
        self.wait_for(lambda: not db.volume_list(self.admin) and
                      not db.snapshot_list(self.admin))
        self.assertEqual([], self.tag_rows())

    def test_instance_tags_go_with_the_instance_row(self):
        image_id = self.image()
        reservation = self.ok(
            'RunInstances', ImageId=image_id, MinCount=1, MaxCount=1,
            TagSpecifications=[_spec('instance', a='b')])
        instance_id = reservation['Instances'][0]['InstanceId']
        row = db.instance_get_by_ec2_id(self.admin, instance_id)
        self.wait_for(lambda: db.instance_get(self.admin, row.id).task
                      is None)
        self.assertEqual([instance_id],
                         [t.resource_id for t in self.tag_rows()])
        db.instance_destroy(self.admin, row.id)
        self.assertEqual([], self.tag_rows())
