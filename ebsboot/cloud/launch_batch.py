"""The launch steps for many instances at once (one RunInstances).

Each function does what the single step of the same name in ``flows``
does, for every instance of the batch, with one database transaction and
one RPC per volume host instead of one per instance. The outcome of each
instance is what its single step would have returned or raised; the task
runner persists the outcomes together. Anything unusual (a failure, a
terminate request) leaves the batch and runs through the single steps,
which stay the reference behaviour and do all crash recovery.
"""

import concurrent.futures
import threading

from oslo_log import log as logging

from ebsboot.cloud import flows
from ebsboot.cloud import tasks
from ebsboot.cloud import volumes as cloud_volumes
from ebsboot.compute import rpcapi as compute_rpcapi
from ebsboot.db import api as db
from ebsboot.volume import rpcapi as volume_rpcapi

LOG = logging.getLogger(__name__)

# Guests booted at the same time.
SPAWN_WORKERS = 8
_spawner = None
_spawner_lock = threading.Lock()


def _spawn_executor():
    global _spawner
    with _spawner_lock:
        if _spawner is None:
            _spawner = concurrent.futures.ThreadPoolExecutor(
                max_workers=SPAWN_WORKERS, thread_name_prefix='spawn')
        return _spawner


def _devices(instances):
    by_instance = {instance.id: [] for instance in instances}
    for device in db.block_device_list(list(by_instance)):
        by_instance[device.instance_id].append(device)
    return by_instance


def _volumes(admin, devices):
    ids = [d.volume_id for ds in devices.values() for d in ds if d.volume_id]
    if not ids:
        return {}
    return {v.id: v for v in db.volume_list(admin, ids=ids)}


def _pairs(devices, volumes):
    """``(device, volume or None)`` of the devices that have a volume."""
    return [(d, volumes.get(d.volume_id)) for d in devices if d.volume_id]


def _by_host(pairs):
    """``{host: [volume id]}`` of ``(host, volume id)`` pairs."""
    hosts = {}
    for host, volume_id in pairs:
        hosts.setdefault(host, []).append(volume_id)
    return hosts


def launch_volumes(admin, instances, datas):
    devices = _devices(instances)
    existing = _volumes(admin, devices)
    snapshot_ids = {d.snapshot_id for ds in devices.values() for d in ds
                    if d.snapshot_id}
    snapshots = ({s.id: s for s in db.snapshot_list(admin,
                                                    ids=list(snapshot_ids))}
                 if snapshot_ids else {})
    inserts, updates, outcomes, created = [], [], {}, []
    for instance in instances:
        rows, failure = [], None
        for device in devices[instance.id]:
            if device.virtual_name is not None or \
                    device.volume_id in existing:
                continue
            snapshot = snapshots.get(device.snapshot_id)
            if device.snapshot_id and snapshot is None:
                failure = tasks.StepFailed(
                    'Client.InvalidSnapshot.NotFound',
                    'The snapshot of %s is gone.' % device.device_name)
                break
            values = cloud_volumes.volume_values(
                instance.project_id, instance.availability_zone,
                device.volume_size, device.volume_type, snapshot,
                device.volume_id)
            rows.append((device, values))
        if failure is not None:
            outcomes[instance.id] = failure
            continue
        tags = datas.get(instance.id, {}).get('volume_tags') or {}
        for device, values in rows:
            inserts.append(('volume', values))
            inserts.extend(('tag', db.tag_values(
                values['project_id'], values['ec2_id'], 'volume', key,
                value, slot)) for slot, (key, value) in enumerate(
                tags.items()))
            updates.append(('block_device', device.id,
                            {'volume_id': values['id'],
                             'volume_ec2_id': values['ec2_id'],
                             'status': 'attaching'}, None))
            created.append(values)
        outcomes[instance.id] = ('launch_wait', {})
    if inserts:
        db.write_many(inserts, updates)
        api = volume_rpcapi.VolumeAPI()
        for host, ids in _by_host((v['host'], v['id'])
                                  for v in created).items():
            api.create_volumes(admin, host, ids)
        LOG.info('Creating %d volumes for %d instances', len(created),
                 len(instances))
    return outcomes


def launch_wait(admin, instances, datas):
    """Wait for the volumes; connect those whose volumes are all ready.

    Going on to ``launch_connect`` without storing that step first is
    safe: a restart repeats ``launch_wait``, which finds the volumes
    ready again.
    """
    devices = _devices(instances)
    volumes = _volumes(admin, devices)
    outcomes = {}
    for instance in instances:
        try:
            flows.check_volumes_made(_pairs(devices[instance.id], volumes))
            outcomes[instance.id] = ('launch_connect', {})
        except (tasks.StepFailed, tasks.Retry) as e:
            outcomes[instance.id] = e
    ready = [i for i in instances
             if outcomes[i.id] == ('launch_connect', {})]
    if ready:
        outcomes.update(_connect(admin, ready, devices, volumes))
    return outcomes


