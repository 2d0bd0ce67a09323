"""Tests of EC2 request signature verification.

Requests are signed by botocore itself and then handed to the verifier as
the webob request a WSGI server would build from them.
"""

import datetime
import hashlib
import urllib.parse

from botocore import auth as botocore_auth
from botocore import awsrequest
from botocore import credentials
import fixtures
from oslotest import base
import webob

from ebsboot.api.ec2 import auth
from ebsboot import exception

ACCESS_KEY = 'AKIDEXAMPLE0123'
SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'
REGION = 'eu-west-7'
URL = 'http://ec2.example.com:8788/'
SIGNED_AT = datetime.datetime(2024, 5, 17, 12, 30, 45)
NOW = SIGNED_AT.replace(tzinfo=datetime.timezone.utc)
FORM = 'application/x-www-form-urlencoded; charset=utf-8'
PARAMS = {
    'Action': 'DescribeVolumes',
    'Version': '2016-11-15',
    'VolumeId.1': 'vol-0123456789abcdef0',
    'Filter.1.Name': 'tag:Name',
    'Filter.1.Value.1': 'a b+c/d~e*f=g&h\u00e9',
}


def lookup(access_key):
    return {ACCESS_KEY: SECRET}.get(access_key)


def client_host(url):
    """The Host header an HTTP client sends for ``url``."""
    split = urllib.parse.urlsplit(url)
    default = {'http': 80, 'https': 443}[split.scheme]
    if split.port in (None, default):
        return split.hostname
    return '%s:%d' % (split.hostname, split.port)


def to_webob(aws_request, host=None):
    """Build the webob request a server receives for a botocore request."""
    prepared = aws_request.prepare()
    split = urllib.parse.urlsplit(prepared.url)
    body = prepared.body or b''
    if isinstance(body, str):
        body = body.encode('utf-8')
    headers = {}
    for name, value in prepared.headers.items():
        if isinstance(value, bytes):
            value = value.decode('utf-8')
        headers[name] = value
    path = split.path or '/'
    if split.query:
        path += '?' + split.query
    request = webob.Request.blank(
        path, base_url='%s://%s' % (split.scheme, split.netloc),
        method=prepared.method, headers=headers, body=body)
    request.environ['HTTP_HOST'] = host or client_host(prepared.url)
    return request


class TestSigningKey(base.BaseTestCase):

    def test_known_answer(self):
        # The derivation example of the AWS Signature Version 4 docs.
        key = auth.build_signing_key(SECRET, '20120215', 'us-east-1', 'iam')
        self.assertEqual('f4780e2d9f65fa895f9c67b32ce1baf0'
                         'b0d8a43505a000a1a9e090d414db404d', key.hex())


class AuthTestCase(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.MockPatch(
            'botocore.auth.get_current_datetime', return_value=SIGNED_AT))

    def verify(self, request, now=NOW, **kwargs):
        kwargs.setdefault('region', REGION)
        return auth.verify_request(request, lookup, now=now, **kwargs)

    def assertRejected(self, error, request, now=NOW, **kwargs):
        return self.assertRaises(error, self.verify, request, now=now,
                                 **kwargs)


