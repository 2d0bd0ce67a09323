"""The local image backend keeps Glance-shaped placeholder images."""

from ebsboot.conf import CONF
from ebsboot.image.backends import local
from ebsboot.tests.unit import base


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
