"""ebsboot configuration: every option group registered on the global CONF.

Business modules import ``CONF`` from here; no module registers options at
import time anywhere else.
"""

from oslo_config import cfg
from oslo_db import options as db_options
from oslo_log import log as logging
import oslo_messaging as messaging

from ebsboot.conf import api
from ebsboot.conf import cinder
from ebsboot.conf import compute
from ebsboot.conf import credentials
from ebsboot.conf import default
from ebsboot.conf import glance
from ebsboot.conf import image
from ebsboot.conf import keystone
from ebsboot.conf import libvirt
from ebsboot.conf import upgrade_levels
from ebsboot.conf import volume

CONF = cfg.CONF

_DEFAULT_DB = 'sqlite:///$state_path/ebsboot.sqlite'

_MODULES = (default, api, compute, credentials, volume, cinder, image,
            glance, keystone, libvirt, upgrade_levels)

for _module in _MODULES:
    _module.register_opts(CONF)

logging.register_options(CONF)
db_options.set_defaults(CONF)


def set_lib_defaults():
    """Defaults that ebsboot wants from the libraries it uses.

    Called by ``parse_args`` and by oslo-config-generator (through the
    ``oslo.config.opts.defaults`` entry point) so the sample shows them.
    """
    # On the options themselves, so the sample config shows it too.
    cfg.set_defaults(db_options.database_opts, connection=_DEFAULT_DB)
    db_options.set_defaults(CONF, connection=_DEFAULT_DB)
    messaging.set_transport_defaults(control_exchange='ebsboot')
    glance.set_defaults(CONF)
    cinder.set_defaults(CONF)
    keystone.set_defaults(CONF)


def parse_args(argv, default_config_files=None):
    """Parse the command line and the config files into CONF."""
    set_lib_defaults()
    CONF(argv[1:], project='ebsboot',
         default_config_files=default_config_files)
