"""Keystone verifies the signatures: ``[api] auth_strategy = keystone``.

Each test class starts a private Keystone with ``tools/keystone-server``
(users alpha-member, alpha-reader and beta-member, and ebsboot's service
user) and makes EC2 credentials for its users through Keystone's API, as
``openstack ec2 credentials create`` does. The clients sign with those;
ebsboot asks Keystone.
"""

import base64
import datetime
import hashlib
import hmac
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import urllib.parse
from xml.etree import ElementTree as ET

import boto3
from botocore import auth as botocore_auth
from botocore import awsrequest
import botocore.config
from botocore import credentials as botocore_credentials
from keystoneauth1.identity import v3
from keystoneauth1 import session as ks_session
import requests

from ebsboot.api.ec2 import auth as ec2_auth
from ebsboot.tests.functional import base
from ebsboot.tests.functional import test_glance
from ebsboot.tests.functional import test_instances
from ebsboot.tests.functional import test_qemu

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))
TOOL = os.path.join(TOP, 'tools', 'keystone-server')
USERS = ('alpha-member', 'alpha-reader', 'beta-member')


def keystone_tool(*args):
    return subprocess.run([TOOL] + list(args), capture_output=True,
                          text=True, timeout=900)


class KeystoneMixin:
    """A Keystone per test class and EC2 credentials of its users.

    ``keystone_conf`` is the configuration of a cloud that uses it.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.keystone_dir = tempfile.mkdtemp(prefix='ebsboot-keystone-')
        cls.keystone_port = base.free_port()
        cls.start_keystone()
        ids = cls.identities
        service = ids['service']
        cls.admin = ks_session.Session(auth=v3.Password(
            auth_url=ids['auth_url'], username='admin',
            password=ids['admin']['password'], project_name='admin',
            user_domain_id='default', project_domain_id='default'))
        cls.ec2_credentials = {
            name: cls.make_ec2_credentials(ids['users'][name])
            for name in USERS}
        cls.keystone_conf = (
            '[api]\nauth_strategy = keystone\n'
            '[keystone]\nauth_type = password\nauth_url = %s\n'
            'username = %s\npassword = %s\nproject_name = service\n'
            'user_domain_name = Default\nproject_domain_name = Default\n'
            'timeout = 3\n'
            % (ids['auth_url'], service['name'], service['password']))

    @classmethod
    def start_keystone(cls):
        result = keystone_tool('start', cls.keystone_dir,
                               str(cls.keystone_port))
        if result.returncode != 0:
            keystone_tool('stop', cls.keystone_dir)
            shutil.rmtree(cls.keystone_dir, ignore_errors=True)
            raise AssertionError('Keystone did not start: %s'
                                 % result.stderr[-2000:])
        cls.identities = json.loads(result.stdout)

    @classmethod
    def tearDownClass(cls):
        keystone_tool('stop', cls.keystone_dir)
        shutil.rmtree(cls.keystone_dir, ignore_errors=True)
        super().tearDownClass()

    @classmethod
    def make_ec2_credentials(cls, user):
        """POST /v3/users/{id}/credentials/OS-EC2, as the admin."""
        url = '%s/users/%s/credentials/OS-EC2' % (
            cls.identities['auth_url'], user['id'])
        credential = cls.admin.post(
            url, json={'tenant_id': user['project_id']}).json()['credential']
        return {'access_key': credential['access'],
                'secret_key': credential['secret']}

    def project_id(self, name):
        return self.identities['projects'][name]


def sign_v4(endpoint, access_key, secret_key, body, when=None,
            region='RegionOne'):
    """Headers of a SigV4 POST of ``body`` signed at ``when`` (UTC)."""
    when = when or datetime.datetime.now(datetime.timezone.utc)
    amz_date = when.strftime('%Y%m%dT%H%M%SZ')
    host = urllib.parse.urlsplit(endpoint).netloc
    payload = hashlib.sha256(body.encode()).hexdigest()
    headers = {'content-type': 'application/x-www-form-urlencoded',
               'host': host, 'x-amz-date': amz_date}
    signed = sorted(headers)
    canonical = '\n'.join(
        ['POST', '/', ''] + ['%s:%s' % (h, headers[h]) for h in signed] +
        ['', ';'.join(signed), payload])
    scope = [amz_date[:8], region, 'ec2', 'aws4_request']
    to_sign = '\n'.join(['AWS4-HMAC-SHA256', amz_date, '/'.join(scope),
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = ec2_auth.build_signing_key(secret_key, *scope[:3])
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers['Authorization'] = (
        'AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, '
        'Signature=%s' % (access_key, '/'.join(scope), ';'.join(signed),
                          signature))
    del headers['host']
    return headers


def ec2_error(response):
    """(HTTP status, EC2 error code) of an error answer."""
    root = ET.fromstring(response.content)
    return response.status_code, root.find('.//Error/Code').text


class KeystoneAuthTest(KeystoneMixin, test_glance.GlanceMixin,
                       base.FunctionalTestCase, test_instances.EbsTestMixin):
    """One Keystone, one Glance and one cloud for the class.

    The cloud keeps its images in Glance and has the fake compute driver;
    the tests share it, so each looks only at what it made.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cloud = base.Cloud(extra_conf=cls.cloud_conf + cls.keystone_conf,
                               credentials=cls.ec2_credentials)
        try:
            cls.cloud.setUp()
        except Exception:
            keystone_tool('stop', cls.keystone_dir)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.cloud.cleanUp()
        super().tearDownClass()

    def client(self, user='alpha-member', **kwargs):
        return self.cloud.client(user, **kwargs)

    def post(self, body, access_key=None, secret_key=None, **kwargs):
        cred = self.ec2_credentials['alpha-member']
        headers = sign_v4(self.cloud.endpoint,
                          access_key or cred['access_key'],
                          secret_key or cred['secret_key'], body, **kwargs)
        return requests.post(self.cloud.endpoint + '/', data=body,
                             headers=headers, timeout=30)

    def test_projects_and_roles(self):
        member = self.client('alpha-member')
        reader = self.client('alpha-reader')
        other = self.client('beta-member')
        volume = member.create_volume(AvailabilityZone='nova', Size=1)
        self.addCleanup(member.delete_volume, VolumeId=volume['VolumeId'])
        self.wait_volume(member, volume['VolumeId'])
        snapshot = member.create_snapshot(VolumeId=volume['VolumeId'])
        self.addCleanup(member.delete_snapshot,
                        SnapshotId=snapshot['SnapshotId'])
        snapshot = self.wait_snapshot(member, snapshot['SnapshotId'])
        # The project is Keystone's project id.
        self.assertEqual(self.project_id('alpha'), snapshot['OwnerId'])

        # A reader of the project sees it and may change nothing.
        self.assertIn(volume['VolumeId'], [
            v['VolumeId'] for v in reader.describe_volumes()['Volumes']])
        self.assertIn(snapshot['SnapshotId'], [
            s['SnapshotId'] for s in reader.describe_snapshots(
                OwnerIds=['self'])['Snapshots']])
        before = (member.describe_volumes()['Volumes'],
                  member.describe_snapshots(OwnerIds=['self'])['Snapshots'])
        error = self.assertEC2Error(
            'UnauthorizedOperation', reader.create_volume,
            AvailabilityZone='nova', Size=1)
        self.assertEqual(403, error.response['ResponseMetadata'][
            'HTTPStatusCode'])
        self.assertEC2Error('UnauthorizedOperation', reader.delete_volume,
                            VolumeId=volume['VolumeId'])
        self.assertEC2Error('UnauthorizedOperation', reader.create_snapshot,
                            VolumeId=volume['VolumeId'])
        self.assertEqual(before, (
            member.describe_volumes()['Volumes'],
            member.describe_snapshots(OwnerIds=['self'])['Snapshots']))

        # Another project sees nothing of it.
        self.assertEqual([], other.describe_volumes()['Volumes'])
        self.assertEqual([], other.describe_snapshots(
            OwnerIds=['self'])['Snapshots'])
        self.assertEC2Error('InvalidVolume.NotFound', other.delete_volume,
                            VolumeId=volume['VolumeId'])

    def test_aws_cli_and_signature_versions(self):
        _code, regions = self.cloud.aws('describe-regions',
                                        project='alpha-member')
        self.assertEqual(['RegionOne'],
                         [r['RegionName'] for r in regions['Regions']])
        code, err = self.cloud.aws('create-volume', '--size', '1',
                                   '--availability-zone', 'nova',
                                   project='alpha-reader', check=False)
        self.assertNotEqual(0, code)
        self.assertIn('UnauthorizedOperation', err)

        # A presigned GET (SigV4 in the query string).
        cred = self.ec2_credentials['alpha-member']
        request = awsrequest.AWSRequest(
            method='GET', url=self.cloud.endpoint + '/',
            params={'Action': 'DescribeRegions', 'Version': '2016-11-15'})
        botocore_auth.SigV4QueryAuth(
            botocore_credentials.Credentials(cred['access_key'],
                                             cred['secret_key']),
            'ec2', 'RegionOne', expires=60).add_auth(request)
        response = requests.get(request.prepare().url, timeout=30)
        self.assertEqual(200, response.status_code, response.text)

        # SigV2: HmacSHA256 is verified by Keystone, HmacSHA1 refused.
        for method, expected in (('HmacSHA256', (200, None)),
                                 ('HmacSHA1', (400,
                                               'InvalidParameterValue'))):
            response = requests.get(self.sigv2_url(cred, method), timeout=30)
            got = (response.status_code, None if response.ok
                   else ec2_error(response)[1])
            self.assertEqual(expected, got, response.text)

    def sigv2_url(self, cred, method):
        params = {'Action': 'DescribeRegions', 'Version': '2016-11-15',
                  'AWSAccessKeyId': cred['access_key'],
                  'SignatureVersion': '2', 'SignatureMethod': method,
                  'Timestamp': datetime.datetime.now(
                      datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')}
        query = '&'.join('%s=%s' % (urllib.parse.quote(k, safe='-_.~'),
                                    urllib.parse.quote(v, safe='-_.~'))
                         for k, v in sorted(params.items()))
        host = urllib.parse.urlsplit(self.cloud.endpoint).netloc
        digest = hmac.new(
            cred['secret_key'].encode(),
            '\n'.join(['GET', host, '/', query]).encode(),
            hashlib.sha256 if method == 'HmacSHA256' else hashlib.sha1)
        signature = base64.b64encode(digest.digest()).decode()
        return '%s/?%s&Signature=%s' % (self.cloud.endpoint, query,
                                        urllib.parse.quote(signature,
                                                           safe=''))

    def test_refusals(self):
        body = 'Action=DescribeVolumes&Version=2016-11-15'
        cred = self.ec2_credentials['alpha-member']
        now = datetime.datetime.now(datetime.timezone.utc)
        self.assertEqual(200, self.post(body).status_code)
        cases = [
            ('wrong secret', dict(secret_key='x' * 40),
             (403, 'SignatureDoesNotMatch')),
            ('unknown key', dict(access_key='0' * 32),
             (401, 'AuthFailure')),
            ('expired', dict(when=now - datetime.timedelta(minutes=20)),
             (400, 'RequestExpired')),
            ('future', dict(when=now + datetime.timedelta(minutes=20)),
             (400, 'RequestExpired')),
            ('wrong region', dict(region='RegionTwo'),
             (403, 'SignatureDoesNotMatch')),
        ]
        for what, kwargs, expected in cases:
            self.assertEqual(expected, ec2_error(self.post(body, **kwargs)),
                             what)
        response = self.post(body, access_key='0' * 32)
        self.assertIn('does not exist in our records', response.text)
        # A body changed after signing.
        headers = sign_v4(self.cloud.endpoint, cred['access_key'],
                          cred['secret_key'], body)
        response = requests.post(
            self.cloud.endpoint + '/', headers=headers, timeout=30,
            data=body.replace('DescribeVolumes', 'DescribeSnapshots'))
        self.assertEqual((403, 'SignatureDoesNotMatch'),
                         ec2_error(response))

    def test_disabled_user_refused_at_once(self):
        auth_url = self.identities['auth_url']
        user = self.admin.post(auth_url + '/users', json={'user': {
            'name': 'short-lived', 'domain_id': 'default',
            'password': 'short-lived-secret'}}).json()['user']
        self.addCleanup(self.admin.delete, '%s/users/%s'
                        % (auth_url, user['id']))
        roles = {r['name']: r['id'] for r in self.admin.get(
            auth_url + '/roles').json()['roles']}
        self.admin.put('%s/projects/%s/users/%s/roles/%s' % (
            auth_url, self.project_id('alpha'), user['id'],
            roles['member']))
        cred = self.make_ec2_credentials(
            dict(user, project_id=self.project_id('alpha')))
        ec2 = boto3.client(
            'ec2', endpoint_url=self.cloud.endpoint, region_name='RegionOne',
            aws_access_key_id=cred['access_key'],
            aws_secret_access_key=cred['secret_key'],
            config=botocore.config.Config(retries={'max_attempts': 1}))
        ec2.describe_volumes()
        self.admin.patch('%s/users/%s' % (auth_url, user['id']),
                         json={'user': {'enabled': False}})
        error = self.assertEC2Error('SignatureDoesNotMatch',
                                    ec2.describe_volumes)
        self.assertEqual(403, error.response['ResponseMetadata'][
            'HTTPStatusCode'])

    def test_keystone_down_is_unavailable_then_recovers(self):
        ec2 = self.client()
        ec2.describe_volumes()
        keystone_tool('stop', self.keystone_dir)
        try:
            for _ in range(2):
                try:
                    ec2.describe_volumes()
                except botocore.exceptions.ClientError as e:
                    self.assertEqual(
                        ('Unavailable', 503),
                        (e.response['Error']['Code'],
                         e.response['ResponseMetadata']['HTTPStatusCode']))
                else:
                    self.fail('a request passed without Keystone')
        finally:
            self.start_keystone()
        ec2.describe_volumes()
        self.assertIn('Keystone did not verify', self.cloud.log(tail=0))

    def test_manage_credentials_refers_to_keystone(self):
        error = self.assertRaises(
            subprocess.CalledProcessError, self.cloud.manage,
            'credentials', 'create', '--project', 'alpha')
        self.assertIn('Keystone owns the EC2 credentials', error.stderr)

    def test_image_made_by_nova_in_the_project(self):
        ec2 = self.client()
        volume = ec2.create_volume(AvailabilityZone='nova', Size=1)
        self.addCleanup(ec2.delete_volume, VolumeId=volume['VolumeId'])
        self.wait_volume(ec2, volume['VolumeId'])
        snapshot_id = ec2.create_snapshot(
            VolumeId=volume['VolumeId'])['SnapshotId']
        self.addCleanup(ec2.delete_snapshot, SnapshotId=snapshot_id)
        self.wait_snapshot(ec2, snapshot_id)
        db = sqlite3.connect(os.path.join(self.cloud.state,
                                          'ebsboot.sqlite'))
        with db:
            [(snapshot_uuid,)] = db.execute(
                'SELECT id FROM snapshots WHERE ec2_id = ?', (snapshot_id,))
        db.close()
        # Nova's volume-backed snapshot image, owned by the project id.
        entry = dict.fromkeys(test_glance.NOVA_BDM_FIELDS -
                              {'connection_info'})
        entry.update(source_type='snapshot', destination_type='volume',
                     snapshot_id=snapshot_uuid, boot_index=0,
                     device_name='/dev/vda', volume_size=1,
                     delete_on_termination=True)
        image = self.glance.images.create(
            name='made-by-nova', container_format='bare', disk_format='raw',
            visibility='private', owner=self.project_id('alpha'),
            root_device_name='/dev/vda', bdm_v2='True',
            block_device_mapping=json.dumps([entry]))
        self.addCleanup(self.glance.images.delete, image['id'])
        self.glance.images.upload(image['id'], io.BytesIO(b''),
                                  image_size=0)

        [found] = ec2.describe_images(
            Filters=[{'Name': 'name', 'Values': ['made-by-nova']}])['Images']
        self.assertEqual((self.project_id('alpha'), 'ebs', 'available'),
                         (found['OwnerId'], found['RootDeviceType'],
                          found['State']))
        self.assertIn(found['ImageId'], [
            i['ImageId'] for i in self.client(
                'alpha-reader').describe_images()['Images']])
        self.assertEqual([], self.client(
            'beta-member').describe_images()['Images'])
        instance_id = ec2.run_instances(
            ImageId=found['ImageId'], MinCount=1, MaxCount=1)[
                'Instances'][0]['InstanceId']
        self.wait_state(ec2, instance_id, 'running')
        ec2.terminate_instances(InstanceIds=[instance_id])
        self.wait_state(ec2, instance_id, 'terminated')
        base.wait_for(lambda: [volume['VolumeId']] == [
            v['VolumeId'] for v in ec2.describe_volumes()['Volumes']],
            what='the root volume deleted')


class KeystoneBootFromEbsTest(KeystoneMixin, base.FunctionalTestCase,
                              test_qemu.QemuTestMixin):
    """The boot-from-EBS flow of a member, on a real guest (QEMU)."""

    def setUp(self):
        super().setUp()
        self.useFixture(test_qemu.QemuLock())
        files = test_qemu.demo_guest_files()
        self.cloud = self.useFixture(base.Cloud(
            compute_driver='libvirt', credentials=self.ec2_credentials,
            extra_conf=test_qemu.CONF + self.keystone_conf))
        self.ec2 = self.cloud.client('alpha-member')
        self.addCleanup(self._destroy_leftover_domains)
        self.snapshot_id = json.loads(self.cloud.manage(
            'snapshot', 'import', files.disk, '--project',
            self.project_id('alpha'), '--format', 'json'))['snapshot_id']

    def test_member_boots_from_ebs(self):
        ec2 = self.ec2
        image_id = self.register_demo_guest()
        image = ec2.describe_images(ImageIds=[image_id])['Images'][0]
        self.assertEqual(self.project_id('alpha'), image['OwnerId'])
        instance_id = self.run_one(image_id)
        self.wait_state(ec2, instance_id, 'running', timeout=60)
        self.wait_console(instance_id, 'boot-count=1')
        reservation = self.cloud.client('alpha-reader').describe_instances(
            InstanceIds=[instance_id])['Reservations'][0]
        self.assertEqual(self.project_id('alpha'), reservation['OwnerId'])
        self.assertEqual([], self.cloud.client(
            'beta-member').describe_instances()['Reservations'])
        ec2.terminate_instances(InstanceIds=[instance_id])
        self.wait_state(ec2, instance_id, 'terminated', timeout=90)
        base.wait_for(lambda: not ec2.describe_volumes()['Volumes'],
                      timeout=60, what='root volume deleted')
