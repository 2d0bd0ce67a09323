"""The alembic migrations build exactly the schema the models describe."""

import os
import stat

from alembic import autogenerate
from alembic import command as alembic_command
from alembic import migration as alembic_migration
import sqlalchemy as sa

from ebsboot.conf import CONF
from ebsboot.db import migration
from ebsboot.db import models
from ebsboot import secret_keys
from ebsboot.tests.unit import base


class MigrationsTest(base.TestCase):

    def test_models_and_migrations_agree(self):
        engine = sa.create_engine('sqlite:///%s/sync.sqlite' % self.state)
        migration.db_sync(engine=engine)
        with engine.connect() as conn:
            context = alembic_migration.MigrationContext.configure(conn)
            diff = autogenerate.compare_metadata(context,
                                                 models.BASE.metadata)
        engine.dispose()
        self.assertEqual([], diff)

    def test_sync_is_idempotent_and_versioned(self):
        self.assertEqual('0010', migration.head_revision())
        self.assertEqual('0010', migration.db_version())
        migration.db_sync()
        self.assertEqual('0010', migration.db_version())

    def test_fresh_database_has_no_version(self):
        engine = sa.create_engine('sqlite://')
        self.assertIsNone(migration.db_version(engine=engine))


class EncryptedSecretKeysMigrationTest(base.TestCase):
    """0004 encrypts the plain secret keys of 0003; the downgrade undoes it.

    A PostgreSQL VARCHAR(128) would refuse a token (140 characters for
    a 40-character secret): 0004 widens the column first.
    """

    def setUp(self):
        super().setUp()
        secret_keys.reset()
        self.addCleanup(secret_keys.reset)
        self.config.config(key_file=os.path.join(self.state, 'old.key'),
                           group='credentials')
        self.engine = sa.create_engine(
            'sqlite:///%s/old.sqlite' % self.state)
        self.addCleanup(self.engine.dispose)
        migration.db_sync('0003', engine=self.engine)
        with self.engine.begin() as conn:
            for key, secret in (('AK1', 'a' * 40), ('AK2', 'b+/' * 13)):
                conn.execute(sa.text(
                    "INSERT INTO credentials (access_key, secret_key, "
                    "project_id, created_at) VALUES (:key, :secret, 'p', "
                    "'2026-12-01 00:00:00')"), {'key': key, 'secret': secret})

    def stored(self):
        with self.engine.connect() as conn:
            return dict(conn.execute(sa.text(
                'SELECT access_key, secret_key FROM credentials')).all())

    def test_upgrade_encrypts_and_downgrade_decrypts(self):
        self.assertFalse(os.path.exists(CONF.credentials.key_file))
        migration.db_sync('0004', engine=self.engine)
        self.assertEqual(0o600, stat.S_IMODE(
            os.stat(CONF.credentials.key_file).st_mode))
        tokens = self.stored()
        self.assertEqual({'AK1', 'AK2'}, set(tokens))
        self.assertNotEqual('a' * 40, tokens['AK1'])
        self.assertGreater(len(tokens['AK1']), 128)
        self.assertEqual('a' * 40, secret_keys.decrypt(tokens['AK1']))
        self.assertEqual('b+/' * 13, secret_keys.decrypt(tokens['AK2']))

        # Running it again (a retry) encrypts nothing twice.
        with self.engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET "
                                 "version_num = '0003'"))
        migration.db_sync('0004', engine=self.engine)
        self.assertEqual(tokens, self.stored())

        config = migration._alembic_config()
        with self.engine.begin() as conn:
            config.attributes['connection'] = conn
            alembic_command.downgrade(config, '0003')
        self.assertEqual({'AK1': 'a' * 40, 'AK2': 'b+/' * 13}, self.stored())

    def test_downgrade_with_another_key_fails_and_keeps_the_rows(self):
        migration.db_sync('0004', engine=self.engine)
        tokens = self.stored()
        secret_keys.reset()
        self.config.config(key_file=os.path.join(self.state, 'new.key'),
                           group='credentials')
        secret_keys.encrypt('x')  # another key
        config = migration._alembic_config()
        with self.engine.connect() as conn:
            config.attributes['connection'] = conn
            trans = conn.begin()
            self.assertRaises(secret_keys.WrongKeyError,
                              alembic_command.downgrade, config, '0003')
            trans.rollback()
        self.assertEqual(tokens, self.stored())
