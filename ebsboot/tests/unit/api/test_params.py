import urllib.parse

import botocore.serialize
import botocore.session
from oslotest import base

from ebsboot.api.ec2 import params
from ebsboot import exception

_MODEL = botocore.session.get_session().get_service_model('ec2')
_SERIALIZER = botocore.serialize.create_serializer('ec2')


def _wire(operation, kwargs):
    """What the API receives for a boto3 call, Action and Version removed."""
    request = _SERIALIZER.serialize_to_request(
        kwargs, _MODEL.operation_model(operation))
    body = urllib.parse.urlencode(request['body'])
    flat = dict(urllib.parse.parse_qsl(body, keep_blank_values=True))
    flat.pop('Action')
    flat.pop('Version')
    return flat


class BotocoreRoundTripTest(base.BaseTestCase):

    def test_describe_volumes(self):
        flat = _wire('DescribeVolumes', {
            'VolumeIds': ['vol-1', 'vol-2'],
            'Filters': [{'Name': 'status', 'Values': ['available', 'in-use']},
                        {'Name': 'size', 'Values': ['1']}],
            'MaxResults': 5,
            'NextToken': 'tok',
        })
        self.assertEqual(
            {'VolumeId': ['vol-1', 'vol-2'],
             'Filter': [{'Name': 'status', 'Value': ['available', 'in-use']},
                        {'Name': 'size', 'Value': ['1']}],
             'MaxResults': '5',
             'NextToken': 'tok'},
            params.unflatten(flat))
        p = params.Params.from_flat(flat)
        self.assertEqual(['vol-1', 'vol-2'], p.get_list('VolumeId'))
        self.assertEqual({'status': ['available', 'in-use'], 'size': ['1']},
                         p.get_filters())
        self.assertEqual(5, p.get_int('MaxResults', min=5, max=1000))
        self.assertEqual('tok', p.get_str('NextToken'))
        p.check_unknown({'VolumeId', 'Filter', 'MaxResults', 'NextToken',
                         'DryRun'})

    def test_describe_volumes_many_ids_ordered(self):
        ids = ['vol-%d' % i for i in range(1, 13)]
        flat = _wire('DescribeVolumes', {'VolumeIds': ids})
        self.assertIn('VolumeId.10', flat)
        self.assertEqual(ids, params.Params.from_flat(flat).get_list(
            'VolumeId'))

    def test_create_volume(self):
        flat = _wire('CreateVolume', {
            'AvailabilityZone': 'nova',
            'Size': 10,
            'SnapshotId': 'snap-1',
            'VolumeType': 'standard',
            'Encrypted': False,
            'DryRun': True,
            'TagSpecifications': [{'ResourceType': 'volume',
                                   'Tags': [{'Key': 'Name', 'Value': 'a'},
                                            {'Key': 'b', 'Value': ''}]}],
        })
        self.assertEqual(
            {'AvailabilityZone': 'nova',
             'Size': '10',
             'SnapshotId': 'snap-1',
             'VolumeType': 'standard',
             'Encrypted': 'false',
             'DryRun': 'true',
             'TagSpecification': [{'ResourceType': 'volume',
                                   'Tag': [{'Key': 'Name', 'Value': 'a'},
                                           {'Key': 'b', 'Value': ''}]}]},
            params.unflatten(flat))
        p = params.Params.from_flat(flat)
        self.assertEqual('nova', p.get_str('AvailabilityZone', required=True))
        self.assertEqual(10, p.get_int('Size', min=1, max=16384))
        self.assertIs(False, p.get_bool('Encrypted', default=True))
        self.assertIs(True, p.get_bool('DryRun'))
        specs = p.get_params_list('TagSpecification')
        self.assertEqual(1, len(specs))
        self.assertEqual('volume', specs[0].get_str('ResourceType'))
        self.assertEqual([{'Key': 'Name', 'Value': 'a'},
                          {'Key': 'b', 'Value': ''}],
                         specs[0].get_dict_list('Tag'))

    def test_run_instances_block_device_mappings(self):
        flat = _wire('RunInstances', {
            'ImageId': 'ami-1',
            'MinCount': 1,
            'MaxCount': 2,
            'BlockDeviceMappings': [
                {'DeviceName': '/dev/sda1',
                 'Ebs': {'SnapshotId': 'snap-1', 'VolumeSize': 20,
                         'DeleteOnTermination': True,
                         'VolumeType': 'standard'}},
                {'DeviceName': '/dev/sdb', 'NoDevice': ''},
                {'DeviceName': '/dev/sdc', 'VirtualName': 'ephemeral0'},
            ],
        })
        self.assertEqual(
            {'ImageId': 'ami-1',
             'MinCount': '1',
             'MaxCount': '2',
             'BlockDeviceMapping': [
                 {'DeviceName': '/dev/sda1',
                  'Ebs': {'SnapshotId': 'snap-1', 'VolumeSize': '20',
                          'DeleteOnTermination': 'true',
                          'VolumeType': 'standard'}},
                 {'DeviceName': '/dev/sdb', 'NoDevice': ''},
                 {'DeviceName': '/dev/sdc', 'VirtualName': 'ephemeral0'},
             ]},
            params.unflatten(flat))
        bdms = params.Params.from_flat(flat).get_params_list(
            'BlockDeviceMapping')
        self.assertEqual(20, bdms[0].get_int('Ebs.VolumeSize'))
        self.assertIs(True, bdms[0].get_bool('Ebs.DeleteOnTermination'))
        self.assertIn('NoDevice', bdms[1])
        self.assertNotIn('NoDevice', bdms[2])
        self.assertEqual('ephemeral0', bdms[2].get_str('VirtualName'))

    def test_register_image(self):
        flat = _wire('RegisterImage', {
            'Name': 'boot',
            'Architecture': 'x86_64',
            'RootDeviceName': '/dev/sda1',
            'BlockDeviceMappings': [
                {'DeviceName': '/dev/sda1', 'Ebs': {'SnapshotId': 'snap-1'}},
            ],
        })
        self.assertEqual(
            {'Name': 'boot',
             'Architecture': 'x86_64',
             'RootDeviceName': '/dev/sda1',
             'BlockDeviceMapping': [
                 {'DeviceName': '/dev/sda1', 'Ebs': {'SnapshotId': 'snap-1'}},
             ]},
            params.unflatten(flat))

    def test_describe_snapshots(self):
        flat = _wire('DescribeSnapshots', {
            'OwnerIds': ['self', '123'],
            'SnapshotIds': ['snap-1'],
            'RestorableByUserIds': ['all'],
        })
        p = params.Params.from_flat(flat)
        self.assertEqual(['self', '123'], p.get_list('Owner'))
        self.assertEqual(['snap-1'], p.get_list('SnapshotId'))
        self.assertEqual(['all'], p.get_list('RestorableBy'))
        self.assertEqual({}, p.get_filters())

    def test_modify_instance_attribute_nested_value(self):
        flat = _wire('ModifyInstanceAttribute', {
            'InstanceId': 'i-1',
            'DisableApiTermination': {'Value': True},
        })
        p = params.Params.from_flat(flat)
        self.assertEqual({'Value': 'true'}, p.raw['DisableApiTermination'])
        self.assertIs(True, p.get_bool('DisableApiTermination.Value'))