class TestSigV4Header(AuthTestCase):

    def sign(self, method='POST', url=URL, params=None, headers=None,
             secret=SECRET, access_key=ACCESS_KEY, region=REGION,
             service='ec2', host=None):
        params = dict(PARAMS if params is None else params)
        headers = dict(headers or {})
        if method == 'POST':
            headers.setdefault('Content-Type', FORM)
            request = awsrequest.AWSRequest(method=method, url=url,
                                            data=params, headers=headers)
        else:
            request = awsrequest.AWSRequest(method=method, url=url,
                                            params=params, headers=headers)
        creds = credentials.Credentials(access_key, secret)
        botocore_auth.SigV4Auth(creds, service, region).add_auth(request)
        return to_webob(request, host=host)

    def test_post_form(self):
        request = self.sign()
        self.assertIn('content-type', request.headers['Authorization'])
        self.assertEqual(ACCESS_KEY, self.verify(request))
        # The API still sees the parameters.
        self.assertEqual('DescribeVolumes', request.params['Action'])

    def test_get_query(self):
        request = self.sign(method='GET')
        # The URL carries a space as '+', botocore signs it as '%20'.
        self.assertIn('Filter.1.Value.1=a+b%2Bc', request.url)
        self.assertEqual(ACCESS_KEY, self.verify(request))
        self.assertEqual(PARAMS['Filter.1.Value.1'],
                         request.params['Filter.1.Value.1'])

    def test_default_port(self):
        request = self.sign(url='https://ec2.example.com/')
        self.assertEqual('ec2.example.com', request.headers['Host'])
        self.assertEqual(ACCESS_KEY, self.verify(request))

    def test_path_prefix(self):
        request = self.sign(url='http://cloud.example.com:8773/services/'
                                'Cloud/')
        self.assertEqual(ACCESS_KEY, self.verify(request))

    def test_date_header(self):
        request = self.sign(headers={'Date': 'placeholder'})
        self.assertNotIn('X-Amz-Date', request.headers)
        self.assertEqual('Fri, 17 May 2024 12:30:45 -0000',
                         request.headers['Date'])
        self.assertEqual(ACCESS_KEY, self.verify(request))

    def test_header_whitespace(self):
        request = self.sign(headers={'X-Custom': '  a   b  c '})
        self.assertIn('x-custom', request.headers['Authorization'])
        self.assertEqual(ACCESS_KEY, self.verify(request))

    def test_content_sha256_header(self):
        body = urllib.parse.urlencode(PARAMS).encode('utf-8')
        request = self.sign(headers={
            'X-Amz-Content-SHA256': hashlib.sha256(body).hexdigest()})
        self.assertEqual(body, request.body)
        self.assertEqual(ACCESS_KEY, self.verify(request))
        request.body = body.replace(b'DescribeVolumes', b'DeleteVolume')
        self.assertRejected(exception.SignatureDoesNotMatch, request)

    def test_unsigned_payload_without_body(self):
        request = self.sign(
            method='GET', headers={'X-Amz-Content-SHA256': 'UNSIGNED-PAYLOAD'})
        self.assertEqual(ACCESS_KEY, self.verify(request))

    def test_unsigned_payload_with_body(self):
        request = self.sign(
            headers={'X-Amz-Content-SHA256': 'UNSIGNED-PAYLOAD'})
        self.assertRejected(exception.SignatureDoesNotMatch, request)

    def test_wrong_secret(self):
        request = self.sign(secret='not-the-secret')
        self.assertRejected(exception.SignatureDoesNotMatch, request)

    def test_changed_body(self):
        request = self.sign()
        request.body = request.body.replace(b'vol-0123', b'vol-9123')
        self.assertRejected(exception.SignatureDoesNotMatch, request)

    def test_changed_query_param(self):
        request = self.sign(method='GET')
        request.query_string = request.query_string.replace('vol-0123',
                                                            'vol-9123')
        self.assertRejected(exception.SignatureDoesNotMatch, request)

    def test_added_query_param(self):
        request = self.sign()
        request.query_string = 'DryRun=false'
        self.assertRejected(exception.SignatureDoesNotMatch, request)

    def test_changed_method(self):
        request = self.sign(method='GET')
        request.method = 'DELETE'
        self.assertRejected(exception.SignatureDoesNotMatch, request)

    def test_changed_host(self):
        request = self.sign()
        request.environ['HTTP_HOST'] = 'ec2.example.com:8789'
        self.assertRejected(exception.SignatureDoesNotMatch, request)

    def test_changed_signed_header(self):
        request = self.sign(headers={'X-Custom': 'a'})
        request.headers['X-Custom'] = 'b'
        self.assertRejected(exception.SignatureDoesNotMatch, request)

    def test_missing_signed_header(self):
        request = self.sign(headers={'X-Custom': 'a'})
        del request.headers['X-Custom']
        self.assertRejected(exception.SignatureDoesNotMatch, request)

    def test_unknown_access_key(self):
        request = self.sign(access_key='AKIDUNKNOWN')
        self.assertRejected(exception.AuthFailure, request)

    def test_expired(self):
        request = self.sign()
        self.assertEqual(ACCESS_KEY, self.verify(
            request, now=NOW + datetime.timedelta(seconds=900)))
        self.assertRejected(exception.RequestExpired, request,
                            now=NOW + datetime.timedelta(seconds=901))
        error = self.assertRejected(exception.RequestExpired, request,
                                    now=NOW + datetime.timedelta(days=365))
        self.assertEqual('Request has expired.', str(error))

    def test_from_the_future(self):
        request = self.sign()
        self.assertRejected(exception.RequestExpired, request,
                            now=NOW - datetime.timedelta(seconds=901))

    def test_ttl(self):
        request = self.sign()
        later = NOW + datetime.timedelta(seconds=120)
        self.assertRejected(exception.RequestExpired, request, now=later,
                            ttl=60)

    def test_naive_now(self):
        request = self.sign()
        self.assertEqual(ACCESS_KEY, self.verify(request, now=SIGNED_AT))

    def test_wrong_region(self):
        request = self.sign(region='us-east-1')
        self.assertRejected(exception.SignatureDoesNotMatch, request)

    def test_other_region_configured(self):
        request = self.sign()
        self.assertRejected(exception.SignatureDoesNotMatch, request,
                            region='us-east-1')

    def test_wrong_service(self):
        request = self.sign(service='iam')
        self.assertRejected(exception.SignatureDoesNotMatch, request)

    def test_service_argument(self):
        request = self.sign(service='ebs')
        self.assertEqual(ACCESS_KEY, self.verify(request, service='ebs'))

    def test_scope_date_mismatch(self):
        request = self.sign()
        request.headers['Authorization'] = request.headers[
            'Authorization'].replace('/20240517/', '/20240516/')
        self.assertRejected(exception.SignatureDoesNotMatch, request)

    def test_missing_authentication(self):
        request = self.sign()
        del request.headers['Authorization']
        self.assertRejected(exception.MissingAuthenticationToken, request)

    def test_unsigned_request(self):
        request = webob.Request.blank('/?Action=DescribeVolumes')
        self.assertRejected(exception.MissingAuthenticationToken, request)

    def test_malformed_authorization(self):
        request = self.sign()
        header = request.headers['Authorization']
        credential = 'Credential=%s/20240517/%s/ec2/aws4_request' % (
            ACCESS_KEY, REGION)
        malformed = [
            '',
            'AWS4-HMAC-SHA256',
            'AWS4-HMAC-SHA256 garbage',
            'AWS %s:c2lnbmF0dXJl' % ACCESS_KEY,
            'AWS4-ECDSA-P256-SHA256 ' + header.split(' ', 1)[1],
            header.split(', Signature=')[0],
            header.replace('SignedHeaders=', 'SignedHeader='),
            header.replace('aws4_request', 'aws5_request'),
            header.replace('/%s/' % REGION, '/'),
            header.replace(credential, 'Credential=' + ACCESS_KEY),
            header.replace('SignedHeaders=', 'SignedHeaders=;'),
            header.replace('host;', ''),
            header + ', Signature=0123',
        ]
        for value in malformed:
            request.headers['Authorization'] = value
            self.assertRejected(exception.IncompleteSignature, request)

    def test_missing_date(self):
        request = self.sign()
        del request.headers['X-Amz-Date']
        self.assertRejected(exception.IncompleteSignature, request)

    def test_malformed_date(self):
        request = self.sign()
        for value in ('2024-05-17T12:30:45Z', '20240517T123045',
                      '20241317T123045Z', ''):
            request.headers['X-Amz-Date'] = value
            self.assertRejected(exception.IncompleteSignature, request)

    def test_header_and_query_auth(self):
        request = self.sign(method='GET')
        request.query_string += '&X-Amz-Signature=0123'
        self.assertRejected(exception.IncompleteSignature, request)


