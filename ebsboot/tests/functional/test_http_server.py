"""The all-in-one's HTTP server end to end: HTTPS and its limits."""

import socket
import ssl

import botocore.exceptions
import fixtures

from ebsboot.tests.functional import base
from ebsboot.tests import tlsutil


class HTTPSTest(base.FunctionalTestCase):

    def setUp(self):
        super().setUp()
        tls_dir = self.useFixture(fixtures.TempDir()).path
        self.cert, key = tlsutil.make_cert(tls_dir)
        self.cloud = self.useFixture(base.Cloud(extra_conf=(
            '[api]\nssl_cert_file = %s\nssl_key_file = %s\n'
            'max_header_size = 4096\n' % (self.cert, key))))
        self.cloud.endpoint = 'https://127.0.0.1:%d' % self.cloud.port

    def test_volume_over_https(self):
        ec2 = self.cloud.client(verify=self.cert)
        volume_id = ec2.create_volume(AvailabilityZone='nova',
                                      Size=1)['VolumeId']
        volume = self.wait_volume(ec2, volume_id)
        self.assertEqual(1, volume['Size'])
        ec2.delete_volume(VolumeId=volume_id)
        regions = ec2.describe_regions()['Regions']
        self.assertEqual('https://127.0.0.1:%d' % self.cloud.port,
                         regions[0]['Endpoint'])
        self.assertIn('EC2 API listening on https://', self.cloud.log(0))

    def test_unverified_certificate_refused_by_client(self):
        ec2 = self.cloud.client()
        self.assertRaises(botocore.exceptions.SSLError, ec2.describe_regions)

    def test_oversized_headers_refused(self):
        context = ssl.create_default_context(cafile=self.cert)
        raw = socket.create_connection(('127.0.0.1', self.cloud.port), 10)
        with context.wrap_socket(raw, server_hostname='127.0.0.1') as tls:
            tls.sendall(b'POST / HTTP/1.1\r\nHost: x\r\nX-Pad: %s\r\n\r\n'
                        % (b'a' * 8192))
            answer = tls.recv(100)
        self.assertTrue(answer.startswith(b'HTTP/1.1 413 '), answer)
        # The server goes on.
        self.assertEqual([], self.cloud.client(verify=self.cert)
                         .describe_volumes()['Volumes'])
