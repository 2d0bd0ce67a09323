"""DescribeInstances and DescribeInstanceStatus on the wire."""

import datetime

import fixtures

from ebsboot.api.ec2 import instances
from ebsboot.api.ec2 import xmlutil
from ebsboot.db import api as db
from ebsboot.tests.unit.api import wire


def _instance(ec2_id, state, reservation='r-0', project='alpha'):
    return {
        'id': ec2_id + '-uuid', 'ec2_id': ec2_id,
        'reservation_id': reservation, 'project_id': project,
        'image_id': 'img', 'image_ec2_id': 'ami-00000001',
        'instance_type': 't2.micro', 'vcpus': 1, 'memory_mb': 1024,
        'availability_zone': 'nova', 'state': state, 'launch_index': 0,
        'shutdown_behavior': 'stop', 'root_device_name': '/dev/sda1',
        'user_data': 'c2VjcmV0', 'client_token': 'tok-' + ec2_id,
        'launched_at': datetime.datetime(2026, 11, 21, 10, 0, 0)}


def _root(volume_ec2_id):
    return {'device_name': '/dev/sda1', 'boot_index': 0,
            'delete_on_termination': True, 'status': 'attached',
            'volume_id': volume_ec2_id + '-uuid',
            'volume_ec2_id': volume_ec2_id,
            'attach_time': datetime.datetime(2026, 11, 21, 10, 0, 1)}


IDS = ['i-00000000000000001', 'i-00000000000000002', 'i-00000000000000003']


