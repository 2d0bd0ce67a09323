"""Boot from EBS through the EC2 API of a running all-in-one (fake compute).

The compute driver is the fake one here (guests are bookkeeping; each boot
appends ``boot-count=N`` to the console); volumes and snapshots are real
qcow2 files.
"""

import base64
import glob
import os
import signal

from ebsboot.tests.functional import base


class EbsTestMixin:

    def _volume_files(self):
        return sorted(glob.glob(os.path.join(self.cloud.state, 'volumes',
                                             '*.qcow2')))

    def _snapshot(self, ec2, size=1):
        volume = ec2.create_volume(AvailabilityZone='nova', Size=size)
        self.wait_volume(ec2, volume['VolumeId'])
        snapshot = ec2.create_snapshot(VolumeId=volume['VolumeId'])
        self.wait_snapshot(ec2, snapshot['SnapshotId'])
        ec2.delete_volume(VolumeId=volume['VolumeId'])
        return snapshot

    def _image(self, ec2, name='base-image', size=1):
        snapshot = self._snapshot(ec2, size)
        image = ec2.register_image(
            Name=name, RootDeviceName='/dev/sda1',
            BlockDeviceMappings=[
                {'DeviceName': '/dev/sda1',
                 'Ebs': {'SnapshotId': snapshot['SnapshotId']}},
                {'DeviceName': '/dev/sdb',
                 'Ebs': {'VolumeSize': 2, 'DeleteOnTermination': False}},
                {'DeviceName': '/dev/sdc', 'VirtualName': 'ephemeral0'}])
        return image['ImageId'], snapshot['SnapshotId']

    def wait_state(self, ec2, instance_id, state, timeout=60):
        return base.wait_for(
            lambda: [i for r in ec2.describe_instances(
                InstanceIds=[instance_id])['Reservations']
                for i in r['Instances'] if i['State']['Name'] == state],
            timeout=timeout, what='%s %s' % (instance_id, state))[0]

    def wait_attachment(self, ec2, volume_id, state, timeout=60):
        """The volume once its attachment is in ``state``."""
        return base.wait_for(
            lambda: [v for v in ec2.describe_volumes(
                VolumeIds=[volume_id])['Volumes']
                if [a['State'] for a in v['Attachments']] == [state]],
            timeout=timeout, what='%s %s' % (volume_id, state))[0]

    def console(self, ec2, instance_id):
        # botocore decodes the base64 Output itself.
        return ec2.get_console_output(InstanceId=instance_id).get(
            'Output', '')


