"""EBS images through the EC2 API of a running all-in-one."""

import gzip
import json
import os
import sqlite3
import struct
import subprocess

from ebsboot.tests.functional import base
from ebsboot.tests.functional import test_instances


class ImageTestBase(base.FunctionalTestCase):

    # Extra configuration of the cloud (test_glance: the Glance backend).
    cloud_conf = ''

    def setUp(self):
        super().setUp()
        self.cloud = self.useFixture(base.Cloud(extra_conf=self.cloud_conf))
        self.ec2 = self.cloud.client()

    def snapshot(self, size=1, ec2=None):
        ec2 = ec2 or self.ec2
        volume = ec2.create_volume(AvailabilityZone='nova', Size=size)
        self.wait_volume(ec2, volume['VolumeId'])
        snapshot = ec2.create_snapshot(VolumeId=volume['VolumeId'])
        return self.wait_snapshot(ec2, snapshot['SnapshotId'])['SnapshotId']

    def register(self, name, snapshot_id, *extra, ec2=None, **kwargs):
        ec2 = ec2 or self.ec2
        mappings = [{'DeviceName': '/dev/sda1',
                     'Ebs': {'SnapshotId': snapshot_id}}] + list(extra)
        return ec2.register_image(Name=name, RootDeviceName='/dev/sda1',
                                  BlockDeviceMappings=mappings,
                                  **kwargs)['ImageId']

    def query(self, sql, *args):
        """Rows of the all-in-one's SQLite database."""
        path = os.path.join(self.cloud.state, 'ebsboot.sqlite')
        with sqlite3.connect(path) as connection:
            return connection.execute(sql, args).fetchall()

    def stored_image(self):
        """The only stored image, as Glance would hold it.

        ``(name, owner, status, visibility, disk_format, container_format,
        size, min_disk, properties)``, the properties as a dict.
        """
        [row] = self.query(
            'SELECT name, owner, status, visibility, disk_format, '
            'container_format, size, min_disk, properties FROM images')
        return row[:-1] + (json.loads(row[-1]),)


