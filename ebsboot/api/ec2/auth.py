"""Verification of AWS request signatures on the EC2 Query API.

Two schemes are accepted:

* Signature Version 4 (``AWS4-HMAC-SHA256``), either in an
  ``Authorization`` header or as a presigned query string
  (``X-Amz-Algorithm``, ``X-Amz-Credential``, ...). This is what boto3 and
  the AWS CLI send.
* Signature Version 2 (``SignatureVersion=2`` with ``HmacSHA256`` or
  ``HmacSHA1``) in the request parameters, as euca2ools sends it.

:func:`verify_request` makes every check that needs no secret (the form of
the signature, the SigV4 credential scope's date, region and service, the
signed Host, the date window, the body hash) and then hands the signature
to a verifier: :class:`LocalVerifier` computes it with a secret key that
ebsboot keeps; ``ebsboot.api.ec2.keystone_auth`` asks Keystone. It returns
what the verifier returns or raises the ``EC2Error`` the client should
see.
"""

import base64
import collections
import datetime
import email.utils
import hashlib
import hmac
import re
import urllib.parse

from oslo_log import log as logging

from ebsboot import exception

LOG = logging.getLogger(__name__)

SIGV4_ALGORITHM = 'AWS4-HMAC-SHA256'
SIGV4_TERMINATOR = 'aws4_request'
SIGV4_DATE_FORMAT = '%Y%m%dT%H%M%SZ'
SIGV4_MAX_EXPIRES = 7 * 24 * 3600
UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD'

SIGV2_METHODS = {
    'HmacSHA256': hashlib.sha256,
    'HmacSHA1': hashlib.sha1,
}

# Characters RFC 3986 leaves unreserved; everything else is %-encoded.
_UNRESERVED = '-_.~'
_SIGV4_DATE_RE = re.compile(r'^\d{8}T\d{6}Z$')
_HEX_SHA256_RE = re.compile(r'^[0-9a-fA-F]{64}$')
_PRESIGN_PARAMS = ('X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date',
                   'X-Amz-SignedHeaders', 'X-Amz-Signature')
_PRESIGN_NAMES = frozenset(name.encode('ascii')
                           for name in _PRESIGN_PARAMS + ('X-Amz-Expires',))
_EXPIRED = 'Request has expired.'


# What a verifier gets once the checks that need no secret have passed.
# ``params`` are the parameters the client signed, as Keystone's ec2tokens
# wants them: the query string's (without X-Amz-Signature) for Signature
# Version 4, every parameter but Signature for Version 2.
SignatureV4 = collections.namedtuple(
    'SignatureV4', 'access_key signature timestamp scope canonical params')
SignatureV2 = collections.namedtuple(
    'SignatureV2', 'access_key signature method query params')


class LocalVerifier:
    """Verifies signatures with the secret keys ebsboot keeps.

    ``lookup_secret(access_key)`` returns the secret key of an access key,
    or None if the key is unknown. The verifier returns the access key.
    """

    sigv2_methods = tuple(SIGV2_METHODS)

    def __init__(self, lookup_secret):
        self.lookup_secret = lookup_secret

    def sigv4(self, request, sig):
        secret = _lookup(self.lookup_secret, sig.access_key)
        expected = _sigv4_signature(secret, sig.timestamp, sig.scope,
                                    sig.canonical)
        _compare(expected, sig.signature, sig.canonical)
        return sig.access_key

    def sigv2(self, request, sig):
        secret = _lookup(self.lookup_secret, sig.access_key)
        digestmod = SIGV2_METHODS[sig.method]
        canonical = None
        for host in _sigv2_hosts(request):
            canonical = '\n'.join([request.method.upper(), host,
                                   request.path or '/', sig.query])
            digest = hmac.new(secret.encode('utf-8'),
                              canonical.encode('utf-8'), digestmod).digest()
            expected = base64.b64encode(digest).decode('ascii')
            if hmac.compare_digest(expected.encode('ascii'),
                                   sig.signature.encode('utf-8')):
                return sig.access_key
        LOG.debug('Signature Version 2 mismatch for %s; string to sign:\n%s',
                  sig.access_key, canonical)
        raise exception.SignatureDoesNotMatch()


