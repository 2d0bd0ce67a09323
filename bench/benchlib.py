"""Helpers the benchmark scripts share."""

import socket
import time


class BenchError(Exception):
    """Something broke; the benchmark cannot go on."""


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def poll(predicate, timeout, what, interval=0.2):
    """The first true result of ``predicate``; BenchError after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise BenchError('timed out after %d s waiting for %s'
                             % (timeout, what))
        time.sleep(interval)
