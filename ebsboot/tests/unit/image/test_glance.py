"""The glance image backend against a fake glanceclient."""

import copy
import errno
import io
import os
import types
from unittest import mock
import uuid

import fixtures
from glanceclient import exc as glance_exc
from keystoneauth1 import exceptions as ks_exc

from ebsboot.conf import CONF
from ebsboot import context as ebs_context
from ebsboot.db import api as db
from ebsboot import exception
from ebsboot.image import backend
from ebsboot.image.backends import glance
from ebsboot.tests.unit import base
from ebsboot.tests.unit.image import fakes


class FakeImages:
    """The parts of glanceclient's v2 images controller the backend uses."""

    def __init__(self, store):
        self.store = store
        self.uploads = []
        self.data_store = {}

    def create(self, **kwargs):
        for key, value in kwargs.items():
            if key not in glance.CORE_ATTRIBUTES and not isinstance(value,
                                                                    str):
                raise TypeError('%s is not a string' % key)
        image = dict(kwargs, id=str(uuid.uuid4()), status='queued',
                     size=None, created_at='2026-11-21T10:00:%02dZ'
                     % len(self.store), protected=False, tags=[])
        image.setdefault('visibility', 'shared')
        image.setdefault('owner', None)
        self.store[image['id']] = image
        return copy.deepcopy(image)

    def upload(self, image_id, data, image_size=None):
        data = data.read()
        self.uploads.append((image_id, data, image_size))
        self.data_store[image_id] = data
        self.store[image_id].update(status='active', size=image_size)

    def data(self, image_id):
        """Chunks of the data, as glanceclient's RequestIdProxy has them."""
        if image_id not in self.store:
            raise glance_exc.HTTPNotFound()
        data = self.data_store.get(image_id)
        if data is None:
            return types.SimpleNamespace(wrapped=None)
        return iter([data[:5], data[5:]])

    def get(self, image_id):
        if image_id not in self.store:
            raise glance_exc.HTTPNotFound()
        return copy.deepcopy(self.store[image_id])

    def list(self, filters=None, sort=None):
        for image in sorted(self.store.values(),
                            key=lambda i: i['created_at']):
            if all(image.get(k) == v for k, v in (filters or {}).items()):
                yield copy.deepcopy(image)

    def update(self, image_id, remove_props=None, **kwargs):
        image = self.store[image_id]
        image.update(kwargs)
        for key in remove_props or ():
            image.pop(key, None)
        return copy.deepcopy(image)

    def delete(self, image_id):
        if self.store.pop(image_id, None) is None:
            raise glance_exc.HTTPNotFound()


class FakeMembers:

    def __init__(self, store):
        self.store = store
        self.members = {}

    def _shared(self, image_id):
        if self.store[image_id]['visibility'] != 'shared':
            raise glance_exc.HTTPForbidden()
        return self.members.setdefault(image_id, {})

    def list(self, image_id):
        return [{'member_id': m, 'status': s}
                for m, s in self._shared(image_id).items()]

    def create(self, image_id, member_id):
        self._shared(image_id)[member_id] = 'pending'

    def update(self, image_id, member_id, status):
        self._shared(image_id)[member_id] = status

    def delete(self, image_id, member_id):
        if self._shared(image_id).pop(member_id, None) is None:
            raise glance_exc.HTTPNotFound()


class FakeGlance:

    def __init__(self):
        self.store = {}
        self.images = FakeImages(self.store)
        self.image_members = FakeMembers(self.store)


class GlanceBackendTestBase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.glance = FakeGlance()
        self.backend = glance.GlanceBackend(CONF)
        self.backend._client = self.glance
        self.alpha, self.beta = self.context('alpha'), self.context('beta')

    def register(self, context=None, name='ebs', visibility='private',
                 **properties):
        properties.setdefault('ec2_id', 'ami-%017x' % len(self.glance.store))
        return self.backend.create(context or self.alpha, name, dict(
            {'root_device_name': '/dev/vda', 'bdm_v2': 'True',
             'block_device_mapping': '[]'}, **properties),
            visibility=visibility, min_disk=2)

    def by_hand(self, owner='alpha', **properties):
        """An image made without ebsboot (as Nova or the CLI make them)."""
        image = self.glance.images.create(
            name='by-hand', disk_format='raw', container_format='bare',
            visibility='private', owner=owner, **properties)
        self.glance.images.upload(image['id'], io.BytesIO(b''), 0)
        return image['id']


