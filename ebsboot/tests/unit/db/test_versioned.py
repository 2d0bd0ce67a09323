"""Values kept until the next commit: VersionedCache and credentials."""

import sqlite3
from unittest import mock

import fixtures

from ebsboot import context as ebs_context
from ebsboot.db import api as db
from ebsboot.db import versioned
from ebsboot import secret_keys
from ebsboot.tests.unit import base


class VersionedCacheTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.version = [1]
        self.cache = versioned.VersionedCache(2, lambda: self.version[0])
        self.compute = mock.Mock(side_effect=lambda: object())

    def test_kept_while_the_version_holds(self):
        first = self.cache.get('a', self.compute)
        self.assertIs(first, self.cache.get('a', self.compute))
        self.assertEqual(1, self.compute.call_count)
        self.version[0] = 2
        second = self.cache.get('a', self.compute)
        self.assertIsNot(first, second)
        self.assertEqual(2, self.compute.call_count)
        self.assertIs(second, self.cache.get('a', self.compute))

    def test_keys_are_apart_and_the_oldest_goes(self):
        a = self.cache.get('a', self.compute)
        self.cache.get('b', self.compute)
        self.assertIs(a, self.cache.get('a', self.compute))
        self.cache.get('c', self.compute)  # 'b' is the least recent
        self.assertEqual(2, len(self.cache))
        self.assertIs(a, self.cache.get('a', self.compute))
        self.assertEqual(3, self.compute.call_count)
        self.cache.get('b', self.compute)
        self.assertEqual(4, self.compute.call_count)

    def test_nothing_kept_without_a_version(self):
        self.version[0] = None
        self.cache.get('a', self.compute)
        self.cache.get('a', self.compute)
        self.assertEqual(2, self.compute.call_count)
        self.assertEqual(0, len(self.cache))

    def test_errors_are_not_kept(self):
        failing = mock.Mock(side_effect=[ValueError('x'), 'value'])
        self.assertRaises(ValueError, self.cache.get, 'a', failing)
        self.assertEqual('value', self.cache.get('a', failing))

    def test_version_is_read_before_the_value(self):
        # A commit while the value is computed: the value was kept with
        # the version before it, so the next call computes again.
        def compute():
            self.version[0] += 1
            return object()

        first = self.cache.get('a', compute)
        self.assertIsNot(first, self.cache.get('a', compute))


class CredentialCacheTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.admin = ebs_context.get_admin_context()
        db.credential_create(self.admin, 'AK1', 'secret', 'alpha')
        self.reads = self.useFixture(fixtures.MockPatchObject(
            db, '_credential_read', side_effect=db._credential_read)).mock

    def _other_process(self, sql, *args):
        # ebsboot-manage, say: a connection of its own.
        conn = sqlite3.connect(db.get_engine().url.database)
        with conn:
            conn.execute(sql, args)
        conn.close()

    def test_read_once_while_nothing_changes(self):
        for _ in range(3):
            self.assertEqual(('secret', 'alpha'), db.credential_get(
                self.admin, 'AK1')[1:])
        self.assertEqual(1, self.reads.call_count)
        # Any commit, even of another table: read again.
        db.volume_create(self.context(), {
            'id': 'v-uuid', 'ec2_id': 'vol-1', 'project_id': 'alpha',
            'availability_zone': 'nova', 'size': 1, 'volume_type': 'gp2',
            'status': 'available'})
        db.credential_get(self.admin, 'AK1')
        self.assertEqual(2, self.reads.call_count)

    def test_a_deleted_credential_is_never_given(self):
        self.assertIsNotNone(db.credential_get(self.admin, 'AK1'))
        db.credential_delete(self.admin, 'AK1')
        self.assertIsNone(db.credential_get(self.admin, 'AK1'))

    def test_deleted_or_changed_by_another_process(self):
        self.assertIsNotNone(db.credential_get(self.admin, 'AK1'))
        self._other_process('UPDATE credentials SET project_id = ?', 'beta')
        self.assertEqual('beta', db.credential_get(self.admin, 'AK1')
                         .project_id)
        token = secret_keys.encrypt('new-secret')
        self._other_process('UPDATE credentials SET secret_key = ?', token)
        self.assertEqual('new-secret', db.credential_get(
            self.admin, 'AK1').secret_key)
        self._other_process('DELETE FROM credentials')
        self.assertIsNone(db.credential_get(self.admin, 'AK1'))

    def test_a_new_credential_is_found_at_once(self):
        self.assertIsNone(db.credential_get(self.admin, 'AK2'))
        db.credential_create(self.admin, 'AK2', 'two', 'beta')
        self.assertEqual('two', db.credential_get(self.admin, 'AK2')
                         .secret_key)

    def test_not_kept_on_other_databases(self):
        self.useFixture(fixtures.MockPatchObject(
            db, 'data_version', return_value=None))
        db.credential_get(self.admin, 'AK1')
        db.credential_get(self.admin, 'AK1')
        self.assertEqual(2, self.reads.call_count)