class InstanceLifecycleTest(base.FunctionalTestCase, EbsTestMixin):

    def setUp(self):
        super().setUp()
        self.cloud = self.useFixture(base.Cloud())
        self.ec2 = self.cloud.client()

    def test_launch_stop_start_image_terminate(self):
        ec2 = self.ec2
        image_id, snapshot_id = self._image(ec2)
        reservation = ec2.run_instances(
            ImageId=image_id, MinCount=2, MaxCount=2,
            InstanceType='t2.micro',
            BlockDeviceMappings=[{'DeviceName': '/dev/sda1',
                                  'Ebs': {'VolumeSize': 3}}])
        self.assertRegex(reservation['ReservationId'], r'^r-[0-9a-f]{17}$')
        ids = [i['InstanceId'] for i in reservation['Instances']]
        self.assertEqual([0, 1], [i['AmiLaunchIndex']
                                  for i in reservation['Instances']])
        self.assertEqual({'pending'}, {i['State']['Name']
                                       for i in reservation['Instances']})
        first = [self.wait_state(ec2, i, 'running') for i in ids][0]
        self.assertEqual('ebs', first['RootDeviceType'])
        self.assertEqual('/dev/sda1', first['RootDeviceName'])
        devices = {d['DeviceName']: d['Ebs']
                   for d in first['BlockDeviceMappings']}
        self.assertEqual(['/dev/sda1', '/dev/sdb'], sorted(devices))
        self.assertTrue(devices['/dev/sda1']['DeleteOnTermination'])
        self.assertFalse(devices['/dev/sdb']['DeleteOnTermination'])
        self.assertEqual('attached', devices['/dev/sda1']['Status'])
        root = ec2.describe_volumes(
            VolumeIds=[devices['/dev/sda1']['VolumeId']])['Volumes'][0]
        self.assertEqual((3, snapshot_id, 'in-use'),
                         (root['Size'], root['SnapshotId'], root['State']))
        self.assertEqual(ids[0], root['Attachments'][0]['InstanceId'])
        self.assertIn('boot-count=1', self.console(ec2, ids[0]))

        # Stop keeps the id and the volumes; start boots the same root.
        stopping = ec2.stop_instances(InstanceIds=[ids[0]])
        change = stopping['StoppingInstances'][0]
        self.assertEqual((64, 16), (change['CurrentState']['Code'],
                                    change['PreviousState']['Code']))
        stopped = self.wait_state(ec2, ids[0], 'stopped')
        self.assertEqual('Client.UserInitiatedShutdown',
                         stopped['StateReason']['Code'])
        self.assertRegex(stopped['StateTransitionReason'],
                         r'^User initiated \(\d{4}-\d\d-\d\d')
        self.assertEqual(devices['/dev/sda1']['VolumeId'], {
            d['DeviceName']: d['Ebs'] for d in
            stopped['BlockDeviceMappings']}['/dev/sda1']['VolumeId'])
        again = ec2.stop_instances(InstanceIds=[ids[0]])
        self.assertEqual(80, again['StoppingInstances'][0]['CurrentState'][
            'Code'])
        starting = ec2.start_instances(InstanceIds=[ids[0]])
        self.assertEqual((0, 80), (
            starting['StartingInstances'][0]['CurrentState']['Code'],
            starting['StartingInstances'][0]['PreviousState']['Code']))
        self.wait_state(ec2, ids[0], 'running')
        self.assertIn('boot-count=2', self.console(ec2, ids[0]))

        # CreateImage from the running instance (with a reboot).
        new_image = ec2.create_image(InstanceId=ids[0], Name='from-i0',
                                     Description='made by CreateImage')
        base.wait_for(lambda: ec2.describe_images(
            ImageIds=[new_image['ImageId']])['Images'][0]['State'] ==
            'available', what='image available')
        made = ec2.describe_images(ImageIds=[new_image['ImageId']])[
            'Images'][0]
        made_snaps = {m['DeviceName']: m['Ebs']['SnapshotId']
                      for m in made['BlockDeviceMappings'] if 'Ebs' in m}
        self.assertEqual(['/dev/sda1', '/dev/sdb'], sorted(made_snaps))
        snaps = ec2.describe_snapshots(
            SnapshotIds=list(made_snaps.values()))['Snapshots']
        self.assertEqual({'Created by CreateImage(%s) for %s'
                          % (ids[0], new_image['ImageId'])},
                         {s['Description'] for s in snaps})
        self.wait_state(ec2, ids[0], 'running')
        self.assertIn('boot-count=3', self.console(ec2, ids[0]))
        child = ec2.run_instances(ImageId=new_image['ImageId'], MinCount=1,
                                  MaxCount=1)['Instances'][0]['InstanceId']
        self.wait_state(ec2, child, 'running')

        # The image's snapshot cannot go while the image exists.
        self.assertEC2Error('InvalidSnapshot.InUse', ec2.delete_snapshot,
                            SnapshotId=made_snaps['/dev/sda1'])

        # Terminate all: DeleteOnTermination decides each volume's fate.
        all_ids = ids + [child]
        attached = {d['Ebs']['VolumeId']: d['Ebs']['DeleteOnTermination']
                    for i in all_ids
                    for d in self.wait_state(ec2, i, 'running')[
                        'BlockDeviceMappings']}
        result = ec2.terminate_instances(InstanceIds=all_ids)
        self.assertEqual({32}, {c['CurrentState']['Code']
                                for c in result['TerminatingInstances']})
        for instance_id in all_ids:
            self.wait_state(ec2, instance_id, 'terminated')
        kept = [v for v, delete in attached.items() if not delete]
        deleted = [v for v, delete in attached.items() if delete]
        self.assertEqual(3, len(kept))
        base.wait_for(lambda: sorted(
            v['VolumeId'] for v in ec2.describe_volumes()['Volumes']) ==
            sorted(kept), what='only DeleteOnTermination=false volumes')
        for volume in ec2.describe_volumes(VolumeIds=kept)['Volumes']:
            self.assertEqual(('available', []),
                             (volume['State'], volume['Attachments']))
        self.assertEqual(len(kept), len(self._volume_files()))
        self.assertEqual(6, len(deleted) + len(kept) - 0)
        done = ec2.terminate_instances(InstanceIds=[ids[0]])
        self.assertEqual((48, 48), (
            done['TerminatingInstances'][0]['CurrentState']['Code'],
            done['TerminatingInstances'][0]['PreviousState']['Code']))
        self.assertEC2Error('IncorrectInstanceState', ec2.start_instances,
                            InstanceIds=[ids[0]])
        self.assertEC2Error('IncorrectInstanceState', ec2.stop_instances,
                            InstanceIds=[ids[0]])

    def test_launch_errors_and_idempotency(self):
        ec2 = self.ec2
        image_id, snapshot_id = self._image(ec2, size=2)
        other = self._snapshot(ec2)
        run = dict(ImageId=image_id, MinCount=1, MaxCount=1)
        for code, extra in [
                ('InvalidBlockDeviceMapping', {'BlockDeviceMappings': [
                    {'DeviceName': '/dev/sda1', 'Ebs': {'VolumeSize': 1}}]}),
                ('InvalidBlockDeviceMapping', {'BlockDeviceMappings': [
                    {'DeviceName': '/dev/sda1', 'NoDevice': ''}]}),
                ('InvalidBlockDeviceMapping', {'BlockDeviceMappings': [
                    {'DeviceName': 'sda1',
                     'Ebs': {'SnapshotId': other['SnapshotId']}}]}),
                ('InvalidBlockDeviceMapping', {'BlockDeviceMappings': [
                    {'DeviceName': '/dev/sdc',
                     'Ebs': {'SnapshotId': other['SnapshotId']}}]}),
                ('InvalidSnapshot.NotFound', {'BlockDeviceMappings': [
                    {'DeviceName': '/dev/sdd',
                     'Ebs': {'SnapshotId': 'snap-0123456789abcdef0'}}]}),
                ('InvalidParameterValue', {'InstanceType': 'x9.huge'}),
                ('InvalidParameterValue', {'MinCount': 3, 'MaxCount': 2}),
                ('InvalidParameterValue', {
                    'Placement': {'AvailabilityZone': 'elsewhere'}}),
                ('InvalidParameterValue', {
                    'InstanceInitiatedShutdownBehavior': 'hibernate'})]:
            self.assertEC2Error(code, ec2.run_instances, **dict(run, **extra))
        self.assertEC2Error('InvalidAMIID.NotFound', ec2.run_instances,
                            **dict(run, ImageId='ami-0123456789abcdef0'))
        self.assertEC2Error('InvalidAMIID.Malformed', ec2.run_instances,
                            **dict(run, ImageId='image-1'))
        self.assertEqual([], ec2.describe_instances()['Reservations'])
        self.assertEqual([], ec2.describe_volumes()['Volumes'])
        self.assertEqual([], self._volume_files())

        first = ec2.run_instances(ClientToken='tok', **run)
        again = ec2.run_instances(ClientToken='tok', **run)
        self.assertEqual(first['ReservationId'], again['ReservationId'])
        self.assertEqual('tok', again['Instances'][0]['ClientToken'])
        self.assertEC2Error('IdempotentParameterMismatch', ec2.run_instances,
                            ClientToken='tok', InstanceType='t2.small',
                            **run)
        self.assertEqual(1, len(ec2.describe_instances(Filters=[
            {'Name': 'client-token', 'Values': ['tok']}])['Reservations']))

    def test_protection_attributes_and_volumes(self):
        ec2 = self.ec2
        image_id, _ = self._image(ec2)
        instance_id = ec2.run_instances(
            ImageId=image_id, MinCount=1, MaxCount=1,
            DisableApiTermination=True,
            InstanceInitiatedShutdownBehavior='terminate',
            UserData='hello')['Instances'][0]['InstanceId']
        self.wait_state(ec2, instance_id, 'running')
        other = ec2.run_instances(ImageId=image_id, MinCount=1,
                                  MaxCount=1)['Instances'][0]['InstanceId']
        self.wait_state(ec2, other, 'running')

        # A protected or unknown id fails the whole request.
        self.assertEC2Error('OperationNotPermitted', ec2.terminate_instances,
                            InstanceIds=[other, instance_id])
        self.assertEC2Error('InvalidInstanceID.NotFound',
                            ec2.terminate_instances,
                            InstanceIds=[other, 'i-0123456789abcdef0'])
        self.assertEqual('running', self.wait_state(ec2, other,
                                                    'running')['State'][
                                                        'Name'])

        attr = ec2.describe_instance_attribute(
            InstanceId=instance_id, Attribute='disableApiTermination')
        self.assertTrue(attr['DisableApiTermination']['Value'])
        attr = ec2.describe_instance_attribute(
            InstanceId=instance_id,
            Attribute='instanceInitiatedShutdownBehavior')
        self.assertEqual('terminate',
                         attr['InstanceInitiatedShutdownBehavior']['Value'])
        attr = ec2.describe_instance_attribute(InstanceId=instance_id,
                                               Attribute='userData')
        self.assertEqual('hello', base64.b64decode(
            attr['UserData']['Value']).decode())
        self.assertEC2Error('InvalidParameterValue',
                            ec2.describe_instance_attribute,
                            InstanceId=instance_id, Attribute='colour')
        self.assertEC2Error('IncorrectInstanceState',
                            ec2.modify_instance_attribute,
                            InstanceId=instance_id,
                            InstanceType={'Value': 't2.small'})
        ec2.modify_instance_attribute(InstanceId=instance_id,
                                      DisableApiTermination={'Value': False})
        ec2.modify_instance_attribute(
            InstanceId=instance_id, BlockDeviceMappings=[
                {'DeviceName': '/dev/sdb',
                 'Ebs': {'DeleteOnTermination': True}}])
        self.assertEC2Error('InvalidInstanceAttributeValue',
                            ec2.modify_instance_attribute,
                            InstanceId=instance_id, BlockDeviceMappings=[
                                {'DeviceName': '/dev/sdz',
                                 'Ebs': {'DeleteOnTermination': True}}])

        # AttachVolume / DetachVolume.
        data = ec2.create_volume(AvailabilityZone='nova', Size=1)['VolumeId']
        self.wait_volume(ec2, data)
        self.assertEC2Error('InvalidParameterValue', ec2.attach_volume,
                            VolumeId=data, InstanceId=instance_id,
                            Device='/dev/sdb')
        attachment = ec2.attach_volume(VolumeId=data, InstanceId=instance_id,
                                       Device='/dev/sdf')
        self.assertEqual('attaching', attachment['State'])
        volume = self.wait_volume(ec2, data, 'in-use')
        self.assertEqual(('/dev/sdf', False),
                         (volume['Attachments'][0]['Device'],
                          volume['Attachments'][0]['DeleteOnTermination']))
        self.wait_attachment(ec2, data, 'attached')
        self.assertEC2Error('VolumeInUse', ec2.attach_volume, VolumeId=data,
                            InstanceId=other, Device='/dev/sdf')
        self.assertEC2Error('VolumeInUse', ec2.delete_volume, VolumeId=data)
        root = [d['Ebs']['VolumeId'] for d in self.wait_state(
            ec2, instance_id, 'running')['BlockDeviceMappings']
            if d['DeviceName'] == '/dev/sda1'][0]
        self.assertEC2Error('IncorrectState', ec2.detach_volume,
                            VolumeId=root)
        ec2.detach_volume(VolumeId=data)
        self.wait_volume(ec2, data, 'available')
        self.assertEC2Error('IncorrectState', ec2.detach_volume,
                            VolumeId=data)

        # Stopped: the root can be detached, and start then refuses.
        ec2.stop_instances(InstanceIds=[instance_id])
        self.wait_state(ec2, instance_id, 'stopped')
        ec2.modify_instance_attribute(InstanceId=instance_id,
                                      InstanceType={'Value': 't2.small'})
        ec2.detach_volume(VolumeId=root)
        self.assertEC2Error('IncorrectInstanceState', ec2.start_instances,
                            InstanceIds=[instance_id])
        ec2.attach_volume(VolumeId=root, InstanceId=instance_id,
                          Device='/dev/sda1')
        ec2.start_instances(InstanceIds=[instance_id])
        running = self.wait_state(ec2, instance_id, 'running')
        self.assertEqual('t2.small', running['InstanceType'])

        status = ec2.describe_instance_status()['InstanceStatuses']
        self.assertEqual(sorted([instance_id, other]),
                         sorted(s['InstanceId'] for s in status))
        ec2.terminate_instances(InstanceIds=[instance_id, other])
        for i in (instance_id, other):
            self.wait_state(ec2, i, 'terminated')
        everything = ec2.describe_instance_status(
            IncludeAllInstances=True)['InstanceStatuses']
        self.assertEqual({'terminated'}, {s['InstanceState']['Name']
                                          for s in everything})
        self.assertEqual([], ec2.describe_instance_status()[
            'InstanceStatuses'])
        # The root was re-attached by hand: DeleteOnTermination false.
        left = {v['VolumeId'] for v in ec2.describe_volumes()['Volumes']}
        self.assertIn(root, left)
        self.assertIn(data, left)


