"""The alembic migrations build exactly the schema the models describe."""

from alembic import autogenerate
from alembic import migration as alembic_migration
import sqlalchemy as sa

from ebsboot.db import migration
from ebsboot.db import models
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
        self.assertEqual('0005', migration.head_revision())
        self.assertEqual('0005', migration.db_version())
        migration.db_sync()
        self.assertEqual('0005', migration.db_version())

    def test_fresh_database_has_no_version(self):
        engine = sa.create_engine('sqlite://')
        self.assertIsNone(migration.db_version(engine=engine))
