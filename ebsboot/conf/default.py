"""Options of the [DEFAULT] group."""

import socket

from oslo_config import cfg

default_opts = [
    cfg.StrOpt('state_path',
               default='/var/lib/ebsboot',
               help='Folder for the SQLite database, volumes, snapshots '
                    'and consoles.'),
    cfg.StrOpt('host',
               default=socket.gethostname(),
               sample_default='<current_hostname>',
               help='Name of this host for RPC servers and resources.'),
    cfg.IntOpt('report_interval', default=10, min=1,
               help='Seconds between the heartbeats of a service.'),
    cfg.IntOpt('service_down_time', default=60, min=1,
               help='A service whose last heartbeat is older than this '
                    'many seconds is considered down.'),
    cfg.IntOpt('terminated_instance_ttl', default=3600, min=0,
               help='Seconds a terminated instance stays visible in '
                    'DescribeInstances.'),
    cfg.StrOpt('cloud_topic', default='ebsboot-cloud',
               help='RPC topic of the controller (it runs with the API).'),
    cfg.IntOpt('sync_power_state_interval', default=10, min=0,
               help='Seconds between checks of the power state of running '
                    'guests; a guest that powered itself off is stopped or '
                    'terminated as its InstanceInitiatedShutdownBehavior '
                    'says. 0 disables the check.'),
    cfg.StrOpt('qemu_group',
               help='Group of the QEMU processes libvirt runs. The folders '
                    'QEMU must traverse to the files of a guest (state_path, '
                    'the volume and snapshot folders, instance folders, '
                    'kernels) are 0750 with this group; everything else '
                    'ebsboot keeps is its own user\'s only. Unset: the '
                    'first of ``libvirt-qemu`` (Debian, Ubuntu) and '
                    '``qemu`` (Fedora, RHEL) that exists; without either '
                    'the folders are 0700.'),
    cfg.StrOpt('sqlite_synchronous', default='full',
               choices=[('full', 'Every commit waits until it is on disk '
                                 '(an fsync of the write-ahead log).'),
                        ('normal', 'Commits are written but not synced; '
                                   'the log is synced at checkpoints.')],
               help='Durability of commits to a SQLite database (SQLite\'s '
                    '``PRAGMA synchronous``, in WAL mode). With ``normal`` '
                    'a commit costs no fsync, which the writers of a busy '
                    'API otherwise queue behind (SQLite takes one writer '
                    'at a time), and a crash or kill of ebsboot still loses '
                    'nothing; but a power loss or a crash of the host may '
                    'undo the last commits before the next checkpoint, '
                    'while the volume files they describe are already made '
                    'or deleted. Keep ``full`` unless the host\'s storage '
                    'survives power loss (battery-backed cache). Other '
                    'databases ignore it.'),
    cfg.StrOpt('default_availability_zone',
               default='nova',
               help='Availability zone of this cloud.'),
]


def register_opts(conf):
    conf.register_opts(default_opts)


def list_opts():
    return {'DEFAULT': default_opts}