class GlanceBackendTest(GlanceBackendTestBase):

    def test_create_is_novas_placeholder(self):
        image = self.register(ec2_id='ami-0123456789abcdef0')
        stored = self.glance.store[image['id']]
        self.assertEqual(
            ('raw', 'bare', 'private', 'alpha', 2, 0, 'active', 0),
            (stored['disk_format'], stored['container_format'],
             stored['visibility'], stored['owner'], stored['min_disk'],
             stored['min_ram'], stored['status'], stored['size']))
        self.assertEqual([(image['id'], b'', 0)], self.glance.images.uploads)
        self.assertEqual({'ec2_id': 'ami-0123456789abcdef0',
                          'root_device_name': '/dev/vda', 'bdm_v2': 'True',
                          'block_device_mapping': '[]'},
                         image['properties'])
        self.assertEqual(('active', 0, 2, 'alpha', []),
                         (image['status'], image['size'], image['min_disk'],
                          image['owner'], image['members']))
        self.assertEqual(image['id'], db.image_id_get_by_ec2_id(
            'ami-0123456789abcdef0'))
        self.assertEqual(image, self.backend.get(self.alpha, image['id']))
        self.assertRaises(TypeError, self.register, bdm_v2=True)
        self.assertRaises(ValueError, self.register, owner='beta')

    def test_visibility(self):
        private = self.register(name='private')
        public = self.register(name='public', visibility='public')
        others = self.register(self.beta, name='beta-s')
        self.assertEqual(['private', 'public'], [
            i['name'] for i in self.backend.list(self.alpha)])
        self.assertEqual(['public', 'beta-s'], [
            i['name'] for i in self.backend.list(self.beta)])
        self.assertIsNone(self.backend.get(self.beta, private['id']))
        self.assertEqual(public['id'],
                         self.backend.get(self.beta, public['id'])['id'])
        self.assertIsNone(self.backend.get(self.alpha, 'not-a-uuid'))
        self.assertIsNone(self.backend.get(self.alpha, str(uuid.uuid4())))
        admin = ebs_context.get_admin_context()
        self.assertEqual(3, len(self.backend.list(admin)))
        # Other projects cannot change or delete an image.
        self.assertRaises(LookupError, self.backend.update, self.alpha,
                          others['id'], name='stolen')
        self.backend.delete(self.alpha, others['id'])
        self.assertIn(others['id'], self.glance.store)
        self.backend.delete(self.beta, others['id'])
        self.assertNotIn(others['id'], self.glance.store)
        self.backend.delete(self.beta, others['id'])

    def test_members_are_accepted_launch_permissions(self):
        image = self.register()
        shared = self.backend.update(self.alpha, image['id'],
                                     visibility='shared',
                                     members=['beta', 'gamma'])
        self.assertEqual(('shared', ['beta', 'gamma']),
                         (shared['visibility'], shared['members']))
        self.assertEqual({'beta': 'accepted', 'gamma': 'accepted'},
                         self.glance.image_members.members[image['id']])
        self.assertEqual([image['id']], [
            i['id'] for i in self.backend.list(self.beta)])
        self.backend.update(self.alpha, image['id'], members=['gamma'])
        self.assertEqual([], self.backend.list(self.beta))
        # Public: Glance has no members then; ebsboot keeps them.
        public = self.backend.update(self.alpha, image['id'],
                                     visibility='public',
                                     members=['gamma'])
        self.assertEqual(('public', ['gamma']),
                         (public['visibility'], public['members']))
        self.assertNotIn(glance.PUBLIC_MEMBERS_PROPERTY,
                         public['properties'])
        back = self.backend.update(self.alpha, image['id'],
                                   visibility='shared', members=['gamma'])
        self.assertEqual(['gamma'], back['members'])
        self.assertNotIn(glance.PUBLIC_MEMBERS_PROPERTY,
                         self.glance.store[image['id']])
        private = self.backend.update(self.alpha, image['id'],
                                      visibility='private', members=[])
        self.assertEqual(('private', []),
                         (private['visibility'], private['members']))

    def test_member_not_accepted_is_still_a_member(self):
        image = self.register()
        with mock.patch.object(self.glance.image_members, 'update',
                               side_effect=glance_exc.HTTPForbidden()):
            shared = self.backend.update(self.alpha, image['id'],
                                         visibility='shared',
                                         members=['beta'])
        self.assertEqual(['beta'], shared['members'])
        self.assertEqual({'beta': 'pending'},
                         self.glance.image_members.members[image['id']])

    def test_update_properties(self):
        image = self.register(description='old')
        updated = self.backend.update(
            self.alpha, image['id'], name='renamed',
            properties={'ec2_state': 'pending'},
            remove_properties=['description', 'missing'])
        self.assertEqual('renamed', updated['name'])
        self.assertEqual('pending', updated['properties']['ec2_state'])
        self.assertNotIn('description', updated['properties'])
        self.assertEqual(image['properties']['ec2_id'],
                         updated['properties']['ec2_id'])

    def test_ec2_ids_of_images_made_without_ebsboot(self):
        glance_id = self.by_hand()
        [image] = self.backend.list(self.alpha)
        ec2_id = image['properties']['ec2_id']
        self.assertRegex(ec2_id, r'^ami-[0-9a-f]{17}$')
        self.assertNotIn('ec2_id', self.glance.store[glance_id])
        self.assertEqual(ec2_id, self.backend.get(
            self.alpha, glance_id)['properties']['ec2_id'])
        self.assertEqual([glance_id], [i['id'] for i in self.backend.list(
            self.alpha, {'ec2_id': ec2_id})])
        # A copy of another image's ec2_id (Nova snapshots inherit it).
        copy_id = self.by_hand(ec2_id=ec2_id)
        copied = self.backend.get(self.alpha, copy_id)
        self.assertNotEqual(ec2_id, copied['properties']['ec2_id'])
        self.assertEqual([glance_id], [i['id'] for i in self.backend.list(
            self.alpha, {'ec2_id': ec2_id})])
        # An ec2_id property seen for the first time is taken as it is.
        claimed = self.by_hand(ec2_id='ami-00000000000000abc')
        self.assertEqual([claimed], [i['id'] for i in self.backend.list(
            self.alpha, {'ec2_id': 'ami-00000000000000abc'})])
        self.assertEqual([], self.backend.list(
            self.alpha, {'ec2_id': 'ami-00000000000000abd'}))
        # Deleted images keep their ids.
        self.glance.images.delete(glance_id)
        self.assertEqual([], self.backend.list(self.alpha,
                                               {'ec2_id': ec2_id}))
        self.assertEqual(glance_id, db.image_id_get_by_ec2_id(ec2_id))

    def test_kernel_and_ramdisk_ids(self):
        kernel = self.register(name='kernel', ec2_id='ami-000000000000000a1')
        image = self.register(name='with-kernel',
                              kernel_id='ami-000000000000000a1',
                              ramdisk_id='ari-0123abcd')
        stored = self.glance.store[image['id']]
        self.assertEqual(kernel['id'], stored['kernel_id'])
        self.assertEqual('ari-0123abcd', stored['ec2_ramdisk_id'])
        self.assertNotIn('ramdisk_id', stored)
        self.assertEqual(('ami-000000000000000a1', 'ari-0123abcd'),
                         (image['properties']['kernel_id'],
                          image['properties']['ramdisk_id']))
        self.assertNotIn('ec2_ramdisk_id', image['properties'])
        updated = self.backend.update(self.alpha, image['id'],
                                      remove_properties=['ramdisk_id'])
        self.assertNotIn('ramdisk_id', updated['properties'])
        self.assertNotIn('ec2_ramdisk_id', self.glance.store[image['id']])