class RegisterDescribeTest(ImageTestBase):

    def test_register_describe_and_nova_record(self):
        snapshot_id = self.snapshot(size=1)
        image_id = self.register(
            'ebs-ami-root', snapshot_id,
            {'DeviceName': '/dev/sdb', 'VirtualName': 'ephemeral0'},
            {'DeviceName': 'sdc', 'NoDevice': ''},
            {'DeviceName': '/dev/sdd',
             'Ebs': {'VolumeSize': 2, 'DeleteOnTermination': False,
                     'VolumeType': 'gp3'}},
            Description='root from a snapshot', Architecture='x86_64')
        self.assertRegex(image_id, r'^ami-[0-9a-f]{17}$')

        [image] = self.ec2.describe_images(ImageIds=[image_id])['Images']
        self.assertEqual(
            ('available', 'ebs-ami-root', 'root from a snapshot', 'ebs',
             '/dev/sda1', 'x86_64', 'machine', 'hvm', False, 'alpha',
             'alpha/ebs-ami-root'),
            (image['State'], image['Name'], image['Description'],
             image['RootDeviceType'], image['RootDeviceName'],
             image['Architecture'], image['ImageType'],
             image['VirtualizationType'], image['Public'], image['OwnerId'],
             image['ImageLocation']))
        self.assertEqual([
            {'DeviceName': '/dev/sda1',
             'Ebs': {'SnapshotId': snapshot_id, 'VolumeSize': 1,
                     'DeleteOnTermination': True, 'VolumeType': 'gp2',
                     'Encrypted': False}},
            {'DeviceName': '/dev/sdb', 'VirtualName': 'ephemeral0'},
            {'DeviceName': 'sdc', 'NoDevice': ''},  # as given
            {'DeviceName': '/dev/sdd',
             'Ebs': {'VolumeSize': 2, 'DeleteOnTermination': False,
                     'VolumeType': 'gp3', 'Encrypted': False}},
        ], image['BlockDeviceMappings'])
        self.assertEqual(image, self.ec2.describe_images(
            Filters=[{'Name': 'block-device-mapping.snapshot-id',
                      'Values': [snapshot_id]}])['Images'][0])

        # The stored record is Nova's placeholder for a volume-backed
        # snapshot, field by field.
        [(snapshot_uuid,)] = self.query(
            'SELECT id FROM snapshots WHERE ec2_id = ?', snapshot_id)
        (name, owner, status, visibility, disk_format, container_format,
         size, min_disk, properties) = self.stored_image()
        self.assertEqual(('ebs-ami-root', 'alpha', 'active', 'private',
                          'raw', 'bare', 0, 1),
                         (name, owner, status, visibility, disk_format,
                          container_format, size, min_disk))
        self.assertTrue(all(isinstance(v, str) for v in properties.values()))
        self.assertEqual(('True', '/dev/sda1', image_id),
                         (properties['bdm_v2'],
                          properties['root_device_name'],
                          properties['ec2_id']))
        self.assertNotIn('kernel_id', properties)
        self.assertEqual([{'virtual': 'ephemeral0', 'device': 'sdb'}],
                         json.loads(properties['mappings']))
        mapping = json.loads(properties['block_device_mapping'])
        roots = [e for e in mapping if e['boot_index'] == 0]
        self.assertEqual(1, len(roots))
        root = roots[0]
        self.assertEqual(properties['root_device_name'], root['device_name'])
        self.assertEqual(
            ('snapshot', 'volume', snapshot_uuid, 1, True, 'disk'),
            (root['source_type'], root['destination_type'],
             root['snapshot_id'], root['volume_size'],
             root['delete_on_termination'], root['device_type']))
        by_device = {e['device_name']: e for e in mapping}
        self.assertEqual({'/dev/sda1', '/dev/sdc', '/dev/sdd'},
                         set(by_device))
        self.assertTrue(by_device['/dev/sdc']['no_device'])
        self.assertEqual(('blank', 'volume', -1, 2, False),
                         tuple(by_device['/dev/sdd'][key] for key in (
                             'source_type', 'destination_type',
                             'boot_index', 'volume_size',
                             'delete_on_termination')))
        nova_fields = {
            'source_type', 'destination_type', 'guest_format',
            'device_type', 'disk_bus', 'boot_index', 'device_name',
            'delete_on_termination', 'snapshot_id', 'volume_id',
            'volume_size', 'image_id', 'no_device', 'connection_info', 'tag',
            'volume_type', 'encrypted', 'encryption_secret_uuid',
            'encryption_format', 'encryption_options'}
        for entry in mapping:
            self.assertLessEqual(set(entry), nova_fields)

    def test_register_errors(self):
        snapshot_id = self.snapshot(size=2)
        root = {'DeviceName': '/dev/sda1', 'Ebs': {'SnapshotId': snapshot_id}}
        self.register('taken', snapshot_id)
        ec2 = self.ec2
        cases = [
            ('InvalidAMIName.Malformed', {'Name': 'bad|name'}),
            ('InvalidAMIName.Malformed', {'Name': 'x' * 129}),
            ('InvalidAMIName.Duplicate', {'Name': 'taken'}),
            ('InvalidSnapshot.NotFound', {
                'BlockDeviceMappings': [{'DeviceName': '/dev/sda1', 'Ebs': {
                    'SnapshotId': 'snap-0123456789abcdef0'}}]}),
            ('InvalidSnapshotID.Malformed', {
                'BlockDeviceMappings': [{'DeviceName': '/dev/sda1', 'Ebs': {
                    'SnapshotId': 'snap-1'}}]}),
            ('InvalidBlockDeviceMapping', {
                'BlockDeviceMappings': [{'DeviceName': '/dev/sda1', 'Ebs': {
                    'SnapshotId': snapshot_id, 'VolumeSize': 1}}]}),
            ('InvalidBlockDeviceMapping', {'BlockDeviceMappings': [
                root, {'DeviceName': '/dev/sdb', 'NoDevice': ''},
                {'DeviceName': 'sdb', 'VirtualName': 'ephemeral1'}]}),
            ('InvalidBlockDeviceMapping', {'BlockDeviceMappings': [
                {'DeviceName': '/dev/sdb', 'Ebs': {
                    'SnapshotId': snapshot_id}}]}),
            ('InvalidBlockDeviceMapping', {'RootDeviceName': '/dev/xvda'}),
            ('InvalidParameterCombination', {'RootDeviceName': None}),
            ('UnsupportedOperation', {
                'ImageLocation': 'bucket/image.manifest.xml',
                'RootDeviceName': None, 'BlockDeviceMappings': None}),
        ]
        for code, overrides in cases:
            kwargs = {'Name': 'image', 'RootDeviceName': '/dev/sda1',
                      'BlockDeviceMappings': [root]}
            kwargs.update(overrides)
            kwargs = {k: v for k, v in kwargs.items() if v is not None}
            error = self.assertEC2Error(code, ec2.register_image, **kwargs)
            self.assertNotIn('Traceback', error.response['Error']['Message'])
        for code, kwargs in [
                ('InvalidAMIID.Malformed', {'ImageIds': ['ami-bogus']}),
                ('InvalidAMIID.NotFound',
                 {'ImageIds': ['ami-0123456789abcdef0']})]:
            self.assertEC2Error(code, ec2.describe_images, **kwargs)
        self.assertEC2Error('InvalidAMIID.NotFound', ec2.deregister_image,
                            ImageId='ami-0123456789abcdef0')
        self.assertEC2Error('InvalidAMIID.Malformed',
                            ec2.describe_image_attribute,
                            ImageId='image-1', Attribute='description')
        self.assertEqual(['taken'], [i['Name'] for i in
                                     ec2.describe_images()['Images']])
        self.assertNotIn('Traceback', self.cloud.log())