def launch_connect(admin, instances, datas):
    devices = _devices(instances)
    return _connect(admin, instances, devices, _volumes(admin, devices))


def _connect(admin, instances, devices, volumes):
    """Place the instances, export their volumes for their hosts.

    One ``get_connector`` per compute host and one export call per volume
    host and compute host. An instance whose volumes were exported for
    another host before (placed again after a crash) leaves the batch:
    the single step revokes those exports first.
    """
    hosts = flows.live_hosts()
    if not hosts:
        failure = tasks.StepFailed('Server.InsufficientInstanceCapacity',
                                   'No compute host is available.')
        return dict.fromkeys([i.id for i in instances], failure)
    unplaced = [i for i in instances if i.host not in hosts]
    host_of = {i.id: i.host for i in instances}
    moved = dict(zip([i.id for i in unplaced],
                     flows.place(hosts, len(unplaced))))
    host_of.update(moved)
    compute = compute_rpcapi.ComputeAPI()
    connectors, failed = {}, {}
    for host in sorted(set(host_of.values())):
        try:
            connectors[host] = compute.get_connector(admin, host)
        except Exception as e:
            failed[host] = e
    outcomes = {}
    for instance in instances:
        host = host_of[instance.id]
        if host in failed:
            outcomes[instance.id] = failed[host]
        elif any(d.connection_info and
                 flows.stored_connector(d) != connectors[host]
                 for d in devices[instance.id]):
            outcomes[instance.id] = RuntimeError(
                'volumes of %s exported for another host' % instance.ec2_id)
    todo = [i for i in instances if i.id not in outcomes]
    api = volume_rpcapi.VolumeAPI()
    infos, failed_hosts = {}, {}
    # Only the volumes of these instances: the others of the batch may
    # still be creating (or have failed), and one refusal fails a host's
    # whole call.
    owner = {d.volume_id: i.id for i in todo for d in devices[i.id]
             if d.volume_id}
    groups = {}
    for volume in volumes.values():
        if volume.id in owner:
            key = (volume.host, host_of[owner[volume.id]])
            groups.setdefault(key, []).append(volume.id)
    for (volume_host, host), ids in sorted(groups.items(),
                                           key=lambda g: str(g[0])):
        try:
            infos.update(api.initialize_connections(
                admin, volume_host, ids, connectors[host],
                instance_ids={v: owner[v] for v in ids}))
        except Exception as e:
            failed_hosts[(volume_host, host)] = e
    updates = []
    now = flows._now()
    for instance in todo:
        host = host_of[instance.id]
        outcome = ('launch_spawn',
                   {'host': host} if instance.id in moved else {})
        changes = []
        for device in devices[instance.id]:
            if not device.volume_id:
                continue
            volume = volumes.get(device.volume_id)
            if volume is None or volume.id not in infos:
                # The single step says what went wrong.
                outcome = failed_hosts.get(
                    (volume.host if volume else None, host),
                    RuntimeError('volume %s not connected'
                                 % device.volume_ec2_id))
                break
            changes += flows.connect_changes(device, volume,
                                             infos[volume.id], now,
                                             connectors[host])
        outcomes[instance.id] = outcome
        if not isinstance(outcome, BaseException):
            updates += changes
    if updates:
        for table, row_id in db.write_many(updates=updates):
            # A row changed under us: let the single step sort it out.
            for instance in todo:
                if any((d.volume_id if table == 'volume' else d.id)
                       == row_id for d in devices[instance.id]):
                    outcomes[instance.id] = RuntimeError(
                        '%s %s changed' % (table, row_id))
    return outcomes


def launch_spawn(admin, instances, datas):
    """Boot the guests of the batch on the hosts they were placed on.

    One whose host died since its volumes were exported leaves the
    batch: the single step revokes the exports and places it again.
    """
    hosts = flows.live_hosts()
    outcomes = {i.id: RuntimeError('host %s of %s is gone'
                                   % (i.host, i.ec2_id))
                for i in instances if i.host not in hosts}
    placed = [i for i in instances if i.host in hosts]
    if not placed:
        return outcomes
    devices = _devices(placed)
    api = compute_rpcapi.ComputeAPI()

    def boot(instance):
        return api.spawn(admin, instance.host,
                         flows.instance_dict(instance),
                         flows.block_device_info(instance,
                                                 devices[instance.id]))

    executor = _spawn_executor()
    futures = {i.id: executor.submit(boot, i) for i in placed}
    changes = []
    for instance in placed:
        future = futures[instance.id]
        error = future.exception()
        if error:
            outcomes[instance.id] = error
            continue
        changes += flows.device_info_changes(devices[instance.id],
                                             future.result())
        outcomes[instance.id] = (None, {'state': 'running',
                                        'launched_at': flows._now()})
    if changes:
        db.write_many(updates=changes)
    return outcomes


flows.LAUNCH_FLOW.batch.update({
    'launch_volumes': launch_volumes,
    'launch_wait': launch_wait,
    'launch_connect': launch_connect,
    'launch_spawn': launch_spawn,
})
