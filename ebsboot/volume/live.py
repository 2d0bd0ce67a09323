"""Point-in-time snapshots of volumes a running guest is writing.

As Cinder's remotefs drivers do with Nova's assisted volume snapshots, the
volume service asks the compute host of the guest for help:

1. *prepare*: the driver makes an empty overlay backed by each volume file
   (``live_snapshot_overlay``);
2. *switch*: compute has the hypervisor move the guest's disks onto their
   overlays in one atomic step (all the volumes of one request at the same
   instant, crash-consistent across them); each volume file is frozen;
3. *copy*: the frozen file is copied into the snapshot store as any other
   snapshot (the snapshot stays ``pending``, with its ``progress``), while
   the guest runs on;
4. *commit*: compute merges each overlay back into its volume file and the
   guest runs on the volume file again (the chain stays one file long);
5. *clean*: the overlay is removed and the snapshot is ``completed`` (or
   ``error`` if the copy failed).

Which step a snapshot is at is read from the files themselves (overlay
there or not, snapshot file there or not; see ``live_snapshot_state``), so
repeating the whole sequence after a crash goes on where it stopped: a
frozen file is never switched again once copied, and an overlay is only
removed after its data is back in the volume. A guest that stopped (or a
volume detached) meanwhile leaves the overlay to be merged by the volume
host itself (``merge_overlay``).
"""

import time

from oslo_log import log as logging

from ebsboot.compute import rpcapi as compute_rpcapi
from ebsboot import context as ebs_context
from ebsboot.db import api as db
from ebsboot.volume import driver

LOG = logging.getLogger(__name__)

NEW = driver.LIVE_NEW
PREPARED = driver.LIVE_PREPARED
COPIED = driver.LIVE_COPIED
DONE = driver.LIVE_DONE
# Share of ``progress`` the steps before the copy and the copy take.
_SWITCHED_PROGRESS = 10
_COPY_SHARE = 80
# Compute calls are repeated this often, this far apart, before a step
# gives up (the volume service tries again when it restarts).
COMPUTE_TRIES = 3
COMPUTE_RETRY_DELAY = 2.0


class Member:
    """One snapshot of a live group: its rows, its files, its outcome."""

    def __init__(self, snapshot, volume, state, disk):
        self.snapshot = snapshot
        self.volume = volume
        self.state = state
        self.disk = disk
        self.error = None
        # What create_snapshot returned (fields of the snapshot's row).
        self.update = None


