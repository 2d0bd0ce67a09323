"""A compute driver that keeps guests in memory (unit tests only)."""

import threading

from ebsboot.compute import driver


class FakeDriver(driver.ComputeDriver):
    """Guests are dict entries; every operation completes at once."""

    def __init__(self, conf):
        super().__init__(conf)
        self._lock = threading.Lock()
        self.guests = {}

    def spawn(self, instance, block_device_info):
        with self._lock:
            self.guests[instance['id']] = {
                'state': driver.POWER_RUNNING,
                'block_device_info': block_device_info,
                'console': b'fake guest %s booted\n' % (
                    instance['ec2_id'].encode()),
            }

    def power_off(self, instance, timeout=0):
        with self._lock:
            guest = self.guests.get(instance['id'])
            if guest:
                guest['state'] = driver.POWER_SHUTDOWN

    def destroy(self, instance, block_device_info):
        with self._lock:
            self.guests.pop(instance['id'], None)

    def get_power_state(self, instance):
        guest = self.guests.get(instance['id'])
        return guest['state'] if guest else driver.POWER_NOSTATE

    def get_console_output(self, instance):
        guest = self.guests.get(instance['id'])
        return guest['console'] if guest else b''

    def list_instance_ids(self):
        return list(self.guests)
