"""Tenancy and compare-and-set in the database API."""

import sqlite3
import threading

import fixtures
from oslo_db import exception as db_exc
import sqlalchemy as sa

from ebsboot import context as ebs_context
from ebsboot.db import api as db
from ebsboot.tests.unit import base


def _volume(project, ec2_id, status='available', token=None):
    return {'id': ec2_id + '-uuid', 'ec2_id': ec2_id, 'project_id': project,
            'availability_zone': 'nova', 'size': 1, 'volume_type': 'gp2',
            'status': status, 'client_token': token}


class DbApiTest(base.TestCase):

    def test_projects_see_only_their_rows(self):
        alpha, beta = self.context('alpha'), self.context('beta')
        db.volume_create(alpha, _volume('alpha', 'vol-a'))
        db.volume_create(beta, _volume('beta', 'vol-b'))
        self.assertEqual(['vol-a'], [v.ec2_id for v in db.volume_list(alpha)])
        self.assertIsNone(db.volume_get_by_ec2_id(beta, 'vol-a'))
        self.assertRaises(db.ConflictError, db.volume_update, beta,
                          'vol-a-uuid', {'status': 'deleting'})
        self.assertEqual(0, db.volume_destroy(beta, 'vol-a-uuid'))
        admin = ebs_context.get_admin_context()
        self.assertEqual(2, len(db.volume_list(admin)))

    def test_compare_and_set(self):
        ctxt = self.context()
        db.volume_create(ctxt, _volume('alpha', 'vol-a'))
        db.volume_update(ctxt, 'vol-a-uuid', {'status': 'deleting'},
                         expected_status=('available', 'error'))
        self.assertRaises(db.ConflictError, db.volume_update, ctxt,
                          'vol-a-uuid', {'status': 'deleting'},
                          expected_status='available')
        db.volume_update(ctxt, 'vol-a-uuid', {'host': 'h1'},
                         expected={'host': None})
        self.assertRaises(db.ConflictError, db.volume_update, ctxt,
                          'vol-a-uuid', {'host': 'h2'},
                          expected={'host': None})
        self.assertEqual('h1', db.volume_get(ctxt, 'vol-a-uuid').host)

    def test_client_token_unique_per_project(self):
        db.volume_create(self.context('alpha'),
                         _volume('alpha', 'vol-a', token='t'))
        self.assertRaises(db.DuplicateError, db.volume_create,
                          self.context('alpha'),
                          _volume('alpha', 'vol-c', token='t'))
        db.volume_create(self.context('beta'),
                         _volume('beta', 'vol-b', token='t'))

    def test_credentials(self):
        admin = ebs_context.get_admin_context()
        db.credential_create(admin, 'AK1', 'secret', 'alpha')
        self.assertRaises(db.DuplicateError, db.credential_create, admin,
                          'AK1', 'other', 'beta')
        self.assertEqual('secret', db.credential_get(admin, 'AK1').secret_key)
        self.assertEqual(1, db.credential_delete(admin, 'AK1'))
        self.assertIsNone(db.credential_get(admin, 'AK1'))


def _instance(ec2_id, state='pending', host=None, **extra):
    return dict({
        'id': ec2_id + '-uuid', 'ec2_id': ec2_id, 'reservation_id': 'r-0',
        'project_id': 'alpha', 'image_id': 'img', 'image_ec2_id': 'ami-0',
        'instance_type': 't', 'vcpus': 1, 'memory_mb': 64,
        'availability_zone': 'nova', 'state': state, 'host': host,
        'task': None, 'launch_index': 0, 'shutdown_behavior': 'stop',
        'root_device_name': '/dev/vda'}, **extra)


def _device(name='/dev/vda', **extra):
    return dict({'device_name': name, 'boot_index': 0,
                 'delete_on_termination': True, 'status': 'attaching'},
                **extra)


class WriteManyTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.admin = ebs_context.get_admin_context()
        self.commits = []
        sa.event.listen(db.get_engine(), 'commit',
                        lambda conn: self.commits.append(conn))
        self.instance = db.instance_create(
            self.admin, _instance('i-1'), [_device()])
        [self.device] = db.block_device_list([self.instance.id])
        db.volume_create(self.admin, _volume('alpha', 'vol-old'))
        del self.commits[:]

    def test_inserts_and_updates_in_one_commit(self):
        conflicts = db.write_many(
            inserts=[('volume', _volume('alpha', 'vol-a', 'creating')),
                     # Other columns: another executemany.
                     ('volume', dict(_volume('alpha', 'vol-b', 'creating'),
                                     host='h1', snapshot_id='s')),
                     ('volume', _volume('alpha', 'vol-c', 'creating'))],
            updates=[('block_device', self.device.id,
                      {'volume_id': 'vol-a-uuid', 'status': 'attached'},
                      None),
                     ('instance', self.instance.id, {'task': 'next'},
                      {'task': None}),
                     ('volume', 'vol-old-uuid', {'status': 'in-use'},
                      {'status': ('available', 'in-use')})])
        self.assertEqual(set(), conflicts)
        self.assertEqual(1, len(self.commits))
        volumes = {v.ec2_id: v for v in db.volume_list(self.admin)}
        self.assertEqual(['vol-a', 'vol-b', 'vol-c', 'vol-old'],
                         sorted(volumes))
        self.assertEqual(('creating', None, None),
                         (volumes['vol-a'].status, volumes['vol-a'].host,
                          volumes['vol-a'].snapshot_id))
        self.assertEqual(('h1', 's'), (volumes['vol-b'].host,
                                       volumes['vol-b'].snapshot_id))
        # Column defaults apply to Core inserts too.
        self.assertIsNotNone(volumes['vol-a'].created_at)
        self.assertEqual('in-use', volumes['vol-old'].status)
        self.assertIsNotNone(volumes['vol-old'].updated_at)
        [device] = db.block_device_list([self.instance.id])
        self.assertEqual(('vol-a-uuid', 'attached'),
                         (device.volume_id, device.status))
        self.assertEqual('next',
                         db.instance_get(self.admin, self.instance.id).task)

    def test_conflicts_are_returned_and_not_applied(self):
        db.instance_update(self.admin, self.instance.id, {'host': 'h1'})
        del self.commits[:]
        conflicts = db.write_many(updates=[
            # A value, None and a tuple that do not match.
            ('instance', self.instance.id, {'task': 'x'},
             {'task': 'launch_volumes'}),
            ('instance', self.instance.id, {'state': 'x'}, {'host': None}),
            ('volume', 'vol-old-uuid', {'status': 'x'},
             {'status': ('creating', 'error')}),
            # A row that is not there.
            ('block_device', self.device.id + 1000, {'status': 'x'}, None),
            # And one that matches, applied in the same transaction.
            ('instance', self.instance.id, {'user_data': 'ok'},
             {'host': 'h1', 'task': None, 'state': ('pending', 'running')}),
        ])
        self.assertEqual({('instance', self.instance.id),
                          ('volume', 'vol-old-uuid'),
                          ('block_device', self.device.id + 1000)},
                         conflicts)
        row = db.instance_get(self.admin, self.instance.id)
        self.assertEqual((None, 'pending', 'ok'),
                         (row.task, row.state, row.user_data))
        self.assertEqual('available',
                         db.volume_get(self.admin, 'vol-old-uuid').status)
        self.assertEqual(1, len(self.commits))

    def test_nothing_is_applied_on_an_error_midway(self):
        for inserts, updates, error in [
                # The second insert repeats a primary key.
                ([('volume', _volume('alpha', 'vol-a')),
                  ('volume', _volume('alpha', 'vol-old'))],
                 [('instance', self.instance.id, {'task': 'x'}, None)],
                 db_exc.DBDuplicateEntry),
                # The last update names a column that does not exist.
                ([('volume', _volume('alpha', 'vol-a'))],
                 [('instance', self.instance.id, {'task': 'x'}, None),
                  ('volume', 'vol-old-uuid', {'no_such_column': 1},
                   None)],
                 sa.exc.CompileError)]:
            self.assertRaises(error, db.write_many, inserts, updates)
            self.assertEqual(['vol-old'], [v.ec2_id for v in
                                           db.volume_list(self.admin)])
            self.assertIsNone(db.instance_get(self.admin,
                                              self.instance.id).task)
        self.assertEqual([], self.commits)

    def test_nothing_to_write(self):
        self.assertEqual(set(), db.write_many())

    def _instances(self, count):
        ids = []
        for n in range(count):
            ids.append(db.instance_create(
                self.admin, _instance('i-%d' % (n + 2)), []).id)
        del self.commits[:]
        return ids

    def test_many_rows_one_statement(self):
        ids = self._instances(4)
        db.instance_update(self.admin, ids[2], {'task': 'elsewhere'})
        del self.commits[:]
        statements = []

        def record(conn, cursor, statement, *args):
            statements.append(statement.split()[0])

        sa.event.listen(db.get_engine(), 'before_cursor_execute', record)
        self.addCleanup(sa.event.remove, db.get_engine(),
                        'before_cursor_execute', record)
        expected = {'task': None, 'state': ('pending', 'running')}
        conflicts = db.write_many(updates=[
            ('instance', instance_id,
             {'task': 'next', 'task_data': '{"n": %d}' % n}, expected)
            for n, instance_id in enumerate(ids)] + [
            ('instance', 'no-such-instance', {'task': 'next',
                                              'task_data': '{}'},
             expected)])
        self.assertEqual({('instance', ids[2]),
                          ('instance', 'no-such-instance')}, conflicts)
        # One SELECT of the rows as expected, one executemany UPDATE.
        self.assertEqual(['SELECT', 'UPDATE'],
                         [s for s in statements if s != 'BEGIN'])
        rows = {i.id: i for i in db.instance_list(self.admin, ids=ids)}
        self.assertEqual(
            [('next', '{"n": 0}'), ('next', '{"n": 1}'),
             ('elsewhere', None), ('next', '{"n": 3}')],
            [(rows[i].task, rows[i].task_data) for i in ids])
        self.assertTrue(all(rows[i].updated_at for i in ids))
        self.assertEqual(1, len(self.commits))

    def test_a_row_named_twice_sees_its_earlier_update(self):
        ids = self._instances(2)
        conflicts = db.write_many(updates=[
            ('instance', ids[0], {'task': 'a'}, {'task': None}),
            ('instance', ids[1], {'task': 'a'}, {'task': None}),
            ('instance', ids[0], {'task': 'b'}, {'task': 'a'}),
            ('instance', ids[1], {'task': 'c'}, {'task': None})])
        self.assertEqual({('instance', ids[1])}, conflicts)
        rows = {i.id: i.task for i in db.instance_list(self.admin, ids=ids)}
        self.assertEqual({ids[0]: 'b', ids[1]: 'a'}, rows)

    def test_a_short_update_count_rolls_back_and_retries(self):
        ids = self._instances(2)
        engine = db.get_engine()
        updates = []

        def sneak(conn, cursor, statement, *args):
            # Something changes a row between the SELECT and the UPDATE
            # (as another process sharing the file could), once.
            if statement.startswith('UPDATE'):
                updates.append(statement)
                if len(updates) == 1:
                    cursor.execute("UPDATE instances SET task = 'theirs' "
                                   "WHERE id = ?", (ids[1],))

        sa.event.listen(engine, 'before_cursor_execute', sneak)
        self.addCleanup(sa.event.remove, engine, 'before_cursor_execute',
                        sneak)
        conflicts = db.write_many(updates=[
            ('instance', i, {'task': 'mine'}, {'task': None}) for i in ids])
        # The first try updated one row of two: rolled back (the sneaked
        # change with it) and run again.
        self.assertEqual(2, len(updates))
        self.assertEqual(set(), conflicts)
        rows = {i.id: i.task for i in db.instance_list(self.admin, ids=ids)}
        self.assertEqual({ids[0]: 'mine', ids[1]: 'mine'}, rows)


class InstancesTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.admin = ebs_context.get_admin_context()

    def test_instance_create_many(self):
        rows = db.instance_create_many(self.context(), [
            (_instance('i-%d' % n, launch_index=n),
             [_device(), _device('/dev/vdb', boot_index=-1,
                                 snapshot_id='s-%d' % n)])
            for n in range(3)])
        # Rows usable once the transaction is over.
        self.assertEqual(['i-0', 'i-1', 'i-2'], [r.ec2_id for r in rows])
        self.assertEqual([0, 1, 2], [r.launch_index for r in rows])
        self.assertEqual(3, len(db.instance_list(self.admin)))
        devices = db.block_device_list([r.id for r in rows])
        self.assertEqual(
            sorted([('i-%d-uuid' % n, name, snapshot)
                    for n in range(3)
                    for name, snapshot in (('/dev/vda', None),
                                           ('/dev/vdb', 's-%d' % n))]),
            sorted((d.instance_id, d.device_name, d.snapshot_id)
                   for d in devices))

    def test_instance_create_many_is_one_transaction(self):
        db.instance_create(self.admin, _instance('i-taken'), [])
        instances = [
            (_instance('i-new'), [_device()]),
            (dict(_instance('i-taken'), id='other-uuid'), [_device()])]
        self.assertRaises(db.DuplicateError, db.instance_create_many,
                          self.admin, instances)
        self.assertEqual(['i-taken'],
                         [i.ec2_id for i in db.instance_list(self.admin)])
        self.assertEqual([], db.block_device_list(['i-new-uuid']))

    def test_instance_count_by_host(self):
        for ec2_id, state, host in [
                ('i-1', 'running', 'h1'), ('i-2', 'pending', 'h1'),
                ('i-3', 'running', 'h2'), ('i-4', 'stopped', 'h2'),
                ('i-5', 'terminated', 'h3'), ('i-6', 'pending', None)]:
            db.instance_create(self.admin, _instance(ec2_id, state, host),
                               [])
        self.assertEqual({'h1': 2, 'h2': 1},
                         db.instance_count_by_host(('pending', 'running')))
        self.assertEqual({'h2': 1, 'h3': 1},
                         db.instance_count_by_host(('stopped',
                                                    'terminated')))
        self.assertEqual({}, db.instance_count_by_host(('stopping',)))

    def test_lists_by_ids(self):
        for ec2_id in ('vol-a', 'vol-b', 'vol-c'):
            db.volume_create(self.admin, _volume('alpha', ec2_id))
        self.assertEqual(['vol-a', 'vol-c'], [v.ec2_id for v in db.volume_list(
            self.admin, ids=['vol-c-uuid', 'vol-a-uuid', 'nope'])])
        self.assertEqual([], db.volume_list(self.admin, ids=[]))
        self.assertEqual([], db.volume_list(self.context('beta'),
                                            ids=['vol-a-uuid']))
        db.snapshot_create(self.admin, {
            'id': 's1', 'ec2_id': 'snap-1', 'project_id': 'alpha',
            'volume_id': 'vol-a-uuid', 'volume_ec2_id': 'vol-a',
            'volume_size': 1, 'status': 'completed'})
        self.assertEqual(['snap-1'], [s.ec2_id for s in db.snapshot_list(
            self.admin, ids=['s1', 's2'])])


