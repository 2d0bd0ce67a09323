"""The image controller on the local image backend and the fake driver."""

import os
import uuid

from oslo_serialization import jsonutils

from ebsboot.cloud import bdm
from ebsboot.cloud import ec2ids
from ebsboot.cloud import images
from ebsboot.cloud import instances
from ebsboot.cloud import volumes
from ebsboot.db import api as db
from ebsboot import exception
from ebsboot.tests.unit import base
from ebsboot.tests.unit.image import fakes


class ImagesTestBase(base.ServiceTestCase):

    def setUp(self):
        super().setUp()
        self.alpha = self.context('alpha')
        self.beta = self.context('beta')
        self.snapshot = self._snapshot(size=2)

    def _snapshot(self, size=1, context=None):
        context = context or self.alpha
        volume = volumes.create_volume(context, 'nova', size=size)
        self.wait_for(lambda: volumes.get_volume(
            context, volume.ec2_id).status == 'available')
        snapshot = volumes.create_snapshot(context, volume.ec2_id)
        return self.wait_for(
            lambda: volumes.get_snapshot(context, snapshot.ec2_id).status
            == 'completed' and volumes.get_snapshot(context, snapshot.ec2_id))

    def _bdms(self, *extra, snapshot=None, context=None, **ebs):
        ebs = dict(ebs, SnapshotId=(snapshot or self.snapshot).ec2_id)
        entries = [{'DeviceName': '/dev/sda1', 'Ebs': ebs}] + list(extra)
        return bdm.from_ec2_params(entries, context or self.alpha)

    def register(self, name='my-image', context=None, bdms=None, **kwargs):
        context = context or self.alpha
        return images.register_image(
            context, name, '/dev/sda1',
            self._bdms(context=context) if bdms is None else bdms, **kwargs)

    def _boot_image(self, kind, context=None, name=None, **kwargs):
        data = fakes.kernel() if kind == 'aki' else fakes.ramdisk()
        path = fakes.write(os.path.join(self.state, 'boot-file'), data)
        return images.import_boot_image(
            context or self.alpha, kind, path, name or kind + '-image',
            **kwargs)


