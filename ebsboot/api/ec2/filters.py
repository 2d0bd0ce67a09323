"""EC2 ``Filter.N`` matching and ``MaxResults``/``NextToken`` paging."""

import base64
import binascii
import fnmatch
import json
import re

from ebsboot import exception


# AWS documents * and ?; [...] classes are kept from fnmatch, which the
# matching has always used.
WILDCARDS = ('*', '?', '[')


def _compile(patterns):
    """A test of one value against a filter's values (any may match).

    Filter values are case-sensitive shell-style patterns. Plain values
    are looked up in a set and the patterns share one regular expression,
    so a filter with a hundred instance ids costs one lookup per item.
    """
    exact = {p for p in patterns if not any(w in p for w in WILDCARDS)}
    wild = [p for p in patterns if p not in exact]
    if not wild:
        return exact.__contains__
    fullmatch = re.compile('|'.join(map(fnmatch.translate, wild))).fullmatch
    return lambda value: value in exact or fullmatch(value) is not None


def _matches(value, test):
    if isinstance(value, (list, tuple, set)):
        return any(_matches(v, test) for v in value)
    if value is None:
        return False
    if isinstance(value, bool):
        value = 'true' if value else 'false'
    return test(str(value))


def exact_values(filters, name):
    """The values of filter ``name`` if none has a wildcard, else None.

    For narrowing a database query before the filters run.
    """
    values = filters.get(name)
    if values is None or any(w in v for v in values for w in WILDCARDS):
        return None
    return list(values)


TAG_PREFIX = 'tag:'


def is_tag_filter(name):
    return name in ('tag-key', 'tag-value') or name.startswith(TAG_PREFIX)


def _tag_extractor(name, tags):
    """The extractor of a tag filter, or None for another name.

    Tag filters: ``tag:<key>``, ``tag-key`` and ``tag-value``.
    """
    if tags is None:
        return None
    if name == 'tag-key':
        return lambda item: [key for key, _value in tags(item)]
    if name == 'tag-value':
        return lambda item: [value for _key, value in tags(item)]
    if name.startswith(TAG_PREFIX):
        wanted = name[len(TAG_PREFIX):]
        return lambda item: [value for key, value in tags(item)
                             if key == wanted]
    return None


def apply(items, filters, extractors, tags=None):
    """Items matching every filter (values of one filter are OR-ed).

    ``extractors`` maps a filter name to a function of the item giving its
    value(s); an unknown name is an InvalidParameterValue, as in AWS.
    ``tags``, a function of the item giving its ``(key, value)`` tags,
    adds the filters ``tag:<key>``, ``tag-key`` and ``tag-value``; it is
    only called if one of them is given.
    """
    chosen = {}
    for name in filters:
        extract = extractors.get(name) or _tag_extractor(name, tags)
        if extract is None:
            raise exception.InvalidParameterValue(
                "The filter '%s' is invalid" % name)
        chosen[name] = extract
    for name, patterns in filters.items():
        extract, test = chosen[name], _compile(patterns)
        items = [item for item in items if _matches(extract(item), test)]
    return items


def _encode_token(offset):
    raw = json.dumps({'offset': offset}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode_token(token):
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))
        offset = offset['offset']
    except (ValueError, TypeError, KeyError, binascii.Error):
        raise exception.InvalidPaginationToken(token=token)
    if not isinstance(offset, int) or offset < 0:
        raise exception.InvalidPaginationToken(token=token)
    return offset


class Pager:
    """``MaxResults``/``NextToken`` of a Describe call, checked up front.

    Checking before any lookup makes a bad combination fail as such, not
    as a NotFound of one of the ids. As in AWS, a MaxResults above the
    action's maximum returns the maximum; below the minimum it is an error.
    """

    def __init__(self, params, ids_given=False, minimum=5, maximum=1000):
        self.max_results = params.get_int('MaxResults')
        self.next_token = params.get_str('NextToken')
        if self.max_results is None and self.next_token is None:
            self.limit = None
            return
        if ids_given and self.max_results is not None:
            raise exception.InvalidParameterCombination(
                'The parameter MaxResults cannot be used with the '
                'parameter of resource ids')
        if self.max_results is not None and self.max_results < minimum:
            raise exception.InvalidParameterValue(
                'Value ( %d ) for parameter maxResults is invalid. '
                'Expecting a value greater than %d.'
                % (self.max_results, minimum - 1))
        self.limit = min(self.max_results or maximum, maximum)
        self.offset = (_decode_token(self.next_token)
                       if self.next_token else 0)

    def page(self, items):
        """One page of ``items`` and the token of the next (or None)."""
        if self.limit is None:
            return items, None
        end = self.offset + self.limit
        token = _encode_token(end) if end < len(items) else None
        return items[self.offset:end], token
