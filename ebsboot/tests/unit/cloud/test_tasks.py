"""The task runner: persisted steps, retries, rollback, crash resume."""

import datetime
import threading
import uuid

import fixtures
from oslo_db import exception as db_exc
import oslo_messaging
from oslo_serialization import jsonutils
from oslo_utils import timeutils
from sqlalchemy import exc as sa_exc

from ebsboot.cloud import flows  # noqa: F401 (the terminate flow)
from ebsboot.cloud import tasks
from ebsboot.compute import driver as compute_driver
from ebsboot.compute import manager as compute_manager
from ebsboot.compute import rpcapi as compute_rpcapi
from ebsboot.conf import CONF
from ebsboot import context as ebs_context
from ebsboot.db import api as db
from ebsboot import exception
from ebsboot.tests.unit import base


def make_instance(task, state='pending', **extra):
    values = dict({
        'id': str(uuid.uuid4()),
        'ec2_id': 'i-%017x' % (uuid.uuid4().int >> 60),
        'reservation_id': 'r-0', 'project_id': 'alpha',
        'image_id': 'img', 'image_ec2_id': 'ami-0', 'instance_type': 't',
        'vcpus': 1, 'memory_mb': 64, 'availability_zone': 'nova',
        'state': state, 'task': task, 'pending_terminate': False,
        'launch_index': 0, 'disable_api_termination': False,
        'disable_api_stop': False, 'shutdown_behavior': 'stop',
        'root_device_name': '/dev/vda'}, **extra)
    return db.instance_create(ebs_context.get_admin_context(), values, [])


class ToyFlow:
    """A three-step flow that records what ran."""

    def __init__(self):
        self.ran = []
        self.fail_at = None
        self.retries = {}
        self.gate = None
        register = tasks.register
        register(tasks.Flow('toy', {
            'toy_one': self.step('toy_one', 'toy_two'),
            'toy_two': self.step('toy_two', 'toy_three'),
            'toy_three': self.step('toy_three', None, {'state': 'running'}),
            'toy_rollback': self.step('toy_rollback', None,
                                      {'state': 'terminated'}),
        }, rollback='toy_rollback'))

    def step(self, name, next_step, values=None):
        def run(context, instance, data):
            if self.gate and name == 'toy_two':
                self.gate.wait(5)
            self.ran.append(name)
            if self.retries.get(name):
                self.retries[name] -= 1
                raise tasks.Retry()
            if name == self.fail_at:
                raise tasks.StepFailed('Server.Test', 'failed at %s' % name)
            data.setdefault('seen', []).append(name)
            return next_step, dict(values or {})
        return run


class TaskRunnerTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.flow = ToyFlow()
        self.runner = tasks.TaskRunner(workers=2)
        self.addCleanup(self.runner.stop)
        self.admin = ebs_context.get_admin_context()

    def _done(self, instance_id):
        row = db.instance_get(self.admin, instance_id)
        return row if row.task is None and not row.pending_terminate \
            else None

    def test_steps_run_in_order_and_persist_data(self):
        instance = make_instance('toy_one')
        self.flow.retries['toy_two'] = 2
        self.runner.kick(instance.id)
        row = self.wait_for(lambda: self._done(instance.id))
        self.assertEqual('running', row.state)
        self.assertEqual(['toy_one', 'toy_two', 'toy_two', 'toy_two',
                          'toy_three'], self.flow.ran)
        self.assertEqual(['toy_one', 'toy_two', 'toy_three'],
                         jsonutils.loads(row.task_data)['seen'])

    def test_failure_runs_rollback_with_reason(self):
        instance = make_instance('toy_one')
        self.flow.fail_at = 'toy_two'
        self.runner.kick(instance.id)
        row = self.wait_for(lambda: self._done(instance.id))
        self.assertEqual('terminated', row.state)
        self.assertEqual(['toy_one', 'toy_two', 'toy_rollback'],
                         self.flow.ran)
        self.assertEqual(['Server.Test', 'failed at toy_two'],
                         jsonutils.loads(row.task_data)['failure'])

    def test_resume_starts_at_the_persisted_step(self):
        # As after a crash between toy_one and toy_two.
        instance = make_instance('toy_two')
        make_instance(None, state='running')
        self.runner.resume()
        row = self.wait_for(lambda: self._done(instance.id))
        self.assertEqual('running', row.state)
        self.assertEqual(['toy_two', 'toy_three'], self.flow.ran)

    def test_terminate_request_diverts_at_step_boundary(self):
        self.flow.gate = threading.Event()
        instance = make_instance('toy_one')
        self.runner.kick(instance.id)
        self.wait_for(lambda: 'toy_one' in self.flow.ran)
        db.instance_update(self.admin, instance.id,
                           {'pending_terminate': True,
                            'state': 'shutting-down'})
        self.flow.gate.set()
        row = self.wait_for(lambda: self._done(instance.id))
        self.assertEqual('terminated', row.state)
        self.assertNotIn('toy_three', self.flow.ran)
        self.assertEqual('Client.UserInitiatedShutdown',
                         row.state_reason_code)

    def test_purge_terminated_after_ttl(self):
        old = make_instance(None, state='terminated',
                            terminated_at=timeutils.utcnow())
        self.config.config(terminated_instance_ttl=3600)
        tasks.purge_terminated()
        self.assertIsNotNone(db.instance_get(self.admin, old.id))
        later = timeutils.utcnow() + datetime.timedelta(hours=2)
        tasks.purge_terminated(now=later)
        self.assertIsNone(db.instance_get(self.admin, old.id))


