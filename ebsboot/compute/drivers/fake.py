"""A compute driver that keeps guests in memory (unit tests only)."""

import base64
import os
import threading
import time

from ebsboot.compute import driver


def _user_data(instance):
    try:
        return base64.b64decode(instance.get('user_data') or '').strip()
    except ValueError:
        return b''


def _kernel_boot(instance):
    """What a boot line says of a direct kernel boot (the files exist)."""
    kernel = instance.get('kernel_path')
    if not kernel:
        return b''
    ramdisk = instance.get('ramdisk_path')
    return (' direct kernel boot: kernel %d bytes, ramdisk %s, cmdline %s'
            % (os.path.getsize(kernel),
               '%d bytes' % os.path.getsize(ramdisk) if ramdisk else 'none',
               instance.get('kernel_cmdline') or 'default')).encode()


class FakeDriver(driver.ComputeDriver):
    """Guests are dict entries; every operation completes at once.

    Consoles outlive their guests, as a real host's console logs do, and
    each boot appends a line, so tests can count boots; a direct kernel
    boot says so on that line, with the kernel's size. A guest whose user
    data is ``poweroff`` powers itself off right after it boots.
    """

    def __init__(self, conf):
        super().__init__(conf)
        self._lock = threading.Lock()
        self.guests = {}
        self.consoles = {}
        self.calls = []
        # (instance id, device name, device info) of every volume
        # disconnected, in order.
        self.disconnected = []
        # Method name -> the exception its next call raises.
        self.fail = {}

    def _delay(self):
        if self.conf.fake_compute.delay:
            time.sleep(self.conf.fake_compute.delay)

    @staticmethod
    def _device_info(instance, device_name):
        """What os-brick would answer for a volume connected here."""
        return {'type': 'fake', 'path': '/dev/fake/%s%s' % (
            instance['id'], device_name.replace('/dev/', '-'))}

    def _device_infos(self, instance, block_device_info):
        return {d['device_name']: self._device_info(instance,
                                                    d['device_name'])
                for d in block_device_info if d.get('connection_info')}

    def init_host(self, host):
        self.host = host

    def get_volume_connector(self):
        host = getattr(self, 'host', None) or self.conf.host
        return {'host': host, 'ip': '127.0.0.1',
                'platform': 'x86_64', 'os_type': 'linux',
                'multipath': False, 'do_local_attach': False,
                'initiator': 'iqn.2026-12.org.ebsboot.fake:%s' % host}

    def _disconnect(self, instance, block_device_info):
        for device in block_device_info:
            if device.get('connection_info'):
                self.disconnected.append((instance['id'],
                                          device['device_name'],
                                          device.get('device_info')))

    def spawn(self, instance, block_device_info):
        self._delay()
        with self._lock:
            self.calls.append(('spawn', instance['id']))
            infos = self._device_infos(instance, block_device_info)
            if self.guests.get(instance['id'], {}).get('state') == \
                    driver.POWER_RUNNING:
                return infos
            self.guests[instance['id']] = {
                'state': driver.POWER_RUNNING,
                'block_device_info': block_device_info,
                'kernel_path': instance.get('kernel_path'),
                'ramdisk_path': instance.get('ramdisk_path'),
                'kernel_cmdline': instance.get('kernel_cmdline'),
            }
            if _user_data(instance) == b'poweroff':
                # As the demo guest does: power off right after booting.
                self.guests[instance['id']]['state'] = driver.POWER_SHUTDOWN
            boots = self.consoles.get(instance['id'], b'').count(b'\n') + 1
            self.consoles[instance['id']] = self.consoles.get(
                instance['id'], b'') + b'fake guest %s boot-count=%d%s\n' % (
                    instance['ec2_id'].encode(), boots,
                    _kernel_boot(instance))
        return infos

    def power_off(self, instance, timeout=None):
        self._delay()
        with self._lock:
            self.calls.append(('power_off', instance['id']))
            guest = self.guests.get(instance['id'])
            if guest:
                guest['state'] = driver.POWER_SHUTDOWN

    def destroy(self, instance, block_device_info, delete_files=False):
        self._delay()
        with self._lock:
            self.calls.append(('destroy', instance['id']))
            self.guests.pop(instance['id'], None)
            self._disconnect(instance, block_device_info)
            if delete_files:
                self.consoles.pop(instance['id'], None)

    def reboot(self, instance, timeout=None):
        """A running guest boots again: one more console line."""
        self._delay()
        with self._lock:
            self.calls.append(('reboot', instance['id'], timeout))
            guest = self.guests.get(instance['id'])
            if not guest or guest['state'] != driver.POWER_RUNNING:
                return
            boots = self.consoles.get(instance['id'], b'').count(b'\n') + 1
            self.consoles[instance['id']] += (
                b'fake guest %s boot-count=%d%s\n' % (
                    instance['ec2_id'].encode(), boots,
                    _kernel_boot(guest)))

    def pause(self, instance):
        with self._lock:
            self.calls.append(('pause', instance['id']))

    def unpause(self, instance):
        with self._lock:
            self.calls.append(('unpause', instance['id']))

    def attach_volume(self, instance, connection_info, device_name,
                      volume_id=None):
        with self._lock:
            self.calls.append(('attach_volume', instance['id'], volume_id))
            error = self.fail.pop('attach_volume', None)
            if error is not None:
                raise error
            guest = self.guests[instance['id']]
            if not any(d['device_name'] == device_name
                       for d in guest['block_device_info']):
                guest['block_device_info'].append(
                    {'device_name': device_name, 'boot_index': -1,
                     'volume_id': volume_id,
                     'connection_info': connection_info})
            return self._device_info(instance, device_name)

    def detach_volume(self, instance, connection_info, device_name,
                      volume_id=None, device_info=None):
        with self._lock:
            self.calls.append(('detach_volume', instance['id'], volume_id))
            error = self.fail.pop('detach_volume', None)
            if error is not None:
                raise error
            guest = self.guests.get(instance['id'])
            if guest:
                guest['block_device_info'] = [
                    d for d in guest['block_device_info']
                    if d['device_name'] != device_name]
            self.disconnected.append((instance['id'], device_name,
                                      device_info))

    def snapshot_disks(self, instance, disks):
        """Records the switch in the guest's ``overlays`` (path -> file)."""
        with self._lock:
            self.calls.append(('snapshot_disks', instance['id'],
                               sorted(d['path'] for d in disks)))
            guest = self.guests.get(instance['id'])
            if not guest or guest['state'] != driver.POWER_RUNNING:
                return {d['path']: 'inactive' for d in disks}
            overlays = guest.setdefault('overlays', {})
            for d in disks:
                overlays.setdefault(d['path'], d['overlay'])
            return {d['path']: 'switched' for d in disks}

    def commit_disks(self, instance, disks):
        with self._lock:
            self.calls.append(('commit_disks', instance['id'],
                               sorted(d['path'] for d in disks)))
            guest = self.guests.get(instance['id'])
            if not guest or guest['state'] != driver.POWER_RUNNING:
                return {d['path']: 'inactive' for d in disks}
            overlays = guest.setdefault('overlays', {})
            for d in disks:
                overlays.pop(d['path'], None)
            return {d['path']: 'committed' for d in disks}

    def extend_disks(self, instance, disks):
        """Records the new sizes in the guest's ``disk_sizes``."""
        with self._lock:
            self.calls.append(('extend_disks', instance['id'],
                               sorted(d['path'] for d in disks)))
            guest = self.guests.get(instance['id'])
            if not guest or guest['state'] != driver.POWER_RUNNING:
                return {d['path']: 'inactive' for d in disks}
            sizes = guest.setdefault('disk_sizes', {})
            for d in disks:
                sizes[d['path']] = d['size']
            return {d['path']: 'extended' for d in disks}

    def get_power_state(self, instance):
        guest = self.guests.get(instance['id'])
        return guest['state'] if guest else driver.POWER_NOSTATE

    def get_console_output(self, instance):
        return self.consoles.get(instance['id'], b'')

    def list_instance_ids(self):
        return list(self.guests)
