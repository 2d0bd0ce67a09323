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

from ebsboot.conf import ksa

GROUP = 'keystone'
SERVICE_TYPE = 'identity'

# A verification must fail fast when Keystone is away: the EC2 client gets
# Unavailable (503) and retries. ebsboot retries once itself.
_OPTIONS = ksa.ServiceOptions(
    GROUP, title='Keystone options',
    help='The service user with which the EC2 API asks Keystone to verify '
         'request signatures ([api] auth_strategy = keystone): '
         'keystoneauth1 session, authentication and adapter options. The '
         'user needs the "service" role.',
    defaults={
        'service_type': SERVICE_TYPE,
        'valid_interfaces': ['internal', 'public'],
        'timeout': 5,
    })

register_opts = _OPTIONS.register_opts
set_defaults = _OPTIONS.set_defaults
list_opts = _OPTIONS.list_opts
