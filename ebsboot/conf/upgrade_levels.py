"""Options of the [upgrade_levels] group: RPC version caps.

During a rolling upgrade the controller (API) may be newer than some
compute or volume services. Capping the version it sends to the version
of the oldest service keeps it to calls that service knows; the clients
fall back to the older calls (one per volume or guest, say). Unset, the
newest version this release knows is sent.
"""

from oslo_config import cfg

upgrade_group = cfg.OptGroup(
    'upgrade_levels', title='RPC API version caps for rolling upgrades')

_VERSION = r'^\d+\.\d+$'

upgrade_opts = [
    cfg.StrOpt('compute', regex=_VERSION,
               help='Highest compute RPC API version to send, such as '
                    '``1.0`` while compute services older than the '
                    'controller run. Unset: the newest.'),
    cfg.StrOpt('volume', regex=_VERSION,
               help='Highest volume RPC API version to send, such as '
                    '``1.0`` while volume services older than the '
                    'controller run. Unset: the newest.'),
    cfg.StrOpt('cloud', regex=_VERSION,
               help='Highest controller RPC API version that compute '
                    'services send. Unset: the newest.'),
]


def register_opts(conf):
    conf.register_group(upgrade_group)
    conf.register_opts(upgrade_opts, group=upgrade_group)


def list_opts():
    return {upgrade_group: upgrade_opts}