class EngineTest(base.TestCase):

    def test_sqlite_file_keeps_its_connections(self):
        engine = db.get_engine()
        self.assertIsInstance(engine.pool, sa.pool.QueuePool)
        connects = []
        sa.event.listen(engine, 'connect',
                        lambda *args: connects.append(args))
        admin = ebs_context.get_admin_context()
        for n in range(5):
            db.volume_create(admin, _volume('alpha', 'vol-%d' % n))
            db.volume_list(admin)
        # Another thread gets a pooled connection too.
        thread = threading.Thread(target=db.volume_list, args=(admin,))
        thread.start()
        thread.join()
        self.assertEqual([], connects)
        self.assertGreaterEqual(engine.pool.checkedin(), 1)
        with engine.connect() as conn:
            # What the connect listeners set up on the pooled connections.
            self.assertEqual(db.SQLITE_BUSY_TIMEOUT * 1000, conn.execute(
                sa.text('PRAGMA busy_timeout')).scalar())
            self.assertEqual('wal', conn.execute(
                sa.text('PRAGMA journal_mode')).scalar())

    def test_data_version_changes_with_every_commit(self):
        admin = ebs_context.get_admin_context()
        first = db.data_version()
        self.assertEqual(first, db.data_version())
        db.volume_create(admin, _volume('alpha', 'vol-1'))
        second = db.data_version()
        self.assertNotEqual(first, second)
        # A commit of another process' connection.
        other = sqlite3.connect(db.get_engine().url.database)
        with other:
            other.execute("UPDATE volumes SET status = 'error'")
        other.close()
        self.assertNotIn(db.data_version(), (first, second))
        # Reads change nothing.
        third = db.data_version()
        db.volume_list(admin)
        self.assertEqual(third, db.data_version())

    def test_data_version_of_a_new_engine_never_matches_an_old_one(self):
        before = db.data_version()
        db.dispose_engine()
        self.assertNotEqual(before, db.data_version())

    def test_no_data_version_in_memory(self):
        db.dispose_engine()
        self.config.config(connection='sqlite://', group='database')
        self.assertIsNone(db.data_version())

    def test_commits_are_synced_unless_told_otherwise(self):
        # PRAGMA synchronous: 2 is FULL, 1 NORMAL.
        for option, expected in (('full', 2), ('normal', 1)):
            db.dispose_engine()
            self.config.config(sqlite_synchronous=option)
            with db.get_engine().connect() as conn:
                self.assertEqual(expected, conn.execute(
                    sa.text('PRAGMA synchronous')).scalar(), option)

    def test_no_sleep_at_connection_checkin(self):
        # oslo.db's eventlet yield; with threads it hands the GIL away.
        sleeps = self.useFixture(fixtures.MockPatch('time.sleep')).mock
        db.volume_list(ebs_context.get_admin_context())
        sleeps.assert_not_called()

    def test_sqlite_memory_keeps_oslo_db_pool(self):
        db.dispose_engine()
        self.config.config(connection='sqlite://', group='database')
        self.assertNotIsInstance(db.get_engine().pool, sa.pool.QueuePool)


class TagsTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.alpha, self.beta = self.context('alpha'), self.context('beta')
        self.admin = ebs_context.get_admin_context()

    def tags(self, context=None):
        return [tuple(row) for row in db.tag_rows(context or self.admin)]

    def test_written_with_the_row_and_gone_with_it(self):
        db.volume_create(self.alpha, _volume('alpha', 'vol-a'), {'k': 'v'})
        db.volume_create(self.alpha, _volume('alpha', 'vol-b'), {'k': 'w'})
        # Another project's tag of the same resource goes with it too.
        db.tags_set(self.beta, [('vol-a', 'volume')], {'mine': ''}, 50)
        self.assertEqual(3, len(self.tags()))
        self.assertEqual(0, db.volume_destroy(self.beta, 'vol-a-uuid'))
        self.assertEqual(3, len(self.tags()))
        db.volume_destroy(self.alpha, 'vol-a-uuid')
        self.assertEqual([('vol-b', 'volume', 'k', 'w')], self.tags())

    def test_a_refused_row_leaves_no_tags(self):
        db.volume_create(self.alpha, _volume('alpha', 'vol-a', token='t'))
        self.assertRaises(db.DuplicateError, db.volume_create, self.alpha,
                          dict(_volume('alpha', 'vol-b', token='t'),
                               id='other'), {'k': 'v'})
        self.assertEqual([], self.tags())

    def test_set_overwrites_and_counts_per_resource(self):
        resources = [('vol-a', 'volume'), ('i-a', 'instance')]
        db.tags_set(self.alpha, resources, {'a': '1', 'b': '2'}, 3)
        db.tags_set(self.alpha, resources[:1], {'a': 'x', 'c': '3'}, 3)
        self.assertRaises(db.TagLimitError, db.tags_set, self.alpha,
                          resources, {'d': '4'}, 3)
        self.assertEqual([('i-a', 'instance', 'a', '1'),
                          ('i-a', 'instance', 'b', '2'),
                          ('vol-a', 'volume', 'a', 'x'),
                          ('vol-a', 'volume', 'b', '2'),
                          ('vol-a', 'volume', 'c', '3')], self.tags())
        self.assertEqual({'vol-a': [('a', 'x'), ('b', '2'), ('c', '3')]},
                         db.tags_by_resource(self.alpha, 'volume',
                                             ['vol-a', 'vol-z']))
        self.assertEqual({}, db.tags_by_resource(self.beta, 'volume',
                                                 ['vol-a']))

    def test_delete_by_key_value_or_all(self):
        db.tags_set(self.alpha, [('vol-a', 'volume')],
                    {'a': '1', 'b': '2', 'c': ''}, 50)
        db.tags_set(self.beta, [('vol-a', 'volume')], {'a': '1'}, 50)
        db.tags_delete(self.alpha, ['vol-a'], [('a', None), ('b', '3'),
                                               ('c', '')])
        self.assertEqual([('vol-a', 'volume', 'b', '2')],
                         self.tags(self.alpha))
        db.tags_delete(self.alpha, ['vol-a'])
        self.assertEqual([], self.tags(self.alpha))
        self.assertEqual([('vol-a', 'volume', 'a', '1')],
                         self.tags(self.beta))