class SharingTest(ImageTestBase):

    def test_attributes_and_launch_permissions(self):
        aws = self.cloud.aws
        snapshot_id = self.snapshot()
        image_id = self.register('shared-image', snapshot_id)
        beta = self.cloud.client('beta')
        self.assertEqual([], beta.describe_images()['Images'])
        self.assertEC2Error('InvalidAMIID.NotFound', beta.describe_images,
                            ImageIds=[image_id])

        self.ec2.modify_image_attribute(ImageId=image_id,
                                        Description={'Value': 'shared'})
        _, attribute = aws('describe-image-attribute', '--image-id',
                           image_id, '--attribute', 'description')
        self.assertEqual({'Value': 'shared'}, attribute['Description'])
        _, attribute = aws('describe-image-attribute', '--image-id',
                           image_id, '--attribute', 'blockDeviceMapping')
        self.assertEqual(snapshot_id, attribute['BlockDeviceMappings'][0][
            'Ebs']['SnapshotId'])
        code, err = aws('describe-image-attribute', '--image-id', image_id,
                        '--attribute', 'colour', check=False)
        self.assertNotEqual(0, code)
        self.assertIn('InvalidRequest', err)

        # Launch permission for project beta: beta sees it, not as its own.
        aws('modify-image-attribute', '--image-id', image_id,
            '--launch-permission', 'Add=[{UserId=beta}]')
        _, attribute = aws('describe-image-attribute', '--image-id',
                           image_id, '--attribute', 'launchPermission')
        self.assertEqual([{'UserId': 'beta'}],
                         attribute['LaunchPermissions'])
        _, seen = aws('describe-images', project='beta')
        self.assertEqual([(image_id, 'alpha', False)], [
            (i['ImageId'], i['OwnerId'], i['Public'])
            for i in seen['Images']])
        _, own = aws('describe-images', '--owners', 'self', project='beta')
        self.assertEqual([], own['Images'])
        _, executable = aws('describe-images', '--executable-users', 'self',
                            project='beta')
        self.assertEqual([image_id], [i['ImageId']
                                      for i in executable['Images']])
        # ... but may not change it.
        for args in (('deregister-image', '--image-id', image_id),
                     ('modify-image-attribute', '--image-id', image_id,
                      '--description', 'mine'),
                     ('describe-image-attribute', '--image-id', image_id,
                      '--attribute', 'launchPermission')):
            code, err = aws(*args, project='beta', check=False)
            self.assertNotEqual(0, code)
            self.assertIn('AuthFailure', err)

        # Public, then private again.
        self.ec2.modify_image_attribute(
            ImageId=image_id, Attribute='launchPermission',
            OperationType='add', UserGroups=['all'])
        [public] = beta.describe_images(
            Filters=[{'Name': 'is-public', 'Values': ['true']}])['Images']
        self.assertTrue(public['Public'])
        self.ec2.modify_image_attribute(
            ImageId=image_id,
            LaunchPermission={'Remove': [{'Group': 'all'},
                                         {'UserId': 'beta'}]})
        self.assertEqual([], beta.describe_images()['Images'])
        self.assertEqual([], self.ec2.describe_image_attribute(
            ImageId=image_id,
            Attribute='launchPermission')['LaunchPermissions'])


