"""Block-device mappings: EC2 parameters, Nova's format and launch merges."""

import uuid

from oslo_serialization import jsonutils

from ebsboot.cloud import bdm
from ebsboot.cloud import ec2ids
from ebsboot.db import api as db
from ebsboot import exception
from ebsboot.tests.unit import base

# nova.block_device.bdm_new_fields: Nova refuses a bdm v2 entry with any
# other key.
NOVA_BDM_NEW_FIELDS = frozenset((
    'source_type', 'destination_type', 'guest_format', 'device_type',
    'disk_bus', 'boot_index', 'device_name', 'delete_on_termination',
    'snapshot_id', 'volume_id', 'volume_size', 'image_id', 'no_device',
    'connection_info', 'tag', 'volume_type', 'encrypted',
    'encryption_secret_uuid', 'encryption_format', 'encryption_options'))


class DeviceNameTest(base.TestCase):

    def test_normalize(self):
        for name, expected in [('sdb', '/dev/sdb'), ('/dev/sdb', '/dev/sdb'),
                               ('xvda', '/dev/xvda'),
                               ('/dev/nvme0n1', '/dev/nvme0n1'),
                               ('sda1', '/dev/sda1')]:
            self.assertEqual(expected, bdm.normalize_device_name(name))

    def test_invalid(self):
        for name in ('', ' ', 'sd b', '/dev/../etc', '..', '/dev/', 'SDB',
                     '/dev/sd-b', 'dev/sdb', '/tmp/sdb', '1sd', None,
                     '/dev/sdb/', 'sdé', 'a' * 40):
            self.assertRaises(exception.InvalidBlockDeviceMapping,
                              bdm.normalize_device_name, name)


