"""Secret keys at rest: the key file, the tokens, the stored rows."""

import os
import stat

from cryptography import fernet
import sqlalchemy as sa

from ebsboot.conf import CONF
from ebsboot import context as ebs_context
from ebsboot.db import api as db
from ebsboot.db import models
from ebsboot import secret_keys
from ebsboot.tests.unit import base

SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'


class SecretKeysTest(base.TestCase):

    def setUp(self):
        super().setUp()
        secret_keys.reset()
        self.addCleanup(secret_keys.reset)
        self.key_file = CONF.credentials.key_file

    def use_key_file(self, name):
        self.config.config(key_file=os.path.join(self.state, name),
                           group='credentials')
        return CONF.credentials.key_file

    def test_db_sync_made_the_key_file_private(self):
        self.assertEqual(os.path.join(self.state, 'credential.key'),
                         self.key_file)
        self.assertEqual(0o600, stat.S_IMODE(os.stat(self.key_file).st_mode))
        with open(self.key_file, 'rb') as f:
            fernet.Fernet(f.read().strip())

    def test_round_trip(self):
        token = secret_keys.encrypt(SECRET)
        self.assertNotIn(SECRET, token)
        self.assertTrue(secret_keys.is_token(token))
        self.assertFalse(secret_keys.is_token(SECRET))
        self.assertEqual(SECRET, secret_keys.decrypt(token))
        # A random IV: the same secret twice gives two tokens.
        self.assertNotEqual(token, secret_keys.encrypt(SECRET))

    def test_first_encryption_makes_the_key_file(self):
        path = self.use_key_file('keys/new.key')
        token = secret_keys.encrypt(SECRET)
        self.assertEqual(0o600, stat.S_IMODE(os.stat(path).st_mode))
        self.assertEqual(0o700, stat.S_IMODE(
            os.stat(os.path.dirname(path)).st_mode))
        self.assertEqual([], [n for n in os.listdir(os.path.dirname(path))
                              if n != 'new.key'])
        secret_keys.reset()
        self.assertEqual(SECRET, secret_keys.decrypt(token))

    def test_an_existing_key_file_is_kept(self):
        with open(self.key_file, 'rb') as f:
            before = f.read()
        secret_keys.reset()
        secret_keys.encrypt(SECRET)
        with open(self.key_file, 'rb') as f:
            self.assertEqual(before, f.read())

    def test_wrong_key_is_refused_clearly(self):
        token = secret_keys.encrypt(SECRET)
        # Remembered for this key file, not for another.
        self.assertEqual(SECRET, secret_keys.decrypt(token))
        path = self.use_key_file('other.key')
        secret_keys.encrypt('anything')  # makes other.key
        e = self.assertRaises(secret_keys.WrongKeyError, secret_keys.decrypt,
                              token, access_key='AKIAEXAMPLE')
        self.assertIn('AKIAEXAMPLE', str(e))
        self.assertIn(path, str(e))
        self.assertNotIn(SECRET, str(e))
        self.assertRaises(secret_keys.WrongKeyError, secret_keys.decrypt,
                          SECRET)

    def test_decrypting_never_makes_a_key_file(self):
        token = secret_keys.encrypt(SECRET)
        path = self.use_key_file('missing.key')
        e = self.assertRaises(secret_keys.KeyFileError, secret_keys.decrypt,
                              token)
        self.assertIn(path, str(e))
        self.assertFalse(os.path.exists(path))

    def test_a_file_without_a_key_is_refused(self):
        path = self.use_key_file('garbage.key')
        with open(path, 'w') as f:
            f.write('not a key\n')
        e = self.assertRaises(secret_keys.KeyFileError, secret_keys.encrypt,
                              SECRET)
        self.assertIn('holds no Fernet key', str(e))

    def test_the_key_file_is_read_once(self):
        token = secret_keys.encrypt(SECRET)
        os.rename(self.key_file, self.key_file + '.moved')
        # The process keeps the key it read: no file access per request.
        self.assertEqual(SECRET, secret_keys.decrypt(token))

    def test_rows_at_rest_are_not_the_secret(self):
        admin = ebs_context.get_admin_context()
        db.credential_create(admin, 'AKIAEXAMPLE', SECRET, 'alpha')
        table = models.Credential.__table__
        with db.get_engine().connect() as conn:
            stored = conn.execute(sa.select(table.c.secret_key)).scalar()
        self.assertNotIn(SECRET, stored)
        self.assertEqual(SECRET, secret_keys.decrypt(stored))
        with open(CONF.database.connection[len('sqlite:///'):], 'rb') as f:
            self.assertNotIn(SECRET.encode(), f.read())
        found = db.credential_get(admin, 'AKIAEXAMPLE')
        self.assertEqual((SECRET, 'alpha'),
                         (found.secret_key, found.project_id))
        self.assertEqual(1, len(db.credential_list(admin)))
        self.assertNotEqual(SECRET, db.credential_list(admin)[0].secret_key)
