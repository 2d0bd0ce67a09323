"""ebsboot-all-in-one: API, volume and compute services in one process.

The database is created or upgraded at start. Unless ``transport_url`` is
set, the services talk through the in-process ``fake://`` transport.
"""

import sys

from oslo_config import cfg
import oslo_messaging as messaging

from ebsboot.cmd import common
from ebsboot.compute import manager as compute_manager
from ebsboot.conf import CONF
from ebsboot.db import migration
from ebsboot import service
from ebsboot.volume import manager as volume_manager


def main():
    common.setup(sys.argv)
    migration.db_sync()
    common.serve(
        [service.Service(CONF.volume.topic, volume_manager.VolumeManager()),
         service.Service(CONF.compute.topic,
                         compute_manager.ComputeManager())],
        with_api=True,
        transport_url=_transport_url())


def _transport_url():
    """``transport_url`` if the operator set it, else ``fake://``."""
    # Parsing registers oslo.messaging's transport options.
    messaging.TransportURL.parse(CONF)
    location = CONF.get_location('transport_url')
    if location and location.location == cfg.Locations.opt_default:
        return 'fake://'
    return CONF.transport_url
