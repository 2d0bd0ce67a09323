"""EBS volumes in a real Cinder on a real Ceph: ``[volume] driver = cinder``.

The module starts one single-node Ceph (``tools/ceph-server``) and one
Cinder on it (``tools/cinder-server``: API, scheduler, volume on RBD,
noauth) for all its tests; each test runs its own ebsboot against them in
a Cinder project of its own, and checks at the end that nothing it made is
left in Cinder, nor any image in the RBD pool or its trash. Skipped when
Ceph is not installed or Cinder's virtualenv cannot be made (no network).
"""

import json
import os
import shutil
import subprocess
import tempfile
import unittest
import uuid

from cinderclient import client as cinder_client
from cinderclient.contrib import noauth
from keystoneauth1 import session as ks_session

from ebsboot.tests.functional import base
from ebsboot.tests.functional import test_qemu

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))
CEPH_TOOL = os.path.join(TOP, 'tools', 'ceph-server')
CINDER_TOOL = os.path.join(TOP, 'tools', 'cinder-server')
NOT_INSTALLED = 3   # both tools: Ceph missing, or no Cinder virtualenv

SERVERS = {}


def _tool(*args):
    return subprocess.run(list(args), capture_output=True, text=True,
                          timeout=600)


def setUpModule():
    top = tempfile.mkdtemp(prefix='ebsboot-cinder-')
    SERVERS['dir'] = top
    ceph_dir = os.path.join(top, 'ceph')
    cinder_dir = os.path.join(top, 'cinder')
    result = _tool(CEPH_TOOL, 'start', ceph_dir, str(base.free_port()))
    if result.returncode == 0:
        SERVERS['ceph'] = ceph_dir
        port = base.free_port()
        result = _tool(CINDER_TOOL, 'start', cinder_dir, str(port),
                       ceph_dir)
        if result.returncode == 0:
            SERVERS['cinder'] = cinder_dir
            SERVERS['url'] = 'http://127.0.0.1:%d/v3' % port
    if 'url' not in SERVERS:
        tearDownModule()
        if result.returncode == NOT_INSTALLED:
            raise unittest.SkipTest('no Ceph or Cinder here: %s'
                                    % result.stderr[-500:])
        raise AssertionError('Ceph or Cinder did not start: %s'
                             % result.stderr[-2000:])
    try:
        env = _tool(CEPH_TOOL, 'env', ceph_dir).stdout
        SERVERS.update(line.split('=', 1) for line in env.splitlines())
        # The Cinder type of gp3 ([cinder] volume_type_map of the tests).
        admin = cinder_client.Client('3.54', session=ks_session.Session(
            auth=noauth.CinderNoAuthPlugin('admin', uuid.uuid4().hex,
                                           endpoint=SERVERS['url'])))
        admin.volume_types.create('fast')
    except Exception:
        # unittest does not call tearDownModule after a failed setUpModule.
        tearDownModule()
        raise


def tearDownModule():
    if 'cinder' in SERVERS:
        _tool(CINDER_TOOL, 'stop', SERVERS['cinder'])
        # The libvirt secret the compute host defined for Cinder's.
        with open(os.path.join(SERVERS['cinder'], 'rbd_secret_uuid')) as f:
            _tool('virsh', '-c', 'qemu:///system', 'secret-undefine',
                  f.read().strip())
    if 'ceph' in SERVERS:
        _tool(CEPH_TOOL, 'stop', SERVERS['ceph'])
    if 'dir' in SERVERS:
        shutil.rmtree(SERVERS['dir'], ignore_errors=True)
    SERVERS.clear()


def rbd(*args):
    result = subprocess.run(
        ['rbd', '-c', SERVERS['CEPH_CONF'], '--format', 'json'] +
        list(args), capture_output=True, text=True, check=True, timeout=60)
    return json.loads(result.stdout or '[]')


