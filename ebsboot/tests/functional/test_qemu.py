"""Real guests: the libvirt driver boots the demo guest from its EBS root.

The demo guest (``tools/build-demo-guest``) counts its boots in a block of
its root volume and prints ``boot-count=N`` on the serial console, so the
console shows whether a boot saw the data of the previous ones. Guests run
under QEMU's TCG emulation; the tests of a class run one after the other
(see ``group_regex`` in .stestr.conf), and a lock keeps the classes apart,
so that at most two guests run at a time.
"""

import collections
import fcntl
import json
import os
import sqlite3
import subprocess
import time
from xml.etree import ElementTree as ET

import fixtures
import libvirt

from ebsboot.compute.drivers.libvirt import network as libvirt_network
from ebsboot.tests.functional import base
from ebsboot.tests.functional import test_instances

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
GUEST_DIR = os.environ.get('EBSBOOT_DEMO_GUEST_DIR',
                           os.path.join(TOP, '.cache', 'demo-guest'))
BOOT_TIMEOUT = 180
CONF = '[libvirt]\nvirt_type = qemu\nshutdown_timeout = 60\n'
# Nova's kernel command line, which the libvirt driver uses by default.
DEFAULT_CMDLINE = 'root=/dev/vda console=tty0 console=ttyS0 console=hvc0'

GuestFiles = collections.namedtuple('GuestFiles', 'disk kernel initrd')
# The demo guest's version (tools/build-demo-guest) the tests need.
GUEST_VERSION = '2'


def demo_guest_files():
    """The demo guest's disk, kernel and initrd, built on first use.

    A cache from before the build also left the kernel and initrd, or of
    an older version of the guest, is built again.
    """
    files = GuestFiles(*(os.path.join(GUEST_DIR, 'demo-guest.' + ext)
                         for ext in ('raw', 'vmlinuz', 'initrd')))
    version = os.path.join(GUEST_DIR, 'demo-guest.version')
    try:
        with open(version) as f:
            current = f.read().strip() == GUEST_VERSION
    except FileNotFoundError:
        current = False
    if not current or not all(os.path.exists(path) for path in files):
        subprocess.run([os.path.join(TOP, 'tools', 'build-demo-guest'),
                        GUEST_DIR], check=True, capture_output=True)
    return files


class QemuLock(fixtures.Fixture):
    """One QEMU test class at a time, across the test workers."""

    def _setUp(self):
        os.makedirs(GUEST_DIR, exist_ok=True)
        lock = open(os.path.join(GUEST_DIR, '.qemu-tests.lock'), 'w')
        self.addCleanup(lock.close)
        fcntl.flock(lock, fcntl.LOCK_EX)
        self.addCleanup(fcntl.flock, lock, fcntl.LOCK_UN)


class QemuTestMixin(test_instances.EbsTestMixin):

    def start_cloud(self, extra_conf=''):
        """A cloud with the libvirt driver; the demo guest's files."""
        self.useFixture(QemuLock())
        files = demo_guest_files()
        self.cloud = self.useFixture(base.Cloud(compute_driver='libvirt',
                                                extra_conf=CONF + extra_conf))
        self.ec2 = self.cloud.client()
        # After the guests (clean-ups run last first): their subnets'
        # bridges, namespaces and dnsmasq.
        self.addCleanup(libvirt_network.SubnetNetworks(
            os.path.join(self.cloud.state, 'networks')).teardown_all)
        self.addCleanup(self._destroy_leftover_domains)
        self.snapshot_id = json.loads(self.cloud.manage(
            'snapshot', 'import', files.disk, '--project', 'alpha',
            '--format', 'json'))['snapshot_id']
        return files

    def register_demo_guest(self, name='demo-guest', **kwargs):
        return self.ec2.register_image(
            Name=name, RootDeviceName='/dev/vda',
            BlockDeviceMappings=[{'DeviceName': '/dev/vda', 'Ebs': {
                'SnapshotId': self.snapshot_id}}], **kwargs)['ImageId']

    def _destroy_leftover_domains(self):
        """A failed test must not leave QEMU processes behind."""
        conn = libvirt.open('qemu:///system')
        try:
            for domain in conn.listAllDomains():
                if domain.name()[len('ebsboot-'):] not in self._uuids():
                    continue
                try:
                    if domain.isActive():
                        domain.destroy()
                    domain.undefine()
                except libvirt.libvirtError:
                    pass    # gone meanwhile
        finally:
            conn.close()

    def _uuids(self, sql='SELECT id FROM instances', *args):
        db = sqlite3.connect(os.path.join(self.cloud.state,
                                          'ebsboot.sqlite'))
        try:
            return {row[0] for row in db.execute(sql, args)}
        finally:
            db.close()

    def domain_xml(self, instance_id):
        """The libvirt domain of an instance, parsed."""
        [uuid] = self._uuids('SELECT id FROM instances WHERE ec2_id = ?',
                             instance_id)
        conn = libvirt.open('qemu:///system')
        try:
            return ET.fromstring(
                conn.lookupByUUIDString(uuid).XMLDesc(0))
        finally:
            conn.close()

    def wait_console(self, instance_id, text, timeout=BOOT_TIMEOUT):
        return base.wait_for(
            lambda: text in self.console(self.ec2, instance_id),
            timeout=timeout, interval=1,
            what='%r on the console of %s' % (text, instance_id))

    def run_one(self, image_id=None, **kwargs):
        return self.ec2.run_instances(
            ImageId=image_id or self.image_id, MinCount=1, MaxCount=1,
            InstanceType='t2.nano', **kwargs)['Instances'][0]['InstanceId']


