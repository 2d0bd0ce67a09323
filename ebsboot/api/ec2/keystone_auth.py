"""Signature verification by Keystone: ``[api] auth_strategy = keystone``.

Keystone keeps the users' EC2 secret keys and verifies a signature when
given the signed parts of the request (``POST /v3/ec2tokens``); it answers
a token whose project, user and roles (implied roles included) the request
then acts with. Keystone lets only a service call it: ebsboot
authenticates as its service user of the ``[keystone]`` group, and the
keystoneauth1 session keeps that token and renews it before it expires.

Keystone checks neither the SigV4 scope's region and service nor future
dates, and computes SigV2 with SHA-256 only: ``ebsboot.api.ec2.auth``
makes those checks before a verifier is called. Nothing is cached: a
disabled user or a deleted credential is refused on the next request.

Keystone's answers are coarse and are mapped here: 404 (unknown access
key) -> ``AuthFailure``; 401 (wrong signature or secret, disabled user,
project or role) -> ``SignatureDoesNotMatch``; Keystone unreachable, slow
or failing (5xx, or refusing ebsboot's own token) -> ``Unavailable``
(503), which SDKs retry. A failed call is retried once.
"""

import hashlib
import threading
import time

from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import loading as ks_loading
from oslo_log import log as logging

from ebsboot.api.ec2 import auth
from ebsboot.conf import keystone as keystone_conf
from ebsboot import exception

LOG = logging.getLogger(__name__)

UNKNOWN_ACCESS_KEY = ('The AWS Access Key Id you provided does not exist in '
                      'our records.')
# Seconds between two renewals of the service token forced by a 401: a 401
# usually means a bad signature, not a revoked service token, and must not
# let clients make ebsboot authenticate again on every request.
REAUTH_INTERVAL = 30
ATTEMPTS = 2


class Identity:
    """Who a verified request acts as, from Keystone's token."""

    def __init__(self, access_key, token):
        project = token.get('project') or {}
        user = token.get('user') or {}
        self.access_key = access_key
        self.project_id = project.get('id')
        self.project_name = project.get('name')
        self.user_id = user.get('id')
        self.user_name = user.get('name')
        self.roles = sorted({role['name'] for role in token.get('roles', ())})


class KeystoneVerifier:
    """An ``auth`` verifier that asks Keystone's ``POST /v3/ec2tokens``."""

    # Keystone computes Signature Version 2 with SHA-256 only.
    sigv2_methods = ('HmacSHA256',)

    def __init__(self, conf):
        group = keystone_conf.GROUP
        auth_plugin = ks_loading.load_auth_from_conf_options(conf, group)
        session = ks_loading.load_session_from_conf_options(
            conf, group, auth=auth_plugin)
        self.adapter = ks_loading.load_adapter_from_conf_options(
            conf, group, session=session, auth=auth_plugin)
        self._lock = threading.Lock()
        self._last_reauth = 0.0

    def sigv4(self, request, sig):
        if ('X-Amz-Date' not in request.headers and
                'X-Amz-Date' not in sig.params):
            # Keystone reads the date from X-Amz-Date only (a Date header
            # makes it fail with a 500).
            raise exception.IncompleteSignature(
                'Signature Version 4 requests need an X-Amz-Date header or '
                'query parameter here; the Date header is not enough.')
        # The payload hash as signed: a presigned request signs
        # UNSIGNED-PAYLOAD, not the hash of its (empty) body.
        return self._verify(request, sig.access_key, sig.signature,
                            sig.params, sig.canonical.rsplit('\n', 1)[1])

    def sigv2(self, request, sig):
        return self._verify(request, sig.access_key, sig.signature,
                            sig.params,
                            hashlib.sha256(request.body).hexdigest())

    def _verify(self, request, access_key, signature, params, body_hash):
        body = {'credentials': {
            'access': access_key,
            'signature': signature,
            'host': auth._wsgi_str(request.headers.get('Host') or
                                   request.host),
            'verb': request.method.upper(),
            'path': request.path or '/',
            'params': params,
            'headers': {name: auth._wsgi_str(value)
                        for name, value in request.headers.items()},
            'body_hash': body_hash,
        }}
        response = self._post(body, access_key)
        if response.status_code == 200:
            identity = Identity(access_key, response.json().get('token', {}))
            if not identity.project_id:
                # EC2 credentials always name a project; without one no
                # resource could be scoped.
                LOG.error('Keystone answered a token without a project for '
                          'access key %s', access_key)
                raise exception.AuthFailure()
            return identity
        if response.status_code == 404:
            LOG.info('Keystone does not know the access key %s', access_key)
            raise exception.AuthFailure(UNKNOWN_ACCESS_KEY)
        if response.status_code == 401:
            LOG.info('Keystone refused the signature of access key %s '
                     '(wrong signature or secret key, or a disabled user, '
                     'project or credential)', access_key)
            raise exception.SignatureDoesNotMatch()
        if response.status_code == 403:
            LOG.error("Keystone refused ebsboot's service user the "
                      'verification of signatures (403): does the user of '
                      'the [keystone] group have the "service" role?')
        else:
            LOG.error('Keystone answered %s to the verification of a '
                      'signature of access key %s: %s',
                      response.status_code, access_key, response.text[:200])
        raise exception.ServiceUnavailable()

    def _post(self, body, access_key):
        """POST /ec2tokens, once more after a failure to reach Keystone."""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                response = self.adapter.post(
                    '/ec2tokens', json=body, raise_exc=False,
                    allow_reauth=False, connect_retries=0,
                    status_code_retries=0, log=False)
            except ks_exceptions.ClientException as e:
                reason = '%s: %s' % (type(e).__name__, e)
            else:
                if (response.status_code == 401 and attempt < ATTEMPTS and
                        self._may_reauthenticate()):
                    LOG.info('Renewing the service token after a 401 from '
                             'Keystone')
                    continue
                if response.status_code < 500:
                    return response
                reason = 'HTTP %s' % response.status_code
            if attempt < ATTEMPTS:
                LOG.warning('Keystone did not verify the signature of %s '
                            '(%s); trying again', access_key, reason)
            else:
                LOG.error('Keystone did not verify the signature of %s '
                          '(%s): answering Unavailable', access_key, reason)
        raise exception.ServiceUnavailable()

    def _may_reauthenticate(self):
        """Invalidate the service token, at most every REAUTH_INTERVAL s."""
        with self._lock:
            now = time.monotonic()
            if now - self._last_reauth < REAUTH_INTERVAL:
                return False
            self._last_reauth = now
        return self.adapter.invalidate()
