"""The fuzz test of every action on PostgreSQL.

SQLite, which the unit tests use, keeps a string of any length in a
``String(64)`` column; PostgreSQL refuses it. The same hostile requests
therefore run again on a fresh PostgreSQL database (``tools/test-services``
starts the server and exports ``EBSBOOT_TEST_DB_URL``).
"""

import os

from ebsboot.db import api as db_api
from ebsboot.tests.functional import base
from ebsboot.tests.unit.api import test_fuzz


class PostgresFuzzTest(test_fuzz.FuzzTest):

    def database_connection(self):
        admin_url = os.environ.get('EBSBOOT_TEST_DB_URL')
        if not admin_url:
            self.skipTest('PostgreSQL not configured: run tools/run-tests '
                          'or export EBSBOOT_TEST_DB_URL from '
                          'tools/test-services')
        # Made before the services start: dropped after they stop, once
        # the engine let go of it.
        url = base.postgres_database(self, admin_url, 'ebsboot_fuzz')
        self.addCleanup(db_api.dispose_engine)
        return url

    def setUp(self):
        super().setUp()
        self.assertEqual('postgresql', db_api.get_engine().dialect.name)
