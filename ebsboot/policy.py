"""oslo.policy enforcement of EC2 actions.

Decisions are kept by (rule, credentials, target) for as long as the
rules they were made with: every check still asks the enforcer to
reload its files if they changed (as oslo.policy does on each check), and
a reload, like any other change of the rules, makes new decisions. A
check itself costs far more than the look-up: oslo.policy inspects each
check's signature on every call.
"""

import collections
import threading

from oslo_policy import policy

from ebsboot.conf import CONF
from ebsboot import exception
from ebsboot import policies

DECISION_CACHE_SIZE = 4096

_ENFORCER = None

# What a cached decision raises (None: allowed).
_NOT_REGISTERED = 'not registered'
_NOT_AUTHORIZED = 'not authorized'


class _Enforcer(policy.Enforcer):
    """An Enforcer that counts the changes of its rules.

    A reload from changed files replaces ``rules`` (ebsboot loads them
    with ``overwrite``); the other ways rules change in place bump
    ``generation``.
    """

    generation = 0

    def set_rules(self, *args, **kwargs):
        self.generation += 1
        super().set_rules(*args, **kwargs)

    def clear(self):
        self.generation += 1
        super().clear()

    def register_default(self, default):
        self.generation += 1
        super().register_default(default)


class _Decisions:
    """The latest decisions by (rule, credentials, target)."""

    def __init__(self, size):
        self.size = size
        self._kept = collections.OrderedDict()
        self._lock = threading.Lock()

    def __len__(self):
        return len(self._kept)

    def get(self, key, stamp):
        with self._lock:
            kept = self._kept.get(key)
        # ``is``: the entry holds the rules it was made with alive, so no
        # new rules can take their address.
        if kept is not None and kept[0] is stamp[0] and kept[1] == stamp[1]:
            return kept
        return None

    def put(self, key, stamp, outcome):
        with self._lock:
            self._kept[key] = (stamp[0], stamp[1], outcome)
            self._kept.move_to_end(key)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)


_DECISIONS = _Decisions(DECISION_CACHE_SIZE)


def get_enforcer():
    """The enforcer (also the ``oslo.policy.enforcer`` entry point)."""
    global _ENFORCER
    if _ENFORCER is None:
        _ENFORCER = _Enforcer(CONF)
        _ENFORCER.register_defaults(policies.list_rules())
    return _ENFORCER


def reset():
    global _ENFORCER, _DECISIONS
    _ENFORCER = None
    _DECISIONS = _Decisions(DECISION_CACHE_SIZE)


def _key(rule, creds, target):
    """A hashable key of a check, or None if a value is not hashable."""
    try:
        key = (rule, tuple(sorted(
            (name, tuple(value) if isinstance(value, list) else value)
            for name, value in creds.items())),
            tuple(sorted(target.items())))
        hash(key)
    except TypeError:
        return None
    return key


def authorize(context, action, target=None):
    """Raise UnauthorizedOperation unless the context may do ``action``."""
    target = target or {'project_id': context.project_id}
    rule = 'ec2:%s' % action
    enforcer = get_enforcer()
    # What oslo.policy would do first on each check: pick up changed files.
    enforcer.load_rules()
    creds = context.to_policy_values()
    key = _key(rule, creds, target)
    stamp = (enforcer.rules, enforcer.generation)
    decisions = _DECISIONS
    kept = decisions.get(key, stamp) if key is not None else None
    if kept is not None:
        outcome = kept[2]
    else:
        outcome = _check(enforcer, rule, target, context)
        if key is not None:
            decisions.put(key, stamp, outcome)
    if outcome == _NOT_REGISTERED:
        raise exception.InvalidAction(action=action)
    if outcome == _NOT_AUTHORIZED:
        raise exception.UnauthorizedOperation()


def _check(enforcer, rule, target, context):
    try:
        enforcer.authorize(rule, target, context, do_raise=True)
    except policy.PolicyNotRegistered:
        return _NOT_REGISTERED
    except policy.PolicyNotAuthorized:
        return _NOT_AUTHORIZED
    return None
