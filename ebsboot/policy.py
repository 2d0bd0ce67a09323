"""oslo.policy enforcement of EC2 actions."""

from oslo_policy import policy

from ebsboot.conf import CONF
from ebsboot import exception
from ebsboot import policies

_ENFORCER = None


def get_enforcer():
    """The enforcer (also the ``oslo.policy.enforcer`` entry point)."""
    global _ENFORCER
    if _ENFORCER is None:
        _ENFORCER = policy.Enforcer(CONF)
        _ENFORCER.register_defaults(policies.list_rules())
    return _ENFORCER


def reset():
    global _ENFORCER
    _ENFORCER = None


def authorize(context, action, target=None):
    """Raise UnauthorizedOperation unless the context may do ``action``."""
    target = target or {'project_id': context.project_id}
    try:
        get_enforcer().authorize('ec2:%s' % action, target, context,
                                 do_raise=True)
    except policy.PolicyNotRegistered:
        raise exception.InvalidAction(action=action)
    except policy.PolicyNotAuthorized:
        raise exception.UnauthorizedOperation()
