"""Volumes and snapshots through the EC2 API of a running all-in-one."""

import glob
import os
import subprocess

from botocore import auth as botocore_auth
from botocore import awsrequest
from botocore import credentials as botocore_credentials
import requests

from ebsboot.tests.functional import base


class VolumeSnapshotTest(base.FunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.cloud = self.useFixture(base.Cloud())
        self.ec2 = self.cloud.client()

    def _files(self, kind):
        return glob.glob(os.path.join(self.cloud.state, kind, '*.qcow2'))

    def _qemu_info(self, path):
        out = subprocess.run(['qemu-img', 'info', '--output=json', '-U',
                              path], check=True, capture_output=True,
                             text=True).stdout
        return base.json.loads(out)

    def test_volume_snapshot_clone_lifecycle(self):
        volume = self.ec2.create_volume(AvailabilityZone='nova', Size=1)
        self.assertEqual('creating', volume['State'])
        self.assertEqual(1, volume['Size'])
        self.assertRegex(volume['VolumeId'], r'^vol-[0-9a-f]{17}$')
        self.wait_volume(self.ec2, volume['VolumeId'])

        snapshot = self.ec2.create_snapshot(VolumeId=volume['VolumeId'],
                                            Description='first')
        self.assertEqual('pending', snapshot['State'])
        self.assertRegex(snapshot['SnapshotId'], r'^snap-[0-9a-f]{17}$')
        done = self.wait_snapshot(self.ec2, snapshot['SnapshotId'])
        self.assertEqual('100%', done['Progress'])
        self.assertEqual(1, done['VolumeSize'])
        self.assertEqual('first', done['Description'])

        clone = self.ec2.create_volume(AvailabilityZone='nova', Size=3,
                                       SnapshotId=snapshot['SnapshotId'])
        clone = self.wait_volume(self.ec2, clone['VolumeId'])
        self.assertEqual(3, clone['Size'])
        self.assertEqual(snapshot['SnapshotId'], clone['SnapshotId'])

        # The clone is a real qcow2 file of 3 GiB backed by the snapshot.
        [clone_file] = [f for f in self._files('volumes')
                        if self._qemu_info(f).get('backing-filename')]
        info = self._qemu_info(clone_file)
        self.assertEqual(3 * 1024 ** 3, info['virtual-size'])
        self.assertEqual('qcow2', info['format'])

        # Deleting the snapshot keeps the clone usable.
        self.ec2.delete_snapshot(SnapshotId=snapshot['SnapshotId'])
        base.wait_for(lambda: not self.ec2.describe_snapshots(
            Filters=[{'Name': 'snapshot-id',
                      'Values': [snapshot['SnapshotId']]}])['Snapshots'],
            what='snapshot deleted')
        self.assertTrue(os.path.exists(info['backing-filename']))
        second = self.ec2.create_snapshot(VolumeId=clone['VolumeId'])
        self.wait_snapshot(self.ec2, second['SnapshotId'])

        for volume_id in (volume['VolumeId'], clone['VolumeId']):
            self.ec2.delete_volume(VolumeId=volume_id)
        self.ec2.delete_snapshot(SnapshotId=second['SnapshotId'])
        base.wait_for(lambda: not self.ec2.describe_volumes()['Volumes'] and
                      not self.ec2.describe_snapshots()['Snapshots'],
                      what='everything deleted')
        base.wait_for(lambda: not self._files('volumes') and
                      not self._files('snapshots'), what='files removed')

    def test_describe_filters_and_pages(self):
        ids = [self.ec2.create_volume(AvailabilityZone='nova',
                                      Size=size)['VolumeId']
               for size in (1, 1, 2, 2, 2, 3, 3)]
        for volume_id in ids:
            self.wait_volume(self.ec2, volume_id)
        sized = self.ec2.describe_volumes(
            Filters=[{'Name': 'size', 'Values': ['2', '3']},
                     {'Name': 'status', 'Values': ['avail*']}])['Volumes']
        self.assertEqual(sorted(ids[2:]), sorted(v['VolumeId']
                                                 for v in sized))
        paginator = self.ec2.get_paginator('describe_volumes')
        pages = list(paginator.paginate(PaginationConfig={'PageSize': 5}))
        self.assertEqual([5, 2], [len(p['Volumes']) for p in pages])
        self.assertEqual(sorted(ids), sorted(
            v['VolumeId'] for p in pages for v in p['Volumes']))
        self.assertEC2Error('InvalidParameterValue',
                            self.ec2.describe_volumes,
                            Filters=[{'Name': 'bogus', 'Values': ['x']}])
        self.assertEC2Error('InvalidPaginationToken',
                            self.ec2.describe_volumes, MaxResults=5,
                            NextToken='garbage!')

    def test_client_token_idempotency(self):
        first = self.ec2.create_volume(AvailabilityZone='nova', Size=1,
                                       ClientToken='token-1')
        again = self.ec2.create_volume(AvailabilityZone='nova', Size=1,
                                       ClientToken='token-1')
        self.assertEqual(first['VolumeId'], again['VolumeId'])
        self.assertEC2Error('IdempotentParameterMismatch',
                            self.ec2.create_volume,
                            AvailabilityZone='nova', Size=2,
                            ClientToken='token-1')
        self.assertEqual(1, len(self.ec2.describe_volumes()['Volumes']))

    def test_bad_input_gives_ec2_errors_and_leaves_nothing(self):
        ec2 = self.ec2
        cases = [
            ('InvalidVolumeID.Malformed', ec2.describe_volumes,
             {'VolumeIds': ['vol-nothex!']}),
            ('InvalidVolume.NotFound', ec2.describe_volumes,
             {'VolumeIds': ['vol-0123456789abcdef0']}),
            ('InvalidVolume.NotFound', ec2.delete_volume,
             {'VolumeId': 'vol-0123456789abcdef0'}),
            ('InvalidSnapshotID.Malformed', ec2.delete_snapshot,
             {'SnapshotId': 'snapshot-1'}),
            ('InvalidSnapshot.NotFound', ec2.create_volume,
             {'AvailabilityZone': 'nova',
              'SnapshotId': 'snap-0123456789abcdef0'}),
            ('InvalidSnapshot.NotFound', ec2.describe_snapshots,
             {'SnapshotIds': ['snap-0123456789abcdef0']}),
            ('MissingParameter', ec2.create_volume,
             {'AvailabilityZone': 'nova'}),
            ('InvalidZone.NotFound', ec2.create_volume,
             {'AvailabilityZone': 'elsewhere', 'Size': 1}),
            ('InvalidParameterValue', ec2.create_volume,
             {'AvailabilityZone': 'nova', 'Size': 0}),
            ('InvalidParameterValue', ec2.create_volume,
             {'AvailabilityZone': 'nova', 'Size': 10 ** 6}),
            ('InvalidVolumeID.Malformed', ec2.create_snapshot,
             {'VolumeId': 'snap-0123456789abcdef0'}),
            ('DryRunOperation', ec2.create_volume,
             {'AvailabilityZone': 'nova', 'Size': 1, 'DryRun': True}),
            ('InvalidParameterCombination', ec2.describe_volumes,
             {'VolumeIds': ['vol-0123456789abcdef0'], 'MaxResults': 5}),
        ]
        for code, func, kwargs in cases:
            self.assertEC2Error(code, func, **kwargs)
        self.assertEqual([], ec2.describe_volumes()['Volumes'])
        self.assertEqual([], ec2.describe_snapshots()['Snapshots'])
        self.assertEqual([], self._files('volumes'))

    def _raw(self, params, secret=None, access=None):
        cred = self.cloud.credentials['alpha']
        request = awsrequest.AWSRequest(
            method='POST', url=self.cloud.endpoint + '/', data=params,
            headers={'Content-Type':
                     'application/x-www-form-urlencoded; charset=utf-8'})
        botocore_auth.SigV4Auth(
            botocore_credentials.Credentials(
                access or cred['access_key'], secret or cred['secret_key']),
            'ec2', 'RegionOne').add_auth(request)
        prepared = request.prepare()
        return requests.post(prepared.url, data=prepared.body,
                             headers=dict(prepared.headers), timeout=10)

    def test_protocol_errors(self):
        version = {'Version': '2016-11-15'}
        for params, status, code in [
                (dict(version, Action='Frobnicate'), 400, 'InvalidAction'),
                (version, 400, 'MissingAction'),
                (dict(version, Action='DescribeVolumes', Bogus='1'), 400,
                 'UnknownParameter'),
                (dict(version, Action='DescribeVolumes',
                      **{'VolumeId.1': 'vol-0123456789abcdef0',
                         'VolumeId.x': 'y'}), 400,
                 'InvalidParameterValue')]:
            response = self._raw(params)
            self.assertEqual(status, response.status_code, response.text)
            self.assertIn('<Code>%s</Code>' % code, response.text)
            self.assertIn('<RequestID>', response.text)
        response = self._raw(dict(version, Action='DescribeVolumes'),
                             secret='wrong' * 8)
        self.assertEqual(403, response.status_code)
        self.assertIn('<Code>SignatureDoesNotMatch</Code>', response.text)
        response = self._raw(dict(version, Action='DescribeVolumes'),
                             access='AKIANOBODY')
        self.assertEqual(401, response.status_code)
        self.assertIn('<Code>AuthFailure</Code>', response.text)
        response = requests.get(self.cloud.endpoint +
                                '/?Action=DescribeVolumes', timeout=10)
        self.assertEqual(401, response.status_code)
        self.assertIn('<Code>MissingAuthenticationToken</Code>',
                      response.text)
        response = requests.put(self.cloud.endpoint + '/', timeout=10)
        self.assertEqual(400, response.status_code)
        self.assertNotIn('Traceback', self.cloud.log())


class TenancyAndCliTest(base.FunctionalTestCase):
    """The newcomer's walk-through, with the AWS CLI only."""

    def setUp(self):
        super().setUp()
        self.cloud = self.useFixture(base.Cloud())

    def test_aws_cli_walkthrough_and_isolation(self):
        aws = self.cloud.aws
        _, zones = aws('describe-availability-zones')
        self.assertEqual(['nova'], [z['ZoneName']
                                    for z in zones['AvailabilityZones']])
        _, regions = aws('describe-regions')
        self.assertEqual(['RegionOne'], [r['RegionName']
                                         for r in regions['Regions']])
        _, volume = aws('create-volume', '--availability-zone', 'nova',
                        '--size', '1')
        volume_id = volume['VolumeId']
        aws('wait', 'volume-available', '--volume-ids', volume_id)
        _, snapshot = aws('create-snapshot', '--volume-id', volume_id,
                          '--description', 'cli snapshot')
        snapshot_id = snapshot['SnapshotId']
        aws('wait', 'snapshot-completed', '--snapshot-ids', snapshot_id)
        _, clone = aws('create-volume', '--availability-zone', 'nova',
                       '--snapshot-id', snapshot_id, '--size', '2')
        aws('wait', 'volume-available', '--volume-ids', clone['VolumeId'])

        _, volumes = aws('describe-volumes')
        states = {v['VolumeId']: (v['State'], v['Size'], v['SnapshotId'])
                  for v in volumes['Volumes']}
        self.assertEqual({volume_id: ('available', 1, ''),
                          clone['VolumeId']: ('available', 2, snapshot_id)},
                         states)
        _, snaps = aws('describe-snapshots', '--owner-ids', 'self',
                       '--filters', 'Name=status,Values=completed')
        self.assertEqual([(snapshot_id, volume_id, 'completed', '100%')],
                         [(s['SnapshotId'], s['VolumeId'], s['State'],
                           s['Progress']) for s in snaps['Snapshots']])

        # Another project sees none of it and can touch none of it.
        _, other = aws('describe-volumes', project='beta')
        self.assertEqual([], other['Volumes'])
        _, other = aws('describe-snapshots', '--owner-ids', 'self',
                       project='beta')
        self.assertEqual([], other['Snapshots'])
        for args in (('describe-volumes', '--volume-ids', volume_id),
                     ('delete-volume', '--volume-id', volume_id),
                     ('create-snapshot', '--volume-id', volume_id)):
            code, err = aws(*args, project='beta', check=False)
            self.assertNotEqual(0, code)
            self.assertIn('InvalidVolume.NotFound', err)
        code, err = aws('delete-snapshot', '--snapshot-id', snapshot_id,
                        project='beta', check=False)
        self.assertIn('InvalidSnapshot.NotFound', err)
        code, err = aws('create-volume', '--availability-zone', 'nova',
                        '--snapshot-id', snapshot_id, project='beta',
                        check=False)
        self.assertIn('InvalidSnapshot.NotFound', err)
        _, still = aws('describe-volumes', '--volume-ids', volume_id)
        self.assertEqual('available', still['Volumes'][0]['State'])

        # Bad input from the CLI is an EC2 error, not a crash.
        code, err = aws('create-volume', '--availability-zone', 'nova',
                        '--snapshot-id', snapshot_id, '--size', '0',
                        check=False)
        self.assertNotEqual(0, code)
        self.assertIn('InvalidParameterValue', err)
        code, err = aws('delete-volume', '--volume-id', 'vol-1',
                        check=False)
        self.assertIn('InvalidVolumeID.Malformed', err)


class CredentialsTest(base.FunctionalTestCase):

    def test_list_and_delete_credentials(self):
        cloud = self.useFixture(base.Cloud())
        listed = base.json.loads(cloud.manage('credentials', 'list',
                                              '--format', 'json'))
        self.assertEqual({'alpha', 'beta'}, {c['project'] for c in listed})
        self.assertNotIn('secret_key', listed[0])
        beta = cloud.credentials['beta']
        ec2 = cloud.client('beta')
        self.assertEqual([], ec2.describe_volumes()['Volumes'])
        cloud.manage('credentials', 'delete', beta['access_key'])
        self.assertEC2Error('AuthFailure', ec2.describe_volumes)
        listed = base.json.loads(cloud.manage('credentials', 'list',
                                              '--project', 'beta',
                                              '--format', 'json'))
        self.assertEqual([], listed)
