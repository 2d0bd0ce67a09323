"""Options of the [cinder] group: how the ``cinder`` volume driver works.

keystoneauth1's loading options, as Nova has them in its own ``[cinder]``
group: the session (TLS, ``timeout``), the authentication (``auth_type`` and
the plugin's options) and the adapter (``service_type``,
``valid_interfaces``, ``region_name``, ``endpoint_override``, retries).
With keystone, ``auth_type = password`` and the credentials of a service
user that has the ``service`` role (Cinder deletes an attachment only with a
service token); the same credentials sign the service token. A Cinder
without keystone (``auth_strategy = noauth_include_project_id``) takes
python-cinderclient's ``auth_type = noauth`` with ``user_id``,
``project_id`` (hex) and ``endpoint = http://HOST:8776/v3``.

Then the driver's own options: the Cinder volume type of each EC2
VolumeType, how long to wait for Cinder, and (for
``ebsboot-manage snapshot import`` only) how the volume host writes into
the RBD pool.
"""

import copy

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

GROUP = 'cinder'
SERVICE_TYPE = 'block-storage'


def _group():
    return cfg.OptGroup(
        GROUP, title='Cinder options',
        help='How the ``cinder`` volume driver ([volume] driver = cinder) '
             'reaches Cinder: keystoneauth1 session, authentication and '
             'adapter options, then the driver\'s own options.')


cinder_group = _group()

cinder_opts = [
    cfg.DictOpt('volume_type_map', default={},
                help='Cinder volume type of each EC2 VolumeType, as '
                     '``gp2:TYPE,io1:TYPE2``. A VolumeType not listed gets '
                     'Cinder\'s default volume type.'),
    cfg.IntOpt('status_timeout', default=600, min=1,
               help='Seconds to wait for a Cinder volume or snapshot to '
                    'leave a transitional status (creating, deleting, '
                    'extending...).'),
    cfg.FloatOpt('status_poll_interval', default=0.5, min=0.05,
                 help='Seconds between two reads of a status.'),
    cfg.StrOpt('rbd_ceph_conf', default='/etc/ceph/ceph.conf',
               help='ceph.conf of the cluster behind Cinder, for '
                    '``ebsboot-manage snapshot import`` on the volume host '
                    '(qemu-img writes the image into the new volume). '
                    'Unused otherwise.'),
    cfg.StrOpt('rbd_user', default=None,
               help='cephx user (without ``client.``) that may write the '
                    'pool of Cinder\'s volumes, for snapshot imports; its '
                    'keyring must be where ``rbd_ceph_conf`` finds it.'),
]

# ebsboot's defaults for keystoneauth1 options.
_DEFAULTS = {
    'service_type': SERVICE_TYPE,
    'valid_interfaces': ['internal', 'public'],
    'timeout': 60,
    'connect_retries': 2,
    'status_code_retries': 2,
}


def _with_defaults(opts):
    result = []
    for opt in opts:
        if opt.dest in _DEFAULTS:
            opt = copy.deepcopy(opt)
            opt.default = _DEFAULTS[opt.dest]
        result.append(opt)
    return result


def register_opts(conf):
    # A group of its own per ConfigOpts: the options of the auth plugin
    # are registered into it when the plugin is loaded.
    conf.register_group(_group())
    conf.register_opts(cinder_opts, group=GROUP)
    ks_loading.register_session_conf_options(conf, GROUP)
    ks_loading.register_auth_conf_options(conf, GROUP)
    ks_loading.register_adapter_conf_options(conf, GROUP,
                                             include_deprecated=False)


def set_defaults(conf):
    """Set ebsboot's defaults of keystoneauth1's options."""
    for name, value in _DEFAULTS.items():
        conf.set_default(name, value, group=GROUP)


def list_opts():
    return {cinder_group: cinder_opts + _with_defaults(
        ks_loading.get_session_conf_options() +
        ks_loading.get_auth_common_conf_options() +
        ks_loading.get_auth_plugin_conf_options('password') +
        ks_loading.get_adapter_conf_options(include_deprecated=False))}
