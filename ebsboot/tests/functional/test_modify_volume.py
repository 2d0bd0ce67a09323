"""ModifyVolume of the root volume of a running guest: it grows online.

The demo guest boots its kernel directly with Nova's command line (no
``quiet``), so its kernel's note of the new disk size reaches the serial
console: the guest itself saw the volume grow, while it ran.
"""

import json
import os
import subprocess

from botocore import exceptions as botocore_exceptions
from oslo_utils import units

from ebsboot.tests.functional import base
from ebsboot.tests.functional import test_qemu


class ModifyVolumeOnlineTest(base.FunctionalTestCase,
                             test_qemu.QemuTestMixin):

    def setUp(self):
        super().setUp()
        files = self.start_cloud()
        kernel_id, ramdisk_id = (json.loads(self.cloud.manage(
            'image', 'import-' + what, path, '--project', 'alpha',
            '--format', 'json'))['image_id']
            for what, path in (('kernel', files.kernel),
                               ('ramdisk', files.initrd)))
        self.image_id = self.register_demo_guest(
            'demo-guest-kernel', KernelId=kernel_id, RamdiskId=ramdisk_id)

    def _modification(self, volume_id):
        return self.ec2.describe_volumes_modifications(
            VolumeIds=[volume_id])['VolumesModifications'][0]

    def test_root_volume_of_a_running_guest_grows_online(self):
        ec2 = self.ec2
        instance_id = self.run_one()
        self.wait_console(instance_id, 'demo guest ready')
        [volume] = ec2.describe_volumes()['Volumes']
        volume_id, size = volume['VolumeId'], volume['Size']
        self.assertEqual('in-use', volume['State'])
        self.assertEqual(
            'InvalidParameterValue',
            self.assertRaises(botocore_exceptions.ClientError,
                              ec2.modify_volume,
                              VolumeId=volume_id, Size=size - 1
                              if size > 1 else 0).response['Error']['Code'])
        answer = ec2.modify_volume(VolumeId=volume_id, Size=size + 1)[
            'VolumeModification']
        self.assertEqual(('modifying', size, size + 1), (
            answer['ModificationState'], answer['OriginalSize'],
            answer['TargetSize']))
        base.wait_for(lambda: self._modification(volume_id)[
            'ModificationState'] in ('completed', 'failed'), timeout=120,
            interval=1, what='modification finished')
        done = self._modification(volume_id)
        self.assertEqual(('completed', 100), (done['ModificationState'],
                                              done['Progress']),
                         done.get('StatusMessage'))
        # The guest's kernel saw the new size of vda (in 512-byte sectors).
        self.wait_console(
            instance_id, 'vda: detected capacity change from %d to %d' % (
                size * units.Gi // 512, (size + 1) * units.Gi // 512),
            timeout=60)
        self.assertEqual((size + 1, 'in-use'), (
            ec2.describe_volumes(VolumeIds=[volume_id])['Volumes'][0]['Size'],
            ec2.describe_volumes(VolumeIds=[volume_id])['Volumes'][0][
                'State']))
        [uuid] = self._uuids('SELECT id FROM volumes WHERE ec2_id = ?',
                             volume_id)
        path = os.path.join(self.cloud.state, 'volumes',
                            'volume-%s.qcow2' % uuid)
        info = json.loads(subprocess.run(
            ['qemu-img', 'info', '--output=json', '-U', path],
            check=True, capture_output=True).stdout)
        self.assertEqual((size + 1) * units.Gi, info['virtual-size'])
        log = self.cloud.log(tail=None)
        self.assertIn('grew volume %s online' % volume_id, log)
        # The guest ran on: it still answers, and stops cleanly.
        ec2.stop_instances(InstanceIds=[instance_id])
        self.wait_state(ec2, instance_id, 'stopped', timeout=120)
        # Stopped: the volume service grows the file itself.
        ec2.modify_volume(VolumeId=volume_id, Size=size + 2)
        base.wait_for(lambda: self._modification(volume_id)[
            'ModificationState'] in ('completed', 'failed'), timeout=60,
            interval=1, what='second modification finished')
        self.assertEqual('completed',
                         self._modification(volume_id)['ModificationState'])
        info = json.loads(subprocess.run(
            ['qemu-img', 'info', '--output=json', '-U', path],
            check=True, capture_output=True).stdout)
        self.assertEqual((size + 2) * units.Gi, info['virtual-size'])
        self.assertNotIn('Traceback', self.cloud.log(tail=None))


class ModifyVolumeCliTest(base.FunctionalTestCase):
    """ModifyVolume and DescribeVolumesModifications by the AWS CLI.

    An available volume (a real qcow2 file) on the fake compute driver:
    no guest is needed to grow a volume nothing runs on.
    """

    def test_grow_and_retype_with_the_cli(self):
        cloud = self.useFixture(base.Cloud())
        _, volume = cloud.aws('create-volume', '--availability-zone', 'nova',
                              '--size', '1')
        volume_id = volume['VolumeId']
        self.wait_volume(cloud.client(), volume_id)
        _, answer = cloud.aws('modify-volume', '--volume-id', volume_id,
                              '--size', '2', '--volume-type', 'gp3')
        modification = answer['VolumeModification']
        self.assertEqual(
            (volume_id, 'modifying', 1, 2, 'gp2', 'gp3'),
            (modification['VolumeId'], modification['ModificationState'],
             modification['OriginalSize'], modification['TargetSize'],
             modification['OriginalVolumeType'],
             modification['TargetVolumeType']))

        def state():
            _, found = cloud.aws('describe-volumes-modifications',
                                 '--volume-ids', volume_id)
            return found['VolumesModifications'][0]
        done = base.wait_for(lambda: state()['ModificationState'] in (
            'optimizing', 'completed') and state(), what='modified')
        self.assertEqual(2, done['TargetSize'])
        _, described = cloud.aws('describe-volumes', '--volume-ids',
                                 volume_id)
        self.assertEqual((2, 'gp3'), (described['Volumes'][0]['Size'],
                                      described['Volumes'][0]['VolumeType']))
        code, error = cloud.aws('modify-volume', '--volume-id', volume_id,
                                '--size', '1', check=False)
        self.assertNotEqual(0, code)
        self.assertIn('InvalidParameterValue', error)
