"""Options of the [compute] group."""

from oslo_config import cfg

compute_group = cfg.OptGroup('compute', title='Compute service options')

DEFAULT_INSTANCE_TYPES = [
    't2.nano:1:512', 't2.micro:1:1024', 't2.small:1:2048',
    't2.medium:2:4096', 't2.large:2:8192',
    't3.micro:2:1024', 't3.small:2:2048', 't3.medium:2:4096',
    't3.large:2:8192', 'm5.large:2:8192', 'm5.xlarge:4:16384',
    'm1.tiny:1:512', 'm1.small:1:2048', 'm1.medium:2:4096',
    'm1.large:4:8192', 'm1.xlarge:8:16384',
]

compute_opts = [
    cfg.StrOpt('driver', default='libvirt',
               help='Compute driver, a plugin of the '
                    '``ebsboot.compute.drivers`` namespace: ``libvirt`` '
                    '(QEMU/KVM guests) or ``fake`` (tests only).'),
    cfg.StrOpt('topic', default='ebsboot-compute',
               help='RPC topic of the compute service.'),
    cfg.ListOpt('instance_types', default=DEFAULT_INSTANCE_TYPES,
                help='Instance types RunInstances offers, each '
                     '``name:vcpus:memory_mb``.'),
    cfg.StrOpt('default_instance_type', default='m1.small',
               help='InstanceType of RunInstances requests without one '
                    '(m1.small, as in EC2).'),
    cfg.IntOpt('max_count', default=100, min=1,
               help='Largest MaxCount one RunInstances request may ask '
                    'for.'),
    cfg.IntOpt('block_commit_timeout', default=600, min=1,
               help='Seconds a live snapshot of an attached volume may '
                    'take to merge its overlay back into the volume '
                    '(block commit) before the step fails; it is tried '
                    'again when the volume service restarts.'),
]

fake_group = cfg.OptGroup('fake_compute',
                          title='Options of the fake compute driver')

fake_opts = [
    cfg.FloatOpt('delay', default=0.0, min=0.0,
                 help='Seconds spawn, power_off and destroy of the fake '
                      'driver take (tests interrupt them).'),
]


def register_opts(conf):
    conf.register_group(compute_group)
    conf.register_opts(compute_opts, group=compute_group)
    conf.register_group(fake_group)
    conf.register_opts(fake_opts, group=fake_group)


def list_opts():
    return {compute_group: compute_opts, fake_group: fake_opts}


def instance_types(conf):
    """``{name: (vcpus, memory_mb)}`` from ``[compute] instance_types``."""
    types = {}
    for entry in conf.compute.instance_types:
        name, vcpus, memory_mb = entry.rsplit(':', 2)
        types[name] = (int(vcpus), int(memory_mb))
    return types
