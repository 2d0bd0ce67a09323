"""ebsboot: EC2 boot-from-EBS for OpenStack-style clouds."""

from oslo_service import backend as _service_backend

# ebsboot runs on native threads. oslo.service (imported by oslo.messaging)
# would otherwise pick its eventlet backend by default; a console script
# may still opt in to eventlet through ebsboot.cmd before this hook is used.
_service_backend.register_backend_default_hook(
    lambda: _service_backend.BackendType.THREADING)
