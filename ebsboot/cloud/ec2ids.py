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


def lookup(context, kind, getter, ec2_id):
    """The row of ``ec2_id`` via ``getter(context, ec2_id)``.

    A malformed id is ``<Kind>ID.Malformed``, an unknown one (or another
    project's) ``<Kind>.NotFound``.
    """
    check(kind, ec2_id)
    row = getter(context, ec2_id)
    if row is None:
        raise exception.NOT_FOUND[kind](id=ec2_id)
    return row


def lookup_all(context, kind, getter, ec2_ids):
    """All rows, or exactly the named ones (NotFound if one is missing).

    As in EC2, one bad id fails the whole request.
    """
    if not ec2_ids:
        return getter(context)
    for ec2_id in ec2_ids:
        check(kind, ec2_id)
    rows = getter(context, ec2_ids=list(set(ec2_ids)))
    found = {row.ec2_id for row in rows}
    missing = [ec2_id for ec2_id in ec2_ids if ec2_id not in found]
    if missing:
        raise exception.NOT_FOUND[kind](id=missing[0])
    return rows
