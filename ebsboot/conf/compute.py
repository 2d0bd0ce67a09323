"""Options of the [compute] group."""

from oslo_config import cfg

compute_group = cfg.OptGroup('compute', title='Compute service options')

compute_opts = [
    cfg.StrOpt('driver', default='fake',
               help='Compute driver, a plugin of the '
                    '``ebsboot.compute.drivers`` namespace.'),
    cfg.StrOpt('topic', default='ebsboot-compute',
               help='RPC topic of the compute service.'),
]


def register_opts(conf):
    conf.register_group(compute_group)
    conf.register_opts(compute_opts, group=compute_group)


def list_opts():
    return {compute_group: compute_opts}
