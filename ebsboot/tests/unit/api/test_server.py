"""The embedded HTTP server, over real loopback sockets.

Keep-alive, threads that idle connections do not take, the timeouts, the
size limits, TLS, and boto3 against the EC2 application behind it.
"""

import http.client
import logging
import socket
import ssl
import threading

import boto3
import botocore.config
import botocore.exceptions
import fixtures

from ebsboot.api.ec2 import app as ec2_app
from ebsboot.api import server as api_server
from ebsboot import context as ebs_context
from ebsboot.db import api as db
from ebsboot.tests import tlsutil
from ebsboot.tests.unit import base


class _RecordingApp:
    """The EC2 app, noting the client port of every request."""

    def __init__(self, app):
        self.app = app
        self.ports = []

    def __call__(self, environ, start_response):
        self.ports.append(environ['REMOTE_PORT'])
        return self.app(environ, start_response)


def _failing_app(environ, start_response):
    raise RuntimeError('secret detail of a bug')


class ServerTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        db.credential_create(ebs_context.get_admin_context(), 'AKALPHA',
                             'alpha-secret', 'alpha')
        self.app = _RecordingApp(ec2_app.EC2Application())

    def serve(self, app=None, **api_opts):
        for name, value in api_opts.items():
            self.config.config(group='api', **{name: value})
        server = api_server.APIServer(app or self.app, '127.0.0.1', 0)
        server.start()
        self.addCleanup(server.stop)
        self.port = server.port
        return server

    def ec2(self, scheme='http', **kwargs):
        return boto3.client(
            'ec2', endpoint_url='%s://127.0.0.1:%d' % (scheme, self.port),
            region_name='RegionOne', aws_access_key_id='AKALPHA',
            aws_secret_access_key='alpha-secret',
            config=botocore.config.Config(retries={'max_attempts': 1},
                                          connect_timeout=5, read_timeout=5),
            **kwargs)

    def connect(self):
        sock = socket.create_connection(('127.0.0.1', self.port), timeout=10)
        self.addCleanup(sock.close)
        return sock

    @staticmethod
    def answer(sock):
        """(status, body) of the response on ``sock``."""
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, response.read()

    def assertEC2Error(self, code, body):
        self.assertIn(b'<Errors><Error><Code>%s</Code>' % code.encode(), body)


class KeepAliveTest(ServerTestCase):

    def test_boto3_requests_share_one_connection(self):
        self.serve()
        ec2 = self.ec2()
        for _ in range(5):
            regions = ec2.describe_regions()['Regions']
            self.assertEqual('RegionOne', regions[0]['RegionName'])
            self.assertEqual([], ec2.describe_volumes()['Volumes'])
        self.assertEqual(10, len(self.app.ports))
        self.assertEqual(1, len(set(self.app.ports)))

    def test_http11_keep_alive(self):
        self.serve()
        conn = http.client.HTTPConnection('127.0.0.1', self.port, timeout=10)
        self.addCleanup(conn.close)
        conn.request('GET', '/')
        first = conn.getresponse()
        first.read()
        sock = conn.sock
        self.assertEqual(11, first.version)
        self.assertIsNone(first.getheader('Connection'))
        for _ in range(3):
            conn.request('POST', '/', body=b'Action=DescribeRegions')
            response = conn.getresponse()
            self.assertIn(b'<Code>', response.read())
        self.assertIs(sock, conn.sock)
        self.assertEqual(1, len(set(self.app.ports)))


