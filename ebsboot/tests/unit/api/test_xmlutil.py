import collections
import datetime
import enum
from xml.etree import ElementTree

import botocore.parsers
import botocore.session
from oslotest import base

from ebsboot.api.ec2 import xmlutil

_MODEL = botocore.session.get_session().get_service_model('ec2')
_VERSION = '2016-11-15'
_UTC = datetime.timezone.utc
_T0 = datetime.datetime(2026, 11, 21, 10, 0, 0, 123456)


def _parse(operation, body, status=200):
    parser = botocore.parsers.create_parser('ec2')
    return parser.parse(
        {'body': body, 'headers': {}, 'status_code': status},
        _MODEL.operation_model(operation).output_shape)


def _volume(number, attached=False):
    volume_id = 'vol-%08x' % number
    return {
        'volumeId': volume_id,
        'size': 10,
        'snapshotId': 'snap-00000001',
        'availabilityZone': 'nova',
        'status': 'in-use' if attached else 'available',
        'createTime': _T0,
        'attachmentSet': [
            {'volumeId': volume_id,
             'instanceId': 'i-00000001',
             'device': '/dev/sda1',
             'status': 'attached',
             'attachTime': _T0 + datetime.timedelta(seconds=number),
             'deleteOnTermination': True},
        ] if attached else [],
        'volumeType': 'standard',
        'encrypted': False,
        'multiAttachEnabled': False,
        'tagSet': [{'key': 'Name', 'value': 'disk <%d> & co' % number}],
        'kmsKeyId': None,
    }


class RenderResponseTest(base.BaseTestCase):

    def test_envelope(self):
        body = xmlutil.render_response('DeleteVolume', _VERSION, 'req-1',
                                       {'return': True})
        self.assertIsInstance(body, bytes)
        self.assertEqual(
            b'<?xml version="1.0" encoding="UTF-8"?>\n'
            b'<DeleteVolumeResponse '
            b'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
            b'<requestId>req-1</requestId><return>true</return>'
            b'</DeleteVolumeResponse>',
            body)
        parsed = _parse('DeleteVolume', body)
        self.assertEqual('req-1', parsed['ResponseMetadata']['RequestId'])

    def test_namespace_fmt(self):
        self.assertEqual('http://ec2.amazonaws.com/doc/2016-11-15/',
                         xmlutil.NAMESPACE_FMT % _VERSION)

    def test_return_parsed(self):
        body = xmlutil.render_response('DeregisterImage', _VERSION, 'r',
                                       {'return': True})
        self.assertIs(True, _parse('DeregisterImage', body)['Return'])
        body = xmlutil.render_response('DeregisterImage', _VERSION, 'r',
                                       {'return': False})
        self.assertIs(False, _parse('DeregisterImage', body)['Return'])

    def test_describe_volumes(self):
        body = xmlutil.render_response(
            'DescribeVolumes', _VERSION, 'req-2',
            {'volumeSet': [_volume(1, attached=True), _volume(2)],
             'nextToken': 'next'})
        parsed = _parse('DescribeVolumes', body)
        self.assertEqual('next', parsed['NextToken'])
        self.assertEqual('req-2', parsed['ResponseMetadata']['RequestId'])
        first, second = parsed['Volumes']
        self.assertEqual('vol-00000001', first['VolumeId'])
        self.assertEqual(10, first['Size'])
        self.assertEqual('snap-00000001', first['SnapshotId'])
        self.assertEqual('nova', first['AvailabilityZone'])
        self.assertEqual('in-use', first['State'])
        self.assertEqual(
            datetime.datetime(2026, 11, 21, 10, 0, 0, 123000, tzinfo=_UTC),
            first['CreateTime'])
        self.assertIs(False, first['Encrypted'])
        self.assertIs(False, first['MultiAttachEnabled'])
        self.assertEqual([{'Key': 'Name', 'Value': 'disk <1> & co'}],
                         first['Tags'])
        self.assertNotIn('KmsKeyId', first)
        attachment, = first['Attachments']
        self.assertEqual('i-00000001', attachment['InstanceId'])
        self.assertEqual('/dev/sda1', attachment['Device'])
        self.assertEqual('attached', attachment['State'])
        self.assertIs(True, attachment['DeleteOnTermination'])
        self.assertEqual(
            datetime.datetime(2026, 11, 21, 10, 0, 1, 123000, tzinfo=_UTC),
            attachment['AttachTime'])
        self.assertEqual('available', second['State'])
        self.assertEqual([], second['Attachments'])

    def test_describe_volumes_empty(self):
        body = xmlutil.render_response('DescribeVolumes', _VERSION, 'r',
                                       {'volumeSet': [], 'nextToken': None})
        self.assertIn(b'<volumeSet/>', body)
        self.assertNotIn(b'nextToken', body)
        parsed = _parse('DescribeVolumes', body)
        self.assertEqual([], parsed['Volumes'])
        self.assertNotIn('NextToken', parsed)

    def test_create_volume(self):
        volume = _volume(7)
        body = xmlutil.render_response('CreateVolume', _VERSION, 'r', volume)
        parsed = _parse('CreateVolume', body)
        self.assertEqual('vol-00000007', parsed['VolumeId'])
        self.assertEqual(10, parsed['Size'])
        self.assertEqual('available', parsed['State'])
        self.assertEqual([], parsed['Attachments'])
        self.assertIsInstance(parsed['CreateTime'], datetime.datetime)

    def test_describe_snapshots(self):
        body = xmlutil.render_response('DescribeSnapshots', _VERSION, 'r', {
            'snapshotSet': [{
                'snapshotId': 'snap-1',
                'volumeId': 'vol-1',
                'status': 'completed',
                'startTime': datetime.datetime(2026, 1, 2, 3, 4, 5,
                                               tzinfo=_UTC),
                'progress': '100%',
                'ownerId': '123456789012',
                'volumeSize': 8,
                'description': '',
                'encrypted': False,
                'tagSet': [],
            }],
        })
        snapshot, = _parse('DescribeSnapshots', body)['Snapshots']
        self.assertEqual({
            'SnapshotId': 'snap-1',
            'VolumeId': 'vol-1',
            'State': 'completed',
            'StartTime': datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=_UTC),
            'Progress': '100%',
            'OwnerId': '123456789012',
            'VolumeSize': 8,
            'Description': '',
            'Encrypted': False,
            'Tags': [],
        }, snapshot)

    def test_describe_regions(self):
        body = xmlutil.render_response('DescribeRegions', _VERSION, 'r', {
            'regionInfo': [
                {'regionName': 'RegionOne',
                 'regionEndpoint': 'http://localhost:8788/'},
                {'regionName': 'RegionTwo',
                 'regionEndpoint': 'http://example.com/?a=1&b=2'},
            ],
        })
        self.assertEqual(
            [{'RegionName': 'RegionOne',
              'Endpoint': 'http://localhost:8788/'},
             {'RegionName': 'RegionTwo',
              'Endpoint': 'http://example.com/?a=1&b=2'}],
            _parse('DescribeRegions', body)['Regions'])

    def test_describe_availability_zones(self):
        body = xmlutil.render_response(
            'DescribeAvailabilityZones', _VERSION, 'r', {
                'availabilityZoneInfo': [
                    {'zoneName': 'nova', 'zoneState': 'available',
                     'regionName': 'RegionOne', 'messageSet': []},
                ],
            })
        self.assertEqual(
            [{'ZoneName': 'nova', 'State': 'available',
              'RegionName': 'RegionOne', 'Messages': []}],
            _parse('DescribeAvailabilityZones', body)['AvailabilityZones'])


