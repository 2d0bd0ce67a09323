"""The embedded HTTP server of the EC2 API, on cheroot.

HTTP/1.1 with keep-alive, a fixed pool of worker threads, a real listen
backlog, timeouts and size limits, and optional TLS, all from the
``[api]`` options. Connections that wait for a request (new or kept
alive) wait in cheroot's selector and hold no thread.

Production deployments may instead serve ``ebsboot.wsgi.api:application``
with uWSGI or gunicorn.
"""

import io
import logging as std_logging
import ssl
import threading
import time

from cheroot import errors as cheroot_errors
from cheroot import server as cheroot_server
from cheroot.ssl import builtin as cheroot_tls
from cheroot import wsgi as cheroot_wsgi
from oslo_log import log as logging
from oslo_utils import uuidutils

from ebsboot.api.ec2 import xmlutil
from ebsboot.conf import CONF

LOG = logging.getLogger(__name__)

SERVER_NAME = 'ebsboot'


class _LogStream:
    """``wsgi.errors`` that writes to the log instead of stderr."""

    def write(self, text):
        if text.strip():
            LOG.error('%s', text.rstrip())

    def flush(self):
        pass

    def writelines(self, lines):
        for line in lines:
            self.write(line)


class _Application:
    """The WSGI app behind the server: request log and chunked bodies.

    A chunked body has no Content-Length for the app to check, and cheroot
    stops reading it at the size limit by raising in the middle of the
    app; it is read here first, within the limit, so that the app sees an
    ordinary body and an oversized one is answered 413.
    """

    def __init__(self, app):
        self.app = app
        self.errors = _LogStream()

    def __call__(self, environ, start_response):
        started = time.monotonic()
        environ['wsgi.errors'] = self.errors
        answer = {}

        def logged_start_response(status, headers, exc_info=None):
            answer['status'] = status
            return start_response(status, headers, exc_info)

        refusal = None
        if environ.get('wsgi.input_terminated') and \
                'CONTENT_LENGTH' not in environ:
            refusal = _read_chunked(environ)
        if refusal:
            result = _refuse(logged_start_response, *refusal)
        else:
            result = self.app(environ, logged_start_response)
        if LOG.isEnabledFor(std_logging.DEBUG):
            # The path without the query string, which may carry a
            # signature.
            LOG.debug('%s "%s %s %s" %s %.1f ms',
                      environ.get('REMOTE_ADDR'),
                      environ.get('REQUEST_METHOD'),
                      environ.get('PATH_INFO'),
                      environ.get('SERVER_PROTOCOL'),
                      answer.get('status', '-').split(' ', 1)[0],
                      (time.monotonic() - started) * 1000)
        return result


# EC2 codes of the errors the server answers itself (else InvalidRequest).
_ERROR_CODES = {'500': 'InternalError', '503': 'Unavailable'}


def _ec2_error(status, message):
    """The headers and body of an EC2 error document for ``status``."""
    body = xmlutil.render_error(_ERROR_CODES.get(status[:3], 'InvalidRequest'),
                                message or status[4:],
                                uuidutils.generate_uuid())
    return [('Content-Type', 'text/xml;charset=UTF-8'),
            ('Content-Length', str(len(body)))], body


def _read_chunked(environ):
    """Read a chunked body into ``environ``; (status, text) if refused."""
    try:
        body = environ['wsgi.input'].read()
    except cheroot_errors.MaxSizeExceeded:
        return _TOO_LARGE
    except ValueError as e:
        return '400 Bad Request', str(e)
    except OSError as e:
        # cheroot's chunked reader raises a plain OSError at the limit.
        if e.args == (_TOO_LARGE[0][4:],):
            return _TOO_LARGE
        raise
    environ['wsgi.input'] = io.BytesIO(body)
    environ['CONTENT_LENGTH'] = str(len(body))
    return None


_TOO_LARGE = ('413 Request Entity Too Large',
              'The request body exceeds the maximum allowed bytes.')


def _refuse(start_response, status, text):
    headers, body = _ec2_error(status, text)
    start_response(status, headers)
    return [body]