class SnapshotUseTest(ImageTestBase):

    def _snapshots(self):
        return [s['SnapshotId'] for s in
                self.ec2.describe_snapshots(OwnerIds=['self'])['Snapshots']]

    def test_snapshot_in_use_and_deregister(self):
        aws = self.cloud.aws
        snapshot_id = self.snapshot()
        image_id = self.register('in-use', snapshot_id)

        code, err = aws('delete-snapshot', '--snapshot-id', snapshot_id,
                        check=False)
        self.assertNotEqual(0, code)
        self.assertIn('InvalidSnapshot.InUse', err)
        self.assertIn(image_id, err)
        error = self.assertEC2Error('InvalidSnapshot.InUse',
                                    self.ec2.delete_snapshot,
                                    SnapshotId=snapshot_id)
        self.assertEqual('The snapshot %s is currently in use by %s'
                         % (snapshot_id, image_id),
                         error.response['Error']['Message'])
        self.assertEqual('completed', self.ec2.describe_snapshots(
            SnapshotIds=[snapshot_id])['Snapshots'][0]['State'])

        # Deregistering keeps the snapshot, which may then be deleted.
        _, answer = aws('deregister-image', '--image-id', image_id)
        self.assertTrue(answer['Return'])
        # Still shown a while, as AWS does.
        self.assertEqual([(image_id, 'deregistered')], [
            (i['ImageId'], i['State'])
            for i in self.ec2.describe_images()['Images']])
        self.assertEqual([snapshot_id], self._snapshots())
        code, err = aws('deregister-image', '--image-id', image_id,
                        check=False)
        self.assertIn('InvalidAMIID.Unavailable', err)
        aws('delete-snapshot', '--snapshot-id', snapshot_id)
        base.wait_for(lambda: not self._snapshots(), what='snapshot gone')

    def test_deregister_deleting_associated_snapshots(self):
        aws = self.cloud.aws
        root_snap = self.snapshot()
        shared_snap = self.snapshot()
        image_id = self.register('with-data', root_snap, {
            'DeviceName': '/dev/sdb', 'Ebs': {'SnapshotId': shared_snap}})
        other_id = self.register('other', shared_snap)
        _, answer = aws('deregister-image', '--image-id', image_id,
                        '--delete-associated-snapshots')
        self.assertEqual(
            [{'SnapshotId': root_snap, 'ReturnCode': 'success'},
             {'SnapshotId': shared_snap, 'ReturnCode': 'skipped'}],
            answer['DeleteSnapshotResults'])
        base.wait_for(lambda: self._snapshots() == [shared_snap],
                      what='root snapshot deleted')
        # Kept a while as deregistered, as AWS does.
        self.assertEqual({image_id: 'deregistered', other_id: 'available'}, {
            i['ImageId']: i['State']
            for i in self.ec2.describe_images()['Images']})
        answer = self.ec2.deregister_image(ImageId=other_id,
                                           DeleteAssociatedSnapshots=True)
        self.assertEqual([{'SnapshotId': shared_snap,
                           'ReturnCode': 'success'}],
                         answer['DeleteSnapshotResults'])
        base.wait_for(lambda: not self._snapshots(), what='snapshots gone')
        self.assertNotIn('Traceback', self.cloud.log())


