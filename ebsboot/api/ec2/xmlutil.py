"""EC2 XML responses, in the shape botocore's ``ec2`` parser reads.

A response's data is a dict keyed by EC2 wire names (``volumeId``,
``volumeSet``...). Values render as:

* dict: child elements, in insertion order;
* list: one ``<item>`` per entry (an empty list is an empty element, which
  parses as ``[]``);
* bool: ``true`` / ``false``;
* datetime: ISO 8601 in UTC with milliseconds, e.g.
  ``2026-11-21T10:00:00.000Z`` (naive datetimes are taken as UTC);
* int, float: their decimal text;
* str: escaped text;
* None: no element at all;
* ``Raw`` (in a list only): the content of an ``<item>``, already
  rendered by a resource's own renderer.

The XML is built as text, not as an element tree: a DescribeVolumes of a
thousand volumes renders in a few milliseconds.
"""

import datetime
import re

NAMESPACE_FMT = 'http://ec2.amazonaws.com/doc/%s/'

_XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'

# Characters that need escaping in text and attribute values, plus those
# XML 1.0 cannot carry at all (replaced by U+FFFD). CR is written as a
# character reference so that parsers do not turn it into LF.
_SPECIAL_RE = re.compile(
    '[&<>"\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]')
_REPLACEMENTS = {
    '&': '&amp;',
    '<': '&lt;',
    '>': '&gt;',
    '"': '&quot;',
    '\r': '&#13;',
}


_search = _SPECIAL_RE.search


def _replace(match):
    return _REPLACEMENTS.get(match.group(), '\ufffd')


def escape(text):
    """Escape ``text`` for XML element content or a quoted attribute."""
    if _search(text) is None:
        return text
    return _SPECIAL_RE.sub(_replace, text)


def format_datetime(value):
    """``2026-11-21T10:00:00.000Z``; a naive datetime is taken as UTC."""
    if value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc)
    return '%04d-%02d-%02dT%02d:%02d:%02d.%03dZ' % (
        value.year, value.month, value.day, value.hour, value.minute,
        value.second, value.microsecond // 1000)


def _render_members(out, members):
    """Append an element per ``(name, value)`` pair to the list ``out``.

    This is the hot loop of a response: the common types are handled
    inline, without a call per element.
    """
    append = out.append
    for name, value in members:
        kind = type(value)
        if kind is str:
            if _search(value) is not None:
                value = _SPECIAL_RE.sub(_replace, value)
            append(f'<{name}>{value}</{name}>')
        elif kind is int:
            append(f'<{name}>{value}</{name}>')
        elif kind is bool:
            append(f'<{name}>true</{name}>' if value
                   else f'<{name}>false</{name}>')
        elif value is None:
            continue
        elif kind is dict:
            if value:
                append(f'<{name}>')
                _render_members(out, value.items())
                append(f'</{name}>')
            else:
                append(f'<{name}/>')
        elif kind is list:
            if value:
                append(f'<{name}>')
                _render_items(out, value)
                append(f'</{name}>')
            else:
                append(f'<{name}/>')
        elif kind is datetime.datetime:
            append(f'<{name}>{format_datetime(value)}</{name}>')
        else:
            _render_members(out, ((name, _normalize(name, value)),))


def render_fields(members):
    """The elements of a dict, as text (for ``Raw`` renderers)."""
    out = []
    _render_members(out, members.items())
    return ''.join(out)


class Raw(str):
    """XML already rendered: the children of one list ``<item>``.

    For the few resources listed by the hundred, whose renderers write
    their elements straight to text (each tested against this module).
    """


def _render_items(out, values):
    """Append an ``<item>`` per entry of ``values`` to the list ``out``."""
    append = out.append
    for value in values:
        kind = type(value)
        if kind is dict:
            append('<item>')
            _render_members(out, value.items())
            append('</item>')
        elif kind is Raw:
            append(f'<item>{value}</item>')
        else:
            _render_members(out, (('item', value),))


def _normalize(name, value):
    """A value of a type the hot loop handles, or TypeError."""
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, float):
        return repr(float(value))
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, datetime.datetime):
        return format_datetime(value)
    raise TypeError('Cannot render %s of type %s as XML'
                    % (name, type(value).__name__))


def render_response(action, version, request_id, data):
    """The body of a successful ``action`` response, as UTF-8 bytes.

    :param action: the EC2 action, e.g. ``DescribeVolumes``.
    :param version: the API version of the request, for the namespace.
    :param request_id: the request id, rendered first as ``requestId``.
    :param data: dict of wire element names to values, see the module doc.
    """
    out = [_XML_DECL, '<%sResponse xmlns="%s"><requestId>%s</requestId>'
           % (action, escape(NAMESPACE_FMT % version), escape(request_id))]
    _render_members(out, data.items())
    out.append('</%sResponse>' % action)
    return ''.join(out).encode('utf-8')


def render_error(code, message, request_id):
    """The body of an EC2 error response, as UTF-8 bytes."""
    return ''.join((
        _XML_DECL,
        '<Response><Errors><Error><Code>', escape(code),
        '</Code><Message>', escape(message),
        '</Message></Error></Errors><RequestID>', escape(request_id),
        '</RequestID></Response>')).encode('utf-8')