class QemuGuestTest(base.FunctionalTestCase, QemuTestMixin):

    def setUp(self):
        super().setUp()
        self.start_cloud()
        self.image_id = self.register_demo_guest()

    def test_data_survives_stop_start_and_create_image(self):
        ec2 = self.ec2
        started = time.monotonic()
        instance_id = self.run_one()
        self.wait_state(ec2, instance_id, 'running', timeout=60)
        self.wait_console(instance_id, 'boot-count=1')
        self.wait_console(instance_id, 'demo guest ready')
        first_boot = time.monotonic() - started

        ec2.stop_instances(InstanceIds=[instance_id])
        self.wait_state(ec2, instance_id, 'stopped', timeout=90)
        # The console of a stopped instance is still there.
        self.assertIn('boot-count=1', self.console(ec2, instance_id))
        ec2.start_instances(InstanceIds=[instance_id])
        self.wait_state(ec2, instance_id, 'running', timeout=60)
        self.wait_console(instance_id, 'boot-count=2')
        self.wait_console(instance_id, 'demo guest ready')

        image_id = ec2.create_image(InstanceId=instance_id,
                                    Name='demo-after-two-boots')['ImageId']
        base.wait_for(lambda: ec2.describe_images(ImageIds=[image_id])[
            'Images'][0]['State'] == 'available', timeout=180,
            interval=1, what='image available')
        ec2.terminate_instances(InstanceIds=[instance_id])
        self.wait_state(ec2, instance_id, 'terminated', timeout=90)

        child = self.run_one(image_id)
        self.wait_console(child, 'boot-count=3')
        ec2.terminate_instances(InstanceIds=[child])
        self.wait_state(ec2, child, 'terminated', timeout=90)
        base.wait_for(lambda: not ec2.describe_volumes()['Volumes'],
                      timeout=60, what='root volumes deleted')
        self.assertLess(first_boot, BOOT_TIMEOUT)

    def test_guest_poweroff_follows_shutdown_behaviour(self):
        ec2 = self.ec2
        gone = self.run_one(UserData='poweroff',
                            InstanceInitiatedShutdownBehavior='terminate')
        kept = self.run_one(UserData='poweroff',
                            InstanceInitiatedShutdownBehavior='stop')
        self.wait_console(gone, 'user-data: poweroff')
        terminated = self.wait_state(ec2, gone, 'terminated',
                                     timeout=BOOT_TIMEOUT)
        self.assertEqual('Client.InstanceInitiatedShutdown',
                         terminated['StateReason']['Code'])
        stopped = self.wait_state(ec2, kept, 'stopped',
                                  timeout=BOOT_TIMEOUT)
        self.assertEqual('Client.InstanceInitiatedShutdown',
                         stopped['StateReason']['Code'])
        volumes = ec2.describe_volumes()['Volumes']
        self.assertEqual({kept}, {a['InstanceId'] for v in volumes
                                  for a in v['Attachments']})
        ec2.start_instances(InstanceIds=[kept])
        self.wait_console(kept, 'boot-count=2')
        self.wait_state(ec2, kept, 'stopped', timeout=BOOT_TIMEOUT)
        ec2.terminate_instances(InstanceIds=[kept])
        self.wait_state(ec2, kept, 'terminated', timeout=90)

    def test_create_image_without_reboot(self):
        ec2 = self.ec2
        instance_id = self.run_one()
        self.wait_console(instance_id, 'demo guest ready')
        image_id = ec2.create_image(InstanceId=instance_id, NoReboot=True,
                                    Name='demo-no-reboot')['ImageId']
        base.wait_for(lambda: ec2.describe_images(ImageIds=[image_id])[
            'Images'][0]['State'] == 'available', timeout=120, interval=1,
            what='image available')
        # The guest ran on while its volume was copied, never rebooted.
        self.wait_state(ec2, instance_id, 'running')
        console = self.console(ec2, instance_id)
        self.assertNotIn('boot-count=2', console)
        ec2.terminate_instances(InstanceIds=[instance_id])
        self.wait_state(ec2, instance_id, 'terminated', timeout=90)
        child = self.run_one(image_id)
        self.wait_console(child, 'boot-count=2')
        ec2.terminate_instances(InstanceIds=[child])
        self.wait_state(ec2, child, 'terminated', timeout=90)

    def test_terminate_deletes_volumes_after_the_guest_is_gone(self):
        ec2 = self.ec2
        instance_id = self.run_one()
        self.wait_console(instance_id, 'demo guest ready')
        ec2.terminate_instances(InstanceIds=[instance_id])
        self.wait_state(ec2, instance_id, 'terminated', timeout=120)
        base.wait_for(lambda: not ec2.describe_volumes()['Volumes'],
                      timeout=60, what='root volume deleted')
        log = self.cloud.log(tail=None)
        destroyed = log.index('Guest %s destroyed' % instance_id)
        deleted = log.index('Deleted volume', destroyed)
        self.assertLess(destroyed, deleted)


