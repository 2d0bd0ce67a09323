"""Console scripts. Importing this package picks the concurrency runtime.

Native threads are the default. ``OS_EBSBOOT_CONCURRENCY=eventlet`` opts in
to eventlet (deprecated across OpenStack): it is imported and the standard
library monkey-patched here, before anything else is imported, and nowhere
else in ebsboot.
"""

import os
import warnings

from oslo_service import backend as _service_backend

CONCURRENCY_ENV = 'OS_EBSBOOT_CONCURRENCY'


def _select_runtime():
    runtime = os.environ.get(CONCURRENCY_ENV, 'threading')
    if runtime == 'eventlet':
        import eventlet  # noqa: the one place ebsboot imports eventlet
        eventlet.monkey_patch()
        _service_backend.init_backend(_service_backend.BackendType.EVENTLET)
    elif runtime == 'threading':
        # futurist probes for eventlet whenever it is installed (oslo.service
        # requires it); that import is not a use of it, so stay quiet.
        warnings.filterwarnings('ignore', message=r'\s*Eventlet is deprecated')
        _service_backend.init_backend(
            _service_backend.BackendType.THREADING)
    else:
        raise SystemExit('%s must be "threading" or "eventlet", not %r'
                         % (CONCURRENCY_ENV, runtime))
    return runtime


RUNTIME = _select_runtime()
