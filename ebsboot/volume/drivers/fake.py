"""A volume driver that keeps volumes in memory (unit tests only).

Volumes and snapshots are dict entries and every operation completes at
once. Each volume has a ``data`` dict that tests may fill: a snapshot takes
a copy of it, and a volume made from a snapshot starts with a copy of the
snapshot's, so the layers above can check point-in-time semantics without
qemu-img. An imported snapshot's ``data`` is ``{'image': (path, format)}``
(the source file must be open; it is not read). ``calls`` records
``(method, id)`` pairs and ``fail_next`` makes the next call of a method
raise. ``connections`` maps a volume id to its exports, each
``{'connector': ..., 'instance_id': ...}``.
"""

import copy
import threading

from ebsboot import exception
from ebsboot.volume import driver


class FakeDriver(driver.VolumeDriver):
    """Volumes are dict entries; every operation completes at once."""

    capacity_gb = 1000

    def __init__(self, conf):
        super().__init__(conf)
        self._lock = threading.Lock()
        self._failures = {}
        self.volumes = {}
        self.snapshots = {}
        self.connections = {}
        self.calls = []

    def fail_next(self, method, error=None):
        """Make the next call of ``method`` raise ``error``."""
        self._failures[method] = error or exception.VolumeDriverError(
            'injected failure of %s' % method)

    def _call(self, method, resource_id):
        self.calls.append((method, resource_id))
        error = self._failures.pop(method, None)
        if error is not None:
            raise error

    @staticmethod
    def _location(kind, resource_id):
        return 'fake://%s/%s' % (kind, resource_id)

    def create_volume(self, volume):
        with self._lock:
            self._call('create_volume', volume['id'])
            self.volumes.setdefault(volume['id'], {
                'size': volume['size'],
                'snapshot_id': None,
                'data': {},
            })
        return {'provider_location': self._location('volume', volume['id'])}

    def create_volume_from_snapshot(self, volume, snapshot):
        with self._lock:
            self._call('create_volume_from_snapshot', volume['id'])
            if volume['id'] not in self.volumes:
                source = self.snapshots.get(snapshot['id'])
                if source is None:
                    raise exception.VolumeDriverError(
                        'snapshot %s does not exist' % snapshot['id'])
                if volume['size'] < source['volume_size']:
                    raise exception.VolumeDriverError(
                        'volume %s is smaller than snapshot %s' % (
                            volume['id'], snapshot['id']))
                self.volumes[volume['id']] = {
                    'size': volume['size'],
                    'snapshot_id': snapshot['id'],
                    'data': copy.deepcopy(source['data']),
                }
        return {'provider_location': self._location('volume', volume['id'])}

    def delete_volume(self, volume):
        with self._lock:
            self._call('delete_volume', volume['id'])
            self.volumes.pop(volume['id'], None)
            self.connections.pop(volume['id'], None)

    def create_snapshot(self, snapshot, volume, progress=None):
        with self._lock:
            self._call('create_snapshot', snapshot['id'])
            if snapshot['id'] not in self.snapshots:
                source = self.volumes.get(volume['id'])
                if source is None:
                    raise exception.VolumeDriverError(
                        'volume %s does not exist' % volume['id'])
                self.snapshots[snapshot['id']] = {
                    'volume_id': volume['id'],
                    'volume_size': source['size'],
                    'data': copy.deepcopy(source['data']),
                }
        return {'provider_location': self._location('snapshot',
                                                    snapshot['id'])}

    def extend_volume(self, volume, new_size):
        with self._lock:
            self._call('extend_volume', volume['id'])
            stored = self.volumes.get(volume['id'])
            if stored is None:
                raise exception.VolumeDriverError(
                    'volume %s does not exist' % volume['id'])
            stored['size'] = max(stored['size'], new_size)

    def guest_disk(self, volume):
        return {'path': self._location('volume', volume['id'])}

    def import_snapshot(self, snapshot, source, source_format):
        with self._lock:
            self._call('import_snapshot', snapshot['id'])
            if snapshot['id'] not in self.snapshots:
                if source.file.closed:
                    raise exception.VolumeDriverError(
                        'image %s is not open' % source.path)
                self.snapshots[snapshot['id']] = {
                    'volume_id': None,
                    'volume_size': snapshot['volume_size'],
                    'data': {'image': (source.path, source_format)},
                }
        return {'provider_location': self._location('snapshot',
                                                    snapshot['id'])}

    def copy_snapshot(self, snapshot, source):
        with self._lock:
            self._call('copy_snapshot', snapshot['id'])
            if snapshot['id'] not in self.snapshots:
                original = self.snapshots.get(source['id'])
                if original is None:
                    raise exception.VolumeDriverError(
                        'snapshot %s does not exist' % source['id'])
                self.snapshots[snapshot['id']] = dict(
                    copy.deepcopy(original), volume_id=None)
        return {'provider_location': self._location('snapshot',
                                                    snapshot['id'])}

    def delete_snapshot(self, snapshot):
        # Volumes made from the snapshot hold their own copy of the data.
        with self._lock:
            self._call('delete_snapshot', snapshot['id'])
            self.snapshots.pop(snapshot['id'], None)

    def initialize_connection(self, volume, connector, instance_id=None):
        with self._lock:
            self._call('initialize_connection', volume['id'])
            if volume['id'] not in self.volumes:
                raise exception.VolumeDriverError(
                    'volume %s does not exist' % volume['id'])
            exports = self.connections.setdefault(volume['id'], [])
            export = {'connector': connector, 'instance_id': instance_id}
            if export not in exports:
                exports.append(export)
        return {
            'driver_volume_type': 'fake',
            'data': {
                'volume_id': volume['id'],
                'device_path': '/dev/fake/volume-%s' % volume['id'],
            },
        }

    def terminate_connection(self, volume, connector, instance_id=None):
        with self._lock:
            self._call('terminate_connection', volume['id'])
            exports = self.connections.get(volume['id'], [])
            export = {'connector': connector, 'instance_id': instance_id}
            if export in exports:
                exports.remove(export)
            if not exports:
                self.connections.pop(volume['id'], None)

    def get_volume_stats(self):
        used = sum(volume['size'] for volume in self.volumes.values())
        return {
            'volume_backend_name': 'fake',
            'vendor_name': 'ebsboot',
            'driver_version': '1.0.0',
            'storage_protocol': 'fake',
            'total_capacity_gb': self.capacity_gb,
            'free_capacity_gb': max(0, self.capacity_gb - used),
        }