class GuestShutdownTest(base.FunctionalTestCase, EbsTestMixin):
    """A guest that powers itself off follows its shutdown behaviour.

    User data ``poweroff`` makes the fake guest power off after booting;
    the instance is then stopped or terminated as its
    InstanceInitiatedShutdownBehavior says.
    """

    def setUp(self):
        super().setUp()
        self.cloud = self.useFixture(base.Cloud())
        self.ec2 = self.cloud.client()

    def _launch(self, image_id, behaviour):
        return self.ec2.run_instances(
            ImageId=image_id, MinCount=1, MaxCount=1,
            UserData='poweroff',
            InstanceInitiatedShutdownBehavior=behaviour)['Instances'][0][
                'InstanceId']

    def test_shutdown_behaviour(self):
        ec2 = self.ec2
        image_id, _ = self._image(ec2)
        terminating = self._launch(image_id, 'terminate')
        stopping = self._launch(image_id, 'stop')
        gone = self.wait_state(ec2, terminating, 'terminated')
        self.assertEqual('Client.InstanceInitiatedShutdown',
                         gone['StateReason']['Code'])
        stopped = self.wait_state(ec2, stopping, 'stopped')
        self.assertEqual('Client.InstanceInitiatedShutdown',
                         stopped['StateReason']['Code'])
        # The terminated one's root volume went with it; the stopped one
        # keeps its volumes and starts again.
        volumes = ec2.describe_volumes()['Volumes']
        attached = {a['InstanceId'] for v in volumes
                    for a in v['Attachments']}
        self.assertEqual({stopping}, attached)
        ec2.start_instances(InstanceIds=[stopping])
        base.wait_for(lambda: 'boot-count=2' in self.console(ec2, stopping),
                      what='second boot')
        self.wait_state(ec2, stopping, 'stopped')


