#!/usr/bin/env python3
"""CPU time of one request through the EC2 application, without HTTP.

``python bench/request_cpu.py [N]`` (the Python of an environment with
ebsboot's test requirements, e.g. ``.tox/py3/bin/python``) sets up the
unit tests' DescribeInstances fixture (a SQLite file, three instances,
credentials), signs N+20 one-id ``DescribeInstances`` requests as boto3
does, answers 20 to warm up and prints the process CPU time per call of
the other N. The machine's load changes CPU time far less than it
changes latency, so two trees can be compared on a busy machine. See
bench/README.rst.
"""

import sys
import time
import unittest

from botocore import auth as botocore_auth
from botocore import awsrequest
from botocore import credentials as botocore_credentials
from botocore import serialize

from ebsboot.tests.unit.api import test_auth
from ebsboot.tests.unit.api import test_instances

WARM_UP = 20


class RequestCPU(test_instances.DescribeInstancesTest):

    calls = 500

    def _request(self, body):
        request = awsrequest.AWSRequest(
            method='POST', url='http://127.0.0.1:8788/', data=body,
            headers={'Content-Type':
                     'application/x-www-form-urlencoded; charset=utf-8'})
        botocore_auth.SigV4Auth(
            botocore_credentials.Credentials('AKALPHA', 'alpha-secret'),
            'ec2', 'RegionOne').add_auth(request)
        return test_auth.to_webob(request)

    def test_cpu_per_call(self):
        operation = test_instances.wire.MODEL.operation_model(
            'DescribeInstances')
        body = serialize.create_serializer(
            'ec2', include_validation=False).serialize_to_request(
            {'InstanceIds': [test_instances.IDS[0]]}, operation)['body']
        requests = [self._request(body)
                    for _ in range(self.calls + WARM_UP)]
        for request in requests[:WARM_UP]:
            self.assertEqual(200, request.get_response(self.app).status_int)
        started = time.process_time()
        for request in requests[WARM_UP:]:
            request.get_response(self.app)
        seconds = (time.process_time() - started) / self.calls
        print('CPU per call: %.3f ms (%d calls)'
              % (seconds * 1000, self.calls), flush=True)


def main(argv):
    RequestCPU.calls = int(argv[0]) if argv else 500
    result = unittest.TextTestRunner(verbosity=0).run(
        unittest.TestSuite([RequestCPU('test_cpu_per_call')]))
    return 0 if result.wasSuccessful() else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