class GlanceDataTest(GlanceBackendTestBase):
    """Kernels and ramdisks: stored and fetched as Nova boots them."""

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.source = fakes.write(os.path.join(self.dir, 'vmlinuz'),
                                  fakes.kernel(size=3000))
        self.copy = os.path.join(self.dir, 'copy')

    def _create(self, ec2_id='aki-0123456789abcdef0', **kwargs):
        with open(self.source, 'rb') as data:
            return self.backend.create_with_data(
                self.alpha, 'kernel',
                {'ec2_id': ec2_id, 'architecture': 'x86_64'},
                data, 'aki', 'aki', **kwargs)

    def _read(self, path):
        with open(path, 'rb') as f:
            return f.read()

    def test_store_like_nova_kernels(self):
        image = self._create()
        stored = self.glance.store[image['id']]
        self.assertEqual(('aki', 'aki', 'private', 'alpha', 'active', 3000),
                         (stored['disk_format'], stored['container_format'],
                          stored['visibility'], stored['owner'],
                          stored['status'], stored['size']))
        self.assertEqual([(image['id'], self._read(self.source), 3000)],
                         self.glance.images.uploads)
        self.assertEqual(('aki', 3000, 'aki-0123456789abcdef0'),
                         (image['disk_format'], image['size'],
                          image['properties']['ec2_id']))
        self.assertEqual(image['id'], db.image_id_get_by_ec2_id(
            'aki-0123456789abcdef0'))
        # An image naming it as its kernel stores its Glance id.
        machine = self.register(kernel_id='aki-0123456789abcdef0')
        self.assertEqual(image['id'],
                         self.glance.store[machine['id']]['kernel_id'])
        self.assertEqual('aki-0123456789abcdef0',
                         machine['properties']['kernel_id'])

    def test_download(self):
        image = self._create(visibility='public')
        self.backend.download(self.beta, image['id'], self.copy)
        self.assertEqual(self._read(self.source), self._read(self.copy))
        private = self._create('aki-0000000000000000a')
        self.assertRaises(LookupError, self.backend.download, self.beta,
                          private['id'], self.copy)
        self.assertRaises(LookupError, self.backend.download, self.alpha,
                          str(uuid.uuid4()), self.copy)

    def test_download_without_data_or_damaged(self):
        image = self._create()
        del self.glance.images.data_store[image['id']]
        e = self.assertRaises(backend.ImageDataError, self.backend.download,
                              self.alpha, image['id'], self.copy)
        self.assertIn('has no data', str(e))

        def corrupt(image_id):
            yield b'some'
            raise IOError(errno.EPIPE, 'Corrupt image download.')

        with mock.patch.object(self.glance.images, 'data', corrupt):
            e = self.assertRaises(backend.ImageDataError,
                                  self.backend.download, self.alpha,
                                  image['id'], self.copy)
        self.assertIn('Corrupt image download', str(e))
        with mock.patch.object(
                self.glance.images, 'data',
                side_effect=glance_exc.CommunicationError('gone')):
            self.assertRaises(exception.ServiceUnavailable,
                              self.backend.download, self.alpha,
                              image['id'], self.copy)

    def test_failed_upload_deletes_the_image(self):
        unavailable = glance_exc.HTTPServiceUnavailable()
        with mock.patch.object(self.glance.images, 'upload',
                               side_effect=unavailable):
            self.assertRaises(exception.ServiceUnavailable, self._create)
        self.assertEqual({}, self.glance.store)
        self.assertIsNone(db.image_id_get_by_ec2_id('aki-0123456789abcdef0'))

    def test_ec2_id_kinds_of_images_made_without_ebsboot(self):
        kernel = self.glance.images.create(
            name='vmlinuz', disk_format='aki', container_format='aki',
            visibility='public', owner='alpha')
        ramdisk = self.glance.images.create(
            name='initrd', disk_format='ari', container_format='ari',
            visibility='public', owner='alpha')
        # First seen as another image's kernel: an aki- id all the same.
        machine = self.by_hand(kernel_id=kernel['id'],
                               ramdisk_id=ramdisk['id'])
        props = self.backend.get(self.alpha, machine)['properties']
        self.assertRegex(props['kernel_id'], r'^aki-[0-9a-f]{17}$')
        self.assertRegex(props['ramdisk_id'], r'^ari-[0-9a-f]{17}$')
        ids = {i['id']: i['properties']['ec2_id']
               for i in self.backend.list(self.alpha)}
        self.assertEqual((props['kernel_id'], props['ramdisk_id']),
                         (ids[kernel['id']], ids[ramdisk['id']]))
        self.assertRegex(ids[machine], r'^ami-')


