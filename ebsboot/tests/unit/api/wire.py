"""Calling the EC2 application as boto3 would: botocore's serializer,
SigV4 signature and parser, without an HTTP server."""

import urllib.parse

from botocore import auth as botocore_auth
from botocore import awsrequest
from botocore import credentials as botocore_credentials
from botocore import parsers
from botocore import serialize
import botocore.session

from ebsboot.api.ec2 import app as ec2_app
from ebsboot import context as ebs_context
from ebsboot.db import api as db
from ebsboot.tests.unit.api import test_auth
from ebsboot.tests.unit import base

MODEL = botocore.session.get_session().get_service_model('ec2')


class WireTestCase(base.TestCase):
    """Projects ``alpha`` and ``beta`` with credentials, and the app."""

    def setUp(self):
        super().setUp()
        admin = ebs_context.get_admin_context()
        for project in ('alpha', 'beta'):
            db.credential_create(admin, 'AK' + project.upper(),
                                 project + '-secret', project)
        self.app = ec2_app.EC2Application()

    def call(self, action, project='alpha', **kwargs):
        """(HTTP status, parsed answer) of an action called like boto3."""
        operation = MODEL.operation_model(action)
        body = serialize.create_serializer(
            'ec2', include_validation=False).serialize_to_request(
            kwargs, operation)['body']
        return self._send(operation, body, project)

    def call_form(self, action, form, project='alpha'):
        """``call`` with Query parameters as given, unserialized.

        For the forms older SDKs send, which botocore's model does not.
        """
        body = urllib.parse.urlencode(dict(
            form, Action=action, Version=MODEL.api_version))
        return self._send(MODEL.operation_model(action), body, project)

    def _send(self, operation, body, project):
        request = awsrequest.AWSRequest(
            method='POST', url='http://127.0.0.1:8788/', data=body,
            headers={'Content-Type':
                     'application/x-www-form-urlencoded; charset=utf-8'})
        botocore_auth.SigV4Auth(
            botocore_credentials.Credentials('AK' + project.upper(),
                                             project + '-secret'),
            'ec2', 'RegionOne').add_auth(request)
        response = test_auth.to_webob(request).get_response(self.app)
        self.last_body = response.body
        parsed = parsers.create_parser('ec2').parse(
            {'body': response.body, 'headers': dict(response.headers),
             'status_code': response.status_int}, operation.output_shape)
        return response.status_int, parsed

    def ok(self, action, **kwargs):
        status, parsed = self.call(action, **kwargs)
        self.assertEqual(200, status, parsed.get('Error'))
        return parsed

    def error(self, code, action, **kwargs):
        status, parsed = self.call(action, **kwargs)
        self.assertEqual(code, parsed['Error']['Code'],
                         parsed['Error'].get('Message'))
        self.assertLess(status, 500)
        return parsed['Error']['Message']