class UnflattenTest(base.BaseTestCase):

    def test_scalars(self):
        self.assertEqual({'A': '1', 'B': ''},
                         params.unflatten({'A': '1', 'B': ''}))

    def test_empty(self):
        self.assertEqual({}, params.unflatten({}))

    def test_list_sorted_numerically_with_gaps(self):
        self.assertEqual(
            {'VolumeId': ['a', 'b', 'c']},
            params.unflatten({'VolumeId.10': 'c', 'VolumeId.2': 'b',
                              'VolumeId.1': 'a'}))

    def test_nested(self):
        self.assertEqual(
            {'TagSpecification': [
                {'ResourceType': 'volume',
                 'Tag': [{'Key': 'k', 'Value': 'v'}, {'Key': 'k2'}]}]},
            params.unflatten({
                'TagSpecification.1.ResourceType': 'volume',
                'TagSpecification.1.Tag.1.Key': 'k',
                'TagSpecification.1.Tag.1.Value': 'v',
                'TagSpecification.1.Tag.3.Key': 'k2',
            }))

    def test_struct(self):
        self.assertEqual({'A': {'B': {'C': 'x'}, 'D': 'y'}},
                         params.unflatten({'A.B.C': 'x', 'A.D': 'y'}))

    def _assert_invalid(self, flat):
        self.assertRaises(exception.InvalidParameterValue,
                          params.unflatten, flat)

    def test_scalar_then_list(self):
        self._assert_invalid({'A': '1', 'A.1': '2'})

    def test_list_then_scalar(self):
        self._assert_invalid({'A.1': '2', 'A': '1'})

    def test_scalar_and_struct_deeper(self):
        self._assert_invalid({'A.1.B': 'x', 'A.1.B.C': 'y'})
        self._assert_invalid({'A.1.B.C': 'y', 'A.1.B': 'x'})

    def test_mixed_index_and_name(self):
        self._assert_invalid({'Filter.1.Name': 'a', 'Filter.x.Name': 'b'})
        self._assert_invalid({'Filter.x.Name': 'b', 'Filter.1.Name': 'a'})

    def test_bad_index(self):
        self._assert_invalid({'VolumeId.0': 'a'})
        self._assert_invalid({'VolumeId.01': 'a', 'VolumeId.1': 'b'})
        self._assert_invalid({'VolumeId.\u0661': 'a'})

    def test_empty_part(self):
        self._assert_invalid({'A..B': 'a'})
        self._assert_invalid({'A.': 'a'})
        self._assert_invalid({'': 'a'})

    def test_nesting_is_bounded(self):
        deepest = 'A' + '.b' * (params.MAX_DEPTH - 1)
        self.assertIn('A', params.unflatten({deepest: 'x'}))
        for depth in (params.MAX_DEPTH, 1000, 100000):
            exc = self.assertRaises(exception.InvalidParameterValue,
                                    params.unflatten,
                                    {'Filter.1' + '.a' * depth: 'x'})
            self.assertIn('nested more than', exc.msg)

    def test_list_length_is_bounded(self):
        longest = {'VolumeId.%d' % n: 'v'
                   for n in range(1, params.MAX_LIST_LENGTH + 1)}
        self.assertEqual(params.MAX_LIST_LENGTH,
                         len(params.unflatten(longest)['VolumeId']))
        longest['VolumeId.%d' % (params.MAX_LIST_LENGTH + 1)] = 'v'
        self._assert_invalid(longest)

    def test_error_message_names_parameter(self):
        exc = self.assertRaises(exception.InvalidParameterValue,
                                params.unflatten, {'A': '1', 'A.1': '2'})
        self.assertIn('A', exc.msg)
        self.assertEqual('InvalidParameterValue', exc.code)
        self.assertEqual(400, exc.status)


