"""The WSGI application: authentication, policy, dispatch, fault XML."""

import logging
import os
from unittest import mock

from botocore import auth as botocore_auth
from botocore import awsrequest
from botocore import credentials as botocore_credentials
from botocore import parsers
import botocore.session
import fixtures
from oslo_policy import policy as oslo_policy
import webob

from ebsboot.api.ec2 import app as ec2_app
from ebsboot.conf import CONF
from ebsboot import context as ebs_context
from ebsboot.db import api as db
from ebsboot import policy
from ebsboot import secret_keys
from ebsboot.tests.unit.api import test_auth
from ebsboot.tests.unit import base

MODEL = botocore.session.get_session().get_service_model('ec2')
FORM = 'application/x-www-form-urlencoded'


class AppTest(base.TestCase):

    def setUp(self):
        super().setUp()
        db.credential_create(ebs_context.get_admin_context(), 'AKALPHA',
                             'alpha-secret', 'alpha')
        self.app = ec2_app.EC2Application()

    def call(self, params, secret='alpha-secret', version=2016,
             signer='v4'):
        params = dict({'Version': '2016-11-15'}, **params)
        request = awsrequest.AWSRequest(
            method='POST', url='http://127.0.0.1:8788/', data=params,
            headers={'Content-Type':
                     'application/x-www-form-urlencoded; charset=utf-8'})
        creds = botocore_credentials.Credentials('AKALPHA', secret)
        if signer == 'v4':
            botocore_auth.SigV4Auth(creds, 'ec2', 'RegionOne').add_auth(
                request)
        else:
            botocore_auth.SigV2Auth(creds).add_auth(request)
        return test_auth.to_webob(request).get_response(self.app)

    def parse(self, action, response):
        shape = MODEL.operation_model(action).output_shape
        return parsers.create_parser('ec2').parse(
            {'body': response.body, 'headers': dict(response.headers),
             'status_code': response.status_int}, shape)

    def test_describe_regions_v4_and_v2(self):
        for signer in ('v4', 'v2'):
            response = self.call({'Action': 'DescribeRegions'},
                                 signer=signer)
            self.assertEqual(200, response.status_int, response.body)
            parsed = self.parse('DescribeRegions', response)
            self.assertEqual(['RegionOne'], [r['RegionName']
                                             for r in parsed['Regions']])
            self.assertTrue(parsed['ResponseMetadata']['RequestId'])

    def test_errors_are_ec2_documents(self):
        for params, status, code in [
                ({'Action': 'Nope'}, 400, 'InvalidAction'),
                ({}, 400, 'MissingAction'),
                ({'Action': 'DescribeVolumes', 'DryRun': 'true'}, 412,
                 'DryRunOperation'),
                ({'Action': 'DescribeVolumes', 'DryRun': 'maybe'}, 400,
                 'InvalidParameterValue'),
                ({'Action': 'DeleteVolume'}, 400, 'MissingParameter')]:
            response = self.call(params)
            self.assertEqual(status, response.status_int)
            error = self.parse('DescribeVolumes', response)['Error']
            self.assertEqual(code, error['Code'])
        response = self.call({'Action': 'DescribeRegions'}, secret='bad')
        self.assertEqual(403, response.status_int)
        self.assertIn(b'<Code>SignatureDoesNotMatch</Code>', response.body)

    def test_bug_is_500_without_traceback(self):
        boom = mock.Mock(side_effect=ZeroDivisionError('secret detail'))
        self.app.actions = dict(self.app.actions, DescribeRegions=boom)
        response = self.call({'Action': 'DescribeRegions'})
        self.assertEqual(500, response.status_int)
        self.assertIn(b'<Code>InternalError</Code>', response.body)
        self.assertNotIn(b'secret detail', response.body)
        self.assertNotIn(b'Traceback', response.body)

    def test_a_wrong_key_file_is_the_servers_fault(self):
        logs = self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        secret_keys.reset()
        self.addCleanup(secret_keys.reset)
        self.config.config(key_file=os.path.join(self.state, 'other.key'),
                           group='credentials')
        secret_keys.encrypt('x')  # another key than AKALPHA's
        response = self.call({'Action': 'DescribeRegions'})
        self.assertEqual(500, response.status_int)
        self.assertIn(b'<Code>InternalError</Code>', response.body)
        self.assertIn('The secret key of access key AKALPHA cannot be '
                      'decrypted with the key in %s' % CONF.credentials.
                      key_file, logs.output)
        self.assertNotIn('alpha-secret', logs.output)
        self.assertNotIn('Traceback', logs.output)

    def test_policy_can_deny(self):
        enforcer = policy.get_enforcer()
        enforcer.load_rules()
        enforcer.set_rules(oslo_policy.Rules.from_dict(
            {'ec2:DescribeRegions': '!'}), overwrite=False, use_conf=False)
        response = self.call({'Action': 'DescribeRegions'})
        self.assertEqual(403, response.status_int)
        self.assertIn(b'<Code>UnauthorizedOperation</Code>', response.body)

    def test_a_deleted_credential_is_refused_at_once(self):
        # Credentials are kept between requests; never past a commit.
        self.assertEqual(200, self.call({'Action': 'DescribeRegions'})
                         .status_int)
        db.credential_delete(ebs_context.get_admin_context(), 'AKALPHA')
        response = self.call({'Action': 'DescribeRegions'})
        self.assertEqual(401, response.status_int)
        self.assertIn(b'<Code>AuthFailure</Code>', response.body)

    def test_a_changed_secret_is_checked_at_once(self):
        self.assertEqual(200, self.call({'Action': 'DescribeRegions'})
                         .status_int)
        admin = ebs_context.get_admin_context()
        db.credential_delete(admin, 'AKALPHA')
        db.credential_create(admin, 'AKALPHA', 'new-secret', 'alpha')
        self.assertEqual(403, self.call({'Action': 'DescribeRegions'})
                         .status_int)
        self.assertEqual(200, self.call({'Action': 'DescribeRegions'},
                                        secret='new-secret').status_int)

    def test_policy_file_changes_apply_to_the_next_request(self):
        path = os.path.join(self.state, 'policy.yaml')
        self.config.config(policy_file=path, group='oslo_policy')
        policy.reset()
        self.assertEqual(200, self.call({'Action': 'DescribeRegions'})
                         .status_int)
        with open(path, 'w') as f:
            f.write('"ec2:DescribeRegions": "!"\n')
        response = self.call({'Action': 'DescribeRegions'})
        self.assertEqual(403, response.status_int)
        self.assertIn(b'<Code>UnauthorizedOperation</Code>', response.body)
        with open(path, 'w') as f:
            f.write('"ec2:DescribeRegions": ""\n')
        # A later modification time, whatever the file system's clock.
        stat = os.stat(path)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
        self.assertEqual(200, self.call({'Action': 'DescribeRegions'})
                         .status_int)

    def test_oversized_request_refused(self):
        self.config.config(max_request_size=1024, group='api')
        response = self.call({'Action': 'DescribeRegions',
                              'Filter.1.Name': 'x' * 2000})
        self.assertEqual(400, response.status_int)
        self.assertEqual(CONF.api.max_request_size, 1024)

    def unsigned(self, path, method='GET', body=None, content_type=None):
        request = webob.Request.blank(path, method=method)
        if body is not None:
            request.body = body
        if content_type:
            request.content_type = content_type
        return request.get_response(self.app)

    def test_undecodable_parameters(self):
        for path in ('/?Action=%FF', '/?%FF=x', '/?Action=DescribeRegions'
                     '&X-Amz-Date=%C0%80'):
            response = self.unsigned(path)
            self.assertEqual(400, response.status_int, path)
            self.assertEqual('InvalidParameterValue', self.parse(
                'DescribeRegions', response)['Error']['Code'])
        response = self.unsigned('/', method='POST', body=b'Action=%FF',
                                 content_type=FORM)
        self.assertEqual(400, response.status_int)

    def test_parameter_given_twice(self):
        response = self.unsigned('/?Action=DescribeRegions&Action=Nope')
        self.assertEqual(400, response.status_int)
        self.assertIn(b'given more than once', response.body)

    def test_body_that_is_not_a_form(self):
        response = self.unsigned('/', method='POST', body=b'{"Action": 1}',
                                 content_type='application/json')
        self.assertEqual(400, response.status_int)
        self.assertIn(b'<Code>InvalidRequest</Code>', response.body)

    def test_oversized_query_refused(self):
        self.config.config(max_request_size=1024, group='api')
        response = self.unsigned('/?Action=DescribeRegions&X=' + 'x' * 2000)
        self.assertEqual(400, response.status_int)
        self.assertIn(b'<Code>InvalidRequest</Code>', response.body)
