"""Persisted state machines of the long instance operations.

RunInstances, Stop/Start/TerminateInstances and CreateImage each set an
instance's ``task`` to the first step of their flow and return. The runner
executes steps on worker threads: a step does one idempotent piece of work
and names the next step, and the runner stores that name with a
compare-and-set before going on. A controller that dies anywhere therefore
restarts exactly at the step it was in (``resume``), repeating at most that
one idempotent step.

A step that must wait (for a volume to become available, say) raises
``Retry``. A failed step diverts the flow to its rollback step. A
TerminateInstances on a busy instance sets ``pending_terminate``; the
runner then leaves the current flow at the next step boundary and
terminates the instance, so two operations never run on one instance at
once.

The steps of many instances launched together (one RunInstances) run as a
batch where their flow offers a batch version of the step: the same
idempotent work for all of them, with one database transaction and one
RPC per step instead of one per instance. Every instance still has its
own persisted task, so a restart resumes each one on its own.
"""

import datetime
import threading
import time

import futurist
from oslo_db import exception as db_exc
from oslo_log import log as logging
from oslo_serialization import jsonutils
from oslo_utils import timeutils
from sqlalchemy import exc as sa_exc

from ebsboot.cloud import image_copies
from ebsboot.cloud import images as cloud_images
from ebsboot.compute import driver as compute_driver
from ebsboot.compute import rpcapi as compute_rpcapi
from ebsboot.conf import CONF
from ebsboot import context as ebs_context
from ebsboot.db import api as db

LOG = logging.getLogger(__name__)

RETRY_FIRST = 0.02
RETRY_INTERVAL = 0.5
BATCH_RETRY_INTERVAL = 0.05


class Retry(Exception):
    """The step cannot go on yet; run it again a little later."""