class GlanceErrorTest(GlanceBackendTestBase):
    """Glance down or failing: EC2 errors, and nothing left behind."""

    UNAVAILABLE = [
        glance_exc.CommunicationError('connection refused'),
        glance_exc.InvalidEndpoint('timed out'),
        ks_exc.ConnectFailure('refused'),
        ks_exc.EndpointNotFound(),
        ks_exc.Unauthorized(),
        glance_exc.HTTPInternalServerError(),
        glance_exc.HTTPServiceUnavailable(),
    ]

    def test_unreachable_is_unavailable(self):
        image = self.register()
        for error in self.UNAVAILABLE:
            for method, args in (
                    ('list', (self.alpha,)),
                    ('get', (self.alpha, image['id'])),
                    ('update', (self.alpha, image['id'], 'new')),
                    ('delete', (self.alpha, image['id']))):
                with mock.patch.object(self.glance.images, 'get',
                                       side_effect=error), \
                        mock.patch.object(self.glance.images, 'list',
                                          side_effect=error):
                    e = self.assertRaises(exception.ServiceUnavailable,
                                          getattr(self.backend, method),
                                          *args)
                self.assertEqual((503, 'Unavailable'), (e.status, e.code))
        with mock.patch.object(self.glance.images, 'create',
                               side_effect=self.UNAVAILABLE[0]):
            self.assertRaises(exception.ServiceUnavailable, self.register)

    def test_refusal_is_an_internal_error(self):
        with mock.patch.object(self.glance.images, 'list',
                               side_effect=glance_exc.HTTPForbidden()):
            e = self.assertRaises(exception.InternalError,
                                  self.backend.list, self.alpha)
        self.assertIn('403', e.msg)

    def test_failed_upload_deletes_the_image(self):
        for error in (glance_exc.HTTPInternalServerError(),
                      glance_exc.CommunicationError('gone')):
            with mock.patch.object(self.glance.images, 'upload',
                                   side_effect=error):
                self.assertRaises(exception.ServiceUnavailable,
                                  self.register,
                                  ec2_id='ami-0000000000000abc1')
            self.assertEqual({}, self.glance.store)
            self.assertIsNone(db.image_id_get_by_ec2_id(
                'ami-0000000000000abc1'))

    def test_failed_cleanup_still_reports_the_first_error(self):
        with mock.patch.object(
                self.glance.images, 'upload',
                side_effect=glance_exc.HTTPServiceUnavailable()), \
                mock.patch.object(
                    self.glance.images, 'delete',
                    side_effect=glance_exc.CommunicationError('gone')):
            self.assertRaises(exception.ServiceUnavailable, self.register)

    def test_failed_mapping_deletes_the_image(self):
        self.register(ec2_id='ami-0000000000000abc2')
        self.assertRaises(db.DuplicateError, self.register,
                          ec2_id='ami-0000000000000abc2')
        self.assertEqual(1, len(self.glance.store))


class GlanceClientTest(base.TestCase):

    def test_without_keystone(self):
        self.config.config(auth_type='none',
                           endpoint_override='http://127.0.0.1:9292',
                           connect_retries=5, group='glance')
        client = glance.build_client(CONF)
        http = client.http_client
        self.assertEqual(('http://127.0.0.1:9292', 'image', 5, 2),
                         (http.endpoint_override, http.service_type,
                          http.connect_retries, http.status_code_retries))
        self.assertEqual(60, http.session.timeout)

    def test_not_configured(self):
        self.assertRaises(exception.InternalError, glance.build_client, CONF)
        backend = glance.GlanceBackend(CONF)
        self.assertRaises(exception.InternalError, backend.list,
                          self.context())

    def test_keystone_password(self):
        self.config.config(auth_type='password', group='glance')
        with mock.patch('keystoneauth1.loading.load_auth_from_conf_options'
                        ) as load_auth:
            load_auth.return_value = mock.sentinel.auth
            with mock.patch('keystoneauth1.loading.'
                            'load_session_from_conf_options') as session:
                glance.build_client(CONF)
        session.assert_called_once_with(CONF, 'glance',
                                        auth=mock.sentinel.auth)
