"""Tests of the libvirt ceph secret of RBD disks."""

import base64
import os

import fixtures
import testtools

from ebsboot.compute.drivers.libvirt import secrets
from ebsboot import exception

KEY = base64.b64encode(b'sixteen byte key').decode()


class FakeLibvirt:
    class libvirtError(Exception):
        def get_error_message(self):
            return str(self)


class FakeSecret:
    def __init__(self, xml):
        self.xml = xml
        self.value = None

    def setValue(self, value):
        self.value = value


class FakeConn:
    def __init__(self):
        self.secrets = {}

    def secretLookupByUUIDString(self, uuid):
        if uuid not in self.secrets:
            raise FakeLibvirt.libvirtError('no secret %s' % uuid)
        return self.secrets[uuid]

    def secretDefineXML(self, xml):
        uuid = xml.split('<uuid>')[1].split('</uuid>')[0]
        self.secrets[uuid] = FakeSecret(xml)
        return self.secrets[uuid]


class SecretsTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.logs = self.useFixture(fixtures.FakeLogger(level='DEBUG'))

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, 'w') as f:
            f.write(text)
        return path

    def test_key_from_a_keyring_or_a_bare_key_file(self):
        keyring = self.write('keyring', '[client.other]\n\tkey = %s\n'
                             '[client.cinder]\n\tkey = %s\n'
                             '\tcaps mon = "profile rbd"\n' % (
                                 base64.b64encode(b'other').decode(), KEY))
        self.assertEqual(b'sixteen byte key',
                         secrets.read_key(keyring, 'cinder'))
        bare = self.write('key', KEY + '\n')
        self.assertEqual(b'sixteen byte key', secrets.read_key(bare, 'x'))

    def test_bad_key_files(self):
        for name, text, user in (('none', '[client.a]\nkey = %s\n' % KEY,
                                  'b'),
                                 ('junk', 'not base64 at all!', 'a')):
            self.assertRaises(exception.VolumeDriverError, secrets.read_key,
                              self.write(name, text), user)
        self.assertRaises(exception.VolumeDriverError, secrets.read_key,
                          os.path.join(self.dir, 'missing'), 'a')

    def test_secret_defined_once_value_set_each_time_never_logged(self):
        conn = FakeConn()
        path = self.write('key', KEY)
        for _ in range(2):
            secrets.ensure_ceph_secret(conn, FakeLibvirt, 'u-1', 'cinder',
                                       path)
        [secret] = conn.secrets.values()
        self.assertIn("<usage type='ceph'><name>client.cinder secret u-1"
                      "</name>", secret.xml)
        self.assertIn("private='yes'", secret.xml)
        self.assertEqual(b'sixteen byte key', secret.value)
        self.assertNotIn(KEY, self.logs.output)
        self.assertNotIn('sixteen', self.logs.output)
        self.assertIn('u-1', self.logs.output)

    def test_no_key_file_configured(self):
        error = self.assertRaises(
            exception.VolumeDriverError, secrets.ensure_ceph_secret,
            FakeConn(), FakeLibvirt, 'u-1', 'cinder', None)
        self.assertIn('rbd_keyring_file', str(error))