class FromEc2ParamsTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.ctxt = self.context()
        self.snapshot = self._snapshot(size=4)

    def _snapshot(self, size=4, status='completed', project='alpha'):
        return db.snapshot_create(self.context(project), {
            'id': str(uuid.uuid4()), 'ec2_id': ec2ids.new_id('snap'),
            'project_id': project, 'volume_id': None,
            'volume_ec2_id': ec2ids.new_id('vol'), 'volume_size': size,
            'status': status, 'progress': 100})

    def parse(self, *entries, **kwargs):
        return bdm.from_ec2_params(list(entries), self.ctxt, **kwargs)

    def test_every_kind(self):
        bdms = self.parse(
            {'DeviceName': '/dev/sda1',
             'Ebs': {'SnapshotId': self.snapshot.ec2_id}},
            {'DeviceName': 'sdb', 'VirtualName': 'ephemeral0'},
            {'DeviceName': 'sdc', 'NoDevice': ''},
            {'DeviceName': 'sdd', 'Ebs': {'VolumeSize': '10',
                                          'DeleteOnTermination': 'false',
                                          'VolumeType': 'gp3',
                                          'Iops': '3000'}},
            root_device_name='sda1')
        self.assertEqual([
            bdm.new_bdm('/dev/sda1', boot_index=0,
                        snapshot_id=self.snapshot.id),
            bdm.new_bdm('/dev/sdb', virtual_name='ephemeral0',
                        short_name=True),
            bdm.new_bdm('/dev/sdc', no_device=True, short_name=True),
            bdm.new_bdm('/dev/sdd', volume_size=10, short_name=True,
                        delete_on_termination=False, volume_type='gp3'),
        ], bdms)
        for mapping in bdms:
            # short_name: only for names given without /dev/.
            self.assertEqual(
                {'device_name', 'boot_index', 'no_device', 'virtual_name',
                 'snapshot_id', 'volume_size', 'delete_on_termination',
                 'volume_type'}, set(mapping) - {'short_name'})

    def test_snapshot_size_rules(self):
        [mapping] = self.parse({'DeviceName': 'sdf', 'Ebs': {
            'SnapshotId': self.snapshot.ec2_id, 'VolumeSize': '4',
            'DeleteOnTermination': 'true'}})
        self.assertEqual((4, True), (mapping['volume_size'],
                                     mapping['delete_on_termination']))
        error = self.assertRaises(
            exception.InvalidBlockDeviceMapping, self.parse,
            {'DeviceName': 'sdf', 'Ebs': {
                'SnapshotId': self.snapshot.ec2_id, 'VolumeSize': '3'}})
        self.assertEqual(
            "Volume of size 3GB is smaller than snapshot '%s', expect size "
            ">= 4GB" % self.snapshot.ec2_id, error.msg)

    def test_snapshot_lookup(self):
        for snapshot_id, error in [
                ('snap-0123456789abcdef0', exception.InvalidSnapshotNotFound),
                (self._snapshot(project='beta').ec2_id,
                 exception.InvalidSnapshotNotFound),
                ('vol-0123456789abcdef0',
                 exception.InvalidSnapshotIDMalformed),
                (self._snapshot(status='pending').ec2_id,
                 exception.IncorrectState)]:
            self.assertRaises(error, self.parse, {
                'DeviceName': 'sdf', 'Ebs': {'SnapshotId': snapshot_id}})

    def test_duplicate_devices(self):
        error = self.assertRaises(
            exception.InvalidBlockDeviceMapping, self.parse,
            {'DeviceName': '/dev/sdb', 'NoDevice': ''},
            {'DeviceName': 'sdb', 'VirtualName': 'ephemeral1'})
        self.assertEqual("The device '/dev/sdb' is used in more than one "
                         "block-device mapping", error.msg)
        self.assertRaises(
            exception.InvalidBlockDeviceMapping, self.parse,
            {'DeviceName': 'sdb', 'VirtualName': 'ephemeral1'},
            {'DeviceName': 'sdc', 'VirtualName': 'ephemeral1'})

    def test_refusals(self):
        invalid = exception.InvalidBlockDeviceMapping
        value = exception.InvalidParameterValue
        cases = [
            ({'Ebs': {'VolumeSize': '1'}}, exception.MissingParameter),
            ({'DeviceName': '', 'NoDevice': ''}, exception.MissingParameter),
            ({'DeviceName': 'sd b', 'NoDevice': ''}, invalid),
            ({'DeviceName': 'sdb'}, invalid),
            ({'DeviceName': 'sdb', 'NoDevice': '',
              'VirtualName': 'ephemeral0'}, invalid),
            ({'DeviceName': 'sdb', 'NoDevice': '',
              'Ebs': {'VolumeSize': '1'}}, invalid),
            ({'DeviceName': 'sdb', 'VirtualName': 'ephemeral24'}, invalid),
            ({'DeviceName': 'sdb', 'VirtualName': 'swap'}, invalid),
            ({'DeviceName': 'sdb', 'Ebs': {'DeleteOnTermination': 'true'}},
             invalid),
            ({'DeviceName': 'sdb', 'Ebs': {'VolumeSize': '0'}}, value),
            ({'DeviceName': 'sdb', 'Ebs': {'VolumeSize': '16385'}}, value),
            ({'DeviceName': 'sdb', 'Ebs': {'VolumeSize': 'big'}}, value),
            ({'DeviceName': 'sdb', 'Ebs': {'VolumeSize': '2',
                                           'VolumeType': 'io1'}}, value),
            ({'DeviceName': 'sdb', 'Ebs': {'VolumeSize': '2',
                                           'VolumeType': 'fast'}}, value),
            ({'DeviceName': 'sdb', 'Ebs': {'VolumeSize': '2',
                                           'DeleteOnTermination': 'yes'}},
             value),
            ({'DeviceName': 'sdb', 'Ebs': 'x'}, value),
            ({'DeviceName': 'sdb', 'Ebs': {'VolumeSize': '2',
                                           'Encrypted': 'true'}},
             exception.UnsupportedOperation),
            ({'DeviceName': 'sdb', 'Ebs': {'VolumeSize': '2',
                                           'KmsKeyId': 'k'}},
             exception.UnsupportedOperation),
            ({'DeviceName': 'sdb', 'Ebs': {'VolumeSize': '2', 'Bogus': '1'}},
             exception.UnknownParameter),
            ({'DeviceName': 'sdb', 'Bogus': '1'}, exception.UnknownParameter),
        ]
        for entry, error in cases:
            self.assertRaises(error, self.parse, entry)

    def test_error_names_the_parameter(self):
        error = self.assertRaises(
            exception.MissingParameter, self.parse,
            {'DeviceName': 'sdb', 'NoDevice': ''}, {'NoDevice': ''})
        self.assertIn('BlockDeviceMapping.2.DeviceName', error.msg)
        error = self.assertRaises(
            exception.InvalidParameterValue, self.parse,
            {'DeviceName': 'sdb', 'Ebs': {'VolumeSize': 'x'}})
        self.assertIn('BlockDeviceMapping.1.Ebs.VolumeSize', error.msg)

    def test_partial_ebs_for_launches(self):
        [mapping] = self.parse(
            {'DeviceName': 'sda1', 'Ebs': {'DeleteOnTermination': 'false'}},
            require_source=False)
        self.assertEqual(bdm.new_bdm('/dev/sda1', short_name=True,
                                     delete_on_termination=False), mapping)

    def test_short_names_kept_by_images_and_launches(self):
        bdms = self.parse(
            {'DeviceName': 'sda1',
             'Ebs': {'SnapshotId': self.snapshot.ec2_id}},
            {'DeviceName': '/dev/sdb', 'Ebs': {'VolumeSize': '1'}},
            {'DeviceName': 'sdc', 'Ebs': {'VolumeSize': '1'}},
            root_device_name='sda1')
        block_device_mapping, mappings = bdm.to_nova(bdms, 'sda1')
        properties = dict(
            bdm.short_names_properties(bdms, 'sda1'), bdm_v2='True',
            root_device_name='/dev/sda1',
            block_device_mapping=jsonutils.dumps(block_device_mapping))
        self.assertTrue(bdm.root_is_short(properties))
        root, image_bdms = bdm.from_nova(properties)
        self.assertEqual(
            [('/dev/sda1', 'sda1'), ('/dev/sdb', '/dev/sdb'),
             ('/dev/sdc', 'sdc')],
            [(b['device_name'], bdm.as_given(b['device_name'],
                                             b.get('short_name')))
             for b in image_bdms])
        # A launch naming a device spells it its own way.
        launch = self.parse({'DeviceName': 'sdb', 'Ebs': {'VolumeSize': '2'}},
                            {'DeviceName': '/dev/sdc', 'NoDevice': ''},
                            require_source=False)
        merged = bdm.merge(image_bdms, launch, root)
        self.assertEqual([('/dev/sda1', True), ('/dev/sdb', True)],
                         [(b['device_name'], bool(b.get('short_name')))
                          for b in merged])

    def test_encrypted_false_is_fine(self):
        [mapping] = self.parse({'DeviceName': 'sdb', 'Ebs': {
            'VolumeSize': '1', 'Encrypted': 'false'}})
        self.assertEqual(1, mapping['volume_size'])


