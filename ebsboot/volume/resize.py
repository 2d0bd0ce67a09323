"""Growing volumes (ModifyVolume), on the volume host.

A modification row goes ``modifying`` -> ``optimizing`` -> ``completed``
(or ``failed``). While ``modifying`` the volume file is grown: when a
running guest has it open, by the guest's hypervisor through its compute
host (compute ``extend_disks``: QEMU grows the file it holds and the guest
sees the new size at once), else by the volume driver itself. Then the
volume's row gets the new size and type and the modification moves on; the
qcow2 backend has nothing to optimize, so it completes at once.

Every step is idempotent (a file of the size already is left alone), so
the volume service runs unfinished modifications again when it starts.
"""

from oslo_log import log as logging
from oslo_utils import timeutils
from oslo_utils import units

from ebsboot.compute import rpcapi as compute_rpcapi
from ebsboot import context as ebs_context
from ebsboot.db import api as db
from ebsboot.db import models
from ebsboot import exception

LOG = logging.getLogger(__name__)

ACTIVE = models.ACTIVE_MODIFICATION_STATES
# ``progress`` once the file is grown.
_GROWN_PROGRESS = 50


class VolumeExtender:
    """Runs modifications; ``as_volume`` turns rows into driver dicts."""

    def __init__(self, volume_driver, as_volume, compute_api=None):
        self.driver = volume_driver
        self.as_volume = as_volume
        self._compute = compute_api

    @property
    def compute(self):
        if self._compute is None:
            self._compute = compute_rpcapi.ComputeAPI()
        return self._compute

    def run(self, modification):
        """Take ``modification`` (a row) as far as it goes."""
        ctxt = ebs_context.get_admin_context()
        volume = db.volume_get(ctxt, modification.volume_id)
        try:
            if volume is None:
                raise exception.VolumeDriverError(
                    'volume %s is gone' % modification.volume_ec2_id)
            if modification.status == 'modifying':
                self._grow(ctxt, modification, volume)
        except Exception as e:
            LOG.exception('Modification of volume %s failed',
                          modification.volume_ec2_id)
            self._finish(ctxt, modification, {
                'status': 'failed', 'status_message': str(e)[:255]})
            return
        self._finish(ctxt, modification, {'status': 'completed',
                                          'progress': 100})

    def _grow(self, ctxt, modification, volume):
        pending = db.snapshot_list(ctxt, volume_id=volume.id,
                                   status='pending')
        if pending:
            raise exception.VolumeDriverError(
                'snapshot %s of the volume is in progress; modify the '
                'volume when it is completed' % pending[0].ec2_id)
        if modification.target_size > volume.size:
            self._grow_file(ctxt, volume, modification.target_size)
        db.volume_update(ctxt, volume.id, {
            'size': max(volume.size, modification.target_size),
            'volume_type': modification.target_volume_type})
        db.volume_modification_update(
            ctxt, modification.id,
            {'status': 'optimizing', 'progress': _GROWN_PROGRESS},
            expected_status='modifying')
        LOG.info('Volume %s is now %d GiB %s', volume.ec2_id,
                 modification.target_size, modification.target_volume_type)

    def _grow_file(self, ctxt, volume, size):
        disk = self.driver.guest_disk(self.as_volume(volume))
        guest = self._running_guest(ctxt, volume)
        if guest is not None and disk is not None:
            if not self.compute.can_extend_disks():
                raise exception.VolumeDriverError(
                    'the compute service of %s cannot grow disks of '
                    'running guests yet' % guest.ec2_id)
            states = self.compute.extend_disks(
                ctxt, guest.host, {'id': guest.id, 'ec2_id': guest.ec2_id},
                [dict(disk, size=size * units.Gi)])
            if states.get(disk['path']) == 'extended':
                LOG.info('Guest %s grew volume %s online', guest.ec2_id,
                         volume.ec2_id)
                return
        # No guest has the file open (if one does, this fails).
        self.driver.extend_volume(self.as_volume(volume), size)

    @staticmethod
    def _running_guest(ctxt, volume):
        if volume.status != 'in-use':
            return None
        device = db.block_device_get_by_volume(volume.id)
        if device is None:
            return None
        guest = db.instance_get(ctxt, device.instance_id)
        if guest is not None and guest.host and guest.state in (
                'pending', 'running', 'stopping'):
            return guest
        return None

    @staticmethod
    def _finish(ctxt, modification, values):
        values = dict(values, end_time=timeutils.utcnow())
        try:
            db.volume_modification_update(ctxt, modification.id, values,
                                          expected_status=ACTIVE)
        except db.ConflictError:
            LOG.warning('Modification of volume %s changed meanwhile',
                        modification.volume_ec2_id)
