"""Helpers the benchmark scripts share."""

import os
import shutil
import socket
import sys
import time

# The bin folder of the virtualenv running the benchmark, where ebsboot's
# console scripts are.
BIN = os.path.dirname(sys.executable)


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


def ebsboot_bin(name):
    """The path of ebsboot's console script ``name``."""
    path = os.path.join(BIN, name)
    if os.path.exists(path):
        return path
    found = shutil.which(name)
    if not found:
        raise BenchError('%s not found: run with the python of a '
                         'virtualenv where ebsboot is installed' % name)
    return found
