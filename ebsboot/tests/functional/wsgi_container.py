"""A WSGI container for the tests: serves ``ebsboot.wsgi.api:application``.

It does what uWSGI or gunicorn do with one process: import the module
(``OS_EBSBOOT_CONFIG_FILE`` names the configuration) and serve its
``application`` on the ``[api]`` host and port of that file, on threads.
SIGTERM shuts it down and the interpreter exits normally, running the
exit hooks a container runs.
"""

import configparser
import os
import signal
import socketserver
import threading
from wsgiref import simple_server


class _Server(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True


class _Handler(simple_server.WSGIRequestHandler):

    def log_message(self, fmt, *args):
        pass


def main():
    # oslo.config allows a section twice (the later value wins).
    config = configparser.ConfigParser(strict=False)
    config.read(os.environ['OS_EBSBOOT_CONFIG_FILE'])
    host = config.get('api', 'host', fallback='127.0.0.1')
    port = config.getint('api', 'port')
    from ebsboot.wsgi import api
    server = simple_server.make_server(host, port, api.application,
                                       server_class=_Server,
                                       handler_class=_Handler)
    signal.signal(signal.SIGTERM, lambda signum, frame: threading.Thread(
        target=server.shutdown).start())
    server.serve_forever()
    server.server_close()


if __name__ == '__main__':
    main()