class TestSigV4Query(AuthTestCase):

    def presign(self, method='GET', url=URL, params=None, expires=300,
                secret=SECRET, region=REGION, service='ec2'):
        params = dict(PARAMS if params is None else params)
        if method == 'POST':
            request = awsrequest.AWSRequest(
                method=method, url=url, data=params,
                headers={'Content-Type': FORM})
        else:
            request = awsrequest.AWSRequest(method=method, url=url,
                                            params=params)
        creds = credentials.Credentials(ACCESS_KEY, secret)
        signer = botocore_auth.SigV4QueryAuth(creds, service, region,
                                              expires=expires)
        signer.add_auth(request)
        return to_webob(request)

    def replace_param(self, request, name, value):
        query = [(k, v) for k, v in urllib.parse.parse_qsl(
            request.query_string, keep_blank_values=True) if k != name]
        if value is not None:
            query.append((name, value))
        request.query_string = urllib.parse.urlencode(
            query, quote_via=urllib.parse.quote)

    def test_valid(self):
        request = self.presign()
        self.assertNotIn('Authorization', request.headers)
        self.assertIn('X-Amz-Signature=', request.query_string)
        self.assertEqual(ACCESS_KEY, self.verify(request))
        self.assertEqual(ACCESS_KEY, self.verify(
            request, now=NOW + datetime.timedelta(seconds=300)))

    def test_post(self):
        request = self.presign(method='POST')
        self.assertEqual(b'', request.body)
        self.assertEqual(ACCESS_KEY, self.verify(request))

    def test_longer_than_ttl(self):
        request = self.presign(expires=3600)
        self.assertEqual(ACCESS_KEY, self.verify(
            request, now=NOW + datetime.timedelta(seconds=3000)))

    def test_expired(self):
        request = self.presign()
        error = self.assertRejected(
            exception.RequestExpired, request,
            now=NOW + datetime.timedelta(seconds=301))
        self.assertEqual('Request has expired.', str(error))

    def test_from_the_future(self):
        request = self.presign()
        self.assertRejected(exception.RequestExpired, request,
                            now=NOW - datetime.timedelta(seconds=901))

    def test_changed_param(self):
        request = self.presign()
        self.replace_param(request, 'VolumeId.1', 'vol-9')
        self.assertRejected(exception.SignatureDoesNotMatch, request)

    def test_extended_expiry(self):
        request = self.presign()
        self.replace_param(request, 'X-Amz-Expires', '3600')
        self.assertRejected(exception.SignatureDoesNotMatch, request)

    def test_added_body(self):
        request = self.presign(method='POST')
        request.body = b'Action=DeleteVolume'
        self.assertRejected(exception.SignatureDoesNotMatch, request)

    def test_wrong_secret(self):
        request = self.presign(secret='not-the-secret')
        self.assertRejected(exception.SignatureDoesNotMatch, request)

    def test_wrong_region(self):
        request = self.presign(region='us-east-1')
        self.assertRejected(exception.SignatureDoesNotMatch, request)

    def test_wrong_service(self):
        request = self.presign(service='s3')
        self.assertRejected(exception.SignatureDoesNotMatch, request)

    def test_missing_param(self):
        for name in ('X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date',
                     'X-Amz-Expires', 'X-Amz-SignedHeaders',
                     'X-Amz-Signature'):
            request = self.presign()
            self.replace_param(request, name, None)
            self.assertRejected(exception.IncompleteSignature, request)

    def test_repeated_param(self):
        request = self.presign()
        request.query_string += '&X-Amz-Signature=0123'
        self.assertRejected(exception.IncompleteSignature, request)

    def test_bad_expires(self):
        for value in ('604801', '-1', 'soon'):
            request = self.presign()
            self.replace_param(request, 'X-Amz-Expires', value)
            self.assertRejected(exception.IncompleteSignature, request)

    def test_bad_algorithm(self):
        request = self.presign()
        self.replace_param(request, 'X-Amz-Algorithm', 'AWS4-HMAC-SHA1')
        self.assertRejected(exception.IncompleteSignature, request)