class StepFailed(Exception):
    """The step failed for a reason the client should see."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


class Flow:
    """A named sequence of steps with one rollback step.

    ``steps`` maps a step name to ``function(context, instance, data)``
    returning ``(next_step_or_None, values_to_store)``; ``data`` is the
    decoded ``task_data`` and may be changed by the step (it is stored
    with the step's outcome).

    ``batch`` optionally maps a step name to ``function(context,
    instances, datas)`` doing that step for many instances at once
    (``datas`` maps instance ids to their data). It returns a dict of
    instance id to outcome: what the single step returns, or the
    exception (``Retry``, ``StepFailed``, ...) it would have raised.
    """

    def __init__(self, name, steps, rollback=None, batch=None):
        self.name = name
        self.steps = steps
        self.rollback = rollback
        self.batch = batch or {}

    @property
    def first(self):
        return next(iter(self.steps))


_FLOWS = {}
_STEPS = {}


def register(flow):
    _FLOWS[flow.name] = flow
    for step in flow.steps:
        _STEPS[step] = flow


class TaskRunner:
    """Runs instance steps on a pool of native threads."""

    def __init__(self, workers=16):
        self._executor = futurist.ThreadPoolExecutor(max_workers=workers)
        self._locks = {}
        self._waits = {}
        self._guard = threading.Lock()
        self._stopping = threading.Event()
        self._threads = []

    def start(self):
        self.resume()
        self._threads = [
            threading.Thread(target=self._every, name='purge-terminated',
                             args=(lambda: 60, purge_terminated),
                             daemon=True),
            threading.Thread(target=self._every, name='sync-power-state',
                             args=(lambda: CONF.sync_power_state_interval,
                                   self.sync_power_states),
                             daemon=True),
            threading.Thread(target=self._every, name='image-upkeep',
                             args=(lambda: CONF.image.maintenance_interval,
                                   cloud_images.upkeep),
                             daemon=True),
            threading.Thread(target=self._every, name='image-copies',
                             args=(lambda: CONF.image.copy_check_interval,
                                   image_copies.finish_copies),
                             daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self):
        self._stopping.set()
        self._executor.shutdown(wait=True)
        for thread in self._threads:
            thread.join()

    def resume(self):
        """Pick up every instance a previous run left in a flow."""
        admin = ebs_context.get_admin_context()
        for instance in db.instance_list(admin):
            if instance.task is not None or instance.pending_terminate:
                LOG.info('Resuming %s at step %s', instance.ec2_id,
                         instance.task)
                self.kick(instance.id)

    def kick(self, instance_id):
        """Make sure the instance's flow is being run."""
        if not self._stopping.is_set():
            self._executor.submit(self._run, instance_id)

    def kick_many(self, instance_ids):
        """Run the flows of these instances, as one batch where possible."""
        if len(instance_ids) == 1:
            self.kick(instance_ids[0])
        elif instance_ids and not self._stopping.is_set():
            self._executor.submit(self._run_batch, list(instance_ids))

    def _lock(self, instance_id):
        with self._guard:
            return self._locks.setdefault(instance_id, threading.Lock())

    def _run(self, instance_id):
        with self._lock(instance_id):
            while not self._stopping.is_set():
                try:
                    if not self._step(instance_id):
                        return
                except Exception:
                    # The state is in the database: try again shortly
                    # rather than leave the instance stuck in a flow.
                    LOG.exception('Flow of instance %s interrupted; '
                                  'retrying', instance_id)
                    self._stopping.wait(RETRY_INTERVAL * 5)

    def _run_batch(self, instance_ids):
        """Run batchable steps for all; hand the rest to ``kick``."""
        held = {}
        for instance_id in sorted(instance_ids):
            lock = self._lock(instance_id)
            if lock.acquire(blocking=False):
                held[instance_id] = lock
            else:
                # Someone runs this one already; it will carry on alone.
                self.kick(instance_id)
        ids = list(held)
        try:
            waits = 0
            while ids and not self._stopping.is_set():
                ids, left, waiting = self._batch_step(ids)
                # Those that left (or are done) go at once, not when the
                # whole batch is done: a failure rolls back, a terminate
                # request is served, while the others still wait.
                for instance_id in set(held) - set(ids):
                    held.pop(instance_id).release()
                for instance_id in left:
                    self.kick(instance_id)
                if ids and waiting:
                    # One query looks at the whole batch: look often.
                    self._stopping.wait(min(RETRY_FIRST * 2 ** waits,
                                            BATCH_RETRY_INTERVAL))
                    waits += 1
                elif not waiting:
                    waits = 0
        except Exception:
            LOG.exception('Batch of %d instances interrupted; going on '
                          'one by one', len(held))
            ids = list(held)
        finally:
            for lock in held.values():
                lock.release()
        for instance_id in ids:
            # Interrupted or stopping (kick does nothing then).
            self.kick(instance_id)

    def _batch_step(self, ids):
        """One step for every instance of the batch.

        Returns the ids that stay in the batch, those that leave it (to
        run alone) and whether any of them is waiting (``Retry``).
        """
        admin = ebs_context.get_admin_context()
        instances = db.instance_list(admin, ids=ids)
        groups, leave = {}, []
        for instance in instances:
            flow = _STEPS.get(instance.task)
            if instance.pending_terminate:
                # As in _step: terminate, even once the flow is done.
                leave.append(instance.id)
            elif instance.task is None:
                continue
            elif flow is None or instance.task not in flow.batch:
                leave.append(instance.id)
            else:
                groups.setdefault(instance.task, []).append(instance)
        changes, stay, waiting = [], [], False
        for task, members in groups.items():
            flow = _STEPS[task]
            datas = {i.id: jsonutils.loads(i.task_data or '{}')
                     for i in members}
            try:
                outcomes = flow.batch[task](admin, members, datas)
            except Retry:
                outcomes = {}
            except (db_exc.DBError, sa_exc.OperationalError):
                # Not a failure of the operation (see _step): the steps
                # are idempotent, run them again.
                LOG.warning('Database error at %s of %d instances; '
                            'retrying', task, len(members), exc_info=True)
                outcomes = {}
            for instance in members:
                outcome = outcomes.get(instance.id, Retry())
                data = datas[instance.id]
                if isinstance(outcome, Retry):
                    waiting = True
                    stay.append(instance.id)
                    continue
                if isinstance(outcome, BaseException):
                    # Failures and their rollbacks run one by one.
                    leave.append(instance.id)
                    continue
                next_task, values = outcome
                values = dict(values, task=next_task,
                              task_data=jsonutils.dumps(data))
                changes.append(('instance', instance.id, values,
                                {'task': task}))
                stay.append(instance.id)
        if changes:
            try:
                db.write_many(updates=changes)
            except (db_exc.DBError, sa_exc.OperationalError):
                # Nothing was stored: the next round repeats the steps.
                LOG.warning('Database error storing the steps of %d '
                            'instances; retrying', len(changes),
                            exc_info=True)
                waiting = True
        return stay, leave, waiting

    def _step(self, instance_id):
        """Run one step; False when there is nothing left to do."""
        admin = ebs_context.get_admin_context()
        instance = db.instance_get(admin, instance_id)
        if instance is None:
            return False
        task = instance.task
        terminate = _FLOWS[TERMINATE_FLOW]
        if instance.pending_terminate and task not in terminate.steps:
            # Leave the current flow at this step boundary; its task_data
            # stays so the terminate flow can fail what it was doing.
            return self._advance(instance, terminate.first,
                                 {'pending_terminate': False})
        if task is None:
            return False
        flow = _STEPS[task]
        data = jsonutils.loads(instance.task_data or '{}')
        try:
            next_task, values = flow.steps[task](admin, instance, data)
        except Retry:
            # Short waits first (a volume is usually ready within a tenth
            # of a second), then back off to spare the database.
            waits = self._waits.get((instance_id, task), 0)
            self._waits[(instance_id, task)] = waits + 1
            time.sleep(min(RETRY_FIRST * 2 ** waits, RETRY_INTERVAL))
            return True
        except (db_exc.DBError, sa_exc.OperationalError):
            # The database is busy or away for a moment: not a failure of
            # the operation. The step is idempotent; run it again.
            LOG.warning('Database error at %s of %s; retrying', task,
                        instance.ec2_id, exc_info=True)
            time.sleep(RETRY_INTERVAL * 5)
            return True
        except Exception as e:
            if isinstance(e, StepFailed):
                LOG.warning('%s failed at %s: %s', instance.ec2_id, task,
                            e.message)
                reason = (e.code, e.message)
            else:
                LOG.exception('%s failed at %s', instance.ec2_id, task)
                reason = ('Server.InternalError',
                          'Internal error: %s' % type(e).__name__)
            if flow.rollback is None or task == flow.rollback:
                # A rollback that fails is retried: giving up would leak.
                time.sleep(RETRY_INTERVAL * 5)
                return True
            data['failure'] = list(reason)
            next_task, values = flow.rollback, {}
        self._waits.pop((instance_id, task), None)
        values = dict(values, task_data=jsonutils.dumps(data))
        return self._advance(instance, next_task, values)

    def _advance(self, instance, next_task, values):
        try:
            db.instance_update(ebs_context.get_admin_context(), instance.id,
                               dict(values, task=next_task),
                               expected={'task': instance.task})
        except db.ConflictError:
            LOG.debug('%s changed under step %s; re-reading',
                      instance.ec2_id, instance.task)
        return True

    def _every(self, interval, job):
        """Run ``job`` now and every ``interval()`` seconds (0: never)."""
        if interval():
            # At start-up too: repair what changed while we were down.
            try:
                job()
            except Exception:
                LOG.exception('Periodic %s failed', job.__name__)
        while not self._stopping.wait(interval() or 60):
            if not interval():
                continue
            try:
                job()
            except Exception:
                LOG.exception('Periodic %s failed', job.__name__)

    def sync_power_states(self):
        """Act on guests that powered off (or vanished) on their own.

        A guest that shut itself down is stopped or terminated as its
        InstanceInitiatedShutdownBehavior says (stateReason
        Client.InstanceInitiatedShutdown); one that vanished from its host
        is stopped with Server.InternalError.
        """
        admin = ebs_context.get_admin_context()
        by_host = {}
        for instance in db.instance_list(admin, state='running', task=None):
            if instance.host and not instance.pending_terminate:
                by_host.setdefault(instance.host, []).append(instance)
        api = compute_rpcapi.ComputeAPI()
        for host, instances in sorted(by_host.items()):
            try:
                powers = api.get_power_states(admin, host, [
                    _guest(instance) for instance in instances])
            except Exception:
                LOG.warning('Power states of %d guests unknown (host %s)',
                            len(instances), host)
                continue
            for instance in instances:
                if instance.id in powers:
                    self._power_is(instance, powers[instance.id])

    def check_power(self, instance):
        """Compare one running instance with its guest's power state."""
        if instance.state != 'running' or instance.task is not None or \
                not instance.host or instance.pending_terminate:
            return
        try:
            power = compute_rpcapi.ComputeAPI().get_power_state(
                ebs_context.get_admin_context(), instance.host,
                _guest(instance))
        except Exception:
            LOG.warning('Power state of %s unknown (host %s)',
                        instance.ec2_id, instance.host)
            return
        self._power_is(instance, power)

    def _power_is(self, instance, power):
        if power != compute_driver.POWER_RUNNING:
            self.guest_stopped(instance, vanished=(
                power == compute_driver.POWER_NOSTATE))

    def guest_stopped(self, instance, vanished=False):
        """Start the stop or terminate flow for a guest that went off."""
        if vanished:
            reason = ['Server.InternalError',
                      'Server.InternalError: the guest disappeared from '
                      'its host']
            behaviour = 'stop'
        else:
            reason = ['Client.InstanceInitiatedShutdown',
                      'Client.InstanceInitiatedShutdown: Instance initiated '
                      'shutdown']
            behaviour = instance.shutdown_behavior
        values = {'task_data': jsonutils.dumps({'reason': reason}),
                  'state_transition_reason': 'Instance initiated shutdown'}
        if behaviour == 'terminate':
            values.update(state='shutting-down', task='terminate_destroy')
        else:
            values.update(state='stopping', task='stop_power_off')
        try:
            db.instance_update(ebs_context.get_admin_context(), instance.id,
                               values, expected={'state': 'running',
                                                 'task': None})
        except db.ConflictError:
            return
        LOG.info('%s powered off by itself: %s', instance.ec2_id, behaviour)
        self.kick(instance.id)


def _guest(instance):
    return {'id': instance.id, 'ec2_id': instance.ec2_id}


def purge_terminated(now=None):
    """Forget instances terminated longer than ``terminated_instance_ttl``."""
    now = now or timeutils.utcnow()
    limit = now - datetime.timedelta(seconds=CONF.terminated_instance_ttl)
    admin = ebs_context.get_admin_context()
    for instance in db.instance_list(admin, state='terminated'):
        if instance.task is None and instance.terminated_at and \
                instance.terminated_at <= limit:
            db.instance_destroy(admin, instance.id)


# The flow a TerminateInstances on a busy instance diverts to.
TERMINATE_FLOW = 'terminate'

_RUNNER = None


def get_runner():
    global _RUNNER
    if _RUNNER is None:
        _RUNNER = TaskRunner()
    return _RUNNER


def reset_runner():
    global _RUNNER
    if _RUNNER is not None:
        _RUNNER.stop()
    _RUNNER = None
