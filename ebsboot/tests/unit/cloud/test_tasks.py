"""The task runner: persisted steps, retries, rollback, crash resume."""

import datetime
import threading
import uuid

import fixtures
from oslo_serialization import jsonutils
from oslo_utils import timeutils

from ebsboot.cloud import flows  # noqa: F401 (the terminate flow)
from ebsboot.cloud import tasks
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
