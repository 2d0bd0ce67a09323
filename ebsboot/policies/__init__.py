"""Default policy rules, one per EC2 action (named as IAM names them)."""

import itertools

from ebsboot.policies import base
from ebsboot.policies import ec2


def list_rules():
    return itertools.chain(base.list_rules(), ec2.list_rules())
