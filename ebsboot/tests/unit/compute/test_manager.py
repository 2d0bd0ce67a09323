"""The compute manager fetches kernels and ramdisks for direct boots."""

import os
from unittest import mock
import uuid

from ebsboot.cloud import images as cloud_images
from ebsboot.compute.drivers import fake as fake_compute
from ebsboot.compute import manager as compute_manager
from ebsboot.conf import CONF
from ebsboot.image import backend as image_backend
from ebsboot.tests.unit import base
from ebsboot.tests.unit.image import fakes


class DirectKernelBootTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.driver = fake_compute.FakeDriver(CONF)
        self.manager = compute_manager.ComputeManager(driver=self.driver)
        alpha = self.context('alpha')
        self.kernel_data = fakes.kernel(size=5000)
        self.kernel = cloud_images.import_boot_image(
            alpha, 'aki', fakes.write(os.path.join(self.state, 'vmlinuz'),
                                      self.kernel_data), 'vmlinuz')
        self.ramdisk = cloud_images.import_boot_image(
            alpha, 'ari', fakes.write(os.path.join(self.state, 'initrd'),
                                      fakes.ramdisk()), 'initrd')
        self.machine = cloud_images.get_backend().create(
            alpha, 'machine', {'os_command_line': 'root=/dev/vda quiet'})
        self.instance = {
            'id': str(uuid.uuid4()), 'ec2_id': 'i-0123456789abcdef0',
            'vcpus': 1, 'memory_mb': 128, 'user_data': None,
            'image_id': self.machine['id'],
            'kernel_id': cloud_images.image_ec2_id(self.kernel),
            'kernel_image_id': self.kernel['id'],
            'ramdisk_id': cloud_images.image_ec2_id(self.ramdisk),
            'ramdisk_image_id': self.ramdisk['id']}
        self.cache = os.path.join(self.state, 'kernels')

    def _spawn(self, **changes):
        instance = dict(self.instance, **changes)
        self.manager.spawn(self.context(), instance, [])
        return self.driver.guests[instance['id']]

    def test_spawn_gets_cached_kernel_and_ramdisk(self):
        guest = self._spawn()
        kernel = os.path.join(self.cache, self.kernel['id'])
        self.assertEqual(
            (kernel, os.path.join(self.cache, self.ramdisk['id']),
             'root=/dev/vda quiet'),
            (guest['kernel_path'], guest['ramdisk_path'],
             guest['kernel_cmdline']))
        with open(kernel, 'rb') as f:
            self.assertEqual(self.kernel_data, f.read())
        self.assertIn(b'direct kernel boot: kernel 5000 bytes, ramdisk %d '
                      b'bytes, cmdline root=/dev/vda quiet'
                      % self.ramdisk['size'],
                      self.driver.get_console_output(self.instance))
        # The next boot (on this host) reuses the copies.
        self.driver.destroy(self.instance, [])
        with mock.patch.object(cloud_images.get_backend(), 'download',
                               side_effect=AssertionError('no download')):
            self.assertEqual(kernel, self._spawn()['kernel_path'])
        self.assertEqual(sorted([self.kernel['id'], self.ramdisk['id']]),
                         sorted(os.listdir(self.cache)))

    def test_default_command_line(self):
        for image_id in (None, str(uuid.uuid4())):
            guest = self._spawn(id=str(uuid.uuid4()), image_id=image_id)
            self.assertIsNone(guest['kernel_cmdline'])
            self.assertIsNotNone(guest['kernel_path'])

    def test_without_kernel_the_volume_boots(self):
        guest = self._spawn(kernel_id=None, kernel_image_id=None)
        self.assertEqual((None, None, None),
                         (guest['kernel_path'], guest['ramdisk_path'],
                          guest['kernel_cmdline']))
        self.assertFalse(os.path.exists(self.cache))
        guest = self._spawn(id=str(uuid.uuid4()), ramdisk_id=None,
                            ramdisk_image_id=None)
        self.assertIsNone(guest['ramdisk_path'])
        self.assertEqual([self.kernel['id']], os.listdir(self.cache))

    def test_kernel_gone(self):
        for changes in ({'kernel_image_id': None},
                        {'kernel_image_id': str(uuid.uuid4())}):
            e = self.assertRaises(image_backend.ImageDataError, self._spawn,
                                  **changes)
            self.assertIn('The kernel image %s of i-0123456789abcdef0 does '
                          'not exist' % self.instance['kernel_id'], str(e))
        cloud_images.get_backend().delete(self.context(),
                                          self.ramdisk['id'])
        self.assertRaises(image_backend.ImageDataError, self._spawn)
        self.assertEqual({}, self.driver.guests)


class VolumeConnectionTest(base.TestCase):
    """Connectors and os-brick device info through the manager."""

    def setUp(self):
        super().setUp()
        self.driver = fake_compute.FakeDriver(CONF)
        self.manager = compute_manager.ComputeManager(host='h1',
                                                      driver=self.driver)
        self.manager.init_host()
        self.instance = {'id': str(uuid.uuid4()), 'ec2_id': 'i-1',
                         'vcpus': 1, 'memory_mb': 64, 'user_data': None}
        self.info = {'driver_volume_type': 'fake',
                     'data': {'volume_id': 'vol'}}

    def test_connector_of_this_host(self):
        connector = self.manager.get_connector(None)
        self.assertEqual('h1', connector['host'])
        self.assertIn('initiator', connector)

    def test_spawn_and_attach_answer_the_device_info(self):
        bdi = [{'device_name': '/dev/vda', 'boot_index': 0,
                'volume_id': 'root', 'connection_info': self.info}]
        self.assertEqual(
            {'/dev/vda': self.driver._device_info(self.instance,
                                                  '/dev/vda')},
            self.manager.spawn(None, self.instance, bdi))
        info = self.manager.attach_volume(None, self.instance, self.info,
                                          '/dev/vdb', volume_id='vol')
        self.assertEqual(self.driver._device_info(self.instance,
                                                  '/dev/vdb'), info)
        self.manager.detach_volume(None, self.instance, self.info,
                                   '/dev/vdb', volume_id='vol',
                                   device_info=info)
        self.assertEqual([(self.instance['id'], '/dev/vdb', info)],
                         self.driver.disconnected)