class ThreadsAndTimeoutsTest(ServerTestCase):

    def test_idle_connections_take_no_thread(self):
        self.serve(workers=4)
        threads = threading.active_count()
        idle = [self.connect() for _ in range(100)]
        self.assertEqual([], self.ec2().describe_volumes()['Volumes'])
        self.assertEqual(threads, threading.active_count())
        self.assertEqual(100, len(idle))

    def test_idle_connections_closed_after_keepalive_timeout(self):
        self.serve(keepalive_timeout=0.5)
        silent = self.connect()
        kept = self.connect()
        kept.sendall(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
        status, _body = self.answer(kept)
        self.assertEqual(401, status)
        # recv returns b'' (closed) well before the 10 s socket timeout.
        self.assertEqual(b'', silent.recv(100))
        self.assertEqual(b'', kept.recv(100))

    def test_connections_over_max_connections_get_503(self):
        server = self.serve(max_connections=3)
        idle = [self.connect() for _ in range(3)]
        self.wait_for(
            lambda: server._server._connections._num_connections == 3)
        status, _body = self.answer(self.connect())
        self.assertEqual(503, status)
        self.assertEqual(3, len(idle))

    def test_stalled_request_gets_408(self):
        self.serve(client_timeout=0.3)
        sock = self.connect()
        sock.sendall(b'POST / HTTP/1.1\r\nHost: x\r\n')
        status, body = self.answer(sock)
        self.assertEqual(408, status)
        self.assertEC2Error('InvalidRequest', body)
        self.assertEqual(b'', sock.recv(100))


class LimitsTest(ServerTestCase):

    def test_headers_too_large(self):
        self.serve(max_header_size=2048)
        sock = self.connect()
        sock.sendall(b'GET / HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n'
                     % (b'a' * 4096))
        status, body = self.answer(sock)
        self.assertEqual(413, status)
        self.assertEC2Error('InvalidRequest', body)
        self.assertIn(b'headers', body)
        self.assertEqual([], self.app.ports)

    def test_request_line_too_long(self):
        self.serve(max_header_size=2048)
        sock = self.connect()
        sock.sendall(b'GET /?%s HTTP/1.1\r\nHost: x\r\n\r\n' % (b'a' * 4096))
        status, body = self.answer(sock)
        self.assertEqual(414, status)
        self.assertEC2Error('InvalidRequest', body)
        self.assertEqual([], self.app.ports)

    def test_body_too_large_read_no_further(self):
        self.serve(max_request_size=4096)
        sock = self.connect()
        sock.sendall(b'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: '
                     b'1000000000\r\n\r\nAction=')
        status, body = self.answer(sock)
        self.assertEqual(413, status)
        self.assertEC2Error('InvalidRequest', body)
        self.assertIn(b'exceeds the maximum', body)
        self.assertEqual(b'', sock.recv(100))
        self.assertEqual([], self.app.ports)

    def test_chunked_body_too_large(self):
        self.serve(max_request_size=4096)
        sock = self.connect()
        sock.sendall(b'POST / HTTP/1.1\r\nHost: x\r\n'
                     b'Transfer-Encoding: chunked\r\n\r\n'
                     + b'800\r\n' + b'a' * 2048 + b'\r\n' * 1
                     + b'800\r\n' + b'a' * 2048 + b'\r\n')
        status, body = self.answer(sock)
        self.assertEqual(413, status)
        self.assertEC2Error('InvalidRequest', body)
        self.assertIn(b'exceeds the maximum', body)
        self.assertEqual([], self.app.ports)

    def test_chunked_body_within_limit_reaches_the_app(self):
        self.serve(max_request_size=4096)
        sock = self.connect()
        form = b'Action=DescribeRegions&Version=2016-11-15'
        sock.sendall(b'POST / HTTP/1.1\r\nHost: x\r\n'
                     b'Content-Type: application/x-www-form-urlencoded\r\n'
                     b'Transfer-Encoding: chunked\r\n\r\n'
                     b'%x\r\n%s\r\n0\r\n\r\n' % (len(form), form))
        status, body = self.answer(sock)
        # Unsigned: the app's own EC2 error.
        self.assertEqual(401, status)
        self.assertEC2Error('MissingAuthenticationToken', body)
        self.assertEqual(1, len(self.app.ports))

    def test_boto3_gets_an_ec2_error_for_a_large_body(self):
        self.serve(max_request_size=4096)
        ec2 = self.ec2()
        error = self.assertRaises(
            botocore.exceptions.ClientError, ec2.describe_volumes,
            VolumeIds=['vol-%017x' % n for n in range(1000)])
        self.assertEqual('InvalidRequest', error.response['Error']['Code'])
        self.assertEqual(
            413, error.response['ResponseMetadata']['HTTPStatusCode'])
        self.assertEqual([], ec2.describe_volumes()['Volumes'])

    def test_app_error_is_a_500_without_detail(self):
        logger = self.useFixture(fixtures.FakeLogger(
            name='ebsboot.api.server', level=logging.INFO))
        self.serve(app=_failing_app)
        sock = self.connect()
        sock.sendall(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
        status, body = self.answer(sock)
        self.assertEqual(500, status)
        self.assertEC2Error('InternalError', body)
        self.assertNotIn(b'secret detail', body)
        self.assertNotIn(b'Traceback', body)
        self.assertIn('secret detail of a bug', logger.output)

    def test_requests_logged(self):
        logger = self.useFixture(fixtures.FakeLogger(
            name='ebsboot.api.server', level=logging.DEBUG))
        self.serve()
        self.ec2().describe_regions()
        self.assertIn('"POST / HTTP/1.1" 200', logger.output)


class TLSTest(ServerTestCase):

    def setUp(self):
        super().setUp()
        self.cert, key = tlsutil.make_cert(self.state)
        self.server = self.serve(ssl_cert_file=self.cert, ssl_key_file=key,
                                 client_timeout=30)

    def test_boto3_over_tls(self):
        self.assertEqual('https', self.server.scheme)
        ec2 = self.ec2('https', verify=self.cert)
        regions = ec2.describe_regions()['Regions']
        self.assertTrue(regions[0]['Endpoint'].startswith('https://'))
        self.assertEqual([], ec2.describe_volumes()['Volumes'])
        self.assertEqual(1, len(set(self.app.ports)))

    def test_silent_client_does_not_hold_up_others(self):
        # No handshake from this one; the TLS call below would time out
        # (5 s) if it held the accept loop for the 30 s client timeout.
        silent = self.connect()
        self.assertEqual([], self.ec2('https', verify=self.cert)
                         .describe_volumes()['Volumes'])
        silent.close()

    def test_plain_http_is_refused(self):
        sock = self.connect()
        sock.sendall(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
        try:
            self.assertEqual(b'', sock.recv(100))
        except ConnectionResetError:
            pass
        self.assertEqual([], self.app.ports)
        context = ssl.create_default_context(cafile=self.cert)
        with context.wrap_socket(self.connect(),
                                 server_hostname='127.0.0.1') as tls:
            tls.sendall(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
            self.assertEqual(401, self.answer(tls)[0])

    def test_cert_without_key_refused(self):
        self.config.config(group='api', ssl_cert_file=self.cert,
                           ssl_key_file=None)
        self.assertRaises(ValueError, api_server.APIServer, self.app,
                          '127.0.0.1', 0)