class NovaFormatTest(base.TestCase):

    snap_root = 'aaaaaaaa-0000-4000-8000-000000000001'
    snap_data = 'aaaaaaaa-0000-4000-8000-000000000002'

    def _bdms(self):
        return [
            bdm.new_bdm('/dev/sda1', boot_index=0, snapshot_id=self.snap_root,
                        volume_size=8, delete_on_termination=True,
                        volume_type='gp2'),
            bdm.new_bdm('/dev/sdb', virtual_name='ephemeral0'),
            bdm.new_bdm('/dev/sdc', no_device=True),
            bdm.new_bdm('/dev/sdd', snapshot_id=self.snap_data,
                        volume_size=20, delete_on_termination=False,
                        volume_type='gp3'),
            bdm.new_bdm('/dev/sde', volume_size=5,
                        delete_on_termination=True, volume_type='gp2'),
            bdm.new_bdm('/dev/sdf', virtual_name='ephemeral1'),
        ]

    def test_to_nova(self):
        mapping, legacy = bdm.to_nova(self._bdms(), 'sda1')
        for entry in mapping:
            self.assertLessEqual(set(entry), NOVA_BDM_NEW_FIELDS)
            self.assertEqual(set(bdm.NOVA_KEYS), set(entry))
        self.assertEqual([{'virtual': 'ephemeral0', 'device': 'sdb'},
                          {'virtual': 'ephemeral1', 'device': 'sdf'}],
                         legacy)
        roots = [e for e in mapping if e['boot_index'] == 0]
        self.assertEqual(1, len(roots))
        self.assertEqual({
            'source_type': 'snapshot', 'destination_type': 'volume',
            'snapshot_id': self.snap_root, 'boot_index': 0,
            'device_name': '/dev/sda1', 'volume_size': 8,
            'delete_on_termination': True, 'device_type': 'disk',
            'disk_bus': None, 'guest_format': None, 'image_id': None,
            'volume_id': None, 'no_device': None, 'tag': None,
            'volume_type': 'gp2'}, roots[0])
        by_device = {e['device_name']: e for e in mapping}
        self.assertEqual(
            dict(dict.fromkeys(bdm.NOVA_KEYS), device_name='/dev/sdc',
                 no_device=True), by_device['/dev/sdc'])
        self.assertEqual(('snapshot', 'volume', -1, 20, False),
                         tuple(by_device['/dev/sdd'][k] for k in (
                             'source_type', 'destination_type',
                             'boot_index', 'volume_size',
                             'delete_on_termination')))
        self.assertEqual(('blank', 'volume', None, -1, 5),
                         tuple(by_device['/dev/sde'][k] for k in (
                             'source_type', 'destination_type',
                             'snapshot_id', 'boot_index', 'volume_size')))
        # What Glance stores must survive JSON.
        self.assertEqual(mapping, jsonutils.loads(jsonutils.dumps(mapping)))

    def test_to_nova_needs_an_ebs_root(self):
        bdms = self._bdms()
        for root in ('/dev/sdb', '/dev/sdc', '/dev/sdz'):
            self.assertRaises(exception.InvalidBlockDeviceMapping,
                              bdm.to_nova, bdms, root)
        self.assertRaises(exception.InvalidBlockDeviceMapping, bdm.to_nova,
                          bdms + [bdm.new_bdm('/dev/sdd', no_device=True)],
                          '/dev/sda1')

    def test_round_trip(self):
        bdms = self._bdms()
        mapping, legacy = bdm.to_nova(bdms, '/dev/sda1')
        properties = {'root_device_name': '/dev/sda1', 'bdm_v2': 'True',
                      'block_device_mapping': jsonutils.dumps(mapping),
                      'mappings': jsonutils.dumps(legacy)}
        root, read = bdm.from_nova(properties)
        self.assertEqual('/dev/sda1', root)
        self.assertEqual(bdms, read)

    def test_from_nova_tolerates_missing_and_bad_properties(self):
        self.assertEqual((None, []), bdm.from_nova({}))
        self.assertEqual(('/dev/vda', []), bdm.from_nova({
            'root_device_name': '/dev/vda', 'bdm_v2': 'True',
            'block_device_mapping': 'not json', 'mappings': '{}'}))

    def test_from_nova_of_a_nova_snapshot(self):
        # A snapshot of a volume-backed server, as Nova writes it: root
        # device without /dev/ in mappings, image and swap entries.
        properties = {
            'root_device_name': 'vda', 'bdm_v2': 'True',
            'block_device_mapping': jsonutils.dumps([
                {'source_type': 'snapshot', 'destination_type': 'volume',
                 'snapshot_id': self.snap_root, 'boot_index': 0,
                 'device_name': '/dev/vda', 'volume_size': 10,
                 'delete_on_termination': 'True', 'device_type': 'disk',
                 'disk_bus': 'virtio'},
                {'source_type': 'blank', 'destination_type': 'local',
                 'guest_format': 'swap', 'device_name': '/dev/vdc',
                 'boot_index': -1},
                {'source_type': 'blank', 'destination_type': 'local',
                 'guest_format': None, 'device_name': '/dev/vdb',
                 'boot_index': -1},
                {'source_type': 'image', 'destination_type': 'local',
                 'image_id': 'x', 'boot_index': -1,
                 'device_name': '/dev/vdd'},
                {'source_type': 'volume', 'destination_type': 'volume',
                 'volume_id': 'v', 'device_name': '/dev/vde'},
                {'no_device': True, 'device_name': '/dev/vdf'}]),
        }
        root, bdms = bdm.from_nova(properties)
        self.assertEqual('/dev/vda', root)
        self.assertEqual([
            bdm.new_bdm('/dev/vda', boot_index=0, snapshot_id=self.snap_root,
                        volume_size=10, delete_on_termination=True),
            bdm.new_bdm('/dev/vdb', virtual_name='ephemeral0'),
            bdm.new_bdm('/dev/vdf', no_device=True),
        ], bdms)

    def test_from_nova_legacy_format(self):
        properties = {
            'mappings': jsonutils.dumps([
                {'virtual': 'ami', 'device': 'sda1'},
                {'virtual': 'root', 'device': '/dev/sda1'},
                {'virtual': 'ephemeral0', 'device': 'sdb'},
                {'virtual': 'swap', 'device': 'sdc'},
                {'virtual': 'ephemeral1', 'device': 'sdd'}]),
            'block_device_mapping': jsonutils.dumps([
                {'device_name': '/dev/sda1', 'snapshot_id': self.snap_root,
                 'volume_size': '8', 'delete_on_termination': False},
                {'device_name': '/dev/sdd', 'no_device': True},
                {'device_name': '/dev/sdg', 'volume_id': 'v'},
                {'device_name': 'sdh', 'volume_size': 3}]),
        }
        root, bdms = bdm.from_nova(properties)
        self.assertEqual('/dev/sda1', root)
        self.assertEqual([
            bdm.new_bdm('/dev/sda1', boot_index=0, snapshot_id=self.snap_root,
                        volume_size=8, delete_on_termination=False),
            bdm.new_bdm('/dev/sdb', virtual_name='ephemeral0'),
            bdm.new_bdm('/dev/sdd', no_device=True),
            bdm.new_bdm('/dev/sdh', volume_size=3),
        ], bdms)

    def test_from_nova_root_from_boot_index(self):
        root, bdms = bdm.from_nova({
            'bdm_v2': 'True', 'block_device_mapping': jsonutils.dumps([
                {'source_type': 'snapshot', 'destination_type': 'volume',
                 'snapshot_id': self.snap_root, 'boot_index': 0,
                 'device_name': '/dev/vda'}])})
        self.assertEqual('/dev/vda', root)
        self.assertEqual(0, bdms[0]['boot_index'])


