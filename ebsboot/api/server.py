"""The embedded HTTP server of the EC2 API (threaded, stdlib only).

Production deployments may serve ``ebsboot.wsgi.api:application`` with
uwsgi or gunicorn instead.
"""

import socketserver
import threading
from wsgiref import simple_server

from oslo_log import log as logging

LOG = logging.getLogger(__name__)


class _RequestHandler(simple_server.WSGIRequestHandler):

    def log_message(self, fmt, *args):
        LOG.debug('%s %s', self.client_address[0], fmt % args)

    def get_stderr(self):
        # wsgiref prints handler errors to stderr; ours go to the log.
        return _LogStream()


class _LogStream:

    def write(self, text):
        if text.strip():
            LOG.error('%s', text.rstrip())

    def flush(self):
        pass


class _ThreadingServer(socketserver.ThreadingMixIn,
                       simple_server.WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class APIServer:
    """Serve a WSGI app on ``host:port`` in a background thread."""

    def __init__(self, app, host, port):
        self._httpd = simple_server.make_server(
            host, port, app, server_class=_ThreadingServer,
            handler_class=_RequestHandler)
        self._thread = None

    @property
    def port(self):
        return self._httpd.server_address[1]

    def start(self):
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        name='ec2-api', daemon=True)
        self._thread.start()

    def stop(self):
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()