class DescribeInstancesTest(wire.WireTestCase):

    def setUp(self):
        super().setUp()
        for n, (ec2_id, state, reservation) in enumerate([
                (IDS[0], 'running', 'r-00000000000000001'),
                (IDS[1], 'stopped', 'r-00000000000000001'),
                (IDS[2], 'running', 'r-00000000000000002')]):
            db.instance_create(self.context('alpha'),
                               _instance(ec2_id, state, reservation),
                               [_root('vol-0000000000000000%d' % n)])
        db.instance_create(self.context('beta'),
                           _instance('i-0000000000000000b', 'running',
                                     'r-0000000000000000b', 'beta'),
                           [_root('vol-0000000000000000b')])

    def ids(self, **kwargs):
        return [i['InstanceId']
                for r in self.ok('DescribeInstances', **kwargs)[
                    'Reservations'] for i in r['Instances']]

    def test_all_of_the_project(self):
        answer = self.ok('DescribeInstances')
        self.assertEqual(['r-00000000000000001', 'r-00000000000000002'],
                         [r['ReservationId'] for r in answer['Reservations']])
        first = answer['Reservations'][0]['Instances'][0]
        self.assertEqual(
            (IDS[0], 'running', 16, 'ebs', '/dev/sda1', 'tok-' + IDS[0]),
            (first['InstanceId'], first['State']['Name'],
             first['State']['Code'], first['RootDeviceType'],
             first['RootDeviceName'], first['ClientToken']))
        [device] = first['BlockDeviceMappings']
        self.assertEqual(('vol-00000000000000000', 'attached', True),
                         (device['Ebs']['VolumeId'], device['Ebs']['Status'],
                          device['Ebs']['DeleteOnTermination']))
        self.assertEqual(datetime.datetime(2026, 11, 21, 10, 0, 0),
                         first['LaunchTime'].replace(tzinfo=None))

    def test_filters_narrowing_the_query(self):
        for filters, expected in [
                ([('instance-id', [IDS[2], IDS[0]])], [IDS[0], IDS[2]]),
                ([('instance-state-name', ['stopped'])], [IDS[1]]),
                ([('reservation-id', ['r-00000000000000001'])], IDS[:2]),
                ([('client-token', ['tok-' + IDS[1]])], [IDS[1]]),
                ([('instance-id', IDS),
                  ('instance-state-name', ['running'])], [IDS[0], IDS[2]]),
                # Another project's instance is not found by its id.
                ([('instance-id', ['i-0000000000000000b'])], []),
                ([('instance-type', ['t2.micro']),
                  ('availability-zone', ['nova']),
                  ('image-id', ['ami-00000001'])], IDS)]:
            self.assertEqual(expected, self.ids(Filters=[
                {'Name': name, 'Values': values}
                for name, values in filters]), filters)

    def test_plain_values_go_to_the_query(self):
        rows = self.useFixture(fixtures.MockPatchObject(
            db, 'instance_rows', side_effect=db.instance_rows)).mock
        self.ids(Filters=[
            {'Name': 'instance-id', 'Values': IDS[:2]},
            {'Name': 'instance-state-name', 'Values': ['run*']},
            {'Name': 'reservation-id', 'Values': ['r-00000000000000001']}])
        self.assertEqual({'ec2_id': IDS[:2],
                          'reservation_id': ['r-00000000000000001']},
                         rows.call_args.kwargs)

    def test_wildcards_and_other_filters(self):
        for filters, expected in [
                ([('instance-id', ['i-*3', IDS[1]])], IDS[1:]),
                ([('instance-state-name', ['run*'])], [IDS[0], IDS[2]]),
                ([('block-device-mapping.volume-id',
                   ['vol-00000000000000001'])], [IDS[1]]),
                ([('instance-state-code', ['80'])], [IDS[1]])]:
            self.assertEqual(expected, self.ids(Filters=[
                {'Name': name, 'Values': values}
                for name, values in filters]), filters)

    def test_devices_whatever_narrowed_the_list(self):
        volumes = {IDS[n]: 'vol-0000000000000000%d' % n for n in range(3)}
        for kwargs in [
                {},
                {'InstanceIds': [IDS[2], IDS[0]]},
                {'Filters': [{'Name': 'instance-state-name',
                              'Values': ['running']}]},
                {'Filters': [{'Name': 'instance-state-name',
                              'Values': ['run*']}]},
                {'Filters': [{'Name': 'block-device-mapping.volume-id',
                              'Values': [volumes[IDS[1]]]}]},
                {'MaxResults': 5},
                {'MaxResults': 5, 'NextToken': 'eyJvZmZzZXQiOiAyfQ=='}]:
            answer = self.ok('DescribeInstances', **kwargs)
            shown = {i['InstanceId']: [d['Ebs']['VolumeId']
                                       for d in i['BlockDeviceMappings']]
                     for r in answer['Reservations'] for i in r['Instances']}
            self.assertTrue(shown, kwargs)
            self.assertEqual({i: [volumes[i]] for i in shown}, shown, kwargs)

    def test_device_rows_of_the_instances_found(self):
        alpha = self.context('alpha')
        for ec2_ids, where, expected in [
                (None, {}, IDS),
                (None, {'state': ['stopped']}, IDS[1:2]),
                ([IDS[2], 'i-0000000000000000b'], {}, IDS[2:]),
                (None, {'ec2_id': ['i-0000000000000000b']}, [])]:
            rows = db.instance_device_rows(alpha, instances.DEVICE_COLUMNS,
                                           ec2_ids, **where)
            self.assertEqual([i + '-uuid' for i in expected],
                             [r.instance_id for r in rows])

    def test_ids_and_filters(self):
        # Named instances that a filter leaves out are no error.
        self.assertEqual([], self.ids(InstanceIds=[IDS[1]], Filters=[
            {'Name': 'instance-state-name', 'Values': ['running']}]))
        self.assertEqual([IDS[1]], self.ids(InstanceIds=[IDS[1]]))
        self.error('InvalidInstanceID.NotFound', 'DescribeInstances',
                   InstanceIds=['i-0000000000000000b'])

    def test_changes_show_at_once(self):
        # Rendered instances are cached by the values of their rows.
        def first():
            instance = self.ok('DescribeInstances', InstanceIds=[IDS[0]])[
                'Reservations'][0]['Instances'][0]
            return (instance['State']['Name'],
                    instance['BlockDeviceMappings'][0]['Ebs']['Status'])

        self.assertEqual(('running', 'attached'), first())
        db.instance_update(self.context('alpha'), IDS[0] + '-uuid',
                           {'state': 'stopping'})
        self.assertEqual(('stopping', 'attached'), first())
        [device] = db.block_device_list([IDS[0] + '-uuid'])
        db.block_device_update(device.id, {'status': 'detaching'})
        self.assertEqual(('stopping', 'detaching'), first())

    def test_unchanged_answers_are_not_read_again(self):
        reads = self.useFixture(fixtures.MockPatchObject(
            instances, '_describe_instances',
            side_effect=instances._describe_instances)).mock
        first = self.ok('DescribeInstances')
        self.assertEqual(first['Reservations'],
                         self.ok('DescribeInstances')['Reservations'])
        self.assertEqual(1, reads.call_count)
        # Other parameters, another project: answers of their own.
        self.ids(InstanceIds=[IDS[1]])
        self.ids(project='beta')
        self.assertEqual(3, reads.call_count)
        self.assertEqual(['i-0000000000000000b'], self.ids(project='beta'))
        self.assertEqual(IDS, self.ids())
        self.assertEqual(3, reads.call_count)
        # Any commit: read again.
        db.instance_update(self.context('alpha'), IDS[1] + '-uuid',
                           {'state': 'pending'})
        self.assertEqual('pending', self.ok('DescribeInstances')[
            'Reservations'][0]['Instances'][1]['State']['Name'])
        self.assertEqual(4, reads.call_count)

    def test_only_the_latest_answers_are_kept(self):
        self.useFixture(fixtures.MockPatchObject(
            instances._RESPONSES, 'size', 2))
        for ec2_id in IDS:
            self.ids(InstanceIds=[ec2_id])
        self.assertEqual(2, len(instances._RESPONSES))

    def test_tags_and_tag_filters(self):
        self.ok('CreateTags', Resources=IDS[:2],
                Tags=[{'Key': 'env', 'Value': 'prod'}])
        self.ok('CreateTags', Resources=[IDS[1]],
                Tags=[{'Key': 'Name', 'Value': 'db'}])
        tags = {i['InstanceId']: i.get('Tags')
                for r in self.ok('DescribeInstances')['Reservations']
                for i in r['Instances']}
        self.assertEqual({
            IDS[0]: [{'Key': 'env', 'Value': 'prod'}],
            IDS[1]: [{'Key': 'Name', 'Value': 'db'},
                     {'Key': 'env', 'Value': 'prod'}],
            IDS[2]: None}, tags)
        for filters, expected in [
                ([{'Name': 'tag:env', 'Values': ['prod']}], IDS[:2]),
                ([{'Name': 'tag:Name', 'Values': ['d*']}], IDS[1:2]),
                ([{'Name': 'tag-key', 'Values': ['Name']}], IDS[1:2]),
                ([{'Name': 'tag-value', 'Values': ['prod', 'db']},
                  {'Name': 'instance-state-name', 'Values': ['running']}],
                 IDS[:1]),
                ([{'Name': 'tag:env', 'Values': ['dev']}], [])]:
            self.assertEqual(expected, self.ids(Filters=filters), filters)
        # Paged: the page's tags.
        [first] = self.ok('DescribeInstances', MaxResults=5, Filters=[
            {'Name': 'instance-id', 'Values': [IDS[1]]}])['Reservations']
        self.assertEqual(2, len(first['Instances'][0]['Tags']))
        # A change of tags shows at once, whatever was kept.
        self.ok('DeleteTags', Resources=[IDS[0]])
        self.assertEqual(IDS[1:2], self.ids(Filters=[
            {'Name': 'tag:env', 'Values': ['prod']}]))

    def test_describe_reads_tags_with_one_query(self):
        self.ok('CreateTags', Resources=IDS,
                Tags=[{'Key': 'env', 'Value': 'prod'}])
        reads = self.useFixture(fixtures.MockPatchObject(
            db, 'tags_by_resource', side_effect=db.tags_by_resource)).mock
        self.ids(Filters=[{'Name': 'tag:env', 'Values': ['prod']}])
        self.assertEqual(1, reads.call_count)
        reads.reset_mock()
        self.ids(InstanceIds=IDS[:1])
        self.assertEqual(1, reads.call_count)

    def test_instance_status(self):
        statuses = self.ok('DescribeInstanceStatus')['InstanceStatuses']
        self.assertEqual([(IDS[0], 'ok'), (IDS[2], 'ok')],
                         [(s['InstanceId'], s['InstanceStatus']['Status'])
                          for s in statuses])
        statuses = self.ok('DescribeInstanceStatus', IncludeAllInstances=True,
                           InstanceIds=[IDS[1]])['InstanceStatuses']
        self.assertEqual([(IDS[1], 'stopped', 'not-applicable')],
                         [(s['InstanceId'], s['InstanceState']['Name'],
                           s['InstanceStatus']['Status'])
                          for s in statuses])


