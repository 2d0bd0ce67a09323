"""AWS-style resource ids (``vol-0123456789abcdef0``)."""

import re
import secrets

from ebsboot import exception

_ID_RE = re.compile(r'^([a-z]+)-([0-9a-f]{8}|[0-9a-f]{17})$')


def new_id(kind):
    """A fresh id with 17 hex digits, as AWS issues them since 2016."""
    return '%s-%017x' % (kind, secrets.randbits(68))


def is_valid(kind, value):
    match = _ID_RE.match(value or '')
    return bool(match) and match.group(1) == kind


def check(kind, value):
    """Raise ``<Kind>ID.Malformed`` unless ``value`` is a ``kind`` id."""
    if not is_valid(kind, value):
        raise exception.MALFORMED[kind](id=value)
    return value