def fake_kernel(size=8192):
    """Bytes with the header of a 64-bit x86 Linux kernel (bzImage)."""
    data = bytearray(size)
    data[0x202:0x206] = b'HdrS'
    struct.pack_into('<H', data, 0x206, 0x020f)    # boot protocol 2.15
    struct.pack_into('<H', data, 0x236, 1)         # XLF_KERNEL_64
    return bytes(data)


class BootImageTest(ImageTestBase, test_instances.EbsTestMixin):
    """Kernels and ramdisks from ebsboot-manage, and instances using them.

    The compute driver is the fake one: test_qemu boots a real kernel.
    """

    def setUp(self):
        super().setUp()
        self.kernel_file = os.path.join(self.cloud.state, 'vmlinuz')
        self.ramdisk_file = os.path.join(self.cloud.state, 'initrd')
        with open(self.kernel_file, 'wb') as f:
            f.write(fake_kernel())
        with open(self.ramdisk_file, 'wb') as f:
            f.write(gzip.compress(b'070701 initramfs'))

    def import_boot_file(self, what, path, *args):
        return json.loads(self.cloud.manage(
            'image', 'import-' + what, path, '--project', 'alpha',
            '--format', 'json', *args))['image_id']

    def test_import_describe_register_and_boot(self):
        ec2 = self.ec2
        kernel_id = self.import_boot_file('kernel', self.kernel_file)
        ramdisk_id = self.import_boot_file('ramdisk', self.ramdisk_file,
                                           '--name', 'initrd.img')
        self.assertRegex(kernel_id, r'^aki-[0-9a-f]{17}$')
        self.assertRegex(ramdisk_id, r'^ari-[0-9a-f]{17}$')
        described = ec2.describe_images(ImageIds=[kernel_id, ramdisk_id])
        self.assertEqual(
            [(kernel_id, 'kernel', 'vmlinuz', 'x86_64', 'instance-store',
              []),
             (ramdisk_id, 'ramdisk', 'initrd.img', 'x86_64',
              'instance-store', [])],
            [(i['ImageId'], i['ImageType'], i['Name'], i['Architecture'],
              i['RootDeviceType'], i['BlockDeviceMappings'])
             for i in described['Images']])

        snapshot_id = self.snapshot()
        image_id = self.register('with-kernel', snapshot_id,
                                 KernelId=kernel_id, RamdiskId=ramdisk_id)
        [image] = ec2.describe_images(ImageIds=[image_id])['Images']
        self.assertEqual((kernel_id, ramdisk_id, 'machine'),
                         (image['KernelId'], image['RamdiskId'],
                          image['ImageType']))

        instance_id = ec2.run_instances(
            ImageId=image_id, MinCount=1, MaxCount=1)['Instances'][0][
            'InstanceId']
        self.wait_state(ec2, instance_id, 'running')
        self.assertIn('boot-count=1 direct kernel boot: kernel 8192 bytes, '
                      'ramdisk %d bytes, cmdline default'
                      % os.path.getsize(self.ramdisk_file),
                      self.console(ec2, instance_id))
        self.assertEqual({'Value': kernel_id}, ec2.describe_instance_attribute(
            InstanceId=instance_id, Attribute='kernel')['KernelId'])
        # The compute host's copies, by image UUID.
        copies = os.listdir(os.path.join(self.cloud.state, 'kernels'))
        self.assertEqual(2, len(copies))
        ec2.terminate_instances(InstanceIds=[instance_id])
        self.wait_state(ec2, instance_id, 'terminated')

        ec2.deregister_image(ImageId=kernel_id)
        self.assertEqual([ramdisk_id, image_id], [
            i['ImageId'] for i in ec2.describe_images(Filters=[
                {'Name': 'state', 'Values': ['available']}])['Images']])
        # Its kernel is deregistered (still shown a while): Unavailable.
        self.assertEC2Error('InvalidAMIID.Unavailable', ec2.run_instances,
                            ImageId=image_id, MinCount=1, MaxCount=1)
        self.assertNotIn('Traceback', self.cloud.log())

    def test_bad_kernel_and_ramdisk_ids(self):
        ec2 = self.ec2
        kernel_id = self.import_boot_file('kernel', self.kernel_file)
        ramdisk_id = self.import_boot_file('ramdisk', self.ramdisk_file)
        snapshot_id = self.snapshot()
        machine_id = self.register('machine', snapshot_id)
        for code, kwargs in [
                ('InvalidAMIID.NotFound',
                 {'KernelId': 'aki-0123456789abcdef0'}),
                ('InvalidAMIID.NotFound',
                 {'KernelId': kernel_id, 'RamdiskId': 'ari-01234567'}),
                ('InvalidKernelId.Malformed', {'KernelId': ramdisk_id}),
                ('InvalidRamDiskId.Malformed', {'RamdiskId': kernel_id}),
                ('InvalidParameterValue', {'KernelId': machine_id})]:
            self.assertEC2Error(code, self.register, 'bad', snapshot_id,
                                **kwargs)
            self.assertEC2Error(code, ec2.run_instances, ImageId=machine_id,
                                MinCount=1, MaxCount=1, **kwargs)
        self.assertEqual(3, len(ec2.describe_images()['Images']))
        self.assertEqual([], ec2.describe_instances()['Reservations'])

        instance_id = ec2.run_instances(
            ImageId=machine_id, MinCount=1, MaxCount=1)['Instances'][0][
            'InstanceId']
        self.wait_state(ec2, instance_id, 'running')
        ec2.stop_instances(InstanceIds=[instance_id])
        self.wait_state(ec2, instance_id, 'stopped')
        self.assertEC2Error('InvalidKernelId.Malformed',
                            ec2.modify_instance_attribute,
                            InstanceId=instance_id,
                            Kernel={'Value': ramdisk_id})
        ec2.modify_instance_attribute(InstanceId=instance_id,
                                      Kernel={'Value': kernel_id})
        ec2.start_instances(InstanceIds=[instance_id])
        self.wait_state(ec2, instance_id, 'running')
        self.assertIn('boot-count=2 direct kernel boot: kernel 8192 bytes, '
                      'ramdisk none', self.console(ec2, instance_id))
        ec2.terminate_instances(InstanceIds=[instance_id])
        self.wait_state(ec2, instance_id, 'terminated')

    def test_import_refusals(self):
        for args, message in [
                (('kernel', self.ramdisk_file), 'is not a Linux kernel'),
                (('ramdisk', self.kernel_file),
                 'is a Linux kernel, not a ramdisk'),
                (('kernel', self.kernel_file, '--name', 'x'),
                 'AMI names must be')]:
            e = self.assertRaises(subprocess.CalledProcessError,
                                  self.import_boot_file, *args)
            self.assertIn(message, e.stderr)
        # A FIFO is refused at once: the timeout ends a command that hangs.
        fifo = os.path.join(self.cloud.state, 'vmlinuz.fifo')
        os.mkfifo(fifo)
        result = subprocess.run(
            [os.path.join(base.BIN, 'ebsboot-manage'), '--config-file',
             self.cloud.conf, 'image', 'import-kernel', fifo, '--project',
             'alpha', '--architecture', 'x86_64'],
            capture_output=True, text=True, timeout=120)
        self.assertEqual(1, result.returncode)
        self.assertIn('%s is not a regular file' % fifo, result.stderr)
        self.assertEqual([], self.ec2.describe_images()['Images'])
