"""ebsboot-volume: the volume service of one storage host."""

import sys

from ebsboot.cmd import common
from ebsboot.conf import CONF
from ebsboot import service
from ebsboot.volume import manager


def main():
    common.setup(sys.argv)
    common.serve([service.Service(CONF.volume.topic,
                                  manager.VolumeManager())])
