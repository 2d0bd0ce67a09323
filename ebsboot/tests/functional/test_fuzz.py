"""The fuzz test of every action on PostgreSQL.

SQLite, which the unit tests use, keeps a string of any length in a
``String(64)`` column; PostgreSQL refuses it. The same hostile requests
therefore run again on a fresh PostgreSQL database (``tools/test-services``
starts the server and exports ``EBSBOOT_TEST_DB_URL``).
"""

import os
import uuid

import sqlalchemy as sa

from ebsboot.db import api as db_api
from ebsboot.tests.unit.api import test_fuzz


class PostgresFuzzTest(test_fuzz.FuzzTest):

    def database_connection(self):
        admin_url = os.environ.get('EBSBOOT_TEST_DB_URL')
        if not admin_url:
            self.skipTest('PostgreSQL not configured: run tools/run-tests '
                          'or export EBSBOOT_TEST_DB_URL from '
                          'tools/test-services')
        name = 'ebsboot_fuzz_%s' % uuid.uuid4().hex[:12]
        admin = sa.create_engine(admin_url, isolation_level='AUTOCOMMIT')
        with admin.connect() as conn:
            conn.execute(sa.text('CREATE DATABASE %s' % name))

        def drop():
            db_api.dispose_engine()
            with admin.connect() as conn:
                conn.execute(sa.text('DROP DATABASE IF EXISTS %s WITH '
                                     '(FORCE)' % name))
            admin.dispose()
        # Added before the services start: runs after they have stopped.
        self.addCleanup(drop)
        return admin_url.rsplit('/', 1)[0] + '/' + name

    def setUp(self):
        super().setUp()
        self.assertEqual('postgresql', db_api.get_engine().dialect.name)
