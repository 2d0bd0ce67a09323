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

from oslo_config import cfg

from ebsboot.conf import ksa

GROUP = 'cinder'
SERVICE_TYPE = 'block-storage'

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

_OPTIONS = ksa.ServiceOptions(
    GROUP, title='Cinder options',
    help='How the ``cinder`` volume driver ([volume] driver = cinder) '
         'reaches Cinder: keystoneauth1 session, authentication and '
         'adapter options, then the driver\'s own options.',
    defaults={
        'service_type': SERVICE_TYPE,
        'valid_interfaces': ['internal', 'public'],
        'timeout': 60,
        'connect_retries': 2,
        'status_code_retries': 2,
    },
    opts=cinder_opts)

register_opts = _OPTIONS.register_opts
set_defaults = _OPTIONS.set_defaults
list_opts = _OPTIONS.list_opts
