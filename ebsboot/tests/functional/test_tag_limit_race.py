"""Two writers racing for a resource's 50th tag, on PostgreSQL.

Both read 49 tags before either writes (a barrier holds them there); on
PostgreSQL, whose READ COMMITTED lets both inserts through unless a
constraint stops one, only the numbered tag slots (unique per resource)
keep the resource at 50. The loser runs again, counts 50 and is refused.
"""

import os
import threading

import fixtures

from ebsboot.db import api as db
from ebsboot.tests.functional import base
from ebsboot.tests.unit import base as unit_base


class TagLimitRaceTest(unit_base.TestCase):

    def database_connection(self):
        admin_url = os.environ.get('EBSBOOT_TEST_DB_URL')
        if not admin_url:
            self.skipTest('PostgreSQL not configured: export '
                          'EBSBOOT_TEST_DB_URL from tools/test-services')
        url = base.postgres_database(self, admin_url, 'ebsboot_tags')
        self.addCleanup(db.dispose_engine)
        return url

    def test_two_writers_cannot_pass_the_limit(self):
        self.assertEqual('postgresql', db.get_engine().dialect.name)
        alpha = self.context()
        resource = [('vol-0123456789abcdef0', 'volume')]
        db.tags_set(alpha, resource, {'k%02d' % i: '' for i in range(49)},
                    50)
        barrier = threading.Barrier(2, timeout=10)
        waited = threading.local()
        add_tags = db._add_tags

        def add_after_both_read(*args, **kwargs):
            if not getattr(waited, 'done', False):
                waited.done = True
                barrier.wait()
            return add_tags(*args, **kwargs)

        outcomes = []

        def writer(key):
            try:
                db.tags_set(alpha, resource, {key: 'v'}, 50)
                outcomes.append('set')
            except db.TagLimitError:
                outcomes.append('refused')
            except Exception as e:
                outcomes.append(repr(e))

        self.useFixture(fixtures.MonkeyPatch(
            'ebsboot.db.api._add_tags', add_after_both_read))
        threads = [threading.Thread(target=writer, args=(key,))
                   for key in ('first', 'second')]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        self.assertEqual(['refused', 'set'], sorted(outcomes))
        self.assertEqual(50, len(db.tag_rows(alpha)))