def verify_request(request, verifier, region, service='ec2', ttl=900,
                   now=None):
    """Check a webob.Request's signature; return what ``verifier`` does.

    ``verifier`` has the methods ``sigv4(request, SignatureV4)`` and
    ``sigv2(request, SignatureV2)`` and the attribute ``sigv2_methods``;
    a plain function is taken as the ``lookup_secret`` of a
    :class:`LocalVerifier`. ``region`` and ``service`` are what a
    Signature Version 4 credential scope must name. ``ttl`` is how many
    seconds a request's timestamp may be away from ``now``; a request that
    carries an expiry (``Expires``, ``X-Amz-Expires``) is also refused once
    it has passed. ``now`` (a UTC datetime) is for tests.
    """
    if not hasattr(verifier, 'sigv4'):
        verifier = LocalVerifier(verifier)
    now = _utc(now or datetime.datetime.now(datetime.timezone.utc))
    ttl = datetime.timedelta(seconds=ttl)

    authorization = request.headers.get('Authorization')
    query = _parse_query(request.query_string)
    presigned = any(name in _PRESIGN_NAMES for name, _value in query)
    if authorization is not None:
        if presigned:
            raise exception.IncompleteSignature(
                'Only one authentication mechanism is allowed: either the '
                'Authorization header or the X-Amz-* query parameters.')
        return _verify_sigv4_header(request, authorization, query,
                                    verifier, region, service, ttl, now)
    if presigned:
        return _verify_sigv4_query(request, query, verifier, region,
                                   service, ttl, now)
    try:
        params = request.params
    except UnicodeDecodeError:
        raise exception.InvalidParameterValue(
            'The request parameters are not valid UTF-8.')
    if any(name in params for name in ('Signature', 'AWSAccessKeyId',
                                       'SignatureVersion')):
        return _verify_sigv2(request, params, verifier, ttl, now)
    raise exception.MissingAuthenticationToken()


def build_signing_key(secret, date, region, service):
    """Derive the Signature Version 4 signing key (bytes).

    ``date`` is the ``YYYYMMDD`` day of the credential scope.
    """
    key = ('AWS4' + secret).encode('utf-8')
    for part in (date, region, service, SIGV4_TERMINATOR):
        key = _hmac_sha256(key, part)
    return key


# Signature Version 4

def _verify_sigv4_header(request, authorization, query, verifier,
                         region, service, ttl, now):
    fields = _parse_authorization(authorization)
    access_key, scope = _parse_credential(fields['Credential'])
    signed_headers = _parse_signed_headers(fields['SignedHeaders'])

    amz_date = request.headers.get('X-Amz-Date')
    if amz_date is not None:
        timestamp = _parse_sigv4_date(amz_date)
    else:
        date = request.headers.get('Date')
        if date is None:
            raise exception.IncompleteSignature(
                'Authorization header requires an X-Amz-Date or a Date '
                'header.')
        timestamp = _parse_http_date(date)
    _check_scope(scope, timestamp, region, service)
    if abs(now - timestamp) > ttl:
        raise exception.RequestExpired(_EXPIRED)

    canonical = _canonical_request(request, query, signed_headers)
    return verifier.sigv4(request, SignatureV4(
        access_key, fields['Signature'].lower(), timestamp, scope, canonical,
        _str_params(query)))


