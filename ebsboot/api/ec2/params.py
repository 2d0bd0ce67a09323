"""EC2 Query parameters: from flat dotted names to nested structures.

The EC2 Query protocol flattens a request's structures into dotted names:
lists are numbered from 1 (``VolumeId.1``, ``VolumeId.2``) and structure
members are named (``BlockDeviceMapping.1.Ebs.SnapshotId``).
``unflatten`` rebuilds the nesting: a level whose names are all numbers
becomes a list ordered by number, any other level a dict.

``Params`` wraps the result with the typed getters the action handlers use;
each getter raises the ``EC2Error`` AWS would answer with.

The caller must keep blank values when it decodes the request
(``NoDevice=`` is meaningful), e.g. ``parse_qsl(..., keep_blank_values=True)``.
"""

import re

from ebsboot import exception

_INDEX_RE = re.compile(r'[1-9][0-9]*\Z')
_INT_RE = re.compile(r'-?[0-9]+\Z')

#: The deepest parameter name accepted, in dotted parts. EC2's deepest
#: inputs (launch template data) have six; the bound keeps a crafted name
#: from costing more than a parse.
MAX_DEPTH = 12
#: The most entries one list parameter may have (AWS takes at most 1000
#: ids in one call).
MAX_LIST_LENGTH = 1000
#: AWS's limits on Filter.N: filters per call, values per filter.
MAX_FILTERS = 50
MAX_FILTER_VALUES = 200


def _invalid(message):
    return exception.InvalidParameterValue(message)


def _to_tree(params):
    """Nest flat dotted names into dicts of dicts, leaves being the values."""
    root = {}
    for key, value in params.items():
        parts = key.split('.', MAX_DEPTH)
        if len(parts) > MAX_DEPTH:
            raise _invalid('The parameter name %s... is nested more than '
                           '%d levels deep.'
                           % ('.'.join(parts[:3]), MAX_DEPTH))
        if '' in parts:
            raise _invalid('The parameter name %s is malformed.' % key)
        node = root
        for depth, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            elif not isinstance(child, dict):
                raise _invalid(
                    'The parameter %s is given both as a value and as a '
                    'structure.' % '.'.join(parts[:depth + 1]))
            node = child
        last = parts[-1]
        if isinstance(node.get(last), dict):
            raise _invalid('The parameter %s is given both as a value and '
                           'as a structure.' % key)
        node[last] = value
    return root


def _build(node, path):
    """Turn a tree level into a list (numbered names) or a dict."""
    if not isinstance(node, dict):
        return node
    numbered = [name for name in node if name.isdigit()]
    if not numbered:
        return {name: _build(child, '%s.%s' % (path, name))
                for name, child in node.items()}
    if len(numbered) != len(node):
        named = next(name for name in node if not name.isdigit())
        raise _invalid('The parameter %s.%s is not valid: %s is a list.'
                       % (path, named, path))
    if len(node) > MAX_LIST_LENGTH:
        raise _invalid('The parameter %s has %d entries; at most %d are '
                       'accepted in one request.'
                       % (path, len(node), MAX_LIST_LENGTH))
    entries = []
    for name, child in node.items():
        if not name.isascii() or not _INDEX_RE.match(name):
            raise _invalid('The list index %s of parameter %s is not valid.'
                           % (name, path))
        entries.append((int(name), _build(child, '%s.%s' % (path, name))))
    entries.sort(key=lambda entry: entry[0])
    return [value for _index, value in entries]


def unflatten(params):
    """Nest flat EC2 Query parameters.

    :param params: dict of decoded parameter names to values, without
        ``Action``, ``Version`` and the authentication parameters.
    :returns: dict of top-level parameter names to a value (str), a list
        or a dict, nested likewise.
    :raises InvalidParameterValue: for a name used both as a value and as
        a structure, a level mixing list indexes and member names, a bad
        list index, an empty name part, a name nested deeper than
        ``MAX_DEPTH`` or a list longer than ``MAX_LIST_LENGTH``.
    """
    tree = _to_tree(params)
    return {name: _build(child, name) for name, child in tree.items()}


def _scalar_list(value, name):
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise _invalid('The parameter %s must be a list of values.' % name)


