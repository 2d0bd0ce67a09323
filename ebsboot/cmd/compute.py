"""ebsboot-compute: the compute service of one hypervisor host."""

import sys

from ebsboot.cmd import common
from ebsboot.compute import manager
from ebsboot.conf import CONF
from ebsboot import service


def main():
    common.setup(sys.argv)
    common.serve([service.Service(CONF.compute.topic,
                                  manager.ComputeManager())])
