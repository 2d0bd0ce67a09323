#!/usr/bin/env python3
"""Answer every request with one file's bytes: the client's floor.

``replay_server.py BODY PORT`` serves ``BODY`` (an EC2 XML answer) to
every POST on 127.0.0.1:PORT, over HTTP/1.1 with keep-alive, without
reading the request beyond its body. A boto3 call against it costs what
the client alone costs for that answer (signing, sending, botocore's
parse): no server can answer the same bytes faster. ec2_instances.py
times it beside ebsboot and moto.
"""

import http.server
import sys


def make_handler(body):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def do_POST(self):
            self.rfile.read(int(self.headers.get('Content-Length') or 0))
            self.send_response(200)
            self.send_header('Content-Type', 'text/xml;charset=UTF-8')
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt, *args):
            pass

    return Handler


def main(argv):
    path, port = argv
    with open(path, 'rb') as f:
        body = f.read()
    server = http.server.ThreadingHTTPServer(('127.0.0.1', int(port)),
                                             make_handler(body))
    server.daemon_threads = True
    server.serve_forever()


if __name__ == '__main__':
    main(sys.argv[1:])
