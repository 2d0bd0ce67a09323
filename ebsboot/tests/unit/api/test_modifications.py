"""ModifyVolume and DescribeVolumesModifications on the wire.

The volume and compute services run in this process on their fake drivers,
with the real task runner.
"""

from oslo_utils import units

from ebsboot.cloud import tasks
from ebsboot.compute import manager as compute_manager
from ebsboot.conf import CONF
from ebsboot import context as ebs_context
from ebsboot.db import api as db
from ebsboot.tests.unit.api import wire
from ebsboot.tests.unit import base


class ModifyVolumeTest(wire.WireTestCase, base.ServiceTestCase):

    def setUp(self):
        super().setUp()
        self.start_service(CONF.compute.topic, compute_manager.ComputeManager(
            driver=self.compute_driver))
        tasks.reset_runner()
        tasks.get_runner().start()
        self.addCleanup(tasks.reset_runner)
        self.admin = ebs_context.get_admin_context()

    # Helpers ---------------------------------------------------------------

    def volume(self, project='alpha', size=1, **kwargs):
        volume_id = self.ok('CreateVolume', project=project,
                            AvailabilityZone='nova', Size=size,
                            **kwargs)['VolumeId']
        self.wait_for(lambda: self.described_volume(
            volume_id, project)['State'] == 'available')
        return volume_id

    def described_volume(self, volume_id, project='alpha'):
        return self.ok('DescribeVolumes', project=project,
                       VolumeIds=[volume_id])['Volumes'][0]

    def modification(self, volume_id, project='alpha'):
        return self.ok('DescribeVolumesModifications', project=project,
                       VolumeIds=[volume_id])['VolumesModifications'][0]

    def finished(self, volume_id):
        self.wait_for(lambda: self.modification(volume_id)[
            'ModificationState'] in ('completed', 'failed'))
        return self.modification(volume_id)

    def busy_row(self, volume_id, status='modifying'):
        """An unfinished modification nobody runs (as if in progress)."""
        volume = db.volume_get_by_ec2_id(self.admin, volume_id)
        return db.volume_modification_create(self.admin, {
            'id': 'mod-' + volume.id, 'project_id': volume.project_id,
            'volume_id': volume.id, 'volume_ec2_id': volume.ec2_id,
            'host': 'elsewhere', 'status': status, 'progress': 0,
            'original_size': volume.size, 'target_size': volume.size + 1,
            'original_volume_type': volume.volume_type,
            'target_volume_type': volume.volume_type})

    # ModifyVolume ------------------------------------------------------------

    def test_grow_an_available_volume(self):
        volume_id = self.volume(VolumeType='gp2')
        answer = self.ok('ModifyVolume', VolumeId=volume_id,
                         Size=3)['VolumeModification']
        self.assertEqual(
            (volume_id, 'modifying', 1, 3, 'gp2', 'gp2', 100, 100, 0),
            (answer['VolumeId'], answer['ModificationState'],
             answer['OriginalSize'], answer['TargetSize'],
             answer['OriginalVolumeType'], answer['TargetVolumeType'],
             answer['OriginalIops'], answer['TargetIops'],
             answer['Progress']))
        self.assertIn('StartTime', answer)
        done = self.finished(volume_id)
        self.assertEqual(('completed', 100, 3), (
            done['ModificationState'], done['Progress'], done['TargetSize']))
        self.assertIn('EndTime', done)
        self.assertGreaterEqual(done['EndTime'], done['StartTime'])
        self.assertEqual(3, self.described_volume(volume_id)['Size'])
        volume = db.volume_get_by_ec2_id(self.admin, volume_id)
        self.assertEqual(3, self.volume_driver.volumes[volume.id]['size'])
        self.assertIn(('extend_volume', volume.id), self.volume_driver.calls)

    def test_change_the_type_only(self):
        volume_id = self.volume(VolumeType='gp2')
        self.ok('ModifyVolume', VolumeId=volume_id, VolumeType='gp3')
        done = self.finished(volume_id)
        self.assertEqual(('completed', 'gp2', 'gp3', 1, 1, 3000), (
            done['ModificationState'], done['OriginalVolumeType'],
            done['TargetVolumeType'], done['OriginalSize'],
            done['TargetSize'], done['TargetIops']))
        described = self.described_volume(volume_id)
        self.assertEqual(('gp3', 1, 3000, 125), (
            described['VolumeType'], described['Size'], described['Iops'],
            described['Throughput']))

    def running_instance(self):
        """(instance id, root volume id) of a new running instance."""
        snapshot_id = self.ok('CreateSnapshot',
                              VolumeId=self.volume())['SnapshotId']
        self.wait_for(lambda: self.ok(
            'DescribeSnapshots', SnapshotIds=[snapshot_id])['Snapshots'][0][
            'State'] == 'completed')
        image_id = self.ok('RegisterImage', Name='img',
                           RootDeviceName='/dev/sda1', BlockDeviceMappings=[
                               {'DeviceName': '/dev/sda1',
                                'Ebs': {'SnapshotId': snapshot_id}}])[
            'ImageId']
        instance_id = self.ok('RunInstances', ImageId=image_id, MinCount=1,
                              MaxCount=1)['Instances'][0]['InstanceId']

        def instance():
            return self.ok('DescribeInstances', InstanceIds=[instance_id])[
                'Reservations'][0]['Instances'][0]
        self.wait_for(lambda: instance()['State']['Name'] == 'running')
        volume_id = instance()['BlockDeviceMappings'][0]['Ebs']['VolumeId']
        self.assertEqual('in-use', self.described_volume(volume_id)['State'])
        return instance_id, volume_id

    def test_grow_online_through_the_guests_compute_host(self):
        instance_id, volume_id = self.running_instance()
        self.ok('ModifyVolume', VolumeId=volume_id, Size=2)
        self.assertEqual('completed',
                         self.finished(volume_id)['ModificationState'])
        volume = db.volume_get_by_ec2_id(self.admin, volume_id)
        guest = self.compute_driver.guests[
            db.instance_get_by_ec2_id(self.admin, instance_id).id]
        # The hypervisor grew the file; the volume service did not touch it.
        self.assertEqual({'fake://volume/%s' % volume.id: 2 * units.Gi},
                         guest['disk_sizes'])
        self.assertNotIn(('extend_volume', volume.id),
                         self.volume_driver.calls)
        self.assertEqual((2, 'in-use'), (
            self.described_volume(volume_id)['Size'],
            self.described_volume(volume_id)['State']))

    def test_online_growth_needs_compute_1_3(self):
        _instance_id, volume_id = self.running_instance()
        self.config.config(compute='1.2', group='upgrade_levels')
        self.volume_manager._extender = None
        self.ok('ModifyVolume', VolumeId=volume_id, Size=2)
        failed = self.finished(volume_id)
        self.assertEqual('failed', failed['ModificationState'])
        self.assertIn('cannot grow disks of running guests',
                      failed['StatusMessage'])
        self.assertEqual(1, self.described_volume(volume_id)['Size'])

    def test_volume_of_a_stopped_instance_grows_on_the_volume_host(self):
        instance_id, volume_id = self.running_instance()
        self.ok('StopInstances', InstanceIds=[instance_id])
        self.wait_for(lambda: self.ok(
            'DescribeInstances', InstanceIds=[instance_id])['Reservations'][
            0]['Instances'][0]['State']['Name'] == 'stopped')
        self.ok('ModifyVolume', VolumeId=volume_id, Size=2)
        self.assertEqual('completed',
                         self.finished(volume_id)['ModificationState'])
        volume = db.volume_get_by_ec2_id(self.admin, volume_id)
        self.assertIn(('extend_volume', volume.id), self.volume_driver.calls)
        self.assertNotIn('extend_disks',
                         [c[0] for c in self.compute_driver.calls])

    def test_shrinking_is_refused(self):
        volume_id = self.volume(size=2)
        self.error('InvalidParameterValue', 'ModifyVolume',
                   VolumeId=volume_id, Size=1)
        self.assertEqual([], db.volume_modification_list(self.admin))
        self.error('InvalidVolumeModification.NotFound',
                   'DescribeVolumesModifications', VolumeIds=[volume_id])

    def test_bad_requests_leave_nothing(self):
        volume_id = self.volume(VolumeType='gp2')
        for code, kwargs in [
                ('MissingParameter', {'VolumeId': volume_id}),
                ('InvalidParameterValue', {'VolumeId': volume_id,
                                           'Size': 1}),
                ('InvalidParameterValue', {'VolumeId': volume_id,
                                           'VolumeType': 'gp9'}),
                ('InvalidParameterValue', {'VolumeId': volume_id,
                                           'VolumeType': 'st1'}),
                ('InvalidParameterValue', {'VolumeId': volume_id,
                                           'Size': 1 + CONF.volume
                                           .max_volume_size}),
                ('UnsupportedOperation', {'VolumeId': volume_id,
                                          'Iops': 3000}),
                ('UnsupportedOperation', {'VolumeId': volume_id,
                                          'MultiAttachEnabled': True}),
                ('InvalidVolume.NotFound', {'VolumeId':
                                            'vol-00000000000000000',
                                            'Size': 2}),
                ('InvalidVolumeID.Malformed', {'VolumeId': 'vol-x',
                                               'Size': 2})]:
            self.error(code, 'ModifyVolume', **kwargs)
        self.error('InvalidVolume.NotFound', 'ModifyVolume', project='beta',
                   VolumeId=volume_id, Size=2)
        self.assertEqual([], db.volume_modification_list(self.admin))

    def test_a_second_modification_meanwhile_is_refused(self):
        volume_id = self.volume()
        for status, state in (('modifying', 'MODIFYING'),
                              ('optimizing', 'OPTIMIZING')):
            row = self.busy_row(volume_id, status)
            status_code, parsed = self.call('ModifyVolume',
                                            VolumeId=volume_id, Size=5)
            self.assertEqual(400, status_code)
            self.assertEqual(('IncorrectModificationState',
                              'Volume %s cannot be modified in modification '
                              'state %s' % (volume_id, state)),
                             (parsed['Error']['Code'],
                              parsed['Error']['Message']))
            db.volume_modification_update(self.admin, row.id,
                                          {'status': 'completed'})
            db.volume_modification_update(self.admin, row.id,
                                          {'id': row.id + status})
        # Once the last one finished, the next one runs.
        self.ok('ModifyVolume', VolumeId=volume_id, Size=5)
        self.assertEqual('completed',
                         self.finished(volume_id)['ModificationState'])
        self.assertEqual(5, self.described_volume(volume_id)['Size'])

    def test_no_attach_while_modifying(self):
        volume_id = self.volume()
        row = self.busy_row(volume_id)
        instance = db.instance_create(self.admin, {
            'id': 'i-uuid', 'ec2_id': 'i-00000000000000001',
            'reservation_id': 'r-00000000000000001', 'project_id': 'alpha',
            'image_id': 'img', 'image_ec2_id': 'ami-00000000000000001',
            'instance_type': 't2.micro', 'vcpus': 1, 'memory_mb': 128,
            'availability_zone': 'nova', 'state': 'stopped',
            'launch_index': 0, 'shutdown_behavior': 'stop',
            'root_device_name': '/dev/sda1'}, [])
        status, parsed = self.call('AttachVolume', VolumeId=volume_id,
                                   InstanceId=instance.ec2_id,
                                   Device='/dev/sdf')
        self.assertEqual(('OperationNotPermitted',
                          'Cannot attach volume %s when it is in '
                          'modification state: MODIFYING' % volume_id),
                         (parsed['Error']['Code'],
                          parsed['Error']['Message']))
        self.assertEqual('available',
                         self.described_volume(volume_id)['State'])
        db.volume_modification_update(self.admin, row.id,
                                      {'status': 'completed'})
        self.ok('AttachVolume', VolumeId=volume_id,
                InstanceId=instance.ec2_id, Device='/dev/sdf')

    def test_one_of_two_racing_modifications_wins(self):
        volume_id = self.volume()
        self.busy_row(volume_id)
        volume = db.volume_get_by_ec2_id(self.admin, volume_id)
        # The database refuses a second unfinished one of the same volume.
        self.assertRaises(db.DuplicateError, db.volume_modification_create,
                          self.admin, {
                              'id': 'other', 'project_id': 'alpha',
                              'volume_id': volume.id,
                              'volume_ec2_id': volume_id,
                              'status': 'optimizing', 'progress': 0,
                              'original_size': 1, 'target_size': 2,
                              'original_volume_type': 'gp2',
                              'target_volume_type': 'gp2'})

    def test_a_failed_modification_keeps_the_volume(self):
        volume_id = self.volume()
        self.volume_driver.fail_next('extend_volume')
        self.ok('ModifyVolume', VolumeId=volume_id, Size=4)
        failed = self.finished(volume_id)
        self.assertEqual('failed', failed['ModificationState'])
        self.assertIn('injected failure', failed['StatusMessage'])
        self.assertEqual((1, 'available'), (
            self.described_volume(volume_id)['Size'],
            self.described_volume(volume_id)['State']))
        # A failed one does not block the next.
        self.ok('ModifyVolume', VolumeId=volume_id, Size=4)
        self.assertEqual('completed',
                         self.finished(volume_id)['ModificationState'])

    def test_volume_with_a_snapshot_in_progress(self):
        volume_id = self.volume()
        volume = db.volume_get_by_ec2_id(self.admin, volume_id)
        db.snapshot_create(self.admin, {
            'id': 'snap-uuid', 'ec2_id': 'snap-00000000000000001',
            'project_id': 'alpha', 'volume_id': volume.id,
            'volume_ec2_id': volume_id, 'volume_size': 1,
            'status': 'pending', 'host': 'elsewhere', 'progress': 0})
        self.ok('ModifyVolume', VolumeId=volume_id, Size=2)
        failed = self.finished(volume_id)
        self.assertEqual('failed', failed['ModificationState'])
        self.assertIn('snap-00000000000000001', failed['StatusMessage'])
        self.assertEqual(1, self.described_volume(volume_id)['Size'])

    def test_resumed_after_a_restart(self):
        volume_id = self.volume()
        row = self.busy_row(volume_id)
        db.volume_modification_update(self.admin, row.id,
                                      {'host': self.volume_manager.host})
        self.volume_manager.init_host()
        done = self.modification(volume_id)
        self.assertEqual(('completed', 2), (done['ModificationState'],
                                            done['TargetSize']))
        self.assertEqual(2, self.described_volume(volume_id)['Size'])

    def test_a_deleted_volume_takes_its_modifications(self):
        volume_id = self.volume()
        self.ok('ModifyVolume', VolumeId=volume_id, Size=2)
        self.finished(volume_id)
        self.ok('DeleteVolume', VolumeId=volume_id)
        self.wait_for(lambda: not db.volume_list(self.admin))
        self.assertEqual([], db.volume_modification_list(self.admin))

    # DescribeVolumesModifications --------------------------------------------

    def test_describe_filters_pages_and_projects(self):
        ids = [self.volume() for _ in range(6)]
        for n, volume_id in enumerate(ids):
            self.ok('ModifyVolume', VolumeId=volume_id, Size=2 + n % 2)
        for volume_id in ids:
            self.finished(volume_id)
        self.volume()  # never modified: not listed
        listed = self.ok('DescribeVolumesModifications')[
            'VolumesModifications']
        self.assertEqual(sorted(ids), sorted(m['VolumeId'] for m in listed))
        for filters, expected in [
                ([{'Name': 'target-size', 'Values': ['3']}], ids[1::2]),
                ([{'Name': 'modification-state', 'Values': ['completed']},
                  {'Name': 'volume-id', 'Values': ids[:2]}], ids[:2]),
                ([{'Name': 'original-size', 'Values': ['2']}], []),
                ([{'Name': 'modification-state', 'Values': ['failed']}],
                 [])]:
            self.assertEqual(sorted(expected), sorted(
                m['VolumeId'] for m in self.ok(
                    'DescribeVolumesModifications', Filters=filters)[
                    'VolumesModifications']), filters)
        first = self.ok('DescribeVolumesModifications', MaxResults=5)
        self.assertEqual(5, len(first['VolumesModifications']))
        rest = self.ok('DescribeVolumesModifications',
                       NextToken=first['NextToken'], MaxResults=5)
        self.assertNotIn('NextToken', rest)
        self.assertEqual(sorted(ids), sorted(
            m['VolumeId'] for m in first['VolumesModifications'] +
            rest['VolumesModifications']))
        self.assertEqual([], self.ok('DescribeVolumesModifications',
                                     project='beta')['VolumesModifications'])
        self.error('InvalidVolume.NotFound', 'DescribeVolumesModifications',
                   project='beta', VolumeIds=[ids[0]])
        self.error('InvalidParameterValue', 'DescribeVolumesModifications',
                   Filters=[{'Name': 'nonsense', 'Values': ['x']}])
        self.error('InvalidParameterCombination',
                   'DescribeVolumesModifications', VolumeIds=ids[:1],
                   MaxResults=5)

    def test_latest_modification_of_a_volume(self):
        volume_id = self.volume()
        self.ok('ModifyVolume', VolumeId=volume_id, Size=2)
        self.finished(volume_id)
        self.ok('ModifyVolume', VolumeId=volume_id, Size=3)
        latest = self.finished(volume_id)
        self.assertEqual((2, 3), (latest['OriginalSize'],
                                  latest['TargetSize']))
