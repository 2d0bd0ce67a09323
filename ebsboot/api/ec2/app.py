"""The EC2 Query API as a WSGI application.

One request: parse the form (GET query or POST body), verify the signature
(against the stored credentials, or by Keystone with ``[api]
auth_strategy = keystone``), check policy, run the action, answer EC2
XML. Every failure becomes an EC2 error document; a bug becomes a logged
``InternalError`` (500), never a traceback on the wire.
"""

import threading
import urllib.parse

from oslo_log import log as logging
from oslo_utils import uuidutils
import webob
import webob.dec

from ebsboot.api.ec2 import account
from ebsboot.api.ec2 import auth
from ebsboot.api.ec2 import images
from ebsboot.api.ec2 import instance_types
from ebsboot.api.ec2 import instances
from ebsboot.api.ec2 import keypairs
from ebsboot.api.ec2 import keystone_auth
from ebsboot.api.ec2 import modifications
from ebsboot.api.ec2 import params as ec2_params
from ebsboot.api.ec2 import regions
from ebsboot.api.ec2 import snapshots
from ebsboot.api.ec2 import tags
from ebsboot.api.ec2 import volume_status
from ebsboot.api.ec2 import volumes
from ebsboot.api.ec2 import vpcs
from ebsboot.api.ec2 import xmlutil
from ebsboot.conf import api as api_conf
from ebsboot.conf import CONF
from ebsboot import context as ebs_context
from ebsboot.db import api as db
from ebsboot import exception
from ebsboot import policy
from ebsboot import secret_keys

LOG = logging.getLogger(__name__)

DEFAULT_VERSION = '2016-11-15'

# Parameters that belong to the protocol, not to an action.
PROTOCOL_PARAMS = frozenset((
    'Action', 'Version', 'AWSAccessKeyId', 'SignatureMethod',
    'SignatureVersion', 'Timestamp', 'Expires', 'Signature',
    'SecurityToken', 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date',
    'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Signature',
    'X-Amz-Security-Token',
))

RESOURCE_MODULES = (regions, account, instance_types, volumes,
                    volume_status, modifications, snapshots, images,
                    instances, keypairs, tags, vpcs)
ACTIONS = {}
for _module in RESOURCE_MODULES:
    ACTIONS.update(_module.ACTIONS)


def _read_form(request):
    """The request's parameters (query and form body) as a dict of str.

    :raises InvalidRequest: for a request over ``[api] max_request_size``
        or a body that is not a form.
    :raises InvalidParameterValue: for parameters that are not UTF-8 or a
        name given more than once.
    """
    limit = CONF.api.max_request_size
    if ((request.content_length or 0) > limit or
            len(request.query_string) > limit):
        raise exception.InvalidRequest('The request is too large.')
    if request.method == 'POST' and request.content_type not in (
            '', 'application/x-www-form-urlencoded'):
        raise exception.InvalidRequest(
            'A POST request must carry its parameters as '
            'application/x-www-form-urlencoded, not %s.'
            % request.content_type)
    try:
        items = list(request.GET.items())
        if request.method == 'POST':
            # webob would put U+FFFD for what is not UTF-8; refuse it as
            # the query string's is refused.
            items += urllib.parse.parse_qsl(
                request.body.decode('utf-8'), keep_blank_values=True,
                errors='strict')
    except UnicodeDecodeError:
        raise exception.InvalidParameterValue(
            'The request parameters are not valid UTF-8.')
    form = {}
    for name, value in items:
        if name in form:
            raise exception.InvalidParameterValue(
                'The parameter %s is given more than once.' % name)
        form[name] = value
    return form


class EC2Application:
    """WSGI callable serving the EC2 Query API."""

    def __init__(self, actions=None):
        self.actions = actions or ACTIONS
        self._keystone = None
        self._keystone_lock = threading.Lock()

    @webob.dec.wsgify
    def __call__(self, request):
        request_id = uuidutils.generate_uuid()
        action = None
        version = DEFAULT_VERSION
        try:
            if request.method not in ('GET', 'POST'):
                raise exception.InvalidRequest(
                    'The EC2 API accepts GET and POST only.')
            form = _read_form(request)
            action = form.get('Action')
            version = form.get('Version') or DEFAULT_VERSION
            context = self._authenticate(request, request_id)
            if not action:
                raise exception.MissingAction()
            handler = self.actions.get(action)
            if handler is None:
                raise exception.InvalidAction(action=action)
            policy.authorize(context, action)
            params = ec2_params.Params(ec2_params.unflatten(
                {k: v for k, v in form.items()
                 if k not in PROTOCOL_PARAMS}))
            if params.get_bool('DryRun'):
                raise exception.DryRunOperation()
            data = handler(context, params, request)
        except exception.EC2Error as e:
            if e.status >= 500:
                LOG.error('%s failed: %s', action, e.msg)
            else:
                LOG.info('%s refused: %s %s', action, e.code, e.msg)
            return self._error(e.status, e.code, e.msg, request_id)
        except (secret_keys.KeyFileError, secret_keys.WrongKeyError) as e:
            # The server's fault, not the client's: no AuthFailure.
            LOG.error('Cannot check the signature of a request: %s', e)
            return self._error(500, 'InternalError',
                               'An internal error has occurred.', request_id)
        except Exception:
            LOG.exception('Unexpected error in %s', action)
            return self._error(500, 'InternalError',
                               'An internal error has occurred.', request_id)
        body = xmlutil.render_response(action, version, request_id, data)
        return webob.Response(body=body, status=200,
                              content_type='text/xml', charset='UTF-8')

    def _authenticate(self, request, request_id):
        if CONF.api.auth_strategy == api_conf.AUTH_KEYSTONE:
            return self._authenticate_keystone(request, request_id)
        found = {}

        def lookup_secret(access_key):
            found[access_key] = credential = db.credential_get(
                ebs_context.get_admin_context(), access_key)
            return credential.secret_key if credential else None

        access_key = auth.verify_request(
            request, lookup_secret, CONF.api.region_name,
            ttl=CONF.api.signature_ttl)
        credential = found.get(access_key)
        if credential is None:
            raise exception.AuthFailure()
        return ebs_context.RequestContext(
            access_key=access_key,
            project_id=credential.project_id,
            roles=['reader', 'member'],
            request_id='req-' + request_id,
            overwrite=True)

    def _keystone_verifier(self):
        # Built on first use (the configuration is parsed by then) and
        # kept: its session keeps and renews the service token.
        with self._keystone_lock:
            if self._keystone is None:
                self._keystone = keystone_auth.KeystoneVerifier(CONF)
            return self._keystone

    def _authenticate_keystone(self, request, request_id):
        identity = auth.verify_request(
            request, self._keystone_verifier(), CONF.api.region_name,
            ttl=CONF.api.signature_ttl)
        return ebs_context.RequestContext(
            access_key=identity.access_key,
            project_id=identity.project_id,
            project_name=identity.project_name,
            user_id=identity.user_id,
            user_name=identity.user_name,
            roles=identity.roles,
            request_id='req-' + request_id,
            overwrite=True)

    @staticmethod
    def _error(status, code, message, request_id):
        body = xmlutil.render_error(code, message, request_id)
        return webob.Response(body=body, status=status,
                              content_type='text/xml', charset='UTF-8')
