"""The image actions on the wire: botocore's requests and parser."""

import datetime
import os
import uuid

import fixtures
from oslo_utils import timeutils

from ebsboot.cloud import ec2ids
from ebsboot.cloud import images as cloud_images
from ebsboot.db import api as db
from ebsboot.tests.unit.api import wire
from ebsboot.tests.unit.image import fakes


class ImageActionsTest(wire.WireTestCase):

    def setUp(self):
        super().setUp()
        self.snapshot = db.snapshot_create(self.context(), {
            'id': str(uuid.uuid4()), 'ec2_id': ec2ids.new_id('snap'),
            'project_id': 'alpha', 'volume_ec2_id': ec2ids.new_id('vol'),
            'volume_size': 3, 'status': 'completed', 'progress': 100})

    def boot_image(self, kind, name=None, project='alpha', **kwargs):
        """Import a kernel (aki) or ramdisk (ari); its EC2 id."""
        path = os.path.join(self.state, name or kind)
        fakes.write(path, fakes.kernel() if kind == 'aki'
                    else fakes.ramdisk())
        return cloud_images.image_ec2_id(cloud_images.import_boot_image(
            self.context(project), kind, path, name or kind + '-image',
            **kwargs))

    def register(self, name='web', **kwargs):
        kwargs.setdefault('BlockDeviceMappings', [
            {'DeviceName': '/dev/sda1',
             'Ebs': {'SnapshotId': self.snapshot.ec2_id}},
            {'DeviceName': '/dev/sdb', 'VirtualName': 'ephemeral0'},
            {'DeviceName': 'sdc', 'NoDevice': ''}])
        return self.ok('RegisterImage', Name=name,
                       RootDeviceName='/dev/sda1', **kwargs)['ImageId']

    def test_register_and_describe(self):
        image_id = self.register(Description='the web server',
                                 Architecture='x86_64', BootMode='uefi',
                                 VirtualizationType='hvm', EnaSupport=True)
        [image] = self.ok('DescribeImages', ImageIds=[image_id])['Images']
        created = image.pop('CreationDate')
        self.assertRegex(created, r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$')
        self.assertEqual({
            'ImageId': image_id, 'ImageLocation': 'alpha/web',
            'State': 'available', 'OwnerId': 'alpha', 'Public': False,
            'Architecture': 'x86_64', 'ImageType': 'machine',
            'PlatformDetails': 'Linux/UNIX', 'UsageOperation': 'RunInstances',
            'Name': 'web', 'Description': 'the web server',
            'RootDeviceType': 'ebs', 'RootDeviceName': '/dev/sda1',
            'BlockDeviceMappings': [
                {'DeviceName': '/dev/sda1',
                 'Ebs': {'SnapshotId': self.snapshot.ec2_id,
                         'VolumeSize': 3, 'DeleteOnTermination': True,
                         'VolumeType': 'gp2', 'Encrypted': False}},
                {'DeviceName': '/dev/sdb', 'VirtualName': 'ephemeral0'},
                {'DeviceName': 'sdc', 'NoDevice': ''}],
            'VirtualizationType': 'hvm', 'Hypervisor': 'xen',
            'BootMode': 'uefi'}, image)

    def test_describe_filters_owners_and_pages(self):
        ids = [self.register('image-%d' % i) for i in range(7)]
        described = self.ok('DescribeImages')['Images']
        self.assertEqual(ids, [i['ImageId'] for i in described])
        for filters, expected in [
                ([{'Name': 'name', 'Values': ['image-[12]']}], ids[1:3]),
                ([{'Name': 'state', 'Values': ['available']},
                  {'Name': 'root-device-type', 'Values': ['ebs']},
                  {'Name': 'is-public', 'Values': ['false']},
                  {'Name': 'architecture', 'Values': ['i386']},
                  {'Name': 'owner-id', 'Values': ['alpha']},
                  {'Name': 'image-type', 'Values': ['machine']},
                  {'Name': 'root-device-name', 'Values': ['/dev/sda1']},
                  {'Name': 'block-device-mapping.device-name',
                   'Values': ['sdc']},
                  {'Name': 'block-device-mapping.snapshot-id',
                   'Values': [self.snapshot.ec2_id]},
                  {'Name': 'block-device-mapping.volume-size',
                   'Values': ['3']},
                  {'Name': 'block-device-mapping.volume-type',
                   'Values': ['gp2']},
                  {'Name': 'block-device-mapping.delete-on-termination',
                   'Values': ['true']}], ids),
                ([{'Name': 'image-id', 'Values': [ids[4]]}], ids[4:5]),
                ([{'Name': 'description', 'Values': ['*']}], []),
                ([{'Name': 'block-device-mapping.volume-size',
                   'Values': ['4']}], [])]:
            found = self.ok('DescribeImages', Filters=filters)['Images']
            self.assertEqual(expected, [i['ImageId'] for i in found])
        first = self.ok('DescribeImages', MaxResults=5)
        self.assertEqual(ids[:5], [i['ImageId'] for i in first['Images']])
        rest = self.ok('DescribeImages', MaxResults=5,
                       NextToken=first['NextToken'])
        self.assertEqual(ids[5:], [i['ImageId'] for i in rest['Images']])
        self.assertNotIn('NextToken', rest)
        self.assertEqual(ids, [i['ImageId'] for i in self.ok(
            'DescribeImages', Owners=['self'])['Images']])
        self.assertEqual([], self.ok('DescribeImages', Owners=['amazon'],
                                     project='beta')['Images'])
        self.error('InvalidParameterValue', 'DescribeImages', MaxResults=4)
        self.error('InvalidParameterValue', 'DescribeImages',
                   Filters=[{'Name': 'bogus', 'Values': ['x']}])
        self.error('InvalidParameterCombination', 'DescribeImages',
                   ImageIds=[ids[0]], MaxResults=5)
        self.error('InvalidAMIID.Malformed', 'DescribeImages',
                   ImageIds=['ami-xyz'])
        self.error('InvalidAMIID.NotFound', 'DescribeImages',
                   ImageIds=[ids[0], 'ami-0123456789abcdef0'])

    def test_register_errors(self):
        root = {'DeviceName': '/dev/sda1',
                'Ebs': {'SnapshotId': self.snapshot.ec2_id}}
        self.register('taken')
        for code, kwargs in [
                ('InvalidAMIName.Malformed', {'Name': 'no'}),
                ('InvalidAMIName.Duplicate', {
                    'Name': 'taken', 'RootDeviceName': '/dev/sda1',
                    'BlockDeviceMappings': [root]}),
                ('MissingParameter', {'RootDeviceName': '/dev/sda1',
                                      'BlockDeviceMappings': [root]}),
                ('InvalidParameterCombination', {
                    'Name': 'no-root', 'BlockDeviceMappings': [root]}),
                ('UnsupportedOperation', {
                    'Name': 's3-image',
                    'ImageLocation': 'bucket/image.manifest.xml'}),
                ('InvalidBlockDeviceMapping', {
                    'Name': 'other-root', 'RootDeviceName': '/dev/xvda',
                    'BlockDeviceMappings': [root]}),
                ('InvalidBlockDeviceMapping', {
                    'Name': 'small', 'RootDeviceName': '/dev/sda1',
                    'BlockDeviceMappings': [
                        {'DeviceName': '/dev/sda1',
                         'Ebs': {'SnapshotId': self.snapshot.ec2_id,
                                 'VolumeSize': 2}}]}),
                ('InvalidBlockDeviceMapping', {
                    'Name': 'twice', 'RootDeviceName': '/dev/sda1',
                    'BlockDeviceMappings': [
                        root, {'DeviceName': 'sda1', 'NoDevice': ''}]}),
                ('InvalidSnapshot.NotFound', {
                    'Name': 'ghost', 'RootDeviceName': '/dev/sda1',
                    'BlockDeviceMappings': [
                        {'DeviceName': '/dev/sda1',
                         'Ebs': {'SnapshotId': 'snap-0123456789abcdef0'}}]}),
                ('InvalidParameterValue', {
                    'Name': 'pv', 'VirtualizationType': 'paravirtual',
                    'RootDeviceName': '/dev/sda1',
                    'BlockDeviceMappings': [root]}),
                ('UnsupportedOperation', {
                    'Name': 'tpm', 'TpmSupport': 'v2.0',
                    'RootDeviceName': '/dev/sda1',
                    'BlockDeviceMappings': [root]})]:
            self.error(code, 'RegisterImage', **kwargs)
        self.assertEqual(1, len(self.ok('DescribeImages')['Images']))

    def test_attributes(self):
        kernel_id = self.boot_image('aki')
        image_id = self.register(KernelId=kernel_id)
        for attribute, key, expected in [
                ('description', 'Description', {}),
                ('kernel', 'KernelId', {'Value': kernel_id}),
                ('ramdisk', 'RamdiskId', {}),
                ('launchPermission', 'LaunchPermissions', []),
                ('productCodes', 'ProductCodes', []),
                ('bootMode', 'BootMode', {}),
                ('sriovNetSupport', 'SriovNetSupport', {})]:
            answer = self.ok('DescribeImageAttribute', ImageId=image_id,
                             Attribute=attribute)
            self.assertEqual(image_id, answer['ImageId'])
            self.assertEqual(expected, answer.get(key, expected), attribute)
        mappings = self.ok('DescribeImageAttribute', ImageId=image_id,
                           Attribute='blockDeviceMapping')
        # As RegisterImage named them.
        self.assertEqual(['/dev/sda1', '/dev/sdb', 'sdc'], [
            m['DeviceName'] for m in mappings['BlockDeviceMappings']])
        self.error('InvalidRequest', 'DescribeImageAttribute',
                   ImageId=image_id, Attribute='color')
        self.ok('DescribeImageAttribute', ImageId=image_id,
                Attribute='ramdisk')
        self.assertNotIn(b'<ramdisk', self.last_body)
        self.ok('DescribeImageAttribute', ImageId=image_id,
                Attribute='kernel')
        self.assertIn(b'<kernel><value>%s</value></kernel>'
                      % kernel_id.encode(), self.last_body)

        self.ok('ModifyImageAttribute', ImageId=image_id,
                Description={'Value': 'first'})
        self.ok('ModifyImageAttribute', ImageId=image_id,
                Attribute='description', Value='second')
        self.assertEqual({'Value': 'second'}, self.ok(
            'DescribeImageAttribute', ImageId=image_id,
            Attribute='description')['Description'])

        self.ok('ModifyImageAttribute', ImageId=image_id,
                LaunchPermission={'Add': [{'UserId': 'beta'},
                                          {'Group': 'all'}]})
        self.assertEqual([{'Group': 'all'}, {'UserId': 'beta'}], self.ok(
            'DescribeImageAttribute', ImageId=image_id,
            Attribute='launchPermission')['LaunchPermissions'])
        self.ok('ModifyImageAttribute', ImageId=image_id,
                OperationType='remove', UserGroups=['all'],
                Attribute='launchPermission')
        [shared] = self.ok('DescribeImages', project='beta')['Images']
        self.assertFalse(shared['Public'])
        self.ok('ModifyImageAttribute', ImageId=image_id,
                OperationType='remove', UserIds=['beta'])
        self.assertEqual([], self.ok('DescribeImages',
                                     project='beta')['Images'])

        for code, kwargs in [
                ('MissingParameter', {}),
                ('InvalidParameterCombination', {
                    'Description': {'Value': 'x'},
                    'LaunchPermission': {'Add': [{'Group': 'all'}]}}),
                ('InvalidParameterValue', {
                    'LaunchPermission': {'Add': [{'Group': 'everyone'}]}}),
                ('MissingParameter', {'Attribute': 'launchPermission',
                                      'UserIds': ['beta']}),
                ('InvalidParameterValue', {'OperationType': 'add',
                                           'UserIds': ['beta'],
                                           'Attribute': 'kernel'}),
                ('UnsupportedOperation', {'ProductCodes': ['abc']})]:
            self.error(code, 'ModifyImageAttribute', ImageId=image_id,
                       **kwargs)

    def test_other_projects(self):
        image_id = self.register()
        self.error('InvalidAMIID.NotFound', 'DescribeImageAttribute',
                   ImageId=image_id, Attribute='description', project='beta')
        self.ok('ModifyImageAttribute', ImageId=image_id,
                Attribute='launchPermission', OperationType='add',
                UserGroups=['all'])
        [public] = self.ok('DescribeImages', project='beta')['Images']
        self.assertTrue(public['Public'])
        self.ok('DescribeImageAttribute', ImageId=image_id,
                Attribute='description', project='beta')
        for action, kwargs in [
                ('DescribeImageAttribute', {'Attribute': 'launchPermission'}),
                ('ModifyImageAttribute', {'Description': {'Value': 'x'}}),
                ('DeregisterImage', {})]:
            message = self.error('AuthFailure', action, ImageId=image_id,
                                 project='beta', **kwargs)
            self.assertEqual('Not authorized for image:%s' % image_id,
                             message)

    def test_deregister(self):
        image_id = self.register()
        answer = self.ok('DeregisterImage', ImageId=image_id)
        self.assertTrue(answer['Return'])
        self.assertNotIn('DeleteSnapshotResults', answer)
        self.error('InvalidAMIID.NotFound', 'DeregisterImage',
                   ImageId='ami-0123456789abcdef0')
        self.error('InvalidAMIID.Malformed', 'DeregisterImage',
                   ImageId='i-0123456789abcdef0')

    def test_deregistered_image_stays_visible_a_while(self):
        self.config.config(deregistered_visible_seconds=60, group='image')
        image_id = self.register()
        self.ok('CreateTags', Resources=[image_id],
                Tags=[{'Key': 'k', 'Value': 'v'}])
        self.ok('DeregisterImage', ImageId=image_id)
        now = timeutils.utcnow()
        self.useFixture(fixtures.MonkeyPatch(
            'oslo_utils.timeutils.utcnow',
            lambda *args, **kwargs: now + datetime.timedelta(seconds=59)))
        for kwargs in ({}, {'ImageIds': [image_id]},
                       {'Filters': [{'Name': 'state',
                                     'Values': ['deregistered']}]}):
            [image] = self.ok('DescribeImages', **kwargs)['Images']
            self.assertEqual((image_id, 'deregistered'),
                             (image['ImageId'], image['State']))
            self.assertNotIn('Tags', image)
        self.assertEqual([], self.ok('DescribeImages', Filters=[
            {'Name': 'state', 'Values': ['available']}])['Images'])
        self.error('InvalidAMIID.Unavailable', 'DeregisterImage',
                   ImageId=image_id)
        self.error('InvalidAMIID.Unavailable', 'ModifyImageAttribute',
                   ImageId=image_id, Description={'Value': 'x'})
        # Its name is free again.
        self.register()
        self.useFixture(fixtures.MonkeyPatch(
            'oslo_utils.timeutils.utcnow',
            lambda *args, **kwargs: now + datetime.timedelta(seconds=61)))
        self.assertNotIn(image_id, [
            image['ImageId']
            for image in self.ok('DescribeImages')['Images']])
        self.error('InvalidAMIID.NotFound', 'DescribeImages',
                   ImageIds=[image_id])
        self.error('InvalidAMIID.NotFound', 'DeregisterImage',
                   ImageId=image_id)

    def test_upkeep_purges_deregistered_images_and_orphan_tags(self):
        """The periodic job, with no listing of images in between."""
        self.config.config(deregistered_visible_seconds=60, group='image')
        gone_id, kept_id, deleted_id = (self.register('image-%d' % i)
                                        for i in range(3))
        self.ok('CreateTags', Resources=[kept_id, deleted_id],
                Tags=[{'Key': 'k', 'Value': 'v'}])
        self.ok('DeregisterImage', ImageId=gone_id)
        # Deleted behind ebsboot's back (in Glance, say).
        backend = cloud_images.get_backend()
        [raw] = backend.list(self.context(), filters={'ec2_id': deleted_id})
        backend.delete(self.context(), raw['id'])
        backend_ids = lambda: {  # noqa: E731
            cloud_images.image_ec2_id(i)
            for i in backend.list(self.context())}
        cloud_images.upkeep()
        self.assertEqual({gone_id, kept_id}, backend_ids())
        self.assertEqual({kept_id}, {
            row.resource_id for row in db.tag_rows(self.context())})
        now = timeutils.utcnow()
        self.useFixture(fixtures.MonkeyPatch(
            'oslo_utils.timeutils.utcnow',
            lambda *args, **kwargs: now + datetime.timedelta(seconds=61)))
        cloud_images.upkeep()
        self.assertEqual({kept_id}, backend_ids())
        self.assertEqual([kept_id], [
            image['ImageId'] for image in self.ok('DescribeImages')[
                'Images']])

    def test_deregistered_image_removed_at_once(self):
        self.config.config(deregistered_visible_seconds=0, group='image')
        image_id = self.register()
        self.ok('DeregisterImage', ImageId=image_id)
        self.assertEqual([], self.ok('DescribeImages')['Images'])
        self.error('InvalidAMIID.NotFound', 'DeregisterImage',
                   ImageId=image_id)
        self.error('InvalidAMIID.Malformed', 'DeregisterImage',
                   ImageId='i-0123456789abcdef0')

    def test_kernel_and_ramdisk_images(self):
        # Removed at once, not kept visible a while.
        self.config.config(deregistered_visible_seconds=0, group='image')
        kernel_id = self.boot_image('aki', name='vmlinuz',
                                    description='a kernel')
        ramdisk_id = self.boot_image('ari', name='initrd', public=True)
        [kernel] = self.ok('DescribeImages', ImageIds=[kernel_id])['Images']
        kernel.pop('CreationDate')
        # As AWS shows its AKIs: no root device, mappings or boot mode.
        self.assertEqual({
            'ImageId': kernel_id, 'ImageLocation': 'alpha/vmlinuz',
            'State': 'available', 'OwnerId': 'alpha', 'Public': False,
            'Architecture': 'x86_64', 'ImageType': 'kernel',
            'PlatformDetails': 'Linux/UNIX', 'UsageOperation': 'RunInstances',
            'Name': 'vmlinuz', 'Description': 'a kernel',
            'RootDeviceType': 'instance-store', 'BlockDeviceMappings': [],
            'VirtualizationType': 'paravirtual', 'Hypervisor': 'xen'},
            kernel)
        machine_id = self.register(KernelId=kernel_id, RamdiskId=ramdisk_id)
        described = self.ok('DescribeImages')['Images']
        self.assertEqual(
            [(kernel_id, 'kernel'), (ramdisk_id, 'ramdisk'),
             (machine_id, 'machine')],
            [(i['ImageId'], i['ImageType']) for i in described])
        self.assertEqual((kernel_id, ramdisk_id),
                         (described[2]['KernelId'], described[2]['RamdiskId']))
        for filters, expected in [
                ([{'Name': 'image-type', 'Values': ['kernel', 'ramdisk']}],
                 [kernel_id, ramdisk_id]),
                ([{'Name': 'virtualization-type', 'Values': ['hvm']}],
                 [machine_id]),
                ([{'Name': 'kernel-id', 'Values': [kernel_id]}],
                 [machine_id]),
                ([{'Name': 'root-device-type',
                   'Values': ['instance-store']}], [kernel_id, ramdisk_id])]:
            self.assertEqual(expected, [i['ImageId'] for i in self.ok(
                'DescribeImages', Filters=filters)['Images']])
        self.assertEqual([ramdisk_id], [i['ImageId'] for i in self.ok(
            'DescribeImages', project='beta')['Images']])
        self.assertEqual({'Value': 'a kernel'}, self.ok(
            'DescribeImageAttribute', ImageId=kernel_id,
            Attribute='description')['Description'])
        self.assertEqual([{'Group': 'all'}], self.ok(
            'DescribeImageAttribute', ImageId=ramdisk_id,
            Attribute='launchPermission')['LaunchPermissions'])
        self.ok('ModifyImageAttribute', ImageId=kernel_id,
                LaunchPermission={'Add': [{'UserId': 'beta'}]})
        self.assertEqual(2, len(self.ok('DescribeImages',
                                        project='beta')['Images']))

        self.assertTrue(self.ok('DeregisterImage',
                                ImageId=kernel_id)['Return'])
        self.error('InvalidAMIID.NotFound', 'DeregisterImage',
                   ImageId=kernel_id)
        self.error('InvalidAMIID.NotFound', 'DescribeImages',
                   ImageIds=[kernel_id])
        self.error('InvalidAMIID.Malformed', 'DescribeImages',
                   ImageIds=['eki-0123456789abcdef0'])
        # The machine image still names it; launching it fails.
        [machine] = self.ok('DescribeImages', ImageIds=[machine_id])['Images']
        self.assertEqual(kernel_id, machine['KernelId'])

    def test_register_with_bad_kernel_or_ramdisk(self):
        kernel_id = self.boot_image('aki')
        ramdisk_id = self.boot_image('ari')
        machine_id = self.register('machine')
        others = self.boot_image('aki', name='other', project='beta')
        for code, kwargs in [
                ('InvalidAMIID.NotFound', {'KernelId': 'aki-01234567'}),
                ('InvalidAMIID.NotFound', {'KernelId': others}),
                ('InvalidAMIID.NotFound', {
                    'KernelId': kernel_id,
                    'RamdiskId': 'ari-0123456789abcdef0'}),
                ('InvalidKernelId.Malformed', {'KernelId': ramdisk_id}),
                ('InvalidKernelId.Malformed', {'KernelId': 'vmlinuz'}),
                ('InvalidRamDiskId.Malformed', {'RamdiskId': kernel_id}),
                ('InvalidParameterValue', {'KernelId': machine_id}),
                ('InvalidParameterValue', {'RamdiskId': machine_id})]:
            self.error(code, 'RegisterImage', Name='bad', **dict(
                kwargs, RootDeviceName='/dev/sda1', BlockDeviceMappings=[
                    {'DeviceName': '/dev/sda1',
                     'Ebs': {'SnapshotId': self.snapshot.ec2_id}}]))
        self.assertEqual([kernel_id, ramdisk_id, machine_id], [
            i['ImageId'] for i in self.ok('DescribeImages')['Images']])
