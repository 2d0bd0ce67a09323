"""The contract of a volume driver (``ebsboot.volume.drivers`` plugins).

A driver stores volume and snapshot data; the volume manager owns the state
machine and the database. Drivers see plain dicts, never database rows:

``volume``: ``{'id': uuid, 'size': GiB, 'provider_location': str|None,
'snapshot_id': uuid|None, 'volume_type': the EC2 VolumeType}``
``snapshot``: ``{'id': uuid, 'volume_id': uuid|None, 'volume_size': GiB,
'provider_location': str|None}`` (``volume_id`` is None for a snapshot
imported from a disk image file)

Every method must be idempotent: after a crash the manager calls the same
step again, and deleting what is already gone succeeds. Methods that create
something may return a dict of fields to store on the resource (for example
``{'provider_location': ...}``) or None.
"""

import abc

# Steps of a live snapshot, as ``live_snapshot_state`` reads them from the
# backend (see ebsboot.volume.live).
LIVE_NEW = 'new'            # nothing made yet
LIVE_PREPARED = 'prepared'  # overlay made (maybe in use), not copied
LIVE_COPIED = 'copied'      # copied; overlay to merge back and remove
LIVE_DONE = 'done'          # copied, no overlay left


class VolumeDriver(metaclass=abc.ABCMeta):

    # Whether the live_snapshot_* methods work: the volume service then
    # snapshots volumes of running guests through their compute host.
    supports_live_snapshot = False

    def __init__(self, conf):
        self.conf = conf

    def do_setup(self):
        """Prepare the backend (folders, connections) at service start."""

    def check_for_setup_error(self):
        """Raise if the backend cannot work (missing binaries, no access)."""

    @abc.abstractmethod
    def create_volume(self, volume):
        """Create an empty volume of ``volume['size']`` GiB."""

    @abc.abstractmethod
    def create_volume_from_snapshot(self, volume, snapshot):
        """Create a volume holding the snapshot's data.

        ``volume['size']`` is at least ``snapshot['volume_size']``; the
        space beyond it reads as zeros.
        """

    def create_volumes_from_snapshot(self, volumes, snapshot):
        """``create_volume_from_snapshot`` of many volumes of one snapshot.

        Returns ``{volume id: what create_volume_from_snapshot returned,
        or the exception that failed it}``. One by one here; a driver that
        can share work between the volumes (a flush, a round trip)
        overrides it.
        """
        results = {}
        for volume in volumes:
            try:
                results[volume['id']] = self.create_volume_from_snapshot(
                    volume, snapshot)
            except Exception as e:
                results[volume['id']] = e
        return results

    @abc.abstractmethod
    def delete_volume(self, volume):
        """Delete the volume; a missing volume is not an error."""

    @abc.abstractmethod
    def create_snapshot(self, snapshot, volume, progress=None):
        """Take an immutable point-in-time copy of ``volume``.

        Nothing writes the volume meanwhile: it is detached, its guest is
        stopped or paused, or (live snapshots) its guest writes an overlay.
        ``progress``, if given, is called with the percentage copied.
        """

    # Growing volumes (ModifyVolume) ---------------------------------------

    def extend_volume(self, volume, new_size):
        """Grow the volume to ``new_size`` GiB; nothing else writes it.

        Idempotent: a volume of that size already is left alone. Must fail
        rather than write a file a guest holds open.
        """
        raise NotImplementedError()

    def guest_disk(self, volume):
        """``{'path': the file a guest opens}``: grown through compute.

        Compute's ``extend_disks`` grows that file while a guest runs on
        it; None if the backend cannot be grown that way.
        """
        return None

    # Live snapshots: only if supports_live_snapshot ----------------------

    def live_snapshot_state(self, snapshot, volume):
        """``(LIVE_* step, disk)`` of a live snapshot, read from the store.

        ``disk`` is ``{'path': the volume file a guest opens, 'overlay':
        the file the guest writes while the snapshot is copied}``, as
        compute's ``snapshot_disks`` takes it.
        """
        raise NotImplementedError()

    def live_snapshot_overlay(self, snapshot, volume):
        """Make the empty overlay backed by the volume file; the disk."""
        raise NotImplementedError()

    def merge_overlay(self, snapshot, volume):
        """Merge the overlay into the volume file here (no guest uses it).

        Must fail rather than write a file a guest has open.
        """
        raise NotImplementedError()

    def delete_overlay(self, snapshot, volume):
        """Remove the overlay (merged already); missing is not an error."""
        raise NotImplementedError()

    def import_snapshot(self, snapshot, source, source_format):
        """Make a snapshot holding the data of a disk image file.

        Used by ``ebsboot-manage snapshot import`` on the volume host.
        ``source`` is an ``ebsboot.importfile.SourceFile``: the file (or
        block device) the operator named, opened once, that
        ``ebsboot.volume.diskimage.inspect`` found to be a self-contained
        (no backing file, no external data file) image of
        ``source_format``, ``'raw'`` or ``'qcow2'``. Read it only through
        that open file (``source.file``, or ``source.proc_path`` in a
        subprocess that inherits ``source.fd``), never through
        ``source.path`` (for messages only), which may name another file
        by now; and check again what is read, since whoever may write to
        the file may change it (see the qcow2 driver). Never let
        ``qemu-img`` guess the format (``-f``). The snapshot has no
        volume (``snapshot['volume_id']`` is None);
        ``snapshot['volume_size']`` is the image's virtual size rounded
        up to GiB, and volumes made from the snapshot read the image's
        data followed by zeros.

        The source file is only read, and stays open (the caller closes
        it). Like ``create_snapshot``, a failed import leaves nothing
        behind, a repeated one returns what the first made, and the
        result may be a dict of fields to store (for example
        ``{'provider_location': ...}``).
        """
        raise NotImplementedError()

    def copy_snapshot(self, snapshot, source):
        """Make ``snapshot`` hold the data of the snapshot ``source``.

        CopySnapshot. The copy must not depend on the source: deleting the
        source keeps it readable. Like ``create_snapshot``, a failed copy
        leaves nothing behind, a repeated one returns what the first made,
        and the result may be a dict of fields to store.
        """
        raise NotImplementedError()

    @abc.abstractmethod
    def delete_snapshot(self, snapshot):
        """Delete the snapshot; volumes made from it must keep working."""

    @abc.abstractmethod
    def initialize_connection(self, volume, connector, instance_id=None):
        """Export the volume to one compute host; its connection info.

        ``connector`` describes the compute host that will boot or attach
        the volume, as os-brick's ``get_connector_properties`` returns it
        there (the compute RPC ``get_connector``), for example::

            {'host': 'compute-1', 'ip': '192.0.2.11',
             'platform': 'x86_64', 'os_type': 'linux',
             'initiator': 'iqn.2004-10.com.ubuntu:01:5f3c9a1b2d4e',
             'multipath': False, 'enforce_multipath': False,
             'do_local_attach': False,
             'nqn': 'nqn.2014-08.org.nvmexpress:uuid:7a9bc1cb-...',
             'nvme_hostid': '2e8f35c2-...', 'host_ips': ['192.0.2.11']}

        ``instance_id`` is the uuid of the instance the volume is exported
        for (None when an older controller asks). Returns Cinder-shaped
        connection info, ``{'driver_volume_type': 'local'|'iscsi'|'rbd'|
        'nfs', 'data': {...}}`` as os-brick's connectors expect it. It is
        stored with the instance's block device and handed back to
        ``terminate_connection`` with the same connector. Idempotent: the
        same volume, connector and instance get the same export.
        """

    def terminate_connection(self, volume, connector, instance_id=None):
        """Revoke what ``initialize_connection`` granted to ``connector``.

        Called with the connector and instance the export was made for,
        once the compute host no longer uses the volume (stop, detach,
        termination, a failed attach). Revoking an export that is gone
        succeeds.
        """

    def get_volume_stats(self):
        """Capacity and backend facts for operators."""
        return {}
