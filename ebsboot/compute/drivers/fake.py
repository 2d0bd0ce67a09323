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

    def _delay(self):
        if self.conf.fake_compute.delay:
            time.sleep(self.conf.fake_compute.delay)

    def spawn(self, instance, block_device_info):
        self._delay()
        with self._lock:
            self.calls.append(('spawn', instance['id']))
            if self.guests.get(instance['id'], {}).get('state') == \
                    driver.POWER_RUNNING:
                return
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

    def attach_volume(self, instance, connection_info, device_name):
        with self._lock:
            guest = self.guests[instance['id']]
            guest['block_device_info'].append(
                {'device_name': device_name, 'boot_index': -1,
                 'connection_info': connection_info})

    def detach_volume(self, instance, connection_info, device_name):
        with self._lock:
            guest = self.guests.get(instance['id'])
            if guest:
                guest['block_device_info'] = [
                    d for d in guest['block_device_info']
                    if d['device_name'] != device_name]

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