class CrashRecoveryTest(base.FunctionalTestCase, EbsTestMixin):
    """Kill -9 the all-in-one in the middle of a flow; restart; check."""

    def setUp(self):
        super().setUp()
        self.cloud = self.useFixture(base.Cloud(
            extra_conf='[fake_compute]\ndelay = 3\n'))
        self.ec2 = self.cloud.client()

    def _crash_and_restart(self, instance_id, step):
        process = self.cloud.processes.pop()
        process.send_signal(signal.SIGKILL)
        process.wait()
        self.cloud.start('ebsboot-all-in-one')
        base.wait_for_port(self.cloud.port, self.cloud.processes[-1])
        # The restarted controller picked the flow up where it was.
        self.assertIn('Resuming %s at step %s' % (instance_id, step),
                      self.cloud.log(tail=None))

    def test_crash_during_launch_stop_image_and_terminate(self):
        ec2 = self.ec2
        image_id, _ = self._image(ec2)
        instance_id = ec2.run_instances(
            ImageId=image_id, MinCount=1, MaxCount=1)['Instances'][0][
                'InstanceId']
        base.time.sleep(1.5)   # inside the (slow) spawn
        self._crash_and_restart(instance_id, 'launch_spawn')
        self.wait_state(ec2, instance_id, 'running')

        ec2.stop_instances(InstanceIds=[instance_id])
        base.time.sleep(1)     # inside power_off
        self._crash_and_restart(instance_id, 'stop_power_off')
        self.wait_state(ec2, instance_id, 'stopped')

        ec2.start_instances(InstanceIds=[instance_id])
        self.wait_state(ec2, instance_id, 'running')
        image = ec2.create_image(InstanceId=instance_id, Name='crashy')
        base.time.sleep(1)     # stopping the guest for the image
        self._crash_and_restart(instance_id, 'image_stop')
        base.wait_for(lambda: ec2.describe_images(
            ImageIds=[image['ImageId']])['Images'][0]['State'] ==
            'available', timeout=60, what='image')
        self.wait_state(ec2, instance_id, 'running')

        ec2.terminate_instances(InstanceIds=[instance_id])
        base.time.sleep(1)     # inside destroy
        self._crash_and_restart(instance_id, 'terminate_destroy')
        self.wait_state(ec2, instance_id, 'terminated')
        # Only the DeleteOnTermination=false data volume is left, and no
        # instance is stuck in a transitional state.
        base.wait_for(lambda: len(ec2.describe_volumes()['Volumes']) == 1,
                      what='volumes released')
        self.assertEqual(1, len(self._volume_files()))
        states = {i['State']['Name'] for r in ec2.describe_instances()[
            'Reservations'] for i in r['Instances']}
        self.assertEqual({'terminated'}, states)