class MergeTest(base.TestCase):

    root_snap = 'bbbbbbbb-0000-4000-8000-000000000001'
    data_snap = 'bbbbbbbb-0000-4000-8000-000000000002'
    other_snap = 'bbbbbbbb-0000-4000-8000-000000000003'
    sizes = {root_snap: 8, data_snap: 4, other_snap: 2}

    def _image(self):
        return [
            bdm.new_bdm('/dev/sda1', boot_index=0, snapshot_id=self.root_snap,
                        volume_size=10, delete_on_termination=True,
                        volume_type='gp2'),
            bdm.new_bdm('/dev/sdb', virtual_name='ephemeral0'),
            bdm.new_bdm('/dev/sdc', snapshot_id=self.data_snap,
                        volume_size=4, delete_on_termination=False,
                        volume_type='gp3'),
            bdm.new_bdm('/dev/sdd', no_device=True),
        ]

    def merge(self, *launch):
        return bdm.merge(self._image(), list(launch), '/dev/sda1',
                         snapshot_size=self.sizes.get)

    def test_image_alone(self):
        merged = self.merge()
        self.assertEqual(['/dev/sda1', '/dev/sdb', '/dev/sdc'],
                         [b['device_name'] for b in merged])
        self.assertEqual([0, -1, -1], [b['boot_index'] for b in merged])
        self.assertEqual(self._image()[:3], merged)

    def test_root_changes(self):
        merged = self.merge(bdm.new_bdm('/dev/sda1', volume_size=30,
                                        delete_on_termination=False,
                                        volume_type='gp3'))
        self.assertEqual(bdm.new_bdm(
            '/dev/sda1', boot_index=0, snapshot_id=self.root_snap,
            volume_size=30, delete_on_termination=False, volume_type='gp3'),
            merged[0])
        same = self.merge(bdm.new_bdm('/dev/sda1', snapshot_id=self.root_snap))
        self.assertEqual(self._image()[0], same[0])

    def test_root_refusals(self):
        for launch, message in [
                (bdm.new_bdm('/dev/sda1', volume_size=9),
                 'Volume of size 9GB is smaller than expected size 10GB for '
                 'the root device'),
                (bdm.new_bdm('/dev/sda1', snapshot_id=self.other_snap),
                 'snapshotId cannot be modified on root device'),
                (bdm.new_bdm('/dev/sda1', no_device=True),
                 'Root device cannot be suppressed'),
                (bdm.new_bdm('/dev/sda1', virtual_name='ephemeral3'),
                 'The root device /dev/sda1 must be an EBS volume.')]:
            error = self.assertRaises(exception.InvalidBlockDeviceMapping,
                                      self.merge, launch)
            self.assertEqual(message, error.msg)

    def test_devices(self):
        merged = self.merge(
            bdm.new_bdm('/dev/sdb', no_device=True),
            bdm.new_bdm('/dev/sdc', delete_on_termination=True,
                        volume_size=6),
            bdm.new_bdm('/dev/sdd', virtual_name='ephemeral1'),
            bdm.new_bdm('/dev/sde', snapshot_id=self.other_snap),
            bdm.new_bdm('/dev/sdf', volume_size=1),
            bdm.new_bdm('/dev/sdg', no_device=True))
        self.assertEqual([
            bdm.new_bdm('/dev/sda1', boot_index=0, snapshot_id=self.root_snap,
                        volume_size=10, delete_on_termination=True,
                        volume_type='gp2'),
            bdm.new_bdm('/dev/sdc', snapshot_id=self.data_snap,
                        volume_size=6, delete_on_termination=True,
                        volume_type='gp3'),
            bdm.new_bdm('/dev/sdd', virtual_name='ephemeral1'),
            bdm.new_bdm('/dev/sde', snapshot_id=self.other_snap,
                        volume_size=2, delete_on_termination=True,
                        volume_type='gp2'),
            bdm.new_bdm('/dev/sdf', volume_size=1,
                        delete_on_termination=True, volume_type='gp2'),
        ], merged)

    def test_new_snapshot_on_an_ebs_device(self):
        [_root, _eph, data] = self.merge(
            bdm.new_bdm('/dev/sdc', snapshot_id=self.other_snap))
        self.assertEqual((self.other_snap, 2, False, 'gp3'),
                         (data['snapshot_id'], data['volume_size'],
                          data['delete_on_termination'],
                          data['volume_type']))

    def test_device_refusals(self):
        invalid = exception.InvalidBlockDeviceMapping
        error = self.assertRaises(
            invalid, self.merge,
            bdm.new_bdm('/dev/sdb', snapshot_id=self.other_snap))
        self.assertEqual('snapshotId can only be modified on EBS devices',
                         error.msg)
        error = self.assertRaises(invalid, self.merge,
                                  bdm.new_bdm('/dev/sdc', volume_size=3))
        self.assertIn('smaller than expected size 4GB', error.msg)
        self.assertRaises(invalid, self.merge,
                          bdm.new_bdm('/dev/sdx',
                                      delete_on_termination=True))
        self.assertRaises(exception.InvalidParameterValue, self.merge,
                          bdm.new_bdm('/dev/sdc', volume_type='st1'))

    def test_defaults_apply_to_image_volumes_without_them(self):
        image = [bdm.new_bdm('/dev/vda', snapshot_id=self.root_snap)]
        self.config.config(default_volume_type='gp3', group='volume')
        [root] = bdm.merge(image, [], 'vda', snapshot_size=self.sizes.get)
        self.assertEqual(bdm.new_bdm(
            '/dev/vda', boot_index=0, snapshot_id=self.root_snap,
            volume_size=8, delete_on_termination=True, volume_type='gp3'),
            root)

    def test_default_size_from_the_database(self):
        snapshot = db.snapshot_create(self.context(), {
            'id': str(uuid.uuid4()), 'ec2_id': ec2ids.new_id('snap'),
            'project_id': 'alpha', 'volume_ec2_id': ec2ids.new_id('vol'),
            'volume_size': 7, 'status': 'completed', 'progress': 100})
        [root] = bdm.merge([bdm.new_bdm('/dev/vda', snapshot_id=snapshot.id)],
                           [], '/dev/vda')
        self.assertEqual(7, root['volume_size'])

    def test_image_without_ebs_root(self):
        image = [bdm.new_bdm('/dev/sdb', virtual_name='ephemeral0')]
        self.assertRaises(exception.InvalidBlockDeviceMapping, bdm.merge,
                          image, [], '/dev/sda1',
                          snapshot_size=self.sizes.get)
        [root, _eph] = bdm.merge(
            image, [bdm.new_bdm('/dev/sda1', snapshot_id=self.root_snap)],
            '/dev/sda1', snapshot_size=self.sizes.get)
        self.assertEqual((0, 8), (root['boot_index'], root['volume_size']))