class RenderValueTest(base.BaseTestCase):

    def _inner(self, data):
        body = xmlutil.render_response('Test', _VERSION, 'r', data)
        root = ElementTree.fromstring(body)
        prefix = '<TestResponse xmlns="%s"><requestId>r</requestId>' % (
            xmlutil.NAMESPACE_FMT % _VERSION)
        text = body.decode('utf-8').split('\n', 1)[1]
        self.assertTrue(text.startswith(prefix))
        self.assertTrue(text.endswith('</TestResponse>'))
        return root, text[len(prefix):-len('</TestResponse>')]

    def test_types(self):
        _root, inner = self._inner({
            's': 'x', 'i': 42, 'neg': -1, 'f': 1.5, 't': True, 'b': False,
            'none': None, 'd': {'a': '1', 'z': None}, 'ed': {},
            'l': ['a', None, 'b'], 'el': [], 'tu': ('c',),
            'nested': [['x']], 'e': '',
        })
        self.assertEqual(
            '<s>x</s><i>42</i><neg>-1</neg><f>1.5</f><t>true</t>'
            '<b>false</b><d><a>1</a></d><ed/>'
            '<l><item>a</item><item>b</item></l><el/>'
            '<tu><item>c</item></tu>'
            '<nested><item><item>x</item></item></nested><e></e>',
            inner)

    def test_insertion_order(self):
        _root, inner = self._inner(collections.OrderedDict(
            [('z', '1'), ('a', {'y': '2', 'b': '3'})]))
        self.assertEqual('<z>1</z><a><y>2</y><b>3</b></a>', inner)

    def test_datetimes(self):
        plus2 = datetime.timezone(datetime.timedelta(hours=2))
        _root, inner = self._inner({
            'naive': datetime.datetime(2026, 11, 21, 10, 0),
            'aware': datetime.datetime(2026, 11, 21, 12, 0, 0, 999999,
                                       tzinfo=plus2),
            'early': datetime.datetime(999, 1, 2, 3, 4, 5, 6000),
        })
        self.assertEqual(
            '<naive>2026-11-21T10:00:00.000Z</naive>'
            '<aware>2026-11-21T10:00:00.999Z</aware>'
            '<early>0999-01-02T03:04:05.006Z</early>',
            inner)

    def test_escaping(self):
        root, inner = self._inner({'s': 'a<b>&"c\'\r\nd\x00\x1f\ud800e'})
        self.assertEqual(
            '<s>a&lt;b&gt;&amp;&quot;c\'&#13;\nd\ufffd\ufffd\ufffde</s>',
            inner)
        self.assertEqual('a<b>&"c\'\r\nd\ufffd\ufffd\ufffde',
                         root.find('{%s}s' % (xmlutil.NAMESPACE_FMT %
                                              _VERSION)).text)

    def test_unicode(self):
        body = xmlutil.render_response('Test', _VERSION, 'r',
                                       {'s': 'caf\u00e9 \u2603'})
        self.assertIn('<s>caf\u00e9 \u2603</s>'.encode('utf-8'), body)

    def test_subclasses(self):
        class Color(str, enum.Enum):
            RED = 'red'

        class Level(enum.IntEnum):
            HIGH = 3

        class Stamp(datetime.datetime):
            pass

        _root, inner = self._inner({
            'c': Color.RED, 'l': Level.HIGH,
            'st': Stamp(2026, 1, 1),
            'od': collections.OrderedDict([('k', 'v')]),
            'items': [collections.OrderedDict([('k', 'v')])],
        })
        self.assertEqual(
            '<c>red</c><l>3</l><st>2026-01-01T00:00:00.000Z</st>'
            '<od><k>v</k></od><items><item><k>v</k></item></items>',
            inner)

    def test_unsupported_type(self):
        self.assertRaises(TypeError, xmlutil.render_response,
                          'Test', _VERSION, 'r', {'x': object()})
        self.assertRaises(TypeError, xmlutil.render_response,
                          'Test', _VERSION, 'r', {'x': {1, 2}})

    def test_escape(self):
        self.assertEqual('plain', xmlutil.escape('plain'))
        self.assertEqual('&lt;&amp;&gt;&quot;', xmlutil.escape('<&>"'))

    def test_format_datetime(self):
        self.assertEqual('2026-11-21T10:00:00.123Z',
                         xmlutil.format_datetime(_T0))

    def test_a_thousand_items(self):
        # A thousand attached volumes: about 17000 elements. (How fast
        # this renders is for bench/, not for a timed test.)
        data = {'volumeSet': [_volume(n, attached=True)
                              for n in range(1000)]}
        body = xmlutil.render_response('DescribeVolumes', _VERSION, 'r', data)
        volume_set = ElementTree.fromstring(body)[1]
        self.assertEqual(1000, len(volume_set))

    def test_raw_items(self):
        body = xmlutil.render_response('Test', _VERSION, 'r', {'set': [
            xmlutil.Raw('<a>1</a><b/>'), {'a': '2'}]})
        self.assertIn(b'<set><item><a>1</a><b/></item><item><a>2</a></item>'
                      b'</set>', body)


