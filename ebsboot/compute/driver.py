"""The contract of a compute driver (``ebsboot.compute.drivers`` plugins).

A driver runs guests; the compute manager owns the database and state
machine. ``instance`` is a dict with at least ``id`` (uuid), ``ec2_id``,
``vcpus``, ``memory_mb`` and ``user_data``; ``block_device_info`` is a list
of ``{'device_name', 'boot_index', 'volume_id', 'connection_info',
'device_info'}`` dicts in boot order, the connection info in Cinder's
shape (made by the volume service for this host's connector, see
``get_volume_connector``) and ``device_info`` what os-brick answered when
this host connected the volume before (None if it never did). The
controller stores the device info a driver returns with the block device,
so a restarted compute service can still disconnect what it connected.

For ``spawn`` of an instance with a kernel the instance also has
``kernel_path``, ``ramdisk_path`` (or None) and ``kernel_cmdline`` (None
for the driver's default): local files to boot directly instead of the
root volume's boot loader.

Every method is idempotent: powering off a guest that is gone succeeds, and
so does destroying one that never existed.
"""

import abc

POWER_RUNNING = 'running'
POWER_SHUTDOWN = 'shutdown'
POWER_NOSTATE = 'nostate'


class ComputeDriver(metaclass=abc.ABCMeta):

    def __init__(self, conf):
        self.conf = conf
        # Set by the compute manager: called as (instance_id, power state)
        # when a guest changes power state by itself.
        self.event_callback = None

    def init_host(self, host):
        """Prepare the hypervisor connection at service start."""

    @abc.abstractmethod
    def spawn(self, instance, block_device_info):
        """Define and start the guest on its volumes.

        Returns ``{device_name: device info}``: what os-brick answered
        for each volume it connected (JSON-serializable; None for a volume
        the hypervisor opens itself, such as an RBD network disk).
        """

    def get_volume_connector(self):
        """This host's connector properties, as the volume service takes them.

        As Nova's ``get_volume_connector``: what os-brick's
        ``get_connector_properties`` says about this host (``host``,
        ``ip``, ``platform``, ``os_type``, ``multipath``, ``initiator``,
        ``nqn``, ...). The volume service exports volumes for it.
        """
        return {'host': self.conf.host}

    @abc.abstractmethod
    def power_off(self, instance, timeout=None):
        """Stop the guest.

        A clean shutdown (ACPI) for ``timeout`` seconds, then a forced one;
        ``timeout=None`` uses the driver's configured timeout and
        ``timeout=0`` forces at once.
        """

    @abc.abstractmethod
    def destroy(self, instance, block_device_info, delete_files=False):
        """Remove the guest from the hypervisor and disconnect its volumes.

        Returns only once the hypervisor no longer uses the volumes. The
        console log and other per-instance files stay (a stopped instance
        keeps its console) unless ``delete_files`` (termination).
        """

    @abc.abstractmethod
    def get_power_state(self, instance):
        """One of ``POWER_RUNNING``, ``POWER_SHUTDOWN``, ``POWER_NOSTATE``."""

    @abc.abstractmethod
    def get_console_output(self, instance):
        """The guest's serial console so far, as bytes."""

    def reboot(self, instance, timeout=None):
        """Restart a running guest on the same disks.

        An ACPI reboot request first; if the guest has not restarted
        within ``timeout`` seconds (None: the driver's configured timeout,
        0: at once) a hard reset. The guest keeps running on its disks
        either way. A guest that does not run is left alone.
        """
        raise NotImplementedError()

    def pause(self, instance):
        """Freeze the guest with its disks flushed (crash-consistent).

        Taking a copy of the volumes while the guest is paused gives a
        crash-consistent snapshot without a reboot.
        """
        raise NotImplementedError()

    def unpause(self, instance):
        """Let a paused guest run again."""
        raise NotImplementedError()

    def attach_volume(self, instance, connection_info, device_name,
                      volume_id=None):
        """Hot-plug a volume into the running guest; its device info.

        The disk carries ``volume_id`` as its serial (and, with libvirt,
        an alias made from it). Idempotent: a volume attached already is
        left alone.
        """
        raise NotImplementedError()

    def detach_volume(self, instance, connection_info, device_name,
                      volume_id=None, device_info=None):
        """Hot-unplug a volume from the guest and disconnect it.

        The disk is found by its volume id, whatever the connection type;
        ``device_info`` is what ``attach_volume`` or ``spawn`` returned
        for it. Idempotent: a volume that is not attached is disconnected
        only.
        """
        raise NotImplementedError()

    def snapshot_disks(self, instance, disks):
        """Switch disks of a running guest to new overlays, all at once.

        ``disks``: ``[{'path': file the guest writes, 'overlay': an empty
        qcow2 file backed by it}]``. From the switch on, the guest writes
        the overlays and ``path`` is frozen at one instant for every disk
        (crash-consistent across them). Idempotent: a disk already on its
        overlay is left alone. Returns ``{path: 'switched'|'inactive'}``:
        'inactive' when the guest does not run or does not use the file.
        """
        raise NotImplementedError()

    def commit_disks(self, instance, disks):
        """Merge overlays made by ``snapshot_disks`` back into ``path``.

        The guest runs on ``path`` again afterwards; the overlay files are
        left for the caller to delete. Idempotent. Returns ``{path:
        'committed'|'inactive'}``: 'inactive' when the guest does not run
        on the overlay (the caller merges the file itself).
        """
        raise NotImplementedError()

    def extend_disks(self, instance, disks):
        """Grow disks of a running guest; the guest sees the new sizes.

        ``disks``: ``[{'path': the volume file, 'size': bytes}]``. The
        hypervisor grows the file it holds open, so nothing else writes
        it meanwhile. Idempotent. Returns ``{path: 'extended'|
        'inactive'}``: 'inactive' when the guest does not run on the file
        (the caller grows the file itself).
        """
        raise NotImplementedError()

    def list_instance_ids(self):
        """Internal ids of the guests this host knows."""
        return []
