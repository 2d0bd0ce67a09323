"""Options of the [glance] group: how the ``glance`` image backend connects.

These are keystoneauth1's loading options, as Nova has them in its own
``[glance]`` group: the session (TLS, ``timeout``), the authentication
(``auth_type`` and the plugin's options) and the adapter (``service_type``,
``valid_interfaces``, ``region_name``, ``endpoint_override`` and the
retries). With keystone, ``auth_type = password`` and the service user's
credentials find Glance in the catalog; a Glance without keystone takes
``auth_type = none`` and ``endpoint_override = http://HOST:9292``.
"""

import copy

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

GROUP = 'glance'
SERVICE_TYPE = 'image'

glance_group = cfg.OptGroup(
    GROUP, title='Glance options',
    help='How the ``glance`` image backend ([image] backend = glance) '
         'reaches Glance: keystoneauth1 session, authentication and adapter '
         'options.')

# ebsboot's defaults for keystoneauth1 options: a request to an unreachable
# Glance fails within seconds (and the EC2 call with ``Unavailable``)
# instead of hanging.
_DEFAULTS = {
    'service_type': SERVICE_TYPE,
    'valid_interfaces': ['internal', 'public'],
    'timeout': 60,
    'connect_retries': 2,
    'status_code_retries': 2,
}


def _with_defaults(opts):
    """Copies of keystoneauth1's options with ebsboot's defaults."""
    result = []
    for opt in opts:
        if opt.dest in _DEFAULTS:
            opt = copy.deepcopy(opt)
            opt.default = _DEFAULTS[opt.dest]
        result.append(opt)
    return result


def register_opts(conf):
    conf.register_group(glance_group)
    ks_loading.register_session_conf_options(conf, GROUP)
    ks_loading.register_auth_conf_options(conf, GROUP)
    ks_loading.register_adapter_conf_options(conf, GROUP,
                                             include_deprecated=False)


def set_defaults(conf):
    """Set ebsboot's defaults of keystoneauth1's options.

    Called by ``ebsboot.conf.set_lib_defaults`` (``ConfigOpts.reset``
    forgets them).
    """
    for name, value in _DEFAULTS.items():
        conf.set_default(name, value, group=GROUP)


def list_opts():
    # The auth plugin's options are registered when the plugin is loaded;
    # the sample shows those of the password plugin, the usual choice.
    return {glance_group: _with_defaults(
        ks_loading.get_session_conf_options() +
        ks_loading.get_auth_common_conf_options() +
        ks_loading.get_auth_plugin_conf_options('password') +
        ks_loading.get_adapter_conf_options(include_deprecated=False))}
