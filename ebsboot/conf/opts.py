"""Entry point for oslo-config-generator (``oslo.config.opts``)."""

import collections

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

_MODULES = (default, api, compute, credentials, volume, cinder, image,
            glance, keystone, libvirt, upgrade_levels)


def list_opts():
    merged = collections.defaultdict(list)
    for module in _MODULES:
        for group, opts in module.list_opts().items():
            merged[group].extend(opts)
    return list(merged.items())