class LiveSnapshotter:
    """Runs the steps for a group of snapshots of one guest's volumes.

    ``as_snapshot``/``as_volume`` turn rows into the dicts drivers see.
    """

    def __init__(self, volume_driver, as_snapshot, as_volume,
                 compute_api=None):
        self.driver = volume_driver
        self.as_snapshot = as_snapshot
        self.as_volume = as_volume
        self._compute = compute_api

    @property
    def compute(self):
        if self._compute is None:
            self._compute = compute_rpcapi.ComputeAPI()
        return self._compute

    def state(self, snapshot, volume):
        return self.driver.live_snapshot_state(self.as_snapshot(snapshot),
                                               self.as_volume(volume))

    def take(self, pairs, instance):
        """Snapshot ``[(snapshot row, volume row)]`` of one guest.

        ``instance``: the guest's row, or None when no guest runs them any
        more (the overlays are then merged here). Returns ``{snapshot id:
        values to store}`` for the snapshots that finished (completed or
        error); the others stay ``pending`` for a later try.
        """
        members = []
        for snapshot, volume in pairs:
            state, disk = self.state(snapshot, volume)
            member = Member(snapshot, volume, state, disk)
            if state in (COPIED, DONE):
                # The file is there: this returns at once.
                member.update = self.driver.create_snapshot(
                    self.as_snapshot(snapshot), self.as_volume(volume))
            members.append(member)
        self._prepare(members)
        self._switch(members, instance)
        for member in members:
            self._copy(member)
        self._commit([m for m in members if m.state == COPIED], instance)
        results = {}
        for member in members:
            if member.state != DONE:
                continue
            if member.error is not None:
                results[member.snapshot.id] = {
                    'status': 'error',
                    'state_message': str(member.error)[:255]}
            else:
                results[member.snapshot.id] = dict(
                    member.update or {}, status='completed', progress=100)
        return results

    # Steps ----------------------------------------------------------------

    def _prepare(self, members):
        for member in members:
            if member.state != NEW:
                continue
            try:
                member.disk = self.driver.live_snapshot_overlay(
                    self.as_snapshot(member.snapshot),
                    self.as_volume(member.volume))
            except Exception as e:
                LOG.exception('Overlay for snapshot %s failed',
                              member.snapshot.ec2_id)
                member.error = e
                # Nothing to merge: a failed overlay was never used.
                member.state = DONE
                continue
            member.state = PREPARED

    def _switch(self, members, instance):
        todo = [m for m in members if m.state == PREPARED]
        if not todo or instance is None:
            return
        disks = [m.disk for m in todo]
        try:
            states = self._call_compute('snapshot_disks', instance, disks)
        except Exception as e:
            # Unknown whether the guest switched: merge whatever it did,
            # and fail these snapshots (a copy could be torn).
            LOG.error('Guest %s could not switch to overlays: %s',
                      instance.ec2_id, e)
            for member in todo:
                member.error = e
                member.state = COPIED
            return
        inactive = [m.volume.ec2_id for m in todo
                    if states.get(m.disk['path']) == 'inactive']
        if inactive:
            # No guest writes these files: the copy is point-in-time
            # anyway, and any overlay is merged here.
            LOG.info('Guest %s does not run on %s; copying as they are',
                     instance.ec2_id, ', '.join(inactive))
        for member in todo:
            self._progress(member, _SWITCHED_PROGRESS)

    def _copy(self, member):
        if member.state != PREPARED:
            return
        last = [0.0]

        def progress(percent):
            # One write per 5 % at most.
            if percent - last[0] >= 5:
                last[0] = percent
                self._progress(member, _SWITCHED_PROGRESS +
                               int(percent * _COPY_SHARE / 100))

        try:
            member.update = self.driver.create_snapshot(
                self.as_snapshot(member.snapshot),
                self.as_volume(member.volume), progress=progress)
        except Exception as e:
            LOG.exception('Copy of snapshot %s failed',
                          member.snapshot.ec2_id)
            member.error = e
        member.state = COPIED
        self._progress(member, _SWITCHED_PROGRESS + _COPY_SHARE)

    def _commit(self, members, instance):
        if not members:
            return
        disks = [m.disk for m in members]
        states = {}
        if instance is not None:
            try:
                states = self._call_compute('commit_disks', instance, disks)
            except Exception:
                LOG.exception('Guest %s could not merge its overlays; '
                              'the snapshots stay pending',
                              instance.ec2_id)
                return
        for member in members:
            try:
                if states.get(member.disk['path']) != 'committed':
                    self.driver.merge_overlay(
                        self.as_snapshot(member.snapshot),
                        self.as_volume(member.volume))
                self.driver.delete_overlay(
                    self.as_snapshot(member.snapshot),
                    self.as_volume(member.volume))
            except Exception:
                LOG.exception('Overlay of snapshot %s not merged; it stays '
                              'pending', member.snapshot.ec2_id)
                continue
            member.state = DONE

    # Helpers ---------------------------------------------------------------

    def _call_compute(self, method, instance, disks):
        ctxt = ebs_context.get_admin_context()
        guest = {'id': instance.id, 'ec2_id': instance.ec2_id}
        for attempt in range(COMPUTE_TRIES):
            try:
                return getattr(self.compute, method)(ctxt, instance.host,
                                                     guest, disks)
            except Exception:
                if attempt == COMPUTE_TRIES - 1:
                    raise
                LOG.warning('%s of %s failed; trying again', method,
                            instance.ec2_id, exc_info=True)
                time.sleep(COMPUTE_RETRY_DELAY)

    def _progress(self, member, percent):
        try:
            db.snapshot_update(ebs_context.get_admin_context(),
                               member.snapshot.id, {'progress': percent},
                               expected_status='pending')
        except db.ConflictError:
            pass