class RenderErrorTest(base.BaseTestCase):

    def test_error(self):
        body = xmlutil.render_error('InvalidVolume.NotFound',
                                    "The volume 'vol-<1>' does not exist.",
                                    'req-3')
        self.assertEqual(
            b'<?xml version="1.0" encoding="UTF-8"?>\n'
            b'<Response><Errors><Error><Code>InvalidVolume.NotFound</Code>'
            b'<Message>The volume \'vol-&lt;1&gt;\' does not exist.'
            b'</Message></Error></Errors><RequestID>req-3</RequestID>'
            b'</Response>',
            body)
        parsed = _parse('DescribeVolumes', body, status=400)
        self.assertEqual(
            {'Code': 'InvalidVolume.NotFound',
             'Message': "The volume 'vol-<1>' does not exist."},
            parsed['Error'])
        self.assertEqual('req-3', parsed['ResponseMetadata']['RequestId'])
        self.assertEqual(400, parsed['ResponseMetadata']['HTTPStatusCode'])

    def test_error_unicode_message(self):
        body = xmlutil.render_error('InvalidParameterValue',
                                    'Value (\u2603) is invalid.', 'r')
        parsed = _parse('CreateVolume', body, status=400)
        self.assertEqual('Value (\u2603) is invalid.',
                         parsed['Error']['Message'])
