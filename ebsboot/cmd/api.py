"""ebsboot-api: the EC2 Query API (talks to the services over RPC)."""

import sys

from ebsboot.cmd import common


def main():
    common.setup(sys.argv)
    common.serve([], with_api=True)