class ParamsTest(base.BaseTestCase):

    def _params(self, **flat):
        return params.Params.from_flat(flat)

    def test_get_str(self):
        p = self._params(A='x', E='')
        self.assertEqual('x', p.get_str('A'))
        self.assertEqual('x', p.get_str('A', required=True))
        self.assertEqual('', p.get_str('E'))
        self.assertIsNone(p.get_str('B'))
        self.assertEqual('d', p.get_str('B', default='d'))

    def test_get_str_missing_required(self):
        p = self._params(E='')
        exc = self.assertRaises(exception.MissingParameter,
                                p.get_str, 'B', required=True)
        self.assertEqual('The request must contain the parameter B',
                         exc.msg)
        self.assertRaises(exception.MissingParameter,
                          p.get_str, 'E', required=True)

    def test_get_str_not_scalar(self):
        p = params.Params.from_flat({'A.1': 'x'})
        self.assertRaises(exception.InvalidParameterValue, p.get_str, 'A')

    def test_get_int(self):
        p = self._params(Size='10', Neg='-3')
        self.assertEqual(10, p.get_int('Size'))
        self.assertEqual(-3, p.get_int('Neg'))
        self.assertIsNone(p.get_int('Other'))
        self.assertEqual(7, p.get_int('Other', default=7))
        self.assertEqual(10, p.get_int('Size', min=10, max=10))

    def test_get_int_invalid(self):
        for value in ('abc', '', '1.5', ' 1', '+1', '1_0', '\u0661'):
            p = self._params(Size=value)
            exc = self.assertRaises(exception.InvalidParameterValue,
                                    p.get_int, 'Size')
            self.assertEqual("Value (%s) for parameter Size is invalid. "
                             "Expected: 'Integer'." % value, exc.msg)

    def test_get_int_range(self):
        p = self._params(Size='10')
        exc = self.assertRaises(exception.InvalidParameterValue,
                                p.get_int, 'Size', min=11)
        self.assertIn('Value (10) for parameter Size is invalid.', exc.msg)
        self.assertIn('11', exc.msg)
        exc = self.assertRaises(exception.InvalidParameterValue,
                                p.get_int, 'Size', max=9)
        self.assertIn('9', exc.msg)

    def test_get_int_missing_required(self):
        p = self._params()
        self.assertRaises(exception.MissingParameter,
                          p.get_int, 'Size', required=True)

    def test_get_bool(self):
        p = self._params(A='true', B='FALSE', C='True')
        self.assertIs(True, p.get_bool('A'))
        self.assertIs(False, p.get_bool('B', default=True))
        self.assertIs(True, p.get_bool('C'))
        self.assertIs(False, p.get_bool('D'))
        self.assertIs(True, p.get_bool('D', default=True))

    def test_get_bool_invalid(self):
        for value in ('yes', '1', ''):
            p = self._params(A=value)
            self.assertRaises(exception.InvalidParameterValue,
                              p.get_bool, 'A')

    def test_get_list(self):
        p = params.Params.from_flat({'V.1': 'a', 'V.2': 'b', 'S': 'c'})
        self.assertEqual(['a', 'b'], p.get_list('V'))
        self.assertEqual(['c'], p.get_list('S'))
        self.assertEqual([], p.get_list('X'))

    def test_get_list_of_structures_invalid(self):
        p = params.Params.from_flat({'V.1.A': 'a', 'W.A': 'b'})
        self.assertRaises(exception.InvalidParameterValue, p.get_list, 'V')
        self.assertRaises(exception.InvalidParameterValue, p.get_list, 'W')

    def test_get_dict_list(self):
        p = params.Params.from_flat({'B.1.A': 'a', 'B.2.A': 'b', 'S': 'c',
                                     'L.1': 'x', 'D.A': 'y'})
        self.assertEqual([{'A': 'a'}, {'A': 'b'}], p.get_dict_list('B'))
        self.assertEqual([], p.get_dict_list('X'))
        for name in ('S', 'L', 'D'):
            self.assertRaises(exception.InvalidParameterValue,
                              p.get_dict_list, name)

    def test_get_params_list_error_names(self):
        p = params.Params.from_flat({
            'BlockDeviceMapping.1.DeviceName': '/dev/sda1',
            'BlockDeviceMapping.2.Ebs.VolumeSize': 'big',
        })
        bdms = p.get_params_list('BlockDeviceMapping')
        self.assertEqual('/dev/sda1', bdms[0].get_str('DeviceName'))
        exc = self.assertRaises(exception.InvalidParameterValue,
                                bdms[1].get_int, 'Ebs.VolumeSize')
        self.assertEqual("Value (big) for parameter "
                         "BlockDeviceMapping.2.Ebs.VolumeSize is invalid. "
                         "Expected: 'Integer'.", exc.msg)
        exc = self.assertRaises(exception.MissingParameter,
                                bdms[1].get_str, 'DeviceName', required=True)
        self.assertIn('BlockDeviceMapping.2.DeviceName', exc.msg)

    def test_dotted_lookup_through_scalar(self):
        p = self._params(A='x')
        self.assertIsNone(p.get_str('A.B'))
        self.assertNotIn('A.B', p)
        self.assertIn('A', p)

    def test_get_filters(self):
        p = params.Params.from_flat({
            'Filter.1.Name': 'status',
            'Filter.1.Value.1': 'available',
            'Filter.1.Value.2': 'in-use',
            'Filter.2.Name': 'tag:Name',
            'Filter.2.Value': 'one',
            'Filter.3.Name': 'status',
            'Filter.3.Value.1': 'error',
        })
        self.assertEqual(
            {'status': ['available', 'in-use', 'error'],
             'tag:Name': ['one']},
            p.get_filters())

    def test_get_filters_none(self):
        self.assertEqual({}, self._params().get_filters())

    def test_get_filters_invalid(self):
        for flat in ({'Filter.1.Value.1': 'x'},
                     {'Filter.1.Name': '', 'Filter.1.Value.1': 'x'},
                     {'Filter.1.Name': 'status'},
                     {'Filter.1.Name': 'a', 'Filter.1.Value.1.X': 'x'},
                     {'Filter.1.Name': 'a', 'Filter.1.Value.1': 'x',
                      'Filter.1.Other': 'y'},
                     {'Filter.1.Name.1': 'a', 'Filter.1.Value.1': 'x'},
                     {'Filter': 'x'},
                     {'Filter.Name': 'x'},
                     {'Filter.1': 'x'}):
            p = params.Params.from_flat(flat)
            self.assertRaises(exception.InvalidParameterValue,
                              p.get_filters)

    def test_filter_limits(self):
        def flat(filters, values):
            items = {}
            for f in range(1, filters + 1):
                items['Filter.%d.Name' % f] = 'status'
                for v in range(1, values + 1):
                    items['Filter.%d.Value.%d' % (f, v)] = '*%d*' % v
            return params.Params.from_flat(items)

        self.assertEqual(200, len(flat(1, 200).get_filters()['status']))
        for filters, values in ((1, 201), (2, 101), (51, 1)):
            exc = self.assertRaises(exception.FilterLimitExceeded,
                                    flat(filters, values).get_filters)
            self.assertEqual('FilterLimitExceeded', exc.code)
        # Distinct names: 50 filters of one value each are fine.
        many = {}
        for f in range(1, 51):
            many['Filter.%d.Name' % f] = 'name-%d' % f
            many['Filter.%d.Value' % f] = 'x'
        self.assertEqual(50, len(params.Params.from_flat(many).get_filters()))

    def test_check_unknown(self):
        p = params.Params.from_flat({'VolumeId.1': 'v', 'Bogus': 'x'})
        p.check_unknown({'VolumeId', 'Bogus'})
        exc = self.assertRaises(exception.UnknownParameter,
                                p.check_unknown, ['VolumeId'])
        self.assertEqual('The parameter Bogus is not recognized', exc.msg)
        self.assertEqual('UnknownParameter', exc.code)

    def test_check_unknown_empty(self):
        params.Params({}).check_unknown(())