class ImagesTest(ImagesTestBase):

    def test_register_writes_a_nova_placeholder(self):
        image = self.register(
            description='web server', architecture='x86_64',
            bdms=self._bdms(
                {'DeviceName': 'sdb', 'VirtualName': 'ephemeral0'},
                {'DeviceName': 'sdc', 'NoDevice': ''},
                {'DeviceName': 'sdd', 'Ebs': {'VolumeSize': '3'}},
                VolumeSize='5'))
        self.assertEqual(('my-image', 'alpha', 'active', 'private', 'raw',
                          'bare', 0, 5),
                         (image['name'], image['owner'], image['status'],
                          image['visibility'], image['disk_format'],
                          image['container_format'], image['size'],
                          image['min_disk']))
        props = image['properties']
        self.assertRegex(props['ec2_id'], r'^ami-[0-9a-f]{17}$')
        self.assertEqual(
            {'ec2_id', 'root_device_name', 'bdm_v2', 'block_device_mapping',
             'mappings', 'architecture', 'description',
             'ec2_short_device_names'}, set(props))
        self.assertEqual(['/dev/sdb', '/dev/sdc', '/dev/sdd'],
                         jsonutils.loads(props['ec2_short_device_names']))
        self.assertEqual(('/dev/sda1', 'True', 'x86_64', 'web server'),
                         (props['root_device_name'], props['bdm_v2'],
                          props['architecture'], props['description']))
        self.assertEqual([{'virtual': 'ephemeral0', 'device': 'sdb'}],
                         jsonutils.loads(props['mappings']))
        mapping = jsonutils.loads(props['block_device_mapping'])
        [root] = [e for e in mapping if e['boot_index'] == 0]
        self.assertEqual(
            ('snapshot', 'volume', self.snapshot.id, '/dev/sda1', 5, True,
             'gp2'),
            (root['source_type'], root['destination_type'],
             root['snapshot_id'], root['device_name'], root['volume_size'],
             root['delete_on_termination'], root['volume_type']))
        self.assertEqual(['/dev/sda1', '/dev/sdc', '/dev/sdd'],
                         sorted(e['device_name'] for e in mapping))
        self.assertEqual('available', images.image_state(image))
        self.assertEqual('ebs', images.root_device_type(image))
        self.assertEqual(image, images.get_image(self.alpha,
                                                 props['ec2_id']))

    def test_register_defaults(self):
        image = self.register()
        props = image['properties']
        self.assertEqual('i386', props['architecture'])
        self.assertNotIn('description', props)
        self.assertNotIn('kernel_id', props)
        self.assertNotIn('mappings', props)
        root, [mapping] = images.block_device_mappings(image)
        self.assertEqual(bdm.new_bdm(
            '/dev/sda1', boot_index=0, snapshot_id=self.snapshot.id,
            volume_size=2, delete_on_termination=True, volume_type='gp2'),
            mapping)
        self.assertEqual(2, image['min_disk'])

    def test_register_optional_properties(self):
        kernel = images.image_ec2_id(self._boot_image('aki'))
        ramdisk = images.image_ec2_id(self._boot_image('ari'))
        image = self.register(kernel_id=kernel, ramdisk_id=ramdisk,
                              boot_mode='uefi')
        props = image['properties']
        self.assertEqual((kernel, ramdisk, 'uefi'),
                         (props['kernel_id'], props['ramdisk_id'],
                          props['hw_firmware_type']))

    def test_register_refusals(self):
        self.register('taken')
        cases = [
            (dict(name='ab'), exception.InvalidAMINameMalformed),
            (dict(name='x' * 129), exception.InvalidAMINameMalformed),
            (dict(name='bad!name'), exception.InvalidAMINameMalformed),
            (dict(name='taken'), exception.InvalidAMINameDuplicate),
            (dict(architecture='sparc'), exception.InvalidParameterValue),
            (dict(kernel_id='ami-nothex'),
             exception.InvalidKernelIdMalformed),
            (dict(ramdisk_id='aki-01234567'),
             exception.InvalidRamDiskIdMalformed),
            (dict(kernel_id='aki-01234567'), exception.InvalidAMIIDNotFound),
            (dict(boot_mode='efi'), exception.InvalidParameterValue),
            (dict(description='d' * 256), exception.InvalidParameterValue),
            (dict(bdms=[]), exception.InvalidBlockDeviceMapping),
            (dict(bdms=bdm.from_ec2_params(
                [{'DeviceName': 'sda1', 'Ebs': {'VolumeSize': '2'}}],
                self.alpha)), exception.InvalidBlockDeviceMapping),
            (dict(bdms=bdm.from_ec2_params(
                [{'DeviceName': 'sda1', 'VirtualName': 'ephemeral0'}],
                self.alpha)), exception.InvalidBlockDeviceMapping),
        ]
        for kwargs, error in cases:
            self.assertRaises(error, self.register, **kwargs)
        self.assertRaises(exception.InvalidParameterCombination,
                          images.register_image, self.alpha, 'no-root', None,
                          self._bdms())
        error = self.assertRaises(exception.InvalidAMINameDuplicate,
                                  self.register, 'taken')
        self.assertRegex(error.msg, r'^AMI name taken is already in use by '
                                    r'AMI ami-[0-9a-f]{17}$')
        self.assertEqual(1, len(images.list_images(self.alpha)))
        # The name is unique per project only.
        self.register('taken', context=self.beta,
                      bdms=self._bdms(snapshot=self._snapshot(
                          context=self.beta), context=self.beta))

    def test_valid_names(self):
        for name in ("abc", "My image (v1.2) [x86]/@'_-", 'x' * 128):
            self.register(name)

    def test_lookups(self):
        image = self.register()
        ec2_id = image['properties']['ec2_id']
        self.assertRaises(exception.InvalidAMIIDMalformed, images.get_image,
                          self.alpha, 'ami-bogus')
        self.assertRaises(exception.InvalidAMIIDMalformed, images.get_image,
                          self.alpha, 'snap-0123456789abcdef0')
        self.assertRaises(exception.InvalidAMIIDNotFound, images.get_image,
                          self.alpha, 'ami-0123456789abcdef0')
        self.assertRaises(exception.InvalidAMIIDNotFound, images.get_image,
                          self.beta, ec2_id)
        self.assertRaises(exception.InvalidAMIIDNotFound, images.list_images,
                          self.alpha, [ec2_id, 'ami-0123456789abcdef0'])
        self.assertEqual([image['id']], [
            i['id'] for i in images.list_images(self.alpha, [ec2_id])])

    def test_sharing_and_owner_filters(self):
        image = self.register()
        ec2_id = image['properties']['ec2_id']
        beta_image = self.register('beta-image', context=self.beta,
                                   bdms=self._bdms(snapshot=self._snapshot(
                                       context=self.beta), context=self.beta))
        beta_id = beta_image['properties']['ec2_id']

        def ids(context, **kwargs):
            return sorted(images.image_ec2_id(i)
                          for i in images.list_images(context, **kwargs))

        self.assertEqual([beta_id], ids(self.beta))
        images.modify_launch_permission(self.alpha, ec2_id,
                                        add_users=['beta', 'alpha'])
        shared = images.get_image(self.alpha, ec2_id)
        self.assertEqual(('shared', ['beta']),
                         (shared['visibility'], shared['members']))
        self.assertEqual(sorted([ec2_id, beta_id]), ids(self.beta))
        self.assertEqual([beta_id], ids(self.beta, owners=['self']))
        self.assertEqual([ec2_id], ids(self.beta, owners=['alpha']))
        self.assertEqual([ec2_id], ids(self.beta, executable_by=['self']))
        self.assertEqual([ec2_id], ids(self.alpha, executable_by=['beta']))
        self.assertEqual([], ids(self.alpha, executable_by=['all']))
        self.assertEqual([], ids(self.alpha, executable_by=['self']))

        images.modify_launch_permission(self.alpha, ec2_id, add_public=True,
                                        remove_users=['beta'])
        self.assertEqual((True, []), images.launch_permissions(
            images.get_image(self.alpha, ec2_id)))
        self.assertEqual([ec2_id], ids(self.beta, executable_by=['all']))
        images.modify_launch_permission(self.alpha, ec2_id,
                                        remove_public=True)
        self.assertEqual('private',
                         images.get_image(self.alpha, ec2_id)['visibility'])
        self.assertEqual([beta_id], ids(self.beta))

    def test_only_the_owner_changes_an_image(self):
        image = self.register()
        ec2_id = image['properties']['ec2_id']
        images.modify_launch_permission(self.alpha, ec2_id, add_public=True)
        for call in (
                lambda: images.modify_description(self.beta, ec2_id, 'x'),
                lambda: images.modify_launch_permission(
                    self.beta, ec2_id, add_users=['beta']),
                lambda: images.deregister_image(self.beta, ec2_id)):
            error = self.assertRaises(exception.ImageAuthFailure, call)
            self.assertEqual('AuthFailure', error.code)
        self.assertEqual(image['id'],
                         images.get_image(self.beta, ec2_id)['id'])

    def test_modify_description(self):
        ec2_id = self.register()['properties']['ec2_id']
        images.modify_description(self.alpha, ec2_id, 'new')
        self.assertEqual('new', images.get_image(
            self.alpha, ec2_id)['properties']['description'])
        images.modify_description(self.alpha, ec2_id, '')
        self.assertNotIn('description', images.get_image(
            self.alpha, ec2_id)['properties'])

    def test_snapshot_in_use_blocks_delete_snapshot(self):
        # Removed at once, not kept visible a while.
        self.config.config(deregistered_visible_seconds=0, group='image')
        ec2_id = self.register()['properties']['ec2_id']
        self.assertEqual(ec2_id, images.snapshot_in_use(self.beta,
                                                        self.snapshot.id))
        error = self.assertRaises(exception.InvalidSnapshotInUse,
                                  volumes.delete_snapshot, self.alpha,
                                  self.snapshot.ec2_id)
        self.assertEqual('InvalidSnapshot.InUse', error.code)
        self.assertEqual('The snapshot %s is currently in use by %s'
                         % (self.snapshot.ec2_id, ec2_id), error.msg)
        self.assertEqual('completed', volumes.get_snapshot(
            self.alpha, self.snapshot.ec2_id).status)
        self.assertEqual([], images.deregister_image(self.alpha, ec2_id))
        self.assertIsNone(images.snapshot_in_use(self.alpha,
                                                 self.snapshot.id))
        self.assertRaises(exception.InvalidAMIIDNotFound,
                          images.deregister_image, self.alpha, ec2_id)
        # Deregistering keeps the snapshot; now it may go.
        self.assertEqual('completed', volumes.get_snapshot(
            self.alpha, self.snapshot.ec2_id).status)
        volumes.delete_snapshot(self.alpha, self.snapshot.ec2_id)

    def test_deregister_deleting_snapshots(self):
        shared_snap = self._snapshot()
        data = {'DeviceName': 'sdb', 'Ebs': {
            'SnapshotId': shared_snap.ec2_id}}
        first = self.register('first', bdms=self._bdms(data))
        self.register('second', bdms=self._bdms(
            snapshot=shared_snap, context=self.alpha))
        results = images.deregister_image(
            self.alpha, first['properties']['ec2_id'],
            delete_associated_snapshots=True)
        self.assertEqual([(self.snapshot.ec2_id, 'success'),
                          (shared_snap.ec2_id, 'skipped')], results)
        self.wait_for(lambda: db.snapshot_get(self.alpha, self.snapshot.id)
                      is None)
        self.assertEqual('completed', volumes.get_snapshot(
            self.alpha, shared_snap.ec2_id).status)

    def test_states(self):
        image = self.register()
        self.assertIsNone(images.state_reason(image))
        failed = images.mark_image_failed(image['id'], 'Client.Boom',
                                          'it broke')
        self.assertEqual('failed', images.image_state(failed))
        self.assertEqual(('Client.Boom', 'it broke'),
                         images.state_reason(failed))
        available = images.mark_image_available(image['id'])
        self.assertEqual('available', images.image_state(available))
        self.assertNotIn('ec2_state', available['properties'])
        pending = self.register('pending', state='pending')
        self.assertEqual('pending', images.image_state(pending))
        for status, state in (('queued', 'pending'), ('killed', 'failed'),
                              ('deleted', 'deregistered')):
            self.assertEqual(state, images.image_state(
                dict(image, status=status)))

    def test_register_undone_if_the_snapshot_went_meanwhile(self):
        bdms = self._bdms()
        db.snapshot_update(self.alpha, self.snapshot.id,
                           {'status': 'deleting'})
        self.assertRaises(exception.InvalidSnapshotNotFound, self.register,
                          bdms=bdms)
        self.assertEqual([], images.get_backend().list(self.alpha))

    def test_backend_is_a_plugin(self):
        self.assertIs(images.get_backend(), images.get_backend())
        self.assertEqual('LocalBackend',
                         type(images.get_backend()).__name__)