class DirectKernelBootTest(base.FunctionalTestCase, QemuTestMixin):
    """A direct kernel boot of the demo guest's EBS root volume.

    The guest's own kernel and initrd, imported as aki/ari images, are the
    image's KernelId and RamdiskId.
    """

    def setUp(self):
        super().setUp()
        files = self.start_cloud()
        self.kernel_id, self.ramdisk_id = (json.loads(self.cloud.manage(
            'image', 'import-' + what, path, '--project', 'alpha',
            '--format', 'json'))['image_id']
            for what, path in (('kernel', files.kernel),
                               ('ramdisk', files.initrd)))
        self.image_id = self.register_demo_guest(
            'demo-guest-kernel', KernelId=self.kernel_id,
            RamdiskId=self.ramdisk_id)

    def test_kernel_and_initrd_boot_the_volume(self):
        ec2 = self.ec2
        instance_id = self.run_one()
        self.wait_state(ec2, instance_id, 'running', timeout=60)
        self.wait_console(instance_id, 'boot-count=1')
        self.wait_console(instance_id, 'demo guest ready')
        # Booted by the kernel itself, with Nova's command line (syslinux
        # would have given "console=ttyS0 panic=-1 quiet").
        self.assertIn('Command line: %s' % DEFAULT_CMDLINE,
                      self.console(ec2, instance_id))
        os_ = self.domain_xml(instance_id).find('os')
        cache = os.path.join(self.cloud.state, 'kernels')
        [kernel_uuid] = self._uuids(
            "SELECT id FROM images WHERE disk_format = 'aki'")
        [ramdisk_uuid] = self._uuids(
            "SELECT id FROM images WHERE disk_format = 'ari'")
        self.assertEqual(
            (os.path.join(cache, kernel_uuid),
             os.path.join(cache, ramdisk_uuid), DEFAULT_CMDLINE),
            (os_.findtext('kernel'), os_.findtext('initrd'),
             os_.findtext('cmdline')))

        ec2.stop_instances(InstanceIds=[instance_id])
        self.wait_state(ec2, instance_id, 'stopped', timeout=90)
        self.assertIn('demo guest: power button pressed',
                      self.console(ec2, instance_id))
        ec2.start_instances(InstanceIds=[instance_id])
        self.wait_state(ec2, instance_id, 'running', timeout=60)
        self.wait_console(instance_id, 'boot-count=2')
        ec2.terminate_instances(InstanceIds=[instance_id])
        self.wait_state(ec2, instance_id, 'terminated', timeout=90)
        self.assertNotIn('Traceback', self.cloud.log())
