"""EBS images in a real Glance: ``[image] backend = glance``.

Each test class starts a private Glance (SQLite, file store, no keystone)
with ``tools/glance-server`` on a free port; its images are deleted after
each test. The classes skip when the tool cannot make Glance's
virtualenv (no network to PyPI); any other failure to start Glance fails
them.
"""

import io
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from glanceclient import client as glance_client
from keystoneauth1 import noauth
from keystoneauth1 import session as ks_session

from ebsboot.image.backends import glance as glance_backend
from ebsboot.tests.functional import base
from ebsboot.tests.functional import test_images
from ebsboot.tests.functional import test_instances

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))
TOOL = os.path.join(TOP, 'tools', 'glance-server')
NO_VENV = 3    # tools/glance-server: the virtualenv cannot be made

# Nova's bdm_v2 fields (nova/block_device.py bdm_new_fields).
NOVA_BDM_FIELDS = frozenset((
    'source_type', 'destination_type', 'guest_format', 'device_type',
    'disk_bus', 'boot_index', 'device_name', 'delete_on_termination',
    'snapshot_id', 'volume_id', 'volume_size', 'image_id', 'no_device',
    'connection_info', 'tag', 'volume_type', 'encrypted',
    'encryption_secret_uuid', 'encryption_format', 'encryption_options'))


def glance_tool(*args):
    return subprocess.run([TOOL] + list(args), capture_output=True,
                          text=True, timeout=540)