class ConcurrentRequestsTest(base.ServiceTestCase):
    """Requests racing on one instance: exactly one of them wins."""

    def test_two_starts_and_stop_with_terminate(self):
        from ebsboot.cloud import instances
        runner = tasks.get_runner()
        self.addCleanup(tasks.reset_runner)
        ctxt = self.context()
        instance = make_instance(None, state='stopped')
        db.block_device_create({
            'instance_id': instance.id, 'device_name': '/dev/vda',
            'boot_index': 0, 'volume_id': 'no-such-volume',
            'delete_on_termination': True, 'status': 'attached'})
        self.useFixture(fixtures.MockPatchObject(runner, 'kick'))
        barrier = threading.Barrier(2)
        results = []

        def start():
            barrier.wait()
            try:
                results.append(instances.start_instances(
                    ctxt, [instance.ec2_id]))
            except Exception as e:
                results.append(e)

        threads = [threading.Thread(target=start) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        row = db.instance_get(ctxt, instance.id)
        self.assertEqual(('pending', 'start_connect'), (row.state, row.task),
                         results)
        # One request moved it; the other either saw it pending (a no-op,
        # as EC2 answers a start of a pending instance) or lost the race
        # with IncorrectInstanceState, never a second flow.
        self.assertEqual(1, runner.kick.call_count)
        # A stop of the pending instance is refused; a terminate of the
        # busy one is queued for the step boundary.
        self.assertRaises(exception.IncorrectInstanceState,
                          instances.stop_instances, ctxt, [instance.ec2_id])
        instances.terminate_instances(ctxt, [instance.ec2_id])
        row = db.instance_get(ctxt, instance.id)
        self.assertEqual(('shutting-down', 'start_connect', True),
                         (row.state, row.task, row.pending_terminate))


class BatchToyFlow:
    """A two-step flow whose steps also run as a batch; records what ran.

    ``fail`` holds (step, instance id) pairs that fail and ``retries``
    counts the Retry of a pair, the same in the batch and alone.
    ``raises`` lists exceptions the batch function of a step raises
    first; ``hooks`` run at the start of a batch function.
    """

    def __init__(self):
        self.single = []
        self.batches = []
        self.fail = set()
        self.retries = {}
        self.raises = {}
        self.hooks = {}
        tasks.register(tasks.Flow('btoy', {
            'btoy_one': self.step('btoy_one', 'btoy_two'),
            'btoy_two': self.step('btoy_two', 'btoy_three'),
            'btoy_three': self.step('btoy_three', None,
                                    {'state': 'running'}),
            'btoy_rollback': self.step('btoy_rollback', None,
                                       {'state': 'terminated'}),
        }, rollback='btoy_rollback', batch={
            'btoy_one': self.batch('btoy_one', 'btoy_two'),
            'btoy_two': self.batch('btoy_two', 'btoy_three'),
            'btoy_three': self.batch('btoy_three', None,
                                     {'state': 'running'}),
        }))

    def _retry(self, name, instance_id):
        if self.retries.get((name, instance_id)):
            self.retries[(name, instance_id)] -= 1
            return True
        return False

    def step(self, name, next_step, values=None):
        def run(context, instance, data):
            self.single.append((name, instance.id))
            if self._retry(name, instance.id):
                raise tasks.Retry()
            if (name, instance.id) in self.fail:
                raise tasks.StepFailed('Server.Test', 'failed at %s' % name)
            data.setdefault('seen', []).append(name)
            return next_step, dict(values or {})
        return run

    def batch(self, name, next_step, values=None):
        def run(context, instances, datas):
            self.batches.append((name, sorted(i.id for i in instances)))
            if name in self.hooks:
                self.hooks[name](instances)
            if self.raises.get(name):
                raise self.raises[name].pop(0)
            outcomes = {}
            for instance in instances:
                if self._retry(name, instance.id):
                    outcomes[instance.id] = tasks.Retry()
                elif (name, instance.id) in self.fail:
                    outcomes[instance.id] = tasks.StepFailed(
                        'Server.Test', 'failed at %s' % name)
                else:
                    datas[instance.id].setdefault('seen', []).append(
                        name + '*')
                    outcomes[instance.id] = (next_step, dict(values or {}))
            return outcomes
        return run


class BatchRunnerTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.flow = BatchToyFlow()
        self.runner = tasks.TaskRunner(workers=4)
        self.addCleanup(self.runner.stop)
        self.admin = ebs_context.get_admin_context()
        self.writes = self.useFixture(fixtures.MockPatchObject(
            db, 'write_many', side_effect=db.write_many)).mock
        self.instances = [make_instance('btoy_one') for _ in range(5)]
        self.ids = sorted(i.id for i in self.instances)

    def _row(self, instance_id):
        return db.instance_get(self.admin, instance_id)

    def _all_done(self, ids=None):
        rows = [self._row(i) for i in ids or self.ids]
        return all(r.task is None and not r.pending_terminate
                   for r in rows) and rows

    def _mock_kick(self):
        return self.useFixture(fixtures.MockPatchObject(self.runner,
                                                        'kick')).mock

    def test_batch_of_successes_writes_once_per_step(self):
        self.runner.kick_many(self.ids)
        rows = self.wait_for(self._all_done)
        self.assertEqual([('btoy_one', self.ids), ('btoy_two', self.ids),
                          ('btoy_three', self.ids)], self.flow.batches)
        self.assertEqual([], self.flow.single)
        self.assertEqual(3, self.writes.call_count)
        for call in self.writes.call_args_list:
            self.assertEqual(5, len(call[1]['updates']))
        for row in rows:
            self.assertEqual('running', row.state)
            self.assertEqual(['btoy_one*', 'btoy_two*', 'btoy_three*'],
                             jsonutils.loads(row.task_data)['seen'])

    def test_retry_stays_in_the_batch(self):
        kick = self._mock_kick()
        slow = self.ids[2]
        self.flow.retries[('btoy_two', slow)] = 3
        self.runner.kick_many(self.ids)
        self.wait_for(self._all_done)
        kick.assert_not_called()
        self.assertEqual([], self.flow.single)
        self.assertEqual([('btoy_one', self.ids), ('btoy_two', self.ids)],
                         self.flow.batches[:2])
        # The others went on; the slow one was asked again, alone in its
        # step but still in the batch.
        self.assertEqual(3, self.flow.batches.count(('btoy_two', [slow])))
        self.assertIn(('btoy_three', [i for i in self.ids if i != slow]),
                      self.flow.batches)

    def test_missing_outcome_is_a_retry(self):
        kick = self._mock_kick()
        skipped = self.ids[0]
        real = self.flow.batch('btoy_one', 'btoy_two')
        calls = []

        def forgetful(context, instances, datas):
            outcomes = real(context, instances, datas)
            if not calls:
                outcomes.pop(skipped)
            calls.append(1)
            return outcomes

        tasks._FLOWS['btoy'].batch['btoy_one'] = forgetful
        self.runner.kick_many(self.ids)
        self.wait_for(self._all_done)
        kick.assert_not_called()
        self.assertEqual(2, len(calls))

    def test_failure_leaves_at_once_and_is_kicked_alone(self):
        kick = self._mock_kick()
        failing = self.ids[1]
        others = [i for i in self.ids if i != failing]
        self.flow.fail.add(('btoy_one', failing))
        gate = threading.Event()
        self.addCleanup(gate.set)
        self.flow.hooks['btoy_two'] = lambda instances: gate.wait(10)
        self.runner.kick_many(self.ids)
        # Kicked (and its lock free) while the batch is still busy.
        self.wait_for(lambda: kick.called)
        kick.assert_called_once_with(failing)
        lock = self.runner._lock(failing)
        self.assertTrue(lock.acquire(blocking=False))
        lock.release()
        self.assertFalse(self.runner._lock(others[0]).acquire(
            blocking=False))
        gate.set()
        self.wait_for(lambda: self._all_done(others))
        # The batch did not advance it: the single steps will.
        self.assertEqual('btoy_one', self._row(failing).task)
        self.assertEqual(1, kick.call_count)
        self.assertNotIn(failing, [i for _, ids in self.flow.batches[1:]
                                   for i in ids])

    def test_failure_rolls_back_through_the_single_steps(self):
        failing = self.ids[1]
        self.flow.fail.add(('btoy_two', failing))
        self.runner.kick_many(self.ids)
        rows = {r.id: r for r in self.wait_for(self._all_done)}
        self.assertEqual('terminated', rows[failing].state)
        self.assertEqual(['Server.Test', 'failed at btoy_two'],
                         jsonutils.loads(rows[failing].task_data)['failure'])
        self.assertEqual([('btoy_two', failing),
                          ('btoy_rollback', failing)], self.flow.single)
        self.assertEqual(
            ['running'] * 4,
            [r.state for r in rows.values() if r.id != failing])

    def test_exception_outcome_leaves(self):
        kick = self._mock_kick()
        broken = self.ids[3]
        real = self.flow.batch('btoy_one', 'btoy_two')

        def partly_broken(context, instances, datas):
            outcomes = real(context, instances, datas)
            outcomes[broken] = RuntimeError('boom')
            return outcomes

        tasks._FLOWS['btoy'].batch['btoy_one'] = partly_broken
        self.runner.kick_many(self.ids)
        self.wait_for(lambda: self._all_done(
            [i for i in self.ids if i != broken]))
        kick.assert_called_once_with(broken)
        self.assertEqual('btoy_one', self._row(broken).task)

    def test_pending_terminate_leaves(self):
        kick = self._mock_kick()
        doomed = self.ids[0]

        def terminate(instances):
            # TerminateInstances while the step runs.
            db.instance_update(self.admin, doomed,
                               {'pending_terminate': True,
                                'state': 'shutting-down'})

        self.flow.hooks['btoy_one'] = terminate
        self.runner.kick_many(self.ids)
        self.wait_for(lambda: self._all_done(self.ids[1:]))
        kick.assert_called_once_with(doomed)
        row = self._row(doomed)
        # It finished the step it was in, and went no further.
        self.assertEqual(('btoy_two', True),
                         (row.task, row.pending_terminate))
        self.assertNotIn(doomed, self.flow.batches[1][1])

    def test_pending_terminate_after_the_last_step_leaves(self):
        kick = self._mock_kick()
        doomed = self.ids[0]
        self.flow.hooks['btoy_three'] = lambda instances: db.instance_update(
            self.admin, doomed, {'pending_terminate': True})
        self.runner.kick_many(self.ids)
        self.wait_for(lambda: self._all_done(self.ids[1:]))
        self.wait_for(lambda: kick.called)
        kick.assert_called_once_with(doomed)

    def test_pending_terminate_terminates(self):
        doomed = self.ids[0]
        self.flow.hooks['btoy_one'] = lambda instances: db.instance_update(
            self.admin, doomed, {'pending_terminate': True,
                                 'state': 'shutting-down'})
        self.runner.kick_many(self.ids)
        rows = {r.id: r for r in self.wait_for(self._all_done)}
        self.assertEqual(('terminated', 'Client.UserInitiatedShutdown'),
                         (rows[doomed].state,
                          rows[doomed].state_reason_code))
        self.assertEqual(['running'] * 4,
                         [r.state for r in rows.values() if r.id != doomed])

    def test_task_changed_under_the_batch_is_not_overwritten(self):
        kick = self._mock_kick()
        moved = self.ids[4]
        self.flow.hooks['btoy_one'] = lambda instances: db.instance_update(
            self.admin, moved, {'task': 'btoy_rollback'})
        self.runner.kick_many(self.ids)
        self.wait_for(lambda: self._all_done(self.ids[:4]))
        # The compare-and-set on task lost: the batch's btoy_two was not
        # stored over it, and it runs alone from where it is.
        self.assertEqual('btoy_rollback', self._row(moved).task)
        kick.assert_called_once_with(moved)

    def test_locked_instance_is_kicked_alone(self):
        kick = self._mock_kick()
        busy = self.ids[2]
        lock = self.runner._lock(busy)
        lock.acquire()
        self.addCleanup(lock.release)
        self.runner.kick_many(self.ids)
        others = [i for i in self.ids if i != busy]
        self.wait_for(lambda: self._all_done(others))
        kick.assert_called_once_with(busy)
        self.assertEqual(('btoy_one', others), self.flow.batches[0])
        self.assertEqual('btoy_one', self._row(busy).task)

    def test_database_error_of_batch_function_keeps_all(self):
        kick = self._mock_kick()
        self.flow.raises['btoy_two'] = [
            db_exc.DBError('gone'),
            sa_exc.OperationalError('SELECT', {}, Exception('locked'))]
        self.runner.kick_many(self.ids)
        self.wait_for(self._all_done)
        kick.assert_not_called()
        self.assertEqual([], self.flow.single)
        self.assertEqual([('btoy_one', self.ids)] +
                         [('btoy_two', self.ids)] * 3 +
                         [('btoy_three', self.ids)], self.flow.batches)

    def test_database_error_storing_outcomes_keeps_all(self):
        kick = self._mock_kick()
        real = self.writes.side_effect
        failures = [db_exc.DBError('gone')]

        def flaky(*args, **kwargs):
            if failures:
                raise failures.pop()
            return real(*args, **kwargs)

        self.writes.side_effect = flaky
        self.runner.kick_many(self.ids)
        rows = self.wait_for(self._all_done)
        kick.assert_not_called()
        # btoy_one ran again: its outcome was not stored the first time.
        self.assertEqual([('btoy_one', self.ids)] * 2,
                         self.flow.batches[:2])
        self.assertEqual(['btoy_one*', 'btoy_two*', 'btoy_three*'],
                         jsonutils.loads(rows[0].task_data)['seen'])

    def test_other_exception_of_batch_function_sends_all_alone(self):
        kick = self._mock_kick()
        self.flow.raises['btoy_two'] = [RuntimeError('bug')]
        self.runner.kick_many(self.ids)
        self.wait_for(lambda: kick.call_count == 5)
        self.assertEqual(sorted(self.ids),
                         sorted(c[0][0] for c in kick.call_args_list))
        self.assertEqual(['btoy_two'] * 5,
                         [self._row(i).task for i in self.ids])
        # Every lock is free for the single runs.
        for instance_id in self.ids:
            lock = self.runner._lock(instance_id)
            self.assertTrue(lock.acquire(blocking=False))
            lock.release()

    def test_step_without_batch_version_leaves(self):
        del tasks._FLOWS['btoy'].batch['btoy_three']
        self.runner.kick_many(self.ids)
        rows = self.wait_for(self._all_done)
        self.assertEqual(sorted(('btoy_three', i) for i in self.ids),
                         sorted(self.flow.single))
        self.assertEqual(['running'] * 5, [r.state for r in rows])
        self.assertEqual(2, self.writes.call_count)

    def test_kick_many_of_one_or_none(self):
        kick = self._mock_kick()
        self.runner.kick_many([self.ids[0]])
        kick.assert_called_once_with(self.ids[0])
        self.runner.kick_many([])
        self.assertEqual(1, kick.call_count)
        self.assertEqual([], self.flow.batches)


class PowerSweepTest(base.ServiceTestCase):
    """sync_power_states: one get_power_states call per compute host."""

    def setUp(self):
        super().setUp()
        self.manager = compute_manager.ComputeManager(
            host=CONF.host, driver=self.compute_driver)
        self.start_service(CONF.compute.topic, self.manager)
        self.runner = tasks.TaskRunner()
        self.kick = self.useFixture(fixtures.MockPatchObject(
            self.runner, 'kick')).mock

    def _running(self, behaviour='stop', host=None, task=None):
        instance = make_instance(task, state='running',
                                 host=host or CONF.host,
                                 shutdown_behavior=behaviour)
        self.compute_driver.guests[instance.id] = {
            'state': compute_driver.POWER_RUNNING, 'block_device_info': []}
        return instance

    def test_guests_that_went_off_are_stopped_or_terminated(self):
        up = self._running()
        off = self._running()
        gone = self._running(behaviour='terminate')
        off_terminate = self._running(behaviour='terminate')
        busy = self._running(task='stop_power_off')
        elsewhere = self._running(host='other-host')
        self.compute_driver.guests[off.id]['state'] = \
            compute_driver.POWER_SHUTDOWN
        self.compute_driver.guests[off_terminate.id]['state'] = \
            compute_driver.POWER_SHUTDOWN
        del self.compute_driver.guests[gone.id]
        del self.compute_driver.guests[busy.id]
        asked = {}
        real = compute_rpcapi.ComputeAPI.get_power_states

        def get_power_states(api, context, host, instances):
            asked[host] = sorted(i['id'] for i in instances)
            if host != CONF.host:
                # The other host does not answer: its guests are left
                # alone.
                raise oslo_messaging.MessagingTimeout()
            return real(api, context, host, instances)

        self.useFixture(fixtures.MockPatchObject(
            compute_rpcapi.ComputeAPI, 'get_power_states',
            get_power_states))
        calls = self.useFixture(fixtures.MockPatchObject(
            self.manager, 'get_power_states',
            side_effect=self.manager.get_power_states)).mock
        single = self.useFixture(fixtures.MockPatchObject(
            self.manager, 'get_power_state')).mock
        self.runner.sync_power_states()

        self.assertEqual({
            CONF.host: sorted([up.id, off.id, gone.id, off_terminate.id]),
            'other-host': [elsewhere.id]}, asked)
        self.assertEqual(1, calls.call_count)
        single.assert_not_called()
        admin = ebs_context.get_admin_context()
        states = {i.id: (i.state, i.task)
                  for i in db.instance_list(admin)}
        self.assertEqual(('running', None), states[up.id])
        self.assertEqual(('stopping', 'stop_power_off'), states[off.id])
        self.assertEqual(('shutting-down', 'terminate_destroy'),
                         states[off_terminate.id])
        # A vanished guest is stopped, whatever its behaviour.
        self.assertEqual(('stopping', 'stop_power_off'), states[gone.id])
        self.assertEqual(('running', 'stop_power_off'), states[busy.id])
        self.assertEqual(('running', None), states[elsewhere.id])
        self.assertEqual(sorted([off.id, gone.id, off_terminate.id]),
                         sorted(c.args[0] for c in self.kick.call_args_list))
        reason = jsonutils.loads(db.instance_get(admin, gone.id).task_data)
        self.assertEqual('Server.InternalError', reason['reason'][0])

    def test_an_older_compute_host_is_asked_one_by_one(self):
        off = self._running()
        self._running()
        self.compute_driver.guests[off.id]['state'] = \
            compute_driver.POWER_SHUTDOWN
        # A compute service older than the controller, as an operator
        # caps it during a rolling upgrade.
        self.config.config(compute='1.0', group='upgrade_levels')
        single = self.useFixture(fixtures.MockPatchObject(
            self.manager, 'get_power_state',
            side_effect=self.manager.get_power_state)).mock
        self.runner.sync_power_states()
        self.assertEqual(2, single.call_count)
        self.assertEqual('stopping', db.instance_get(
            ebs_context.get_admin_context(), off.id).state)
