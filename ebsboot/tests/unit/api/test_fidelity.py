"""Differences from AWS that real clients tripped on, on the wire."""

import datetime
from unittest import mock

import fixtures

from ebsboot.db import api as db
from ebsboot.tests.unit.api import test_instances
from ebsboot.tests.unit.api import wire
from ebsboot.tests.unit import base

INSTANCE = test_instances.IDS[0]


class InstanceRequestFormsTest(wire.WireTestCase):

    def setUp(self):
        super().setUp()
        db.instance_create(
            self.context('alpha'),
            test_instances._instance(INSTANCE, 'stopped'),
            [test_instances._root('vol-00000000000000001')])

    def test_console_output_of_the_list_form(self):
        status, answer = self.call_form('GetConsoleOutput',
                                        {'InstanceId.1': INSTANCE})
        self.assertEqual(200, status, answer.get('Error'))
        self.assertEqual(INSTANCE, answer['InstanceId'])
        self.assertEqual(INSTANCE, self.ok(
            'GetConsoleOutput', InstanceId=INSTANCE)['InstanceId'])

    def test_console_output_of_one_instance_only(self):
        status, answer = self.call_form(
            'GetConsoleOutput', {'InstanceId.1': INSTANCE,
                                 'InstanceId.2': INSTANCE})
        self.assertEqual('InvalidParameterValue', answer['Error']['Code'])
        status, answer = self.call_form('GetConsoleOutput',
                                        {'InstanceId': ''})
        self.assertEqual('MissingParameter', answer['Error']['Code'])

    def test_console_output_of_another_project(self):
        status, answer = self.call_form(
            'GetConsoleOutput', {'InstanceId.1': INSTANCE}, project='beta')
        self.assertEqual('InvalidInstanceID.NotFound',
                         answer['Error']['Code'])

    def test_modify_attribute_without_value(self):
        for attribute in ('kernel', 'userData', 'disableApiTermination',
                          'instanceType'):
            message = self.error('MissingParameter',
                                 'ModifyInstanceAttribute',
                                 InstanceId=INSTANCE, Attribute=attribute)
            self.assertIn('Value', message)
        status, answer = self.call_form(
            'ModifyInstanceAttribute', {'InstanceId': INSTANCE,
                                        'UserData.Other': 'x'})
        self.assertEqual('MissingParameter', answer['Error']['Code'])
        instance = db.instance_get_by_ec2_id(self.context('alpha'),
                                             INSTANCE)
        self.assertEqual('c2VjcmV0', instance.user_data)

    def test_modify_attribute_with_value(self):
        self.ok('ModifyInstanceAttribute', InstanceId=INSTANCE,
                Attribute='disableApiTermination', Value='true')
        self.ok('ModifyInstanceAttribute', InstanceId=INSTANCE,
                Attribute='userData', Value='')
        instance = db.instance_get_by_ec2_id(self.context('alpha'),
                                             INSTANCE)
        self.assertTrue(instance.disable_api_termination)
        self.assertIsNone(instance.user_data)


class DeviceNamesAsGivenTest(wire.WireTestCase):
    """AttachVolume/DetachVolume answer the device as the client wrote it.

    ebsboot keeps it normalized (``/dev/sdh``).
    """

    def setUp(self):
        super().setUp()
        self.device = mock.Mock(
            device_name='/dev/sdh', status='attached',
            attach_time=datetime.datetime(2026, 12, 4, 10, 0, 0),
            delete_on_termination=False)
        volume = mock.Mock(ec2_id='vol-00000000000000001')
        instance = mock.Mock(ec2_id=INSTANCE)
        self.calls = []

        def fake(*args, **kwargs):
            # As the controller stores it: in full, and how it was given.
            self.calls.append((args[1:], kwargs))
            given = args[3] if len(args) > 3 else None
            if given:
                self.device.short_name = not given.startswith('/dev/')
            return self.device, volume, instance

        for name in ('attach_volume', 'detach_volume'):
            self.useFixture(fixtures.MonkeyPatch(
                'ebsboot.cloud.instances.' + name, fake))

    def test_attach(self):
        for given in ('sdh', '/dev/sdh'):
            answer = self.ok('AttachVolume', VolumeId='vol-00000000000000001',
                             InstanceId=INSTANCE, Device=given)
            self.assertEqual((given, 'attaching'),
                             (answer['Device'], answer['State']))
            self.assertEqual(given, self.calls[-1][0][2])

    def test_detach(self):
        answer = self.ok('DetachVolume', VolumeId='vol-00000000000000001',
                         Device='sdh')
        self.assertEqual(('sdh', 'detaching'),
                         (answer['Device'], answer['State']))
        # Without Device: as the attachment was named.
        answer = self.ok('DetachVolume', VolumeId='vol-00000000000000001')
        self.assertEqual('sdh', answer['Device'])
        self.device.short_name = False
        answer = self.ok('DetachVolume', VolumeId='vol-00000000000000001')
        self.assertEqual('/dev/sdh', answer['Device'])


class NewerParametersTest(wire.WireTestCase, base.ServiceTestCase):
    """Parameters of botocore's model that tools send: never unknown."""

    def test_create_volume_performance_and_refused_parameters(self):
        volume = self.ok('CreateVolume', AvailabilityZone='nova', Size=4,
                         VolumeType='gp3', Iops=3000, Throughput=125)
        self.assertEqual(('gp3', 4), (volume['VolumeType'], volume['Size']))
        for code, kwargs in [
                ('UnsupportedOperation', {'KmsKeyId': 'key'}),
                ('UnsupportedOperation', {'OutpostArn': 'arn:x'}),
                ('UnsupportedOperation',
                 {'Operator': {'Principal': 'x'}}),
                ('InvalidParameterValue', {'Iops': -1})]:
            self.error(code, 'CreateVolume', AvailabilityZone='nova',
                       Size=1, **kwargs)
        self.assertEqual(1, len(self.ok(
            'DescribeVolumes', IncludeManagedResources=True)['Volumes']))
        self.assertEqual([], self.ok(
            'DescribeVolumesModifications',
            IncludeManagedResources=False)['VolumesModifications'])

    def test_create_image_snapshot_location(self):
        for code, kwargs in [
                ('UnsupportedOperation', {'SnapshotLocation': 'local'}),
                ('UnsupportedOperation',
                 {'BootModeOverride': 'legacy-bios'}),
                ('InvalidInstanceID.NotFound',
                 {'SnapshotLocation': 'regional'})]:
            self.error(code, 'CreateImage',
                       InstanceId='i-0123456789abcdef0', Name='image',
                       **kwargs)
