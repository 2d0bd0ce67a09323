"""DescribeInstanceTypes and DescribeAccountAttributes on the wire."""

from ebsboot.tests.unit.api import wire


class DescribeInstanceTypesTest(wire.WireTestCase):

    def setUp(self):
        super().setUp()
        self.config.config(
            instance_types=['t2.micro:1:1024', 'm1.small:1:2048',
                            'm5.large:2:8192'], group='compute')

    def names(self, **kwargs):
        return [t['InstanceType'] for t in self.ok(
            'DescribeInstanceTypes', **kwargs)['InstanceTypes']]

    def test_the_configured_table(self):
        answer = self.ok('DescribeInstanceTypes')
        self.assertEqual(['m1.small', 'm5.large', 't2.micro'],
                         [t['InstanceType'] for t in answer['InstanceTypes']])
        large = answer['InstanceTypes'][1]
        self.assertEqual({'DefaultVCpus': 2, 'DefaultCores': 2,
                          'DefaultThreadsPerCore': 1}, large['VCpuInfo'])
        self.assertEqual({'SizeInMiB': 8192}, large['MemoryInfo'])
        self.assertEqual(['ebs'], large['SupportedRootDeviceTypes'])
        self.assertFalse(large['InstanceStorageSupported'])
        self.assertNotIn('InstanceStorageInfo', large)
        self.assertEqual(['legacy-bios'], large['SupportedBootModes'])
        self.assertEqual(['x86_64'],
                         large['ProcessorInfo']['SupportedArchitectures'])
        self.assertEqual('unsupported',
                         large['EbsInfo']['EncryptionSupport'])
        self.assertTrue(large['CurrentGeneration'])
        self.assertFalse(answer['InstanceTypes'][0]['CurrentGeneration'])

    def test_named_types(self):
        self.assertEqual(['m5.large', 't2.micro'], self.names(
            InstanceTypes=['t2.micro', 'm5.large']))

    def test_unknown_type(self):
        message = self.error('InvalidInstanceType', 'DescribeInstanceTypes',
                             InstanceTypes=['t2.micro', 'x9.huge'])
        self.assertIn('[x9.huge]', message)

    def test_filters(self):
        for filters, expected in [
                ([('vcpu-info.default-vcpus', ['1'])],
                 ['m1.small', 't2.micro']),
                ([('memory-info.size-in-mib', ['8192'])], ['m5.large']),
                ([('instance-type', ['t2.*'])], ['t2.micro']),
                ([('supported-boot-mode', ['uefi'])], []),
                ([('current-generation', ['true']),
                  ('free-tier-eligible', ['false'])], ['m5.large'])]:
            self.assertEqual(expected, self.names(Filters=[
                {'Name': n, 'Values': v} for n, v in filters]), filters)
        self.error('InvalidParameterValue', 'DescribeInstanceTypes',
                   Filters=[{'Name': 'no-such-filter', 'Values': ['x']}])

    def test_paging(self):
        self.config.config(
            instance_types=['t.%02d:1:512' % n for n in range(7)],
            group='compute')
        first = self.ok('DescribeInstanceTypes', MaxResults=5)
        self.assertEqual(5, len(first['InstanceTypes']))
        rest = self.ok('DescribeInstanceTypes', MaxResults=5,
                       NextToken=first['NextToken'])
        self.assertEqual(['t.05', 't.06'],
                         [t['InstanceType'] for t in rest['InstanceTypes']])
        self.assertNotIn('NextToken', rest)
        self.error('InvalidParameterValue', 'DescribeInstanceTypes',
                   MaxResults=4)
        self.error('InvalidPaginationToken', 'DescribeInstanceTypes',
                   NextToken='garbage')


class DescribeAccountAttributesTest(wire.WireTestCase):

    def attributes(self, **kwargs):
        return {a['AttributeName']: [v['AttributeValue']
                                     for v in a['AttributeValues']]
                for a in self.ok('DescribeAccountAttributes',
                                 **kwargs)['AccountAttributes']}

    def test_all(self):
        self.config.config(max_count=20, group='compute')
        vpc = self.ok('DescribeVpcs')['Vpcs'][0]['VpcId']
        self.assertEqual({
            'supported-platforms': ['VPC'],
            'default-vpc': [vpc],
            'max-instances': ['20'],
            'max-elastic-ips': ['0'],
            'vpc-max-elastic-ips': ['0'],
            'vpc-max-security-groups-per-interface': ['0'],
        }, self.attributes())

    def test_named(self):
        named = self.attributes(AttributeNames=[
            'default-vpc', 'supported-platforms'])
        self.assertEqual({'default-vpc': [self.ok('DescribeVpcs')['Vpcs'][0][
            'VpcId']], 'supported-platforms': ['VPC']}, named)

    def test_unknown_name(self):
        self.error('InvalidParameterValue', 'DescribeAccountAttributes',
                   AttributeNames=['no-such-attribute'])
