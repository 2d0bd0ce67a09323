"""The compute manager: runs guests through the compute driver.

It is the RPC endpoint of the compute service. The controller decides what
should happen and keeps the state; this manager makes the hypervisor do it.
Every method is idempotent, so the controller may repeat a step after a
crash.

An instance with a kernel boots it directly: before the driver's spawn, the
manager downloads the kernel and ramdisk images through the image backend
into this host's cache (``<state_path>/kernels``, see
``ebsboot.image.cache``) and hands the driver their paths.
"""

import base64
import os

from oslo_log import log as logging
import oslo_messaging as messaging
from stevedore import driver as stevedore_driver

from ebsboot.cloud import images as cloud_images
from ebsboot.cloud import rpcapi as cloud_rpcapi
from ebsboot.conf import CONF
from ebsboot import context as ebs_context
from ebsboot.image import backend as image_backend
from ebsboot.image import cache as image_cache

LOG = logging.getLogger(__name__)

BOOT_FILE_FOLDER = 'kernels'
# Nova's image property for the command line of a direct kernel boot.
COMMAND_LINE_PROPERTY = 'os_command_line'


def load_driver(conf=CONF):
    return stevedore_driver.DriverManager(
        'ebsboot.compute.drivers', conf.compute.driver,
        invoke_on_load=True, invoke_args=(conf,)).driver


class ComputeManager:
    target = messaging.Target(version='1.5')

    def __init__(self, host=None, driver=None):
        self.host = host or CONF.host
        self.driver = driver or load_driver()
        self.boot_files = image_cache.BootFileCache(
            os.path.join(CONF.state_path, BOOT_FILE_FOLDER),
            cloud_images.get_backend)

    def init_host(self):
        self.driver.event_callback = self._guest_event
        self.driver.init_host(self.host)

    def _guest_event(self, instance_id, power_state):
        """A guest changed power state by itself: tell the controller."""
        LOG.info('Guest %s is now %s', instance_id, power_state)
        cloud_rpcapi.CloudAPI().guest_power_changed(
            ebs_context.get_admin_context(), instance_id)

    def cleanup_host(self):
        pass

    def spawn(self, context, instance, block_device_info):
        """Boot the guest; ``{device name: os-brick device info}``."""
        LOG.info('Spawning %s', instance['ec2_id'])
        return self.driver.spawn(self._with_boot_files(instance),
                                 block_device_info) or {}

    def get_connector(self, context):
        """This host's os-brick connector properties (1.5)."""
        return self.driver.get_volume_connector()

    def _with_boot_files(self, instance):
        """The instance with what a direct kernel boot needs, if it has one.

        ``kernel_path`` and ``ramdisk_path``: this host's copies of its
        kernel and ramdisk (a ramdisk without a kernel is not used);
        ``kernel_cmdline``: its image's ``os_command_line``, else None (the
        driver's default, Nova's).
        """
        if not instance.get('kernel_id'):
            return instance
        admin = ebs_context.get_admin_context()
        instance = dict(instance,
                        kernel_path=self._boot_file(admin, instance, 'kernel'),
                        kernel_cmdline=self._command_line(admin, instance))
        if instance.get('ramdisk_id'):
            instance['ramdisk_path'] = self._boot_file(admin, instance,
                                                       'ramdisk')
        return instance

    def _boot_file(self, context, instance, kind):
        image_id = instance.get(kind + '_image_id')
        try:
            if image_id:
                return self.boot_files.fetch(context, image_id)
        except LookupError:
            pass
        raise image_backend.ImageDataError(
            'The %s image %s of %s does not exist (any more).'
            % (kind, instance[kind + '_id'], instance['ec2_id']))

    def _command_line(self, context, instance):
        image = None
        if instance.get('image_id'):
            image = cloud_images.get_backend().get(context,
                                                   instance['image_id'])
        if image is None:
            return None
        return image['properties'].get(COMMAND_LINE_PROPERTY) or None

    def power_off(self, context, instance, timeout):
        LOG.info('Powering off %s (timeout %ss)', instance['ec2_id'],
                 timeout)
        self.driver.power_off(instance, timeout)

    def reboot_instance(self, context, instance, timeout=None):
        LOG.info('Rebooting %s', instance['ec2_id'])
        self.driver.reboot(instance, timeout)

    def destroy(self, context, instance, block_device_info,
                delete_files=False):
        LOG.info('Destroying %s', instance['ec2_id'])
        self.driver.destroy(instance, block_device_info,
                            delete_files=delete_files)

    def pause(self, context, instance):
        self.driver.pause(instance)

    def unpause(self, context, instance):
        self.driver.unpause(instance)

    def attach_volume(self, context, instance, connection_info,
                      device_name, volume_id=None):
        """Hot-plug a volume; os-brick's device info (to store)."""
        LOG.info('Attaching volume %s to %s at %s', volume_id,
                 instance['ec2_id'], device_name)
        return self.driver.attach_volume(instance, connection_info,
                                         device_name, volume_id=volume_id)

    def detach_volume(self, context, instance, connection_info,
                      device_name, volume_id=None, device_info=None):
        LOG.info('Detaching volume %s from %s at %s', volume_id,
                 instance['ec2_id'], device_name)
        self.driver.detach_volume(instance, connection_info, device_name,
                                  volume_id=volume_id,
                                  device_info=device_info)

    def snapshot_disks(self, context, instance, disks):
        LOG.info('Switching %d disk(s) of %s to overlays', len(disks),
                 instance['ec2_id'])
        return self.driver.snapshot_disks(instance, disks)

    def commit_disks(self, context, instance, disks):
        LOG.info('Merging %d overlay(s) of %s back', len(disks),
                 instance['ec2_id'])
        return self.driver.commit_disks(instance, disks)

    def extend_disks(self, context, instance, disks):
        LOG.info('Growing %d disk(s) of %s', len(disks), instance['ec2_id'])
        return self.driver.extend_disks(instance, disks)

    def get_power_state(self, context, instance):
        return self.driver.get_power_state(instance)

    def get_power_states(self, context, instances):
        """``get_power_state`` of many guests: one round trip per sweep."""
        states = {}
        for instance in instances:
            try:
                states[instance['id']] = self.driver.get_power_state(
                    instance)
            except Exception:
                LOG.warning('Power state of %s unreadable',
                            instance.get('ec2_id', instance['id']),
                            exc_info=True)
        return states

    def get_console_output(self, context, instance):
        """The console so far, base64-encoded (RPC carries text only)."""
        output = self.driver.get_console_output(instance)
        return base64.b64encode(output).decode('ascii')
