"""The libvirt domain XML of an instance."""

from xml.etree import ElementTree as ET

DOMAIN_PREFIX = 'ebsboot-'
# The consoles of Nova's command line for a direct kernel boot
# (nova.virt.libvirt.driver.CONSOLE).
KERNEL_CONSOLES = 'console=tty0 console=ttyS0 console=hvc0'


def domain_name(instance):
    return DOMAIN_PREFIX + instance['id']


def _sub(parent, tag, text=None, **attrs):
    element = ET.SubElement(parent, tag, {k: str(v) for k, v in
                                          attrs.items() if v is not None})
    if text is not None:
        element.text = str(text)
    return element


def target_devs():
    """vda, vdb, ... vdz: virtio disk names in boot order."""
    return ['vd' + chr(ord('a') + i) for i in range(26)]


def default_cmdline():
    """Nova's kernel command line: the root volume and the consoles."""
    return 'root=/dev/%s %s' % (target_devs()[0], KERNEL_CONSOLES)


def volume_alias(volume_id):
    """The libvirt alias of a volume's disk (Nova's ``ua-<volume id>``).

    User aliases must start with ``ua-``; the disk of a volume is found
    by it whatever its source (file, block device, network disk).
    """
    return 'ua-' + volume_id


def _disk(devices, disk, target, serial=None, readonly=False, alias=None):
    element = _sub(devices, 'disk', type=disk.source_type, device='disk')
    _sub(element, 'driver', name='qemu', type=disk.driver_format,
         cache='none' if disk.source_type != 'network' else None)
    if disk.source_type == 'file':
        _sub(element, 'source', file=disk.source)
    elif disk.source_type == 'block':
        _sub(element, 'source', dev=disk.source)
    else:
        source = _sub(element, 'source', protocol=disk.protocol,
                      name=disk.source)
        for host, port in disk.hosts:
            _sub(source, 'host', name=host, port=port)
        if disk.auth:
            auth = _sub(element, 'auth', username=disk.auth['username'])
            _sub(auth, 'secret', type='ceph', uuid=disk.auth['secret_uuid'])
    _sub(element, 'target', dev=target, bus='virtio')
    if serial:
        _sub(element, 'serial', serial)
    if readonly:
        _sub(element, 'readonly')
    if alias:
        _sub(element, 'alias', name=alias)


def domain_xml(instance, disks, virt_type, machine_type, console_path,
               config_drive=None, kernel=None, ramdisk=None, cmdline=None,
               nic=None):
    """The domain of ``instance``.

    ``disks`` are ``(Disk, serial, alias)`` in boot order: the root
    volume first (BIOS boot of the volume itself), then the data volumes
    and ephemeral disks. A volume's serial is its id, its alias
    ``volume_alias(id)``; an ephemeral disk's serial is its virtual name
    and it has no alias. With ``kernel`` (the path of the KernelId's
    file) the kernel boots directly, with the ``ramdisk`` file as its
    initrd, the root volume as ``/dev/vda`` and ``cmdline`` (by default
    Nova's, see ``default_cmdline``). The serial console is appended to
    ``console_path`` across boots. ``nic``: ``(MAC address, bridge)`` of
    the guest's virtio network interface, if it has one.
    """
    domain = ET.Element('domain', type=virt_type)
    _sub(domain, 'name', domain_name(instance))
    _sub(domain, 'uuid', instance['id'])
    _sub(domain, 'memory', instance['memory_mb'], unit='MiB')
    _sub(domain, 'vcpu', instance['vcpus'])
    metadata = _sub(domain, 'metadata')
    _sub(metadata, 'ebsboot-instance', instance['ec2_id'],
         xmlns='https://opendev.org/ebsboot/instance/1.0')
    os_ = _sub(domain, 'os')
    _sub(os_, 'type', 'hvm', arch='x86_64', machine=machine_type)
    if kernel:
        _sub(os_, 'kernel', kernel)
        if ramdisk:
            _sub(os_, 'initrd', ramdisk)
        _sub(os_, 'cmdline', cmdline or default_cmdline())
    else:
        _sub(os_, 'boot', dev='hd')
    features = _sub(domain, 'features')
    _sub(features, 'acpi')
    _sub(features, 'apic')
    _sub(domain, 'on_poweroff', 'destroy')
    _sub(domain, 'on_reboot', 'restart')
    _sub(domain, 'on_crash', 'destroy')
    devices = _sub(domain, 'devices')
    names = iter(target_devs())
    for disk, serial, alias in disks:
        _disk(devices, disk, next(names), serial, alias=alias)
    if config_drive:
        _disk(devices, config_drive, next(names), 'config-2',
              readonly=True)
    if nic:
        interface = _sub(devices, 'interface', type='bridge')
        _sub(interface, 'mac', address=nic[0])
        _sub(interface, 'source', bridge=nic[1])
        _sub(interface, 'model', type='virtio')
    serial = _sub(devices, 'serial', type='file')
    _sub(serial, 'source', path=console_path, append='on')
    _sub(serial, 'target', port=0)
    console = _sub(devices, 'console', type='file')
    _sub(console, 'source', path=console_path, append='on')
    _sub(console, 'target', type='serial', port=0)
    _sub(devices, 'memballoon', model='none')
    return ET.tostring(domain, encoding='unicode')