class CinderTestCase(base.FunctionalTestCase,
                     test_qemu.QemuTestMixin):

    compute_driver = 'fake'

    def setUp(self):
        super().setUp()
        self.project = uuid.uuid4().hex
        self.cinder = cinder_client.Client(
            '3.54', session=ks_session.Session(
                auth=noauth.CinderNoAuthPlugin(
                    'ebsboot', self.project, endpoint=SERVERS['url'])))
        # Checked last (clean-ups run in reverse): after the cloud stopped.
        self.pool_before = self.pool_contents()
        self.addCleanup(self.assertNothingLeft)

    def cinder_conf(self):
        return ('[volume]\ndriver = cinder\n'
                '[cinder]\nauth_type = noauth\nuser_id = ebsboot\n'
                'project_id = %s\nendpoint = %s\n'
                'status_poll_interval = 0.2\n'
                'volume_type_map = gp3:fast\n'
                'rbd_ceph_conf = %s\nrbd_user = %s\n'
                '[libvirt]\nrbd_keyring_file = %s\n' % (
                    self.project, SERVERS['url'], SERVERS['CEPH_CONF'],
                    SERVERS['CEPH_USER'], SERVERS['CEPH_KEYRING']))

    def start_fake_cloud(self):
        self.cloud = self.useFixture(base.Cloud(
            compute_driver='fake', extra_conf=self.cinder_conf()))
        self.ec2 = self.cloud.client()

    def wait_snapshot(self, ec2, snapshot_id, state='completed'):
        # Cinder on a loaded 2-core machine: minutes, not seconds; and say
        # why a snapshot failed.
        def done():
            [snapshot] = ec2.describe_snapshots(
                SnapshotIds=[snapshot_id])['Snapshots']
            if snapshot['State'] == 'error' and state != 'error':
                raise AssertionError('%s failed: %s\n%s' % (
                    snapshot_id, snapshot.get('StateMessage'),
                    self.cloud.log(3000)))
            return snapshot if snapshot['State'] == state else None
        return base.wait_for(done, timeout=300,
                             what='%s %s' % (snapshot_id, state))

    def wait_volume(self, ec2, volume_id, state='available'):
        def done():
            [volume] = ec2.describe_volumes(VolumeIds=[volume_id])['Volumes']
            if volume['State'] == 'error' and state != 'error':
                raise AssertionError('%s failed:\n%s' % (
                    volume_id, self.cloud.log(3000)))
            return volume if volume['State'] == state else None
        return base.wait_for(done, timeout=300,
                             what='%s %s' % (volume_id, state))

    def cinder_volumes(self):
        return {v.name: v for v in self.cinder.volumes.list()}

    def cinder_snapshots(self):
        return {s.name: s for s in self.cinder.volume_snapshots.list()}

    def assertNothingLeft(self):
        base.wait_for(lambda: not self.cinder.volumes.list() and
                      not self.cinder.volume_snapshots.list(),
                      timeout=30, what='an empty Cinder project')
        base.wait_for(lambda: self.pool_contents() <= self.pool_before,
                      timeout=30, what='nothing new in the RBD pool')

    @staticmethod
    def pool_contents():
        """The images of the RBD pool and of its trash."""
        return set(rbd('ls', SERVERS['CEPH_POOL'])) | {
            'trash:' + entry['name']
            for entry in rbd('trash', 'ls', SERVERS['CEPH_POOL'])}

    def empty_cloud(self, ec2):
        """Delete every image, snapshot and volume the test left."""
        for image in ec2.describe_images(Owners=['self'])['Images']:
            ec2.deregister_image(ImageId=image['ImageId'])
        for volume in ec2.describe_volumes()['Volumes']:
            if volume['State'] != 'deleting':
                ec2.delete_volume(VolumeId=volume['VolumeId'])
        for snapshot in ec2.describe_snapshots(
                OwnerIds=['self'])['Snapshots']:
            ec2.delete_snapshot(SnapshotId=snapshot['SnapshotId'])

        def empty():
            left = [(v['VolumeId'], v['State'])
                    for v in ec2.describe_volumes()['Volumes']] + [
                (s['SnapshotId'], s['State']) for s in
                ec2.describe_snapshots(OwnerIds=['self'])['Snapshots']]
            if any(state == 'error' for _id, state in left):
                raise AssertionError('not deleted: %s\n%s' % (
                    left, self.cloud.log(3000)))
            return not left
        base.wait_for(empty, timeout=300, what='no volume or snapshot left')