def _verify_sigv4_query(request, query, verifier, region, service,
                        ttl, now):
    auth = {}
    signed_query = []
    for name, value in query:
        if name in _PRESIGN_NAMES:
            name = name.decode('ascii')
            if name in auth:
                raise exception.IncompleteSignature(
                    'The query parameter %s is given more than once.' % name)
            auth[name] = value.decode('utf-8', 'replace')
        if name != 'X-Amz-Signature':
            signed_query.append((name, value))
    missing = [name for name in _PRESIGN_PARAMS + ('X-Amz-Expires',)
               if not auth.get(name)]
    if missing:
        raise exception.IncompleteSignature(
            'The request is missing the query parameters: %s.'
            % ', '.join(missing))
    if auth['X-Amz-Algorithm'] != SIGV4_ALGORITHM:
        raise exception.IncompleteSignature(
            'Unsupported signing algorithm %s; only %s is supported.'
            % (auth['X-Amz-Algorithm'], SIGV4_ALGORITHM))
    access_key, scope = _parse_credential(auth['X-Amz-Credential'])
    signed_headers = _parse_signed_headers(auth['X-Amz-SignedHeaders'])
    timestamp = _parse_sigv4_date(auth['X-Amz-Date'])
    expires = auth['X-Amz-Expires']
    if not expires.isdigit() or int(expires) > SIGV4_MAX_EXPIRES:
        raise exception.IncompleteSignature(
            'X-Amz-Expires must be a number of seconds from 0 to %d.'
            % SIGV4_MAX_EXPIRES)
    _check_scope(scope, timestamp, region, service)
    if (now > timestamp + datetime.timedelta(seconds=int(expires)) or
            timestamp - now > ttl):
        raise exception.RequestExpired(_EXPIRED)

    canonical = _canonical_request(request, signed_query,
                                   signed_headers)
    return verifier.sigv4(request, SignatureV4(
        access_key, auth['X-Amz-Signature'].lower(), timestamp, scope,
        canonical, _str_params(signed_query)))


def _parse_authorization(authorization):
    algorithm, _sep, rest = authorization.strip().partition(' ')
    if algorithm != SIGV4_ALGORITHM:
        raise exception.IncompleteSignature(
            'Unsupported Authorization header; only %s is supported.'
            % SIGV4_ALGORITHM)
    fields = {}
    for item in rest.split(','):
        name, sep, value = item.strip().partition('=')
        if not sep or name in fields:
            raise exception.IncompleteSignature(
                'Malformed Authorization header: %r.' % item.strip())
        fields[name] = value.strip()
    missing = [name for name in ('Credential', 'SignedHeaders', 'Signature')
               if not fields.get(name)]
    if missing:
        raise exception.IncompleteSignature(
            'Authorization header requires %s parameters.'
            % ', '.join(missing))
    return fields


def _parse_credential(credential):
    """Split ``AK/DATE/REGION/SERVICE/aws4_request``."""
    parts = credential.split('/')
    if len(parts) != 5 or not all(parts):
        raise exception.IncompleteSignature(
            'Credential must have the form '
            '<access key>/<date>/<region>/<service>/%s.' % SIGV4_TERMINATOR)
    if parts[4] != SIGV4_TERMINATOR:
        raise exception.IncompleteSignature(
            'Credential must be scoped with the terminator %s.'
            % SIGV4_TERMINATOR)
    return parts[0], parts[1:]


def _parse_signed_headers(value):
    names = value.lower().split(';')
    if not all(name.strip() == name and name for name in names):
        raise exception.IncompleteSignature(
            'Malformed SignedHeaders: %r.' % value)
    if 'host' not in names:
        raise exception.IncompleteSignature(
            "'host' must be one of the SignedHeaders.")
    return sorted(set(names))


def _parse_sigv4_date(value):
    if not _SIGV4_DATE_RE.match(value):
        raise exception.IncompleteSignature(
            "X-Amz-Date must be in ISO 8601 basic format "
            "(YYYYMMDD'T'HHMMSS'Z'), not %r." % value)
    try:
        timestamp = datetime.datetime.strptime(value, SIGV4_DATE_FORMAT)
    except ValueError:
        raise exception.IncompleteSignature(
            'X-Amz-Date is not a valid date: %r.' % value)
    return timestamp.replace(tzinfo=datetime.timezone.utc)