class _TLSAdapter(cheroot_tls.BuiltinSSLAdapter):
    """Leaves the TLS handshake to the worker that reads the first request.

    cheroot shakes hands in the loop that accepts connections, where one
    slow or silent client would hold up every other for the whole
    timeout.
    """

    def wrap(self, sock):
        try:
            tls_sock = self.context.wrap_socket(
                sock, server_side=True, do_handshake_on_connect=False)
        except OSError as e:
            raise cheroot_errors.FatalSSLAlert(*e.args) from e
        return tls_sock, {'wsgi.url_scheme': 'https', 'HTTPS': 'on'}


class _Request(cheroot_server.HTTPRequest):
    """Answers the server's own errors (400, 408, 413, 414, 500) in EC2 XML.

    They come before the EC2 application sees the request; in EC2 XML
    the SDKs report them as errors with a code instead of failing to
    parse the answer.
    """

    def simple_response(self, status, msg=''):
        status = str(status)
        # cheroot closes the connection after each of these (the rest of
        # the request is unread or unreadable).
        self.close_connection = True
        headers, body = _ec2_error(status, str(msg))
        headers.append(('Connection', 'close'))
        head = ''.join('%s: %s\r\n' % header for header in headers)
        try:
            self.conn.wfile.write(('%s %s\r\n%s\r\n' % (
                self.server.protocol, status, head)).encode('latin-1')
                + body)
        except OSError as e:
            if e.args[0] not in cheroot_errors.socket_errors_to_ignore:
                raise


class _Connection(cheroot_server.HTTPConnection):
    """A connection read under ``client_timeout``, TLS after a handshake."""

    RequestHandlerClass = _Request

    def __init__(self, server, sock, makefile=cheroot_server.MakeFile):
        super().__init__(server, sock, makefile)
        # cheroot gives the socket the server's timeout, which here is
        # the keep-alive one.
        sock.settimeout(server.client_timeout)
        self.waited = False
        self.tls_pending = isinstance(sock, ssl.SSLSocket)

    def communicate(self):
        if self.tls_pending:
            try:
                self.socket.do_handshake()
            except (OSError, ValueError) as e:
                LOG.info('TLS handshake with %s failed: %s',
                         self.remote_addr, e)
                return False
            self.tls_pending = False
        return super().communicate()


class _Server(cheroot_wsgi.Server):

    ConnectionClass = _Connection

    client_timeout = 10.0

    def process_conn(self, conn):
        # A new connection waits in the selector, like an idle one, until
        # it sends something: a worker reading it would wait in vain.
        if not conn.waited:
            conn.waited = True
            if self._connections.can_add_keepalive_connection:
                self._connections.put(conn)
            else:
                self._unservicable_conns.put(conn)
            return
        super().process_conn(conn)

    def error_log(self, msg='', level=std_logging.INFO, traceback=False):
        LOG.log(level, '%s', msg, exc_info=traceback)


def _tls_adapter(opts):
    if not (opts.ssl_cert_file or opts.ssl_key_file):
        return None
    if not (opts.ssl_cert_file and opts.ssl_key_file):
        raise ValueError('[api] ssl_cert_file and ssl_key_file go together')
    return _TLSAdapter(opts.ssl_cert_file, opts.ssl_key_file)


class APIServer:
    """Serve a WSGI app on ``host:port`` in a background thread.

    The socket is bound on construction (``port`` is known from then on);
    the other settings come from the ``[api]`` options.
    """

    def __init__(self, app, host, port):
        opts = CONF.api
        tls = _tls_adapter(opts)
        self._server = _Server(
            (host, port), _Application(app),
            numthreads=opts.workers,
            request_queue_size=opts.backlog,
            timeout=opts.keepalive_timeout,
            server_name=SERVER_NAME)
        self._server.client_timeout = opts.client_timeout
        self._server.keep_alive_conn_limit = opts.max_connections
        self._server.max_request_header_size = opts.max_header_size
        self._server.max_request_body_size = opts.max_request_size
        self._server.ssl_adapter = tls
        self._server.prepare()
        self._thread = None

    @property
    def port(self):
        return self._server.bind_addr[1]

    @property
    def scheme(self):
        return 'https' if self._server.ssl_adapter else 'http'

    def start(self):
        self._thread = threading.Thread(target=self._server.serve,
                                        name='ec2-api', daemon=True)
        self._thread.start()

    def stop(self):
        self._server.stop()
        if self._thread is not None:
            self._thread.join()