class CinderVolumeTest(CinderTestCase):
    """Tests of one class run in one stestr worker: one Ceph and Cinder."""

    def test_volumes_snapshots_and_clones(self):
        self.start_fake_cloud()
        ec2 = self.ec2
        volume = ec2.create_volume(AvailabilityZone='nova', Size=1,
                                   VolumeType='gp3')
        self.assertEqual('creating', volume['State'])
        self.wait_volume(ec2, volume['VolumeId'])
        made = self.cinder_volumes()
        [name] = made
        self.assertTrue(name.startswith('ebsboot-volume-'))
        self.assertEqual((1, 'available', 'fast'), (
            made[name].size, made[name].status, made[name].volume_type))
        # The AWS CLI sees the same.
        _code, described = self.cloud.aws(
            'describe-volumes', '--volume-ids', volume['VolumeId'])
        self.assertEqual(('gp3', 1), (described['Volumes'][0]['VolumeType'],
                                      described['Volumes'][0]['Size']))

        snapshot = ec2.create_snapshot(VolumeId=volume['VolumeId'])
        self.wait_snapshot(ec2, snapshot['SnapshotId'])
        [snap_name] = self.cinder_snapshots()
        self.assertTrue(snap_name.startswith('ebsboot-snapshot-'))

        # A larger volume from the snapshot: an RBD clone.
        _code, clone = self.cloud.aws(
            'create-volume', '--availability-zone', 'nova', '--size', '4',
            '--snapshot-id', snapshot['SnapshotId'])
        clone = self.wait_volume(ec2, clone['VolumeId'])
        self.assertEqual((4, snapshot['SnapshotId']),
                         (clone['Size'], clone['SnapshotId']))
        cloned = [v for v in self.cinder_volumes().values()
                  if v.size == 4]
        self.assertEqual(1, len(cloned))
        self.assertEqual(self.cinder_snapshots()[snap_name].id,
                         cloned[0].snapshot_id)
        # Two images, the clone's parent the snapshot of the first.
        images = self.pool_contents() - self.pool_before
        parent = rbd('info', '%s/volume-%s' % (SERVERS['CEPH_POOL'],
                                               cloned[0].id))
        self.assertEqual(
            ('volume-%s' % made[name].id,
             'snapshot-%s' % self.cinder_snapshots()[snap_name].id),
            (parent['parent']['image'], parent['parent']['snapshot']))
        self.assertEqual({'volume-%s' % made[name].id,
                          'volume-%s' % cloned[0].id}, images)

        # A copy of the snapshot outlives the snapshot and its volume.
        copy = ec2.copy_snapshot(SourceRegion='RegionOne',
                                 SourceSnapshotId=snapshot['SnapshotId'])
        self.wait_snapshot(ec2, copy['SnapshotId'])

        # EC2 deletes a volume that has snapshots; Cinder keeps it hidden.
        ec2.delete_volume(VolumeId=volume['VolumeId'])
        base.wait_for(lambda: not ec2.describe_volumes(
            Filters=[{'Name': 'volume-id',
                      'Values': [volume['VolumeId']]}])['Volumes'],
            what='volume deleted')
        self.assertIn('ebsboot-holder-', ' '.join(self.cinder_volumes()))
        ec2.delete_snapshot(SnapshotId=snapshot['SnapshotId'])
        base.wait_for(lambda: not ec2.describe_snapshots(
            Filters=[{'Name': 'snapshot-id',
                      'Values': [snapshot['SnapshotId']]}])['Snapshots'],
            what='snapshot deleted')
        restored = ec2.create_volume(AvailabilityZone='nova',
                                     SnapshotId=copy['SnapshotId'])
        self.wait_volume(ec2, restored['VolumeId'])

        # Cinder's refusals are EC2 states and errors, never a 500.
        self.assertEC2Error('InvalidSnapshot.NotFound', ec2.create_volume,
                            AvailabilityZone='nova',
                            SnapshotId=snapshot['SnapshotId'])
        self.empty_cloud(ec2)

    def test_register_run_stop_start_image_attach_terminate(self):
        """The boot-from-EBS flow on Cinder volumes (fake compute)."""
        self.start_fake_cloud()
        ec2 = self.ec2
        image_id, snapshot_id = self._image(ec2)
        reservation = ec2.run_instances(
            ImageId=image_id, MinCount=1, MaxCount=1,
            BlockDeviceMappings=[{'DeviceName': '/dev/sda1',
                                  'Ebs': {'VolumeSize': 2}}])
        instance_id = reservation['Instances'][0]['InstanceId']
        running = self.wait_state(ec2, instance_id, 'running')
        devices = {d['DeviceName']: d['Ebs']['VolumeId']
                   for d in running['BlockDeviceMappings']}
        attachments = self.cinder.attachments.list()
        self.assertEqual(2, len(attachments))
        self.assertEqual({'attached'}, {a.status for a in attachments})
        self.assertEqual({'in-use'}, {
            v.status for n, v in self.cinder_volumes().items()
            if n.startswith('ebsboot-volume-')})

        ec2.stop_instances(InstanceIds=[instance_id])
        self.wait_state(ec2, instance_id, 'stopped')
        ec2.start_instances(InstanceIds=[instance_id])
        self.wait_state(ec2, instance_id, 'running')

        new_image = ec2.create_image(InstanceId=instance_id, Name='copy',
                                     NoReboot=True)
        base.wait_for(lambda: ec2.describe_images(
            ImageIds=[new_image['ImageId']])['Images'][0]['State'] ==
            'available', what='image available')

        # Attach and detach a data volume, with the AWS CLI.
        _code, data = self.cloud.aws('create-volume', '--availability-zone',
                                     'nova', '--size', '1')
        self.wait_volume(ec2, data['VolumeId'])
        self.cloud.aws('attach-volume', '--volume-id', data['VolumeId'],
                       '--instance-id', instance_id, '--device', '/dev/sdf')
        self.wait_volume(ec2, data['VolumeId'], 'in-use')
        self.cloud.aws('detach-volume', '--volume-id', data['VolumeId'])
        self.wait_volume(ec2, data['VolumeId'])

        ec2.terminate_instances(InstanceIds=[instance_id])
        self.wait_state(ec2, instance_id, 'terminated')
        # The root went with the instance, /dev/sdb stays.
        base.wait_for(lambda: sorted(
            v['VolumeId'] for v in ec2.describe_volumes()['Volumes']) ==
            sorted([devices['/dev/sdb'], data['VolumeId']]),
            what='only the kept volumes')
        self.assertEqual([], self.cinder.attachments.list())
        self.empty_cloud(ec2)

    def test_real_guest_boots_from_a_cinder_volume(self):
        """QEMU opens the RBD root as a network disk with a cephx secret."""
        self.start_cloud(self.cinder_conf())
        [holder] = self.cinder_volumes()
        self.assertTrue(holder.startswith('ebsboot-holder-'))
        ec2 = self.ec2
        image_id = self.register_demo_guest()
        instance_id = self.run_one(image_id)
        self.wait_state(ec2, instance_id, 'running', timeout=60)
        disk = self.domain_xml(instance_id).find(
            './devices/disk[@type="network"]')
        source = disk.find('source')
        self.assertEqual('rbd', source.get('protocol'))
        self.assertEqual(SERVERS['CEPH_MON'], '%s:%s' % (
            source.find('host').get('name'), source.find('host').get('port')))
        self.assertEqual(SERVERS['CEPH_USER'],
                         disk.find('auth').get('username'))
        self.wait_console(instance_id, 'boot-count=1')
        self.wait_console(instance_id, 'demo guest ready')

        ec2.stop_instances(InstanceIds=[instance_id])
        self.wait_state(ec2, instance_id, 'stopped', timeout=90)
        ec2.start_instances(InstanceIds=[instance_id])
        self.wait_console(instance_id, 'boot-count=2')
        self.wait_console(instance_id, 'demo guest ready')

        new_image = ec2.create_image(InstanceId=instance_id,
                                     Name='after-two-boots')['ImageId']
        base.wait_for(lambda: ec2.describe_images(ImageIds=[new_image])[
            'Images'][0]['State'] == 'available', timeout=180, interval=1,
            what='image available')
        ec2.terminate_instances(InstanceIds=[instance_id])
        self.wait_state(ec2, instance_id, 'terminated', timeout=90)
        child = self.run_one(new_image)
        self.wait_console(child, 'boot-count=3')
        ec2.terminate_instances(InstanceIds=[child])
        self.wait_state(ec2, child, 'terminated', timeout=90)
        self.empty_cloud(ec2)