class Params(object):
    """Typed access to a request's nested parameters.

    Names given to the getters may be dotted paths through structures
    (``DisableApiTermination.Value``). ``prefix`` is prepended to names in
    error messages, for the entries returned by ``get_params_list``.
    """

    def __init__(self, nested, prefix=''):
        self.raw = nested
        self.prefix = prefix

    @classmethod
    def from_flat(cls, params):
        """Build from flat parameters, see ``unflatten``."""
        return cls(unflatten(params))

    def __contains__(self, name):
        return self._lookup(name) is not None

    def _name(self, name):
        return self.prefix + name

    def _lookup(self, name):
        node = self.raw
        for part in name.split('.'):
            if not isinstance(node, dict):
                return None
            node = node.get(part)
            if node is None:
                return None
        return node

    def _scalar(self, name, required=False):
        value = self._lookup(name)
        if value is None or (required and value == ''):
            if required:
                raise exception.MissingParameter(param=self._name(name))
            return None
        if not isinstance(value, str):
            raise _invalid('The parameter %s must be a single value.'
                           % self._name(name))
        return value

    def get_str(self, name, required=False, default=None):
        """A string; ``''`` counts as missing when ``required``."""
        value = self._scalar(name, required)
        return default if value is None else value

    def get_int(self, name, required=False, default=None, min=None,
                max=None):
        """An integer, checked against the inclusive ``min`` and ``max``."""
        value = self._scalar(name, required)
        if value is None:
            return default
        if not value.isascii() or not _INT_RE.match(value):
            raise _invalid("Value (%s) for parameter %s is invalid. "
                           "Expected: 'Integer'." % (value, self._name(name)))
        number = int(value)
        if min is not None and number < min:
            raise _invalid('Value (%s) for parameter %s is invalid. '
                           'Expecting a value greater than or equal to %d.'
                           % (value, self._name(name), min))
        if max is not None and number > max:
            raise _invalid('Value (%s) for parameter %s is invalid. '
                           'Expecting a value less than or equal to %d.'
                           % (value, self._name(name), max))
        return number

    def get_bool(self, name, default=False):
        """``true`` or ``false``, in any case."""
        value = self._scalar(name)
        if value is None:
            return default
        lowered = value.lower()
        if lowered == 'true':
            return True
        if lowered == 'false':
            return False
        raise _invalid("Value (%s) for parameter %s is invalid. "
                       "Expected: 'Boolean'." % (value, self._name(name)))

    def get_list(self, name, required=False):
        """A list of strings (``[]`` if missing); one value is accepted."""
        value = self._lookup(name)
        if value is None:
            if required:
                raise exception.MissingParameter(param=self._name(name))
            return []
        return _scalar_list(value, self._name(name))

    def get_dict_list(self, name):
        """A list of structures (``[]`` if missing)."""
        value = self._lookup(name)
        if value is None:
            return []
        if (not isinstance(value, list)
                or not all(isinstance(v, dict) for v in value)):
            raise _invalid('The parameter %s must be a list of structures.'
                           % self._name(name))
        return value

    def get_params_list(self, name):
        """``get_dict_list`` with each structure wrapped in a ``Params``.

        The entries' error messages name their parameters in full, e.g.
        ``BlockDeviceMapping.2.Ebs.VolumeSize``, the index being the
        position in the list.
        """
        return [Params(entry, '%s.%d.' % (self._name(name), index))
                for index, entry in enumerate(self.get_dict_list(name), 1)]

    def get_filters(self):
        """The ``Filter`` list as a dict of filter name to its values.

        Filters repeating a name have their values merged. A filter without
        a name or without values is an InvalidParameterValue; more than
        ``MAX_FILTERS`` filters, or more than ``MAX_FILTER_VALUES`` values
        in one, a FilterLimitExceeded.
        """
        filters = {}
        entries = self.get_dict_list('Filter')
        if len(entries) > MAX_FILTERS:
            raise exception.FilterLimitExceeded(
                'The maximum number of filters specified on a single call '
                'is %d.' % MAX_FILTERS)
        for index, entry in enumerate(entries, 1):
            name = entry.get('Name')
            if not isinstance(name, str) or not name:
                raise _invalid('The filter Filter.%d has no name.' % index)
            unknown = set(entry) - {'Name', 'Value'}
            if unknown:
                raise _invalid('The parameter Filter.%d.%s is not valid.'
                               % (index, sorted(unknown)[0]))
            if 'Value' not in entry:
                raise _invalid("The filter '%s' has no value." % name)
            values = _scalar_list(entry['Value'],
                                  'Filter.%d.Value' % index)
            merged = filters.setdefault(name, [])
            merged.extend(values)
            if len(merged) > MAX_FILTER_VALUES:
                raise exception.FilterLimitExceeded(
                    'The maximum number of filter values specified on a '
                    'single call is %d.' % MAX_FILTER_VALUES)
        return filters

    def check_unknown(self, allowed):
        """Raise UnknownParameter for a top-level name not in ``allowed``."""
        for name in self.raw:
            if name not in allowed:
                raise exception.UnknownParameter(param=self._name(name))
