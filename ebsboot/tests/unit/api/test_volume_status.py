"""DescribeVolumeStatus and Describe/ModifyVolumeAttribute on the wire."""

from ebsboot.cloud import volumes as cloud_volumes
from ebsboot.db import api as db
from ebsboot.tests.unit.api import wire


class VolumeStatusTest(wire.WireTestCase):

    def setUp(self):
        super().setUp()
        self.ids = {}
        for status in ('available', 'in-use', 'creating', 'error'):
            volume = db.volume_create(
                self.context('alpha'), cloud_volumes.volume_values(
                    'alpha', 'nova', 1, 'gp2', status=status))
            self.ids[status] = volume.ec2_id
        self.other = db.volume_create(
            self.context('beta'), cloud_volumes.volume_values(
                'beta', 'nova', 1, 'gp2', status='available')).ec2_id

    def statuses(self, **kwargs):
        return {s['VolumeId']: s for s in self.ok(
            'DescribeVolumeStatus', **kwargs)['VolumeStatuses']}

    def test_status_per_volume(self):
        statuses = self.statuses()
        self.assertEqual(sorted(self.ids.values()), sorted(statuses))
        ok = statuses[self.ids['available']]
        self.assertEqual(
            {'Status': 'ok',
             'Details': [{'Name': 'io-enabled', 'Status': 'passed'},
                         {'Name': 'io-performance',
                          'Status': 'not-applicable'}]},
            ok['VolumeStatus'])
        self.assertEqual(('nova', [], []), (
            ok['AvailabilityZone'], ok['Events'], ok['Actions']))
        self.assertEqual('ok', statuses[self.ids['in-use']][
            'VolumeStatus']['Status'])
        self.assertEqual('insufficient-data', statuses[self.ids['creating']][
            'VolumeStatus']['Status'])
        self.assertEqual('impaired', statuses[self.ids['error']][
            'VolumeStatus']['Status'])

    def test_ids_and_errors(self):
        self.assertEqual([self.ids['available']], list(self.statuses(
            VolumeIds=[self.ids['available']])))
        self.error('InvalidVolume.NotFound', 'DescribeVolumeStatus',
                   VolumeIds=[self.other])
        self.error('InvalidVolumeID.Malformed', 'DescribeVolumeStatus',
                   VolumeIds=['vol-x'])
        self.error('InvalidParameterCombination', 'DescribeVolumeStatus',
                   VolumeIds=[self.ids['available']], MaxResults=5)

    def test_filters(self):
        for filters, expected in [
                ([('volume-status.status', ['ok'])],
                 [self.ids['available'], self.ids['in-use']]),
                ([('volume-status.details-status', ['failed'])],
                 [self.ids['error']]),
                ([('volume-status.details-name', ['io-enabled']),
                  ('volume-id', [self.ids['creating']])],
                 [self.ids['creating']]),
                ([('event.event-type', ['*'])], []),
                ([('availability-zone', ['other'])], [])]:
            self.assertEqual(sorted(expected), sorted(self.statuses(
                Filters=[{'Name': n, 'Values': v} for n, v in filters])),
                filters)
        self.error('InvalidParameterValue', 'DescribeVolumeStatus',
                   Filters=[{'Name': 'status', 'Values': ['ok']}])

    def test_paging(self):
        first = self.ok('DescribeVolumeStatus', MaxResults=5)
        self.assertEqual(4, len(first['VolumeStatuses']))
        self.assertNotIn('NextToken', first)

    def test_auto_enable_io(self):
        volume_id = self.ids['in-use']
        answer = self.ok('DescribeVolumeAttribute', VolumeId=volume_id,
                         Attribute='autoEnableIO')
        self.assertEqual((volume_id, {'Value': False}),
                         (answer['VolumeId'], answer['AutoEnableIO']))
        self.assertNotIn('ProductCodes', answer)
        self.ok('ModifyVolumeAttribute', VolumeId=volume_id,
                AutoEnableIO={'Value': True})
        self.assertEqual({'Value': True}, self.ok(
            'DescribeVolumeAttribute', VolumeId=volume_id,
            Attribute='autoEnableIO')['AutoEnableIO'])
        self.assertEqual({'Value': False}, self.ok(
            'DescribeVolumeAttribute', VolumeId=self.ids['available'],
            Attribute='autoEnableIO')['AutoEnableIO'])

    def test_product_codes(self):
        answer = self.ok('DescribeVolumeAttribute',
                         VolumeId=self.ids['available'],
                         Attribute='productCodes')
        self.assertEqual([], answer['ProductCodes'])
        self.assertNotIn('AutoEnableIO', answer)

    def test_attribute_errors(self):
        volume_id = self.ids['available']
        self.error('InvalidParameterValue', 'DescribeVolumeAttribute',
                   VolumeId=volume_id, Attribute='size')
        self.error('MissingParameter', 'DescribeVolumeAttribute',
                   VolumeId=volume_id)
        self.error('InvalidVolume.NotFound', 'DescribeVolumeAttribute',
                   VolumeId=self.other, Attribute='autoEnableIO')
        self.error('InvalidVolume.NotFound', 'ModifyVolumeAttribute',
                   VolumeId=self.other, AutoEnableIO={'Value': True})
        self.error('MissingParameter', 'ModifyVolumeAttribute',
                   VolumeId=volume_id)
        self.error('MissingParameter', 'ModifyVolumeAttribute',
                   AutoEnableIO={'Value': True})
        self.assertFalse(db.volume_get_by_ec2_id(
            self.context('beta'), self.other).auto_enable_io)