class TestSigV2(AuthTestCase):

    def sign(self, method='GET', url=URL, params=None, secret=SECRET,
             access_key=ACCESS_KEY, sha1=False, changes=None, host=None):
        """Sign with botocore's SigV2Auth at SIGNED_AT.

        ``changes`` updates the auth parameters (None removes one) before
        the signature is computed again.
        """
        params = dict(PARAMS if params is None else params)
        if method == 'POST':
            request = awsrequest.AWSRequest(
                method=method, url=url, data=params,
                headers={'Content-Type': FORM})
            signed = request.data
        else:
            request = awsrequest.AWSRequest(method=method, url=url,
                                            params=params)
            signed = request.params
        signer = botocore_auth.SigV2Auth(
            credentials.Credentials(access_key, secret))
        signer.add_auth(request)
        signed['Timestamp'] = SIGNED_AT.strftime('%Y-%m-%dT%H:%M:%SZ')
        if sha1:
            signed['SignatureMethod'] = 'HmacSHA1'
            self.useFixture(fixtures.MockPatch('botocore.auth.sha256',
                                               hashlib.sha1))
        for name, value in (changes or {}).items():
            if value is None:
                signed.pop(name, None)
            else:
                signed[name] = value
        signed['Signature'] = signer.calc_signature(request, signed)[1]
        return to_webob(request, host=host)

    def test_get_sha256(self):
        request = self.sign()
        self.assertEqual('HmacSHA256', request.params['SignatureMethod'])
        self.assertEqual(ACCESS_KEY, self.verify(request))

    def test_post_sha256(self):
        request = self.sign(method='POST')
        self.assertEqual('', request.query_string)
        self.assertEqual(ACCESS_KEY, self.verify(request))

    def test_get_sha1(self):
        request = self.sign(sha1=True)
        self.assertEqual('HmacSHA1', request.params['SignatureMethod'])
        self.assertEqual(ACCESS_KEY, self.verify(request))

    def test_post_sha1(self):
        request = self.sign(method='POST', sha1=True)
        self.assertEqual(ACCESS_KEY, self.verify(request))

    def test_sha1_tampered(self):
        request = self.sign(method='POST', sha1=True)
        request.body = request.body.replace(b'vol-0123', b'vol-9123')
        self.assertRejected(exception.SignatureDoesNotMatch, request)

    def test_default_port(self):
        request = self.sign(url='https://ec2.example.com/')
        self.assertEqual(ACCESS_KEY, self.verify(request))

    def test_explicit_default_port(self):
        request = self.sign(url='https://ec2.example.com/',
                            host='ec2.example.com:443')
        self.assertEqual(ACCESS_KEY, self.verify(request))

    def test_path_prefix(self):
        request = self.sign(url='http://cloud.example.com:8773/services/'
                                'Cloud/')
        self.assertEqual(ACCESS_KEY, self.verify(request))

    def test_unencoded_plus_in_signature(self):
        request = self.sign(changes={'Action': 'DescribeVolumes'})
        signature = request.GET['Signature']
        for i in range(50):
            if '+' in signature:
                break
            request = self.sign(changes={'Nonce': str(i)})
            signature = request.GET['Signature']
        self.assertIn('+', signature)
        request.query_string = '&'.join(
            item.replace('%2B', '+') if item.startswith('Signature=')
            else item for item in request.query_string.split('&'))
        self.assertEqual(ACCESS_KEY, self.verify(request))

    def test_expires(self):
        expires = (SIGNED_AT + datetime.timedelta(hours=2)).strftime(
            '%Y-%m-%dT%H:%M:%SZ')
        request = self.sign(changes={'Timestamp': None, 'Expires': expires})
        self.assertEqual(ACCESS_KEY, self.verify(
            request, now=NOW + datetime.timedelta(hours=1)))
        self.assertRejected(exception.RequestExpired, request,
                            now=NOW + datetime.timedelta(hours=2, seconds=1))

    def test_dates_at_the_ends_of_the_calendar(self):
        # Converted to UTC, these fall outside what datetime can hold.
        request = self.sign(
            changes={'Timestamp': '0001-01-01T00:00:00+14:00'})
        self.assertRejected(exception.RequestExpired, request)
        request = self.sign(
            changes={'Timestamp': '9999-12-31T23:59:59-14:00'})
        self.assertRejected(exception.RequestExpired, request)
        request = self.sign(changes={
            'Timestamp': None, 'Expires': '9999-12-31T23:59:59-14:00'})
        self.assertEqual(ACCESS_KEY, self.verify(request))
        request = self.sign(changes={
            'Timestamp': None, 'Expires': '0001-01-01T00:00:00+14:00'})
        self.assertRejected(exception.RequestExpired, request)

    def test_timestamp_and_expires(self):
        request = self.sign(changes={'Expires': '2024-05-17T13:00:00Z'})
        self.assertRejected(exception.InvalidParameterCombination, request)

    def test_no_timestamp(self):
        request = self.sign(changes={'Timestamp': None})
        self.assertRejected(exception.MissingParameter, request)

    def test_bad_timestamp(self):
        request = self.sign(changes={'Timestamp': 'yesterday'})
        self.assertRejected(exception.InvalidParameterValue, request)

    def test_timestamp_with_offset(self):
        request = self.sign(changes={'Timestamp': '2024-05-17T14:30:45+02:00'})
        self.assertEqual(ACCESS_KEY, self.verify(request))

    def test_expired(self):
        request = self.sign()
        self.assertRejected(exception.RequestExpired, request,
                            now=NOW + datetime.timedelta(seconds=901))
        error = self.assertRejected(exception.RequestExpired, request,
                                    now=NOW + datetime.timedelta(days=365))
        self.assertEqual('Request has expired.', str(error))

    def test_wrong_secret(self):
        request = self.sign(secret='not-the-secret')
        self.assertRejected(exception.SignatureDoesNotMatch, request)

    def test_changed_param(self):
        request = self.sign()
        request.query_string = request.query_string.replace('vol-0123',
                                                            'vol-9123')
        self.assertRejected(exception.SignatureDoesNotMatch, request)

    def test_added_param(self):
        request = self.sign(method='POST')
        request.query_string = 'DryRun=false'
        self.assertRejected(exception.SignatureDoesNotMatch, request)

    def test_changed_host(self):
        request = self.sign()
        request.environ['HTTP_HOST'] = 'other.example.com:8788'
        self.assertRejected(exception.SignatureDoesNotMatch, request)

    def test_changed_path(self):
        request = self.sign()
        request.path_info = '/other/'
        self.assertRejected(exception.SignatureDoesNotMatch, request)

    def test_unknown_access_key(self):
        request = self.sign(access_key='AKIDUNKNOWN')
        self.assertRejected(exception.AuthFailure, request)

    def test_unsupported_version(self):
        for version in ('0', '1', '4'):
            request = self.sign(changes={'SignatureVersion': version})
            self.assertRejected(exception.InvalidParameterValue, request)

    def test_unsupported_method(self):
        request = self.sign(changes={'SignatureMethod': 'HmacMD5'})
        self.assertRejected(exception.InvalidParameterValue, request)

    def test_missing_parts(self):
        for name in ('AWSAccessKeyId', 'SignatureVersion',
                     'SignatureMethod'):
            request = self.sign(changes={name: None})
            self.assertRejected(exception.MissingParameter, request)
        request = self.sign()
        request.query_string = '&'.join(
            item for item in request.query_string.split('&')
            if not item.startswith('Signature='))
        self.assertRejected(exception.MissingParameter, request)

    def test_invalid_utf8(self):
        request = self.sign()
        request.query_string += '&Junk=%ff'
        self.assertRejected(exception.InvalidParameterValue, request)

    def test_repeated_signature(self):
        request = self.sign()
        request.query_string += '&Signature=abcd'
        self.assertRejected(exception.InvalidParameterValue, request)
