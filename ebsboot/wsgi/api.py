"""WSGI entry point for uwsgi/gunicorn: ``ebsboot.wsgi.api:application``.

The configuration file comes from ``OS_EBSBOOT_CONFIG_FILE`` (default
``/etc/ebsboot/ebsboot.conf``). Importing this module also starts the
cloud controller in the process, as ``ebsboot-api`` does; serve it from one
process (any number of threads).
"""

import os

from ebsboot.cmd import common


def _application():
    config_file = os.environ.get('OS_EBSBOOT_CONFIG_FILE',
                                 '/etc/ebsboot/ebsboot.conf')
    return common.init_api(['ebsboot-api', '--config-file', config_file])


application = _application()
