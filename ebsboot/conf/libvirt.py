"""Options of the [libvirt] group (the libvirt compute driver)."""

from oslo_config import cfg

libvirt_group = cfg.OptGroup('libvirt', title='libvirt compute driver')

libvirt_opts = [
    cfg.StrOpt('virt_type', default='qemu', choices=['qemu', 'kvm'],
               help='Domain type: ``qemu`` (TCG emulation, works '
                    'everywhere) or ``kvm`` (hardware virtualization on '
                    'real hosts).'),
    cfg.StrOpt('connection_uri', default='qemu:///system',
               help='libvirt connection URI.'),
    cfg.IntOpt('shutdown_timeout', default=60, min=0,
               help='Seconds StopInstances waits for the guest to shut '
                    'down after an ACPI power-button press before it '
                    'destroys the guest.'),
    cfg.IntOpt('reboot_timeout', default=120, min=0,
               help='Seconds RebootInstances waits for the guest to '
                    'restart after an ACPI reboot request before it '
                    'resets the guest (a hard reset, as EC2 does); 0 '
                    'resets at once.'),
    cfg.StrOpt('instances_path', default='$state_path/instances',
               help='Folder of per-instance files: config drives, '
                    'ephemeral disks.'),
    cfg.StrOpt('console_path', default='$state_path/consoles',
               help='Folder of the guests\' serial console logs; they '
                    'outlive stops and are removed at termination.'),
    cfg.IntOpt('console_max_bytes', default=65536, min=1024,
               help='GetConsoleOutput returns at most this many of the '
                    'latest console bytes (EC2 gives 64 KiB).'),
    cfg.IntOpt('ephemeral_size_gb', default=1, min=1,
               help='Size of each ephemeralN instance-store disk.'),
    cfg.StrOpt('machine_type', default='pc',
               help='QEMU machine type of the guests.'),
    cfg.StrOpt('config_drive_tool', default='genisoimage',
               help='Tool that builds the ISO9660 config drive.'),
    cfg.HostAddressOpt('block_storage_ip', default='127.0.0.1',
                       help='The address of this host on the storage '
                            'network: the ``ip`` of the connector the '
                            'volume service exports volumes for (Nova\'s '
                            '``my_block_storage_ip``).'),
    cfg.BoolOpt('volume_use_multipath', default=False,
                help='Ask for multipath connections to volumes (the '
                     'connector\'s ``multipath``), as Nova\'s option of '
                     'that name.'),
    cfg.StrOpt('rbd_keyring_file', default=None,
               help='Key of the cephx user of Cinder\'s RBD volumes '
                    '(``auth_username`` of its connection info): a Ceph '
                    'keyring holding ``[client.USER] key = ...`` or a file '
                    'holding only the base64 key (``ceph auth get-key '
                    'client.USER``). The host defines the libvirt secret '
                    'that Cinder names (``rbd_secret_uuid``) with it before '
                    'a guest opens an RBD disk. Keep it readable by the '
                    'compute service only; it is never logged.'),
]


def register_opts(conf):
    conf.register_group(libvirt_group)
    conf.register_opts(libvirt_opts, group=libvirt_group)


def list_opts():
    return {libvirt_group: libvirt_opts}
