"""The local image backend keeps Glance-shaped placeholder images."""

import os
import stat
from unittest import mock
import uuid

from ebsboot.conf import CONF
from ebsboot import context as ebs_context
from ebsboot.db import api as db
from ebsboot.image import backend
from ebsboot.image.backends import local
from ebsboot.tests.unit import base
from ebsboot.tests.unit.image import fakes


class LocalBackendTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.backend = local.LocalBackend(CONF)
        self.alpha, self.beta = self.context('alpha'), self.context('beta')

    def test_placeholder_shape(self):
        image = self.backend.create(self.alpha, 'ebs', {
            'root_device_name': '/dev/vda', 'bdm_v2': 'True',
            'block_device_mapping': '[]'}, min_disk=2)
        self.assertEqual(('active', 'raw', 'bare', 0, 2, 'alpha'),
                         (image['status'], image['disk_format'],
                          image['container_format'], image['size'],
                          image['min_disk'], image['owner']))
        self.assertEqual(image, self.backend.get(self.alpha, image['id']))
        self.assertRaises(TypeError, self.backend.create, self.alpha, 'x',
                          {'bdm_v2': True})

    def test_visibility_and_members(self):
        image = self.backend.create(self.alpha, 'ebs', {'k': 'v'})
        self.assertIsNone(self.backend.get(self.beta, image['id']))
        self.assertRaises(LookupError, self.backend.update, self.beta,
                          image['id'], name='stolen')
        self.backend.delete(self.beta, image['id'])
        self.backend.update(self.alpha, image['id'], visibility='shared',
                            members=['beta'])
        self.assertEqual(['ebs'], [i['name'] for i in
                                   self.backend.list(self.beta)])
        self.backend.update(self.alpha, image['id'], members=[])
        self.assertEqual([], self.backend.list(self.beta))
        self.backend.update(self.alpha, image['id'], visibility='public')
        self.assertEqual(1, len(self.backend.list(self.beta)))

    def test_update_and_filter_properties(self):
        image = self.backend.create(self.alpha, 'ebs', {'a': '1', 'b': '2'})
        self.backend.create(self.alpha, 'other', {'a': '9'})
        updated = self.backend.update(self.alpha, image['id'],
                                      properties={'c': '3'},
                                      remove_properties=['b'])
        self.assertEqual({'a': '1', 'c': '3'}, updated['properties'])
        self.assertEqual([image['id']], [
            i['id'] for i in self.backend.list(self.alpha, {'a': '1'})])
        self.backend.delete(self.alpha, image['id'])
        self.assertIsNone(self.backend.get(self.alpha, image['id']))


class LocalBackendDataTest(base.TestCase):
    """Kernels and ramdisks: their data is a file in the state path."""

    def setUp(self):
        super().setUp()
        self.backend = local.LocalBackend(CONF)
        self.alpha, self.beta = self.context('alpha'), self.context('beta')
        self.source = fakes.write(os.path.join(self.state, 'vmlinuz'),
                                  fakes.kernel(size=10000))
        self.data_dir = os.path.join(self.state, 'images')

    def _create(self, **kwargs):
        with open(self.source, 'rb') as data:
            return self.backend.create_with_data(
                self.alpha, 'kernel', {'ec2_id': 'aki-0123456789abcdef0'},
                data, 'aki', 'aki', **kwargs)

    def _read(self, path):
        with open(path, 'rb') as f:
            return f.read()

    def test_store_download_and_delete(self):
        image = self._create()
        self.assertEqual(('active', 'aki', 'aki', 10000, 0, 'private'),
                         (image['status'], image['disk_format'],
                          image['container_format'], image['size'],
                          image['min_disk'], image['visibility']))
        self.assertEqual(image, self.backend.get(self.alpha, image['id']))
        data = self.backend.data_path(image['id'])
        self.assertEqual(os.path.join(self.data_dir, image['id']), data)
        self.assertEqual(self._read(self.source), self._read(data))
        self.assertEqual([image['id']], os.listdir(self.data_dir))
        self.assertEqual(0o600, stat.S_IMODE(os.stat(data).st_mode))
        self.assertEqual(0o700, stat.S_IMODE(
            os.stat(self.data_dir).st_mode))

        copy = os.path.join(self.state, 'copy')
        self.backend.download(self.alpha, image['id'], copy)
        self.assertEqual(self._read(self.source), self._read(copy))
        admin = ebs_context.get_admin_context()
        self.backend.download(admin, image['id'], copy)
        self.assertRaises(LookupError, self.backend.download, self.beta,
                          image['id'], copy)
        self.assertRaises(LookupError, self.backend.download, self.alpha,
                          str(uuid.uuid4()), copy)

        self.backend.delete(self.beta, image['id'])
        self.assertTrue(os.path.exists(data))
        self.backend.delete(self.alpha, image['id'])
        self.assertIsNone(self.backend.get(self.alpha, image['id']))
        self.assertEqual([], os.listdir(self.data_dir))

    def test_public(self):
        image = self._create(visibility='public')
        copy = os.path.join(self.state, 'copy')
        self.backend.download(self.beta, image['id'], copy)
        self.assertEqual(10000, os.path.getsize(copy))

    def test_missing_or_changed_data(self):
        image = self._create()
        data = self.backend.data_path(image['id'])
        with open(data, 'ab') as f:
            f.write(b'more')
        copy = os.path.join(self.state, 'copy')
        e = self.assertRaises(backend.ImageDataError, self.backend.download,
                              self.alpha, image['id'], copy)
        self.assertIn('has 10004 bytes', str(e))
        os.unlink(data)
        e = self.assertRaises(backend.ImageDataError, self.backend.download,
                              self.alpha, image['id'], copy)
        self.assertIn('not in %s on this host' % self.data_dir, str(e))

    def test_nothing_left_when_it_fails(self):
        with mock.patch.object(db, 'image_create',
                               side_effect=db.DuplicateError()):
            self.assertRaises(db.DuplicateError, self._create)
        self.assertEqual([], os.listdir(self.data_dir))
        unreadable = mock.Mock()
        unreadable.read.side_effect = OSError(5, 'Input/output error')
        self.assertRaises(OSError, self.backend.create_with_data,
                          self.alpha, 'x', {}, unreadable, 'aki', 'aki')
        self.assertEqual([], os.listdir(self.data_dir))
        with open(self.source, 'rb') as data:
            self.assertRaises(TypeError, self.backend.create_with_data,
                              self.alpha, 'x', {'k': 1}, data, 'aki', 'aki')
        self.assertEqual([], db.image_list())