class InstanceXmlTest(wire.WireTestCase):
    """The fast renderer writes exactly what format_instance describes."""

    def test_same_as_the_generic_rendering(self):
        base_values = _instance(IDS[0], 'running')
        launched = datetime.datetime(2026, 11, 21, 10, 0, 0, 123456)
        device = _root('vol-00000000000000001')
        ephemeral = {'device_name': '/dev/sdc', 'boot_index': -1,
                     'virtual_name': 'ephemeral0', 'status': 'detached',
                     'delete_on_termination': True}
        no_attach_time = dict(_root('vol-00000000000000002'),
                              device_name='/dev/sdb', boot_index=-1,
                              attach_time=None, status='attaching',
                              delete_on_termination=False)
        for n, (extra, devices) in enumerate([
                ({}, [device]),
                ({'launched_at': None}, []),
                ({'launched_at': launched, 'kernel_id': 'aki-00000001',
                  'ramdisk_id': 'ari-00000001', 'client_token': None,
                  'state': 'terminated',
                  'state_transition_reason': 'User initiated <&>',
                  'state_reason_code': 'Client.UserInitiatedShutdown',
                  'state_reason_message': 'a "b"\r\nc\x01'},
                 [device, ephemeral, no_attach_time]),
                ({'state': 'pending', 'state_reason_code': 'pending',
                  'state_reason_message': None}, [])]):
            values = dict(base_values, id='uuid-%d' % n,
                          ec2_id='i-0000000000000010%d' % n, **extra)
            db.instance_create(self.context('alpha'), values,
                               [dict(d, volume_id=(d.get('volume_id') and
                                                   d['volume_id'] + str(n)))
                                for d in devices])
        for row in db.instance_rows(self.context('alpha'),
                                    instances.INSTANCE_COLUMNS):
            [devices] = instances._devices([row]).values() or [[]]
            for tags in ((), [('Name', 'a <b> & "c"'), ('empty', '')]):
                generic = xmlutil.render_response(
                    'X', 'v', 'r', {'s': [instances.format_instance(
                        row, devices, tags)]})
                fast = xmlutil.render_response(
                    'X', 'v', 'r', {'s': [instances.instance_xml(
                        row, devices, tags)]})
                self.assertEqual(generic.decode(), fast.decode())

    def test_tags_are_part_of_the_cache_key(self):
        db.instance_create(self.context('alpha'),
                           _instance(IDS[0], 'running'),
                           [_root('vol-00000000000000001')])
        [row] = db.instance_rows(self.context('alpha'),
                                 instances.INSTANCE_COLUMNS)
        plain = instances.instance_xml(row, [])
        tagged = instances.instance_xml(row, [], [('k', 'v')])
        self.assertNotIn('tagSet', str(plain))
        self.assertIn('<tagSet><item><key>k</key><value>v</value></item>'
                      '</tagSet>', str(tagged))
        self.assertIn('<value>w</value>',
                      str(instances.instance_xml(row, [], [('k', 'w')])))