class BootImagesTest(ImagesTestBase):
    """Kernel and ramdisk images, and the images and instances using them."""

    def setUp(self):
        super().setUp()
        self.kernel = self._boot_image('aki', name='vmlinuz')
        self.ramdisk = self._boot_image('ari', name='initrd')
        self.kernel_id = images.image_ec2_id(self.kernel)
        self.ramdisk_id = images.image_ec2_id(self.ramdisk)

    def test_kinds_types_and_lookups(self):
        self.assertRegex(self.kernel_id, r'^aki-[0-9a-f]{17}$')
        self.assertRegex(self.ramdisk_id, r'^ari-[0-9a-f]{17}$')
        machine = self.register()
        self.assertEqual(
            [('aki', 'kernel', 'instance-store'),
             ('ari', 'ramdisk', 'instance-store'),
             ('ami', 'machine', 'ebs')],
            [(images.image_kind(i), images.image_type(i),
              images.root_device_type(i))
             for i in (self.kernel, self.ramdisk, machine)])
        self.assertEqual(
            [self.kernel_id, self.ramdisk_id, images.image_ec2_id(machine)],
            [images.image_ec2_id(i) for i in images.list_images(self.alpha)])
        self.assertEqual([self.kernel['id']], [i['id'] for i in
                         images.list_images(self.alpha, [self.kernel_id])])
        # RunInstances-style lookups take machine images only.
        self.assertRaises(exception.InvalidAMIIDMalformed, images.get_image,
                          self.alpha, self.kernel_id)
        self.assertEqual(self.kernel['id'], images.get_image(
            self.alpha, self.kernel_id, images.IMAGE_TYPES)['id'])
        self.assertEqual([], images.list_images(self.beta))

    def test_get_boot_image_errors(self):
        machine_id = images.image_ec2_id(self.register())
        self.assertEqual(self.kernel['id'], images.get_boot_image(
            self.alpha, 'aki', self.kernel_id)['id'])
        for kind, ec2_id, error in [
                ('aki', self.ramdisk_id, exception.InvalidKernelIdMalformed),
                ('ari', self.kernel_id, exception.InvalidRamDiskIdMalformed),
                ('aki', 'vmlinuz', exception.InvalidKernelIdMalformed),
                ('aki', 'aki-0123456789abcdef0',
                 exception.InvalidAMIIDNotFound),
                ('aki', machine_id, exception.InvalidParameterValue)]:
            e = self.assertRaises(error, images.get_boot_image, self.alpha,
                                  kind, ec2_id)
        self.assertEqual('The image %s is a machine image, not a kernel '
                         'image.' % machine_id, e.msg)
        self.assertEqual('InvalidKernelId.Malformed',
                         exception.InvalidKernelIdMalformed.code)
        self.assertEqual('InvalidRamDiskId.Malformed',
                         exception.InvalidRamDiskIdMalformed.code)
        # Another project's private kernel is not there for beta.
        self.assertRaises(exception.InvalidAMIIDNotFound,
                          images.get_boot_image, self.beta, 'aki',
                          self.kernel_id)
        images.modify_launch_permission(self.alpha, self.kernel_id,
                                        add_users=['beta'])
        images.get_boot_image(self.beta, 'aki', self.kernel_id)

    def test_kernel_with_a_legacy_ami_id(self):
        # The glance backend gave kernels ami- ids before they had aki-.
        path = fakes.write(os.path.join(self.state, 'old'), fakes.kernel())
        ami_id = ec2ids.new_id('ami')
        with open(path, 'rb') as data:
            images.get_backend().create_with_data(
                self.alpha, 'old-kernel', {'ec2_id': ami_id}, data, 'aki',
                'aki')
        self.assertEqual('kernel', images.image_type(
            images.get_boot_image(self.alpha, 'aki', ami_id)))
        self.assertRaises(exception.InvalidParameterValue,
                          images.get_boot_image, self.alpha, 'ari', ami_id)

    def test_register_checks_kernel_and_ramdisk(self):
        for kwargs, error in [
                (dict(kernel_id='aki-0123456789abcdef0'),
                 exception.InvalidAMIIDNotFound),
                (dict(kernel_id=self.ramdisk_id),
                 exception.InvalidKernelIdMalformed),
                (dict(kernel_id=self.kernel_id,
                      ramdisk_id='ari-0123456789abcdef0'),
                 exception.InvalidAMIIDNotFound)]:
            self.assertRaises(error, self.register, **kwargs)
        self.assertEqual(2, len(images.list_images(self.alpha)))
        # CreateImage copies the instance's, even of a gone kernel.
        pending = self.register('of-an-instance', state='pending',
                                kernel_id='aki-0123456789abcdef0')
        self.assertEqual('aki-0123456789abcdef0',
                         pending['properties']['kernel_id'])

    def test_import_refusals(self):
        for kwargs, error in [
                (dict(name='vmlinuz'), exception.InvalidAMINameDuplicate),
                (dict(name='no'), exception.InvalidAMINameMalformed),
                (dict(architecture='sparc'), exception.InvalidParameterValue),
                (dict(architecture='arm64'),
                 exception.InvalidParameterValue)]:
            self.assertRaises(error, self._boot_image, 'aki', **kwargs)
        self.assertEqual(2, len(images.get_backend().list(self.alpha)))

    def test_deregister_removes_the_data(self):
        # Removed at once, not kept visible a while.
        self.config.config(deregistered_visible_seconds=0, group='image')
        data = images.get_backend().data_path(self.kernel['id'])
        self.assertTrue(os.path.exists(data))
        images.modify_description(self.alpha, self.kernel_id, 'old kernel')
        self.assertRaises(exception.InvalidAMIIDNotFound,
                          images.deregister_image, self.beta, self.kernel_id)
        images.modify_launch_permission(self.alpha, self.kernel_id,
                                        add_public=True)
        self.assertRaises(exception.ImageAuthFailure,
                          images.deregister_image, self.beta, self.kernel_id)
        self.assertEqual([], images.deregister_image(self.alpha,
                                                     self.kernel_id))
        self.assertFalse(os.path.exists(data))
        self.assertRaises(exception.InvalidAMIIDNotFound,
                          images.deregister_image, self.alpha,
                          self.kernel_id)

    def test_backend_image_id(self):
        self.assertIsNone(images.backend_image_id(None))
        self.assertIsNone(images.backend_image_id('aki-0123456789abcdef0'))
        self.assertEqual(self.kernel['id'],
                         images.backend_image_id(self.kernel_id))
        # Remembered: an EC2 id never names another image.
        images.deregister_image(self.alpha, self.kernel_id)
        self.assertEqual(self.kernel['id'],
                         images.backend_image_id(self.kernel_id))
        self.assertIsNone(images.backend_image_id(self.ramdisk_id + '0'))

    def _stopped_instance(self):
        instance_id = str(uuid.uuid4())
        return db.instance_create(self.alpha, {
            'id': instance_id, 'ec2_id': ec2ids.new_id('i'),
            'reservation_id': ec2ids.new_id('r'), 'project_id': 'alpha',
            'image_id': str(uuid.uuid4()), 'image_ec2_id': 'ami-01234567',
            'instance_type': 'm1.small', 'vcpus': 1, 'memory_mb': 512,
            'availability_zone': 'nova', 'state': 'stopped',
            'launch_index': 0, 'shutdown_behavior': 'stop',
            'root_device_name': '/dev/sda1'}, [])

    def test_modify_instance_kernel_and_ramdisk(self):
        instance = self._stopped_instance()
        for attribute, value, error in [
                ('kernel', 'aki-0123456789abcdef0',
                 exception.InvalidAMIIDNotFound),
                ('kernel', self.ramdisk_id,
                 exception.InvalidKernelIdMalformed),
                ('ramdisk', self.kernel_id,
                 exception.InvalidRamDiskIdMalformed)]:
            self.assertRaises(error, instances.modify_attribute, self.alpha,
                              instance.ec2_id, attribute, value)
        row = db.instance_get(self.alpha, instance.id)
        self.assertEqual((None, None), (row.kernel_id, row.ramdisk_id))
        instances.modify_attribute(self.alpha, instance.ec2_id, 'kernel',
                                   self.kernel_id)
        instances.modify_attribute(self.alpha, instance.ec2_id, 'ramdisk',
                                   self.ramdisk_id)
        row = db.instance_get(self.alpha, instance.id)
        self.assertEqual((self.kernel_id, self.ramdisk_id),
                         (row.kernel_id, row.ramdisk_id))
        instances.modify_attribute(self.alpha, instance.ec2_id, 'kernel', '')
        self.assertIsNone(db.instance_get(self.alpha, instance.id).kernel_id)

    def test_run_instances_checks_kernel_and_ramdisk(self):
        # Removed at once, not kept visible a while.
        self.config.config(deregistered_visible_seconds=0, group='image')
        machine_id = images.image_ec2_id(self.register(
            kernel_id=self.kernel_id))
        images.deregister_image(self.alpha, self.kernel_id)
        for kwargs, error in [
                ({}, exception.InvalidAMIIDNotFound),
                (dict(kernel_id=self.ramdisk_id),
                 exception.InvalidKernelIdMalformed),
                (dict(kernel_id=machine_id, ramdisk_id=self.ramdisk_id),
                 exception.InvalidParameterValue)]:
            self.assertRaises(error, instances.run_instances, self.alpha,
                              machine_id, **kwargs)
        self.assertEqual([], db.instance_list(self.alpha))
