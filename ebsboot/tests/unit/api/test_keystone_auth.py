"""Tests of the Keystone verifier: the ec2tokens body and its answers.

A fake adapter stands for keystoneauth1's; the real Keystone is in
ebsboot/tests/functional/test_keystone.py.
"""

import hashlib
from unittest import mock

from botocore import auth as botocore_auth
from botocore import awsrequest
from botocore import credentials
from keystoneauth1 import exceptions as ks_exceptions

from ebsboot.api.ec2 import auth
from ebsboot.api.ec2 import keystone_auth
from ebsboot import exception
from ebsboot.tests.unit.api import test_auth

TOKEN = {'token': {
    'project': {'id': 'a' * 32, 'name': 'alpha'},
    'user': {'id': 'b' * 32, 'name': 'alice'},
    'roles': [{'id': '1', 'name': 'member'}, {'id': '2', 'name': 'reader'}],
}}


def answer(status, body=None):
    response = mock.Mock(status_code=status, text='text')
    response.json.return_value = body or {}
    return response


class TestKeystoneVerifier(test_auth.AuthTestCase):

    def setUp(self):
        super().setUp()
        self.verifier = keystone_auth.KeystoneVerifier.__new__(
            keystone_auth.KeystoneVerifier)
        self.verifier.adapter = mock.Mock()
        self.verifier._lock = mock.MagicMock()
        self.verifier._last_reauth = 0.0
        self.post = self.verifier.adapter.post

    def sign(self, method='POST', presigned=False):
        params = dict(test_auth.PARAMS)
        if method == 'POST':
            request = awsrequest.AWSRequest(
                method=method, url=test_auth.URL, data=params,
                headers={'Content-Type': test_auth.FORM})
        else:
            request = awsrequest.AWSRequest(method=method, url=test_auth.URL,
                                            params=params)
        creds = credentials.Credentials(test_auth.ACCESS_KEY,
                                        test_auth.SECRET)
        signer = (botocore_auth.SigV4QueryAuth(creds, 'ec2',
                                               test_auth.REGION, 300)
                  if presigned else
                  botocore_auth.SigV4Auth(creds, 'ec2', test_auth.REGION))
        signer.add_auth(request)
        return test_auth.to_webob(request)

    def verify(self, request, now=test_auth.NOW, **kwargs):
        return auth.verify_request(request, self.verifier, test_auth.REGION,
                                   now=now, **kwargs)

    def sent(self):
        return self.post.call_args.kwargs['json']['credentials']

    def test_post_form_identity(self):
        self.post.return_value = answer(200, TOKEN)
        request = self.sign()
        identity = self.verify(request)
        self.assertEqual(('a' * 32, 'alpha', 'b' * 32, 'alice',
                          ['member', 'reader']),
                         (identity.project_id, identity.project_name,
                          identity.user_id, identity.user_name,
                          identity.roles))
        sent = self.sent()
        self.assertEqual(test_auth.ACCESS_KEY, sent['access'])
        self.assertEqual({}, sent['params'])
        self.assertEqual('POST', sent['verb'])
        self.assertEqual('ec2.example.com:8788', sent['host'])
        self.assertEqual(hashlib.sha256(request.body).hexdigest(),
                         sent['body_hash'])
        self.assertIn('Authorization', sent['headers'])
        self.assertEqual(
            request.headers['Authorization'].rsplit('Signature=', 1)[1],
            sent['signature'])
        self.assertEqual('/ec2tokens', self.post.call_args.args[0])
        self.assertFalse(self.post.call_args.kwargs['allow_reauth'])

    def test_presigned_params(self):
        self.post.return_value = answer(200, TOKEN)
        self.verify(self.sign(method='GET', presigned=True))
        params = self.sent()['params']
        self.assertNotIn('X-Amz-Signature', params)
        self.assertEqual('DescribeVolumes', params['Action'])
        self.assertIn('X-Amz-Credential', params)
        # The payload hash the client signed (botocore: of the empty body).
        self.assertEqual(hashlib.sha256(b'').hexdigest(),
                         self.sent()['body_hash'])

    def test_checks_before_keystone(self):
        request = self.sign()
        self.assertRaises(exception.SignatureDoesNotMatch, auth.verify_request,
                          request, self.verifier, 'other-region',
                          now=test_auth.NOW)
        self.assertRaises(exception.RequestExpired, self.verify, request,
                          now=None)
        self.post.assert_not_called()

    def test_token_without_project_refused(self):
        self.post.return_value = answer(200, {'token': {'roles': []}})
        self.assertRaises(exception.AuthFailure, self.verify, self.sign())

    def test_date_header_only_refused(self):
        # (ebsboot accepts a signed Date header in local mode.)
        request = self.sign()
        del request.headers['X-Amz-Date']
        sig = auth.SignatureV4(test_auth.ACCESS_KEY, 'f' * 64, None, None,
                               'canonical\nhash', {})
        self.assertRaises(exception.IncompleteSignature,
                          self.verifier.sigv4, request, sig)
        self.post.assert_not_called()

    def test_unknown_key(self):
        self.post.return_value = answer(404)
        error = self.assertRaises(exception.AuthFailure, self.verify,
                                  self.sign())
        self.assertIn('does not exist in our records', error.msg)

    def test_bad_signature_renews_token_at_most_once(self):
        self.post.return_value = answer(401)
        self.verifier.adapter.invalidate.return_value = True
        self.assertRaises(exception.SignatureDoesNotMatch, self.verify,
                          self.sign())
        self.assertEqual(2, self.post.call_count)
        self.verifier._lock = mock.MagicMock()
        self.assertRaises(exception.SignatureDoesNotMatch, self.verify,
                          self.sign())
        # Within REAUTH_INTERVAL: no second renewal.
        self.assertEqual(3, self.post.call_count)
        self.assertEqual(1, self.verifier.adapter.invalidate.call_count)

    def test_keystone_down_retried_once_then_unavailable(self):
        self.post.side_effect = ks_exceptions.ConnectFailure('refused')
        error = self.assertRaises(exception.ServiceUnavailable, self.verify,
                                  self.sign())
        self.assertEqual((503, 'Unavailable'), (error.status, error.code))
        self.assertEqual(2, self.post.call_count)

    def test_keystone_5xx_then_ok(self):
        self.post.side_effect = [answer(500), answer(200, TOKEN)]
        self.assertEqual('a' * 32, self.verify(self.sign()).project_id)

    def test_service_user_refused_is_unavailable(self):
        self.post.return_value = answer(403)
        self.assertRaises(exception.ServiceUnavailable, self.verify,
                          self.sign())

    def test_sigv2_sha1_refused(self):
        self.assertNotIn('HmacSHA1', self.verifier.sigv2_methods)
