"""Options of the [keystone] group: ebsboot's own Keystone service user.

With ``[api] auth_strategy = keystone`` the EC2 API verifies every request
signature with Keystone's ``POST /v3/ec2tokens``, which Keystone lets only
a service (a user with the ``service`` role) or an admin call. These are
keystoneauth1's loading options, as Nova has them in its ``[cinder]`` and
``[glance]`` groups: the session (TLS, ``timeout``), the authentication
(``auth_type = password`` and the service user's ``auth_url``,
``username``, ``password``, ``project_name``, ``user_domain_name``,
``project_domain_name``) and the adapter (``service_type``,
``valid_interfaces``, ``region_name``, ``endpoint_override``) that finds
Keystone's endpoint in the catalog.
"""

import copy

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

GROUP = 'keystone'
SERVICE_TYPE = 'identity'

keystone_group = cfg.OptGroup(
    GROUP, title='Keystone options',
    help='The service user with which the EC2 API asks Keystone to verify '
         'request signatures ([api] auth_strategy = keystone): '
         'keystoneauth1 session, authentication and adapter options. The '
         'user needs the "service" role.')

# A verification must fail fast when Keystone is away: the EC2 client gets
# Unavailable (503) and retries. ebsboot retries once itself.
_DEFAULTS = {
    'service_type': SERVICE_TYPE,
    'valid_interfaces': ['internal', 'public'],
    'timeout': 5,
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
    conf.register_group(keystone_group)
    ks_loading.register_session_conf_options(conf, GROUP)
    ks_loading.register_auth_conf_options(conf, GROUP)
    ks_loading.register_adapter_conf_options(conf, GROUP,
                                             include_deprecated=False)


def set_defaults(conf):
    """Set ebsboot's defaults of keystoneauth1's options."""
    for name, value in _DEFAULTS.items():
        conf.set_default(name, value, group=GROUP)


def list_opts():
    # The sample shows the password plugin's options, the usual choice.
    return {keystone_group: _with_defaults(
        ks_loading.get_session_conf_options() +
        ks_loading.get_auth_common_conf_options() +
        ks_loading.get_auth_plugin_conf_options('password') +
        ks_loading.get_adapter_conf_options(include_deprecated=False))}
