"""Options of the [volume] group and of the qcow2 volume driver."""

from oslo_config import cfg

volume_group = cfg.OptGroup('volume', title='Volume service options')

volume_opts = [
    cfg.StrOpt('driver', default='qcow2',
               help='Volume driver, a plugin of the '
                    '``ebsboot.volume.drivers`` namespace.'),
    cfg.StrOpt('topic', default='ebsboot-volume',
               help='RPC topic of the volume service.'),
    cfg.StrOpt('default_volume_type', default='gp2',
               choices=['standard', 'gp2', 'gp3', 'io1', 'io2', 'st1',
                        'sc1'],
               help='VolumeType of volumes created without one.'),
    cfg.IntOpt('max_volume_size', default=16384, min=1,
               help='Largest volume, in GiB.'),
]

qcow2_group = cfg.OptGroup('qcow2', title='qcow2 volume driver options')

qcow2_opts = [
    cfg.StrOpt('volumes_dir', default='$state_path/volumes',
               help='Folder of the volume files.'),
    cfg.StrOpt('snapshots_dir', default='$state_path/snapshots',
               help='Folder of the snapshot files.'),
    cfg.StrOpt('qemu_img', default='qemu-img',
               help='qemu-img binary.'),
]


def register_opts(conf):
    conf.register_group(volume_group)
    conf.register_opts(volume_opts, group=volume_group)
    conf.register_group(qcow2_group)
    conf.register_opts(qcow2_opts, group=qcow2_group)


def list_opts():
    return {volume_group: volume_opts, qcow2_group: qcow2_opts}
