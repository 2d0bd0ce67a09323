"""The volume manager: runs volume and snapshot state machines on a host.

The controller writes a row in a transitional state (``creating``,
``deleting``, ``pending``) and casts here; this manager drives the driver and
writes the final state. Because every driver step is idempotent and the
transitional state is in the database, ``init_host`` simply runs the step
again for every row this host left unfinished (or that no host claimed yet).
"""

import threading
import time

from oslo_log import log as logging
import oslo_messaging as messaging
from stevedore import driver as stevedore_driver

from ebsboot.conf import CONF
from ebsboot import context as ebs_context
from ebsboot.db import api as db
from ebsboot import exception
from ebsboot.volume import live
from ebsboot.volume import resize

LOG = logging.getLogger(__name__)

VOLUME_FIELDS = ('id', 'size', 'provider_location', 'snapshot_id',
                 'volume_type')
SNAPSHOT_FIELDS = ('id', 'volume_id', 'volume_size', 'provider_location')


def load_driver(conf=CONF):
    return stevedore_driver.DriverManager(
        'ebsboot.volume.drivers', conf.volume.driver,
        invoke_on_load=True, invoke_args=(conf,)).driver


def _as_dict(row, fields):
    return {field: getattr(row, field) for field in fields}


class VolumeManager:
    target = messaging.Target(version='1.4')

    def __init__(self, host=None, driver=None):
        self.host = host or CONF.host
        self.driver = driver or load_driver()
        self._live = None
        self._extender = None
        # Snapshots being taken by a thread of this process.
        self._busy = set()
        self._busy_lock = threading.Lock()

    # Service life cycle ---------------------------------------------------

    def init_host(self):
        self.driver.do_setup()
        self.driver.check_for_setup_error()
        self._recover()

    def cleanup_host(self):
        pass

    def _recover(self):
        """Finish or undo what a previous run of this host left behind."""
        ctxt = ebs_context.get_admin_context()
        steps = {'creating': self.create_volume,
                 'deleting': self.delete_volume}
        for volume in db.volume_list(ctxt):
            if volume.status in steps and volume.host in (None, self.host):
                LOG.info('Resuming %s of volume %s', volume.status,
                         volume.ec2_id)
                steps[volume.status](ctxt, volume.id)
        pending = []
        for snapshot in db.snapshot_list(ctxt):
            if snapshot.host not in (None, self.host):
                continue
            if snapshot.status == 'pending':
                LOG.info('Resuming pending snapshot %s', snapshot.ec2_id)
                pending.append(snapshot.id)
            elif snapshot.status == 'deleting':
                LOG.info('Resuming deleting snapshot %s', snapshot.ec2_id)
                self.delete_snapshot(ctxt, snapshot.id)
        if pending:
            # Together: those of one guest (a CreateImage) are switched
            # at one instant, as when they were first asked for.
            self.create_snapshots(ctxt, pending)
        for modification in db.volume_modification_list(ctxt):
            if modification.status in resize.ACTIVE and \
                    modification.host in (None, self.host):
                LOG.info('Resuming modification of volume %s',
                         modification.volume_ec2_id)
                self.extend_volume(ctxt, modification.id)

    def _claim(self, update, row):
        """Pin a row to this host; False if another host has it."""
        if row.host == self.host:
            return True
        try:
            update(ebs_context.get_admin_context(), row.id,
                   {'host': self.host}, expected={'host': None})
            return True
        except db.ConflictError:
            return False

    # Volumes ----------------------------------------------------------------

    def create_volume(self, context, volume_id):
        ctxt = ebs_context.get_admin_context()
        volume = db.volume_get(ctxt, volume_id)
        if volume is None or volume.status != 'creating':
            return
        if not self._claim(db.volume_update, volume):
            return
        values = self._make_volume(ctxt, volume)
        try:
            db.volume_update(ctxt, volume.id, values,
                             expected_status='creating')
        except db.ConflictError:
            LOG.warning('Volume %s changed while it was created',
                        volume.ec2_id)

    def create_volumes(self, context, volume_ids):
        """``create_volume`` of many, with one database write at the end."""
        ctxt = ebs_context.get_admin_context()
        volumes = [v for v in db.volume_list(ctxt, ids=volume_ids)
                   if v.status == 'creating' and v.host in (None, self.host)]
        claims = [('volume', v.id, {'host': self.host}, {'host': None})
                  for v in volumes if v.host is None]
        lost = db.write_many(updates=claims) if claims else set()
        volumes = [v for v in volumes if ('volume', v.id) not in lost]
        # One read per snapshot, not per volume.
        snapshots = {sid: db.snapshot_get(ctxt, sid)
                     for sid in {v.snapshot_id for v in volumes
                                 if v.snapshot_id}}
        made = {}
        for snapshot_id, snapshot in snapshots.items():
            group = [v for v in volumes if v.snapshot_id == snapshot_id]
            if snapshot is not None and len(group) > 1:
                made.update(self._make_volumes(group, snapshot))
        updates = [('volume', v.id,
                    made.get(v.id) or self._make_volume(ctxt, v, snapshots),
                    {'status': 'creating'}) for v in volumes]
        if updates:
            for _table, volume_id in db.write_many(updates=updates):
                LOG.warning('Volume %s changed while it was created',
                            volume_id)

    def _make_volumes(self, volumes, snapshot):
        """``_make_volume`` of volumes of one snapshot, in one driver call."""
        results = self.driver.create_volumes_from_snapshot(
            [_as_dict(v, VOLUME_FIELDS) for v in volumes],
            _as_dict(snapshot, SNAPSHOT_FIELDS))
        values = {}
        for volume in volumes:
            result = results.get(volume.id)
            if isinstance(result, Exception):
                LOG.error('Creating volume %s failed: %s', volume.ec2_id,
                          result)
                values[volume.id] = {'status': 'error'}
            elif volume.id in results:
                values[volume.id] = dict(result or {}, status='available')
        return values

    def _make_volume(self, ctxt, volume, snapshots=None):
        """Run the driver; the values that finish the volume's row.

        ``snapshots`` caches snapshot rows across calls.
        """
        snapshots = {} if snapshots is None else snapshots
        try:
            if volume.snapshot_id:
                if volume.snapshot_id not in snapshots:
                    snapshots[volume.snapshot_id] = db.snapshot_get(
                        ctxt, volume.snapshot_id)
                snapshot = snapshots[volume.snapshot_id]
                if snapshot is None:
                    raise exception.VolumeDriverError(
                        'snapshot %s is gone' % volume.snapshot_ec2_id)
                update = self.driver.create_volume_from_snapshot(
                    _as_dict(volume, VOLUME_FIELDS),
                    _as_dict(snapshot, SNAPSHOT_FIELDS))
            else:
                update = self.driver.create_volume(
                    _as_dict(volume, VOLUME_FIELDS))
        except Exception:
            LOG.exception('Creating volume %s failed', volume.ec2_id)
            return {'status': 'error'}
        return dict(update or {}, status='available')

    def delete_volume(self, context, volume_id):
        ctxt = ebs_context.get_admin_context()
        volume = db.volume_get(ctxt, volume_id)
        if volume is None or volume.status != 'deleting':
            return
        try:
            self.driver.delete_volume(_as_dict(volume, VOLUME_FIELDS))
        except Exception:
            LOG.exception('Deleting volume %s failed', volume.ec2_id)
            db.volume_update(ctxt, volume.id, {'status': 'error'},
                             expected_status='deleting')
            return
        db.volume_destroy(ctxt, volume.id)
        LOG.info('Deleted volume %s', volume.ec2_id)

    def extend_volume(self, context, modification_id):
        """Run a volume modification (``ebsboot.volume.resize``)."""
        ctxt = ebs_context.get_admin_context()
        modification = db.volume_modification_get(ctxt, modification_id)
        if modification is None or \
                modification.status not in resize.ACTIVE:
            return
        key = ('modification', modification.id)
        with self._busy_lock:
            if key in self._busy:
                return
            self._busy.add(key)
        try:
            self.extender.run(modification)
        finally:
            with self._busy_lock:
                self._busy.discard(key)

    @property
    def extender(self):
        if self._extender is None:
            self._extender = resize.VolumeExtender(
                self.driver, lambda v: _as_dict(v, VOLUME_FIELDS))
        return self._extender

    def initialize_connection(self, context, volume_id, connector,
                              instance_id=None):
        self._merge_overlays([volume_id])
        volume = db.volume_get(ebs_context.get_admin_context(), volume_id)
        return self.driver.initialize_connection(
            _as_dict(volume, VOLUME_FIELDS), connector,
            instance_id=instance_id)

    def initialize_connections(self, context, volume_ids, connector,
                               instance_ids=None):
        """Export volumes to one compute host.

        ``instance_ids`` (1.4) maps a volume id to the instance it is
        exported for.
        """
        self._merge_overlays(volume_ids)
        ctxt = ebs_context.get_admin_context()
        instance_ids = instance_ids or {}
        return {volume.id: self.driver.initialize_connection(
            _as_dict(volume, VOLUME_FIELDS), connector,
            instance_id=instance_ids.get(volume.id))
            for volume in db.volume_list(ctxt, ids=volume_ids)}

    def _merge_overlays(self, volume_ids):
        """Finish live snapshots of volumes about to be connected.

        A guest that stopped between the switch and the merge left its
        latest writes in an overlay; a guest booted on the volume file must
        see them, so the snapshot is finished here first (no guest runs
        the volume while it is being connected).
        """
        if not self.driver.supports_live_snapshot:
            return
        ctxt = ebs_context.get_admin_context()
        volumes = {v.id: v for v in db.volume_list(ctxt, ids=volume_ids)}
        pending = [s for s in db.snapshot_list(ctxt, status='pending')
                   if s.volume_id in volumes and s.host == self.host]
        todo = [s for s in pending if self.live.state(
            s, volumes[s.volume_id])[0] in (live.PREPARED, live.COPIED)]
        if not todo:
            return
        deadline = time.monotonic() + CONF.compute.block_commit_timeout
        while time.monotonic() < deadline:
            with self._busy_lock:
                if not self._busy.intersection(s.id for s in todo):
                    self._busy.update(s.id for s in todo)
                    break
            time.sleep(0.1)
        else:
            raise exception.VolumeDriverError(
                'the live snapshots of %s did not finish' % ', '.join(
                    v.ec2_id for v in volumes.values()))
        try:
            LOG.info('Finishing live snapshots %s before connecting',
                     ', '.join(s.ec2_id for s in todo))
            pairs = [(s, volumes[s.volume_id]) for s in todo]
            self._take_live(ctxt, None, pairs)
            if any(self.live.state(s, v)[0] != live.DONE for s, v in pairs):
                raise exception.VolumeDriverError(
                    'the overlays of live snapshots of %s are not merged'
                    % ', '.join(v.ec2_id for v in volumes.values()))
        finally:
            with self._busy_lock:
                self._busy.difference_update(s.id for s in todo)

    def terminate_connection(self, context, volume_id, connector,
                             instance_id=None):
        volume = db.volume_get(ebs_context.get_admin_context(), volume_id)
        if volume is not None:
            self.driver.terminate_connection(
                _as_dict(volume, VOLUME_FIELDS), connector,
                instance_id=instance_id)

    # Snapshots --------------------------------------------------------------

    def create_snapshot(self, context, snapshot_id):
        self.create_snapshots(context, [snapshot_id])

    def create_snapshots(self, context, snapshot_ids):
        """Take pending snapshots; those of one running guest at one instant.

        A volume that a running guest uses is snapshotted live, through the
        guest's compute host (``ebsboot.volume.live``), when the driver
        can; every other snapshot is a plain copy.
        """
        ctxt = ebs_context.get_admin_context()
        with self._busy_lock:
            snapshots = [s for s in db.snapshot_list(ctxt, ids=snapshot_ids)
                         if s.status == 'pending' and s.id not in self._busy]
            snapshots = [s for s in snapshots
                         if self._claim(db.snapshot_update, s)]
            self._busy.update(s.id for s in snapshots)
        try:
            self._take_snapshots(ctxt, snapshots)
        finally:
            with self._busy_lock:
                self._busy.difference_update(s.id for s in snapshots)

    def _take_snapshots(self, ctxt, snapshots):
        guests = {}
        for snapshot in snapshots:
            if snapshot.source_snapshot_id:
                self._copy_of_snapshot(ctxt, snapshot)
                continue
            volume = (db.volume_get(ctxt, snapshot.volume_id)
                      if snapshot.volume_id else None)
            guest = self._live_guest(snapshot, volume)
            if guest is False:
                self._copy_snapshot(ctxt, snapshot, volume)
            else:
                guests.setdefault(guest.id if guest else None, (
                    guest, []))[1].append((snapshot, volume))
        for guest, pairs in guests.values():
            self._take_live(ctxt, guest, pairs)

    def _live_guest(self, snapshot, volume):
        """The running guest to snapshot ``volume`` through.

        None: the snapshot is live but no guest runs the volume any more
        (its overlay is merged here); False: take a plain copy.
        """
        if volume is None or not self.driver.supports_live_snapshot:
            return False
        state, _disk = self.live.state(snapshot, volume)
        if state == live.DONE:
            return None
        guest = None
        device = db.block_device_get_by_volume(volume.id)
        if device is not None and volume.status == 'in-use':
            guest = db.instance_get(ebs_context.get_admin_context(),
                                    device.instance_id)
        if guest is not None and guest.host and guest.state in (
                'running', 'stopping') and \
                self.live.compute.can_snapshot_disks():
            return guest
        # Started live, guest gone since: finish it here.
        return None if state != live.NEW else False

    @property
    def live(self):
        if self._live is None:
            self._live = live.LiveSnapshotter(
                self.driver, lambda s: _as_dict(s, SNAPSHOT_FIELDS),
                lambda v: _as_dict(v, VOLUME_FIELDS))
        return self._live

    def _take_live(self, ctxt, guest, pairs):
        LOG.info('Snapshotting %s live%s', ', '.join(
            v.ec2_id for _s, v in pairs),
            ' through guest %s' % guest.ec2_id if guest else '')
        results = self.live.take(pairs, guest)
        for snapshot, _volume in pairs:
            values = results.get(snapshot.id)
            if values is None:
                LOG.warning('Snapshot %s stays pending: its overlay is '
                            'not merged yet', snapshot.ec2_id)
                continue
            try:
                db.snapshot_update(ctxt, snapshot.id, values,
                                   expected_status='pending')
            except db.ConflictError:
                LOG.warning('Snapshot %s changed while it was taken',
                            snapshot.ec2_id)

    def _copy_snapshot(self, ctxt, snapshot, volume):
        """A plain copy: nothing writes the volume meanwhile."""
        try:
            if snapshot.volume_id is None:
                # ebsboot-manage snapshot import runs imports itself; one
                # still pending here was interrupted.
                raise exception.VolumeDriverError(
                    'the import of the snapshot did not finish')
            if volume is None:
                raise exception.VolumeDriverError(
                    'volume %s is gone' % snapshot.volume_ec2_id)
            update = self.driver.create_snapshot(
                _as_dict(snapshot, SNAPSHOT_FIELDS),
                _as_dict(volume, VOLUME_FIELDS))
        except Exception as e:
            LOG.exception('Snapshot %s failed', snapshot.ec2_id)
            self._fail_snapshot(ctxt, snapshot, e)
            return
        self._finish_snapshot(ctxt, snapshot, update)

    @staticmethod
    def _fail_snapshot(ctxt, snapshot, error):
        db.snapshot_update(ctxt, snapshot.id,
                           {'status': 'error',
                            'state_message': str(error)[:255]},
                           expected_status='pending')

    @staticmethod
    def _finish_snapshot(ctxt, snapshot, update):
        values = dict(update or {}, status='completed', progress=100)
        try:
            db.snapshot_update(ctxt, snapshot.id, values,
                               expected_status='pending')
        except db.ConflictError:
            LOG.warning('Snapshot %s changed while it was taken',
                        snapshot.ec2_id)

    def _copy_of_snapshot(self, ctxt, snapshot):
        """CopySnapshot: a new snapshot of another snapshot's data."""
        try:
            source = db.snapshot_get(ctxt, snapshot.source_snapshot_id)
            if source is None or source.status != 'completed':
                raise exception.VolumeDriverError(
                    'the source snapshot of the copy is gone')
            update = self.driver.copy_snapshot(
                _as_dict(snapshot, SNAPSHOT_FIELDS),
                _as_dict(source, SNAPSHOT_FIELDS))
        except Exception as e:
            LOG.exception('Copy %s failed', snapshot.ec2_id)
            self._fail_snapshot(ctxt, snapshot, e)
            return
        self._finish_snapshot(ctxt, snapshot, update)

    def delete_snapshot(self, context, snapshot_id):
        ctxt = ebs_context.get_admin_context()
        snapshot = db.snapshot_get(ctxt, snapshot_id)
        if snapshot is None or snapshot.status != 'deleting':
            return
        try:
            self.driver.delete_snapshot(_as_dict(snapshot, SNAPSHOT_FIELDS))
        except Exception:
            LOG.exception('Deleting snapshot %s failed', snapshot.ec2_id)
            db.snapshot_update(ctxt, snapshot.id, {'status': 'error'},
                               expected_status='deleting')
            return
        db.snapshot_destroy(ctxt, snapshot.id)
        LOG.info('Deleted snapshot %s', snapshot.ec2_id)

    def get_stats(self, context):
        return dict(self.driver.get_volume_stats(),
                    live_snapshot_support=self.driver.supports_live_snapshot)