def _parse_http_date(value):
    try:
        return _utc(email.utils.parsedate_to_datetime(value))
    except (TypeError, ValueError, OverflowError):
        raise exception.IncompleteSignature(
            'The Date header is not a valid HTTP date: %r.' % value)


def _check_scope(scope, timestamp, region, service):
    date, scope_region, scope_service, _terminator = scope
    if date != timestamp.strftime('%Y%m%d'):
        raise exception.SignatureDoesNotMatch(
            'The date in the credential scope (%s) does not match the '
            'request date (%s).' % (date, timestamp.strftime('%Y%m%d')))
    if scope_region != region:
        raise exception.SignatureDoesNotMatch(
            "The credential should be scoped to the region '%s', not "
            "'%s'." % (region, scope_region))
    if scope_service != service:
        raise exception.SignatureDoesNotMatch(
            "The credential should be scoped to the service '%s', not "
            "'%s'." % (service, scope_service))


def _canonical_request(request, query, signed_headers):
    headers = []
    for name in signed_headers:
        if name == 'host':
            value = request.headers.get('Host') or request.host
        else:
            value = request.headers.get(name)
        if value is None:
            raise exception.SignatureDoesNotMatch(
                'The signed header %s is not in the request.' % name)
        headers.append('%s:%s\n' % (name, ' '.join(_wsgi_str(value).split())))
    return '\n'.join([
        request.method.upper(),
        _canonical_path(request.path),
        _canonical_query(query),
        ''.join(headers),
        ';'.join(signed_headers),
        _payload_hash(request),
    ])


def _canonical_path(path):
    segments = []
    for segment in path.split('/'):
        if segment == '..':
            if segments:
                segments.pop()
        elif segment and segment != '.':
            segments.append(segment)
    normalized = '/' + '/'.join(segments)
    if segments and path.endswith('/'):
        normalized += '/'
    return urllib.parse.quote(normalized, safe='/~')


def _canonical_query(query):
    pairs = sorted((_quote(name), _quote(value)) for name, value in query)
    return '&'.join('%s=%s' % pair for pair in pairs)


def _payload_hash(request):
    body = request.body
    actual = hashlib.sha256(body).hexdigest()
    claimed = request.headers.get('X-Amz-Content-Sha256')
    if claimed is None:
        return actual
    if claimed == UNSIGNED_PAYLOAD:
        # The body carries the action's parameters on a POST; leaving it
        # unsigned would let anyone rewrite them.
        if body:
            raise exception.SignatureDoesNotMatch(
                'UNSIGNED-PAYLOAD is only accepted for requests without '
                'a body.')
        return claimed
    if not (_HEX_SHA256_RE.match(claimed) and
            hmac.compare_digest(claimed.lower(), actual)):
        raise exception.SignatureDoesNotMatch(
            'The X-Amz-Content-Sha256 header does not match the SHA-256 '
            'of the request body.')
    return claimed


def _sigv4_signature(secret, timestamp, scope, canonical):
    string_to_sign = '\n'.join([
        SIGV4_ALGORITHM,
        timestamp.strftime(SIGV4_DATE_FORMAT),
        '/'.join(scope),
        hashlib.sha256(canonical.encode('utf-8')).hexdigest(),
    ])
    key = build_signing_key(secret, *scope[:3])
    return hmac.new(key, string_to_sign.encode('utf-8'),
                    hashlib.sha256).hexdigest()


# Signature Version 2

