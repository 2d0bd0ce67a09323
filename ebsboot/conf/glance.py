"""Options of the [glance] group: how the ``glance`` image backend connects.

These are keystoneauth1's loading options, as Nova has them in its own
``[glance]`` group: the session (TLS, ``timeout``), the authentication
(``auth_type`` and the plugin's options) and the adapter (``service_type``,
``valid_interfaces``, ``region_name``, ``endpoint_override`` and the
retries). With keystone, ``auth_type = password`` and the service user's
credentials find Glance in the catalog; a Glance without keystone takes
``auth_type = none`` and ``endpoint_override = http://HOST:9292``.
"""

from ebsboot.conf import ksa

GROUP = 'glance'
SERVICE_TYPE = 'image'

# ebsboot's defaults for keystoneauth1 options: a request to an unreachable
# Glance fails within seconds (and the EC2 call with ``Unavailable``)
# instead of hanging.
_OPTIONS = ksa.ServiceOptions(
    GROUP, title='Glance options',
    help='How the ``glance`` image backend ([image] backend = glance) '
         'reaches Glance: keystoneauth1 session, authentication and adapter '
         'options.',
    defaults={
        'service_type': SERVICE_TYPE,
        'valid_interfaces': ['internal', 'public'],
        'timeout': 60,
        'connect_retries': 2,
        'status_code_retries': 2,
    })

register_opts = _OPTIONS.register_opts
set_defaults = _OPTIONS.set_defaults
list_opts = _OPTIONS.list_opts