class GlanceMixin:
    """A Glance per test class, and a cloud that keeps its images there."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.glance_dir = tempfile.mkdtemp(prefix='ebsboot-glance-')
        cls.glance_port = base.free_port()
        cls.glance_url = 'http://127.0.0.1:%d' % cls.glance_port
        result = glance_tool('start', cls.glance_dir, str(cls.glance_port))
        if result.returncode != 0:
            shutil.rmtree(cls.glance_dir, ignore_errors=True)
            if result.returncode == NO_VENV:
                raise unittest.SkipTest(
                    'tools/glance-server could not create the Glance '
                    'virtualenv: %s' % result.stderr[-500:])
            raise AssertionError('Glance did not start: %s'
                                 % result.stderr[-2000:])
        cls.cloud_conf = (
            '[image]\nbackend = glance\n'
            '[glance]\nauth_type = none\nendpoint_override = %s\n'
            % cls.glance_url)

    @classmethod
    def tearDownClass(cls):
        glance_tool('stop', cls.glance_dir)
        shutil.rmtree(cls.glance_dir, ignore_errors=True)
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.glance = glance_client.Client(
            '2', session=ks_session.Session(auth=noauth.NoAuth()),
            endpoint_override=self.glance_url)
        self.addCleanup(self.empty_glance)

    def empty_glance(self):
        for image in list(self.glance.images.list()):
            self.glance.images.delete(image['id'])

    def glance_images(self):
        return list(self.glance.images.list())

    def stored_image(self):
        """The only image, as Glance holds it (see test_images)."""
        [image] = self.glance_images()
        properties = {k: v for k, v in image.items()
                      if k not in glance_backend.CORE_ATTRIBUTES}
        return (image['name'], image['owner'], image['status'],
                image['visibility'], image['disk_format'],
                image['container_format'], image['size'],
                image['min_disk'], properties)

    def assertUnavailable(self, func, *args, **kwargs):
        try:
            func(*args, **kwargs)
        except base.boto3.exceptions.botocore.exceptions.ClientError as e:
            self.assertEqual(('Unavailable', 503),
                             (e.response['Error']['Code'],
                              e.response['ResponseMetadata'][
                                  'HTTPStatusCode']))
            self.assertNotIn('Traceback', e.response['Error']['Message'])
            return e
        self.fail('%s did not fail with Unavailable' % func)


# The image scenarios of test_images, with the images in Glance.

class GlanceRegisterDescribeTest(GlanceMixin,
                                 test_images.RegisterDescribeTest):
    pass


class GlanceSharingTest(GlanceMixin, test_images.SharingTest):
    pass


class GlanceSnapshotUseTest(GlanceMixin, test_images.SnapshotUseTest):
    pass


class GlanceImageTest(GlanceMixin, test_images.ImageTestBase,
                      test_instances.EbsTestMixin):

    def snapshot_uuid(self, snapshot_id):
        [(uuid,)] = self.query('SELECT id FROM snapshots WHERE ec2_id = ?',
                               snapshot_id)
        return uuid

    def test_glance_record_is_novas_placeholder(self):
        snapshot_id = self.snapshot(size=1)
        image_id = self.register(
            'nova-format', snapshot_id,
            {'DeviceName': '/dev/sdb',
             'Ebs': {'VolumeSize': 2, 'DeleteOnTermination': False}},
            Architecture='x86_64')
        [image] = self.glance_images()
        image = self.glance.images.get(image['id'])
        self.assertEqual(
            ('nova-format', 'alpha', 'active', 0, 'raw', 'bare',
             'private', 1, 0, False),
            (image['name'], image['owner'], image['status'], image['size'],
             image['disk_format'], image['container_format'],
             image['visibility'], image['min_disk'], image['min_ram'],
             image['protected']))
        properties = {k: v for k, v in image.items()
                      if k not in glance_backend.CORE_ATTRIBUTES}
        self.assertEqual(
            {'ec2_id', 'root_device_name', 'bdm_v2',
             'block_device_mapping', 'architecture'}, set(properties))
        self.assertTrue(all(isinstance(v, str) for v in properties.values()))
        self.assertEqual(
            (image_id, '/dev/sda1', 'True', 'x86_64'),
            (properties['ec2_id'], properties['root_device_name'],
             properties['bdm_v2'], properties['architecture']))
        mapping = json.loads(properties['block_device_mapping'])
        for entry in mapping:
            self.assertLessEqual(set(entry), NOVA_BDM_FIELDS)
        [root] = [e for e in mapping if e['boot_index'] == 0]
        self.assertEqual(
            ('snapshot', 'volume', self.snapshot_uuid(snapshot_id),
             '/dev/sda1', 1, True, 'disk'),
            (root['source_type'], root['destination_type'],
             root['snapshot_id'], root['device_name'], root['volume_size'],
             root['delete_on_termination'], root['device_type']))
        [data] = [e for e in mapping if e['boot_index'] != 0]
        self.assertEqual(('blank', 'volume', -1, '/dev/sdb', 2, False),
                         (data['source_type'], data['destination_type'],
                          data['boot_index'], data['device_name'],
                          data['volume_size'],
                          data['delete_on_termination']))
        # The EC2 id is the same one Glance stores, and stays.
        self.assertEqual([image_id], [
            i['ImageId'] for i in self.ec2.describe_images()['Images']])

        # A launch permission is a member that has accepted the image.
        self.ec2.modify_image_attribute(
            ImageId=image_id,
            LaunchPermission={'Add': [{'UserId': 'beta'}]})
        self.assertEqual('shared',
                         self.glance.images.get(image['id'])['visibility'])
        self.assertEqual([('beta', 'accepted')], [
            (m['member_id'], m['status'])
            for m in self.glance.image_members.list(image['id'])])
        # Public, then back to beta alone: Glance keeps no members of
        # public images, ebsboot keeps them.
        self.ec2.modify_image_attribute(
            ImageId=image_id, Attribute='launchPermission',
            OperationType='add', UserGroups=['all'])
        self.assertEqual('public',
                         self.glance.images.get(image['id'])['visibility'])
        self.ec2.modify_image_attribute(
            ImageId=image_id, Attribute='launchPermission',
            OperationType='remove', UserGroups=['all'])
        attribute = self.ec2.describe_image_attribute(
            ImageId=image_id, Attribute='launchPermission')
        self.assertEqual([{'UserId': 'beta'}],
                         attribute['LaunchPermissions'])
        self.assertEqual('shared',
                         self.glance.images.get(image['id'])['visibility'])

        self.ec2.deregister_image(ImageId=image_id)
        # Kept (deregistered) for [image] deregistered_visible_seconds.
        self.assertEqual(['deregistered'], [
            i['ec2_state'] for i in self.glance_images()])

    def nova_image(self, snapshot_id, **extra):
        """A volume-backed snapshot image made the way Nova makes them."""
        entry = dict.fromkeys(NOVA_BDM_FIELDS - {'connection_info'})
        entry.update(source_type='snapshot', destination_type='volume',
                     snapshot_id=self.snapshot_uuid(snapshot_id),
                     boot_index=0, device_name='/dev/vda', volume_size=1,
                     delete_on_termination=True, device_type='disk',
                     disk_bus='virtio')
        image = self.glance.images.create(
            name='made-by-nova', container_format='bare', disk_format='raw',
            visibility='private', owner='alpha', min_disk=1, min_ram=0,
            root_device_name='/dev/vda', bdm_v2='True',
            block_device_mapping=json.dumps([entry]), os_distro='cirros',
            hw_disk_bus='virtio', **extra)
        self.glance.images.upload(image['id'], io.BytesIO(b''),
                                  image_size=0)
        return image['id']

    def test_images_made_outside_ebsboot(self):
        snapshot_id = self.snapshot(size=1)
        glance_id = self.nova_image(snapshot_id)
        # An image without a root mapping (a plain disk image).
        plain = self.glance.images.create(
            name='plain-disk', container_format='bare', disk_format='raw',
            visibility='private', owner='alpha')
        self.glance.images.upload(plain['id'], io.BytesIO(b'\0' * 512),
                                  image_size=512)

        images = {i['Name']: i for i in self.ec2.describe_images()['Images']}
        self.assertEqual({'made-by-nova', 'plain-disk'}, set(images))
        nova = images['made-by-nova']
        self.assertRegex(nova['ImageId'], r'^ami-[0-9a-f]{17}$')
        self.assertEqual(
            ('available', 'ebs', '/dev/vda', 'alpha', False),
            (nova['State'], nova['RootDeviceType'], nova['RootDeviceName'],
             nova['OwnerId'], nova['Public']))
        [mapping] = nova['BlockDeviceMappings']
        self.assertEqual(('/dev/vda', snapshot_id, 1, True),
                         (mapping['DeviceName'],
                          mapping['Ebs']['SnapshotId'],
                          mapping['Ebs']['VolumeSize'],
                          mapping['Ebs']['DeleteOnTermination']))
        self.assertEqual('instance-store',
                         images['plain-disk']['RootDeviceType'])
        # The ids are stable, and Glance's images are left as they were.
        self.assertEqual(
            [nova['ImageId']], [i['ImageId'] for i in self.ec2.describe_images(
                ImageIds=[nova['ImageId']])['Images']])
        self.assertNotIn('ec2_id', self.glance.images.get(glance_id))
        self.assertEqual([], self.cloud.client('beta').describe_images()[
            'Images'])

        instance_id = self.ec2.run_instances(
            ImageId=nova['ImageId'], MinCount=1, MaxCount=1)[
                'Instances'][0]['InstanceId']
        running = self.wait_state(self.ec2, instance_id, 'running')
        self.assertEqual((nova['ImageId'], '/dev/vda', 'ebs'),
                         (running['ImageId'], running['RootDeviceName'],
                          running['RootDeviceType']))
        self.assertEC2Error('UnsupportedOperation', self.ec2.run_instances,
                            ImageId=images['plain-disk']['ImageId'],
                            MinCount=1, MaxCount=1)

        # Nova copies the properties of the image a server booted from into
        # its snapshots, ec2_id included: the copy gets an id of its own.
        copy_id = self.nova_image(snapshot_id, ec2_id=nova['ImageId'])
        self.glance.images.update(copy_id, name='copied-ec2-id')
        ids = {i['Name']: i['ImageId']
               for i in self.ec2.describe_images()['Images']}
        self.assertEqual(nova['ImageId'], ids['made-by-nova'])
        self.assertNotEqual(nova['ImageId'], ids['copied-ec2-id'])
        self.ec2.terminate_instances(InstanceIds=[instance_id])
        self.wait_state(self.ec2, instance_id, 'terminated')
        self.assertNotIn('Traceback', self.cloud.log())

    def test_create_image_of_an_instance(self):
        ec2 = self.ec2
        image_id, _snapshot = self._image(ec2)
        instance_id = ec2.run_instances(
            ImageId=image_id, MinCount=1, MaxCount=1)['Instances'][0][
                'InstanceId']
        self.wait_state(ec2, instance_id, 'running')
        made = ec2.create_image(InstanceId=instance_id, Name='made',
                                NoReboot=True)['ImageId']
        base.wait_for(lambda: ec2.describe_images(ImageIds=[made])[
            'Images'][0]['State'] == 'available', what='image available')
        [record] = [i for i in self.glance_images() if i['name'] == 'made']
        self.assertEqual((made, 'active', 0),
                         (record['ec2_id'], record['status'],
                          record['size']))
        self.assertNotIn('ec2_state', record)
        child = ec2.run_instances(ImageId=made, MinCount=1, MaxCount=1)[
            'Instances'][0]['InstanceId']
        self.wait_state(ec2, child, 'running')
        ec2.terminate_instances(InstanceIds=[instance_id, child])
        for instance in (instance_id, child):
            self.wait_state(ec2, instance, 'terminated')


class GlanceUnavailableTest(GlanceMixin, test_images.ImageTestBase):

    def test_failed_upload_leaves_no_image(self):
        snapshot_id = self.snapshot()
        # The file store cannot write: the zero-byte upload fails (500).
        store = os.path.join(self.glance_dir, 'images')
        os.rename(store, store + '.off')
        open(store, 'w').close()
        try:
            self.assertUnavailable(self.register, 'no-upload', snapshot_id)
            self.assertEqual([], self.glance_images())
        finally:
            os.remove(store)
            os.rename(store + '.off', store)
        self.register('uploaded', snapshot_id)
        self.assertEqual(['uploaded'], [
            i['Name'] for i in self.ec2.describe_images()['Images']])

    def test_glance_stopped(self):
        snapshot_id = self.snapshot()
        image_id = self.register('before', snapshot_id)
        self.assertEqual(0, glance_tool('stop', self.glance_dir).returncode)
        try:
            self.assertUnavailable(self.register, 'while-down', snapshot_id)
            self.assertUnavailable(self.ec2.describe_images)
            self.assertUnavailable(self.ec2.run_instances, ImageId=image_id,
                                   MinCount=1, MaxCount=1)
            self.assertUnavailable(self.ec2.deregister_image,
                                   ImageId=image_id)
        finally:
            result = glance_tool('start', self.glance_dir,
                                 str(self.glance_port))
            self.assertEqual(0, result.returncode, result.stderr)
        self.assertEqual(['before'], [i['name'] for i in self.glance_images()])
        self.assertEqual([image_id], [
            i['ImageId'] for i in self.ec2.describe_images()['Images']])
        self.assertEqual([], self.ec2.describe_instances()['Reservations'])
        self.assertNotIn('Traceback', self.cloud.log())