def _verify_sigv2(request, params, verifier, ttl, now):
    single = {}
    for name in ('AWSAccessKeyId', 'SignatureVersion', 'SignatureMethod',
                 'Signature', 'Timestamp', 'Expires'):
        values = params.getall(name)
        if len(values) > 1:
            raise exception.InvalidParameterValue(
                'The parameter %s is given more than once.' % name)
        single[name] = values[0] if values else None
    for name in ('AWSAccessKeyId', 'SignatureVersion', 'SignatureMethod',
                 'Signature'):
        if not single[name]:
            raise exception.MissingParameter(param=name)
    if single['SignatureVersion'] != '2':
        raise exception.InvalidParameterValue(
            'Unsupported SignatureVersion %r; use 2 or Signature Version 4.'
            % single['SignatureVersion'])
    method = single['SignatureMethod']
    if method not in verifier.sigv2_methods:
        raise exception.InvalidParameterValue(
            'Unsupported SignatureMethod %r; use %s.'
            % (method, ' or '.join(sorted(verifier.sigv2_methods))))
    _check_sigv2_time(single['Timestamp'], single['Expires'], ttl, now)

    signed = [(name, value) for name, value in params.items()
              if name != 'Signature']
    # A '+' the client forgot to %-encode arrives as a space; base64 has
    # no spaces, so put it back.
    return verifier.sigv2(request, SignatureV2(
        single['AWSAccessKeyId'], single['Signature'].replace(' ', '+'),
        method, _canonical_query(signed), dict(signed)))


def _check_sigv2_time(timestamp, expires, ttl, now):
    if timestamp and expires:
        raise exception.InvalidParameterCombination(
            'The parameters Timestamp and Expires cannot be used together.')
    if not (timestamp or expires):
        raise exception.MissingParameter(param='Timestamp')
    value = timestamp or expires
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise exception.InvalidParameterValue(
            'Invalid ISO 8601 date: %r.' % value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    # Aware datetimes compare without conversion to UTC, which overflows
    # at the ends of the calendar (0001-01-01T00:00:00+14:00).
    if timestamp and abs(now - moment) > ttl:
        raise exception.RequestExpired(_EXPIRED)
    if expires and now > moment:
        raise exception.RequestExpired(_EXPIRED)


def _sigv2_hosts(request):
    """The host names the client may have signed, most likely first."""
    host = _wsgi_str(request.headers.get('Host') or request.host).lower()
    hosts = [host]
    for port in (':80', ':443'):
        if host.endswith(port):
            hosts.append(host[:-len(port)])
    return hosts


# Helpers

def _lookup(lookup_secret, access_key):
    secret = lookup_secret(access_key)
    if not secret:
        raise exception.AuthFailure()
    return secret


def _compare(expected, given, canonical):
    if not hmac.compare_digest(expected.encode('ascii'),
                               given.encode('utf-8')):
        LOG.debug('Signature Version 4 mismatch; canonical request:\n%s',
                  canonical)
        raise exception.SignatureDoesNotMatch()


def _str_params(pairs):
    def text(value):
        if isinstance(value, bytes):
            return value.decode('utf-8', 'replace')
        return value
    return {text(name): text(value) for name, value in pairs}


def _hmac_sha256(key, msg):
    return hmac.new(key, msg.encode('utf-8'), hashlib.sha256).digest()


def _parse_query(query_string):
    """Split a raw query string into (name, value) pairs of bytes.

    They are unquoted the way webob reads ``request.GET`` ('+' is a space),
    so that what is signed is what the API acts on.
    """
    try:
        raw = query_string.encode('latin-1')
    except UnicodeEncodeError:
        raw = query_string.encode('utf-8')
    pairs = []
    for item in raw.split(b'&'):
        if item:
            name, _sep, value = item.partition(b'=')
            pairs.append((_unquote(name), _unquote(value)))
    return pairs


def _unquote(value):
    return urllib.parse.unquote_to_bytes(value.replace(b'+', b' '))


def _quote(value):
    if isinstance(value, str):
        value = value.encode('utf-8')
    return urllib.parse.quote(value, safe=_UNRESERVED)


def _wsgi_str(value):
    """Undo the latin-1 decoding WSGI applies to header values."""
    try:
        return value.encode('latin-1').decode('utf-8')
    except UnicodeError:
        return value


def _utc(moment):
    if moment.tzinfo is None:
        return moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(datetime.timezone.utc)
