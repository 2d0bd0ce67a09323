"""Every action against hostile requests: an EC2 error or an answer.

The whole cloud runs in this process (the API, the task runner, the volume
and compute services on their fake drivers) beside real resources of the
project: a volume, a snapshot, an image and a running instance. Each case
of ``ec2fuzz`` is signed with Signature Version 4 and sent to the WSGI
application. Whatever the case, the answer must be well-formed EC2 XML
that botocore parses, never a 5xx or a traceback, and a refused request
must leave no new row behind.

``EBSBOOT_FUZZ_SEED`` and ``EBSBOOT_FUZZ_CASES`` change the seed and the
number of cases per action (a failure names the seed of its case).
"""

import os
from xml.etree import ElementTree
import zlib

from botocore import auth as botocore_auth
from botocore import awsrequest
from botocore import credentials as botocore_credentials
from botocore import parsers
import sqlalchemy

from ebsboot.api.ec2 import app as ec2_app
from ebsboot.cloud import bdm
from ebsboot.cloud import images
from ebsboot.cloud import instances
from ebsboot.cloud import volumes
from ebsboot import context as ebs_context
from ebsboot.db import api as db
from ebsboot.db import models
from ebsboot.tests import ec2fuzz
from ebsboot.tests.unit.api import test_auth
from ebsboot.tests.unit.api import wire
from ebsboot.tests.unit import base

SEED = int(os.environ.get('EBSBOOT_FUZZ_SEED', '20261204'))
CASES = int(os.environ.get('EBSBOOT_FUZZ_CASES', '40'))

# Tables whose new rows a refused request must not leave.
_TABLES = (models.Volume, models.Snapshot, models.Image, models.Instance,
           models.BlockDevice, models.Tag, models.SnapshotPermission,
           models.VolumeModification, models.KeyPair, models.Vpc,
           models.Subnet)
_BUSY_VOLUME = ('creating', 'deleting')
_BUSY_SNAPSHOT = ('pending', 'deleting')


class FuzzTest(wire.WireTestCase, base.CloudTestCase):

    def setUp(self):
        super().setUp()
        self.ids = self._resources(self.context('alpha'))
        other = self._resources(self.context('beta'))
        for kind, values in other.items():
            self.ids[kind] = self.ids[kind] + values

    def _resources(self, ctxt):
        volume = volumes.create_volume(ctxt, 'nova', size=1)
        self.wait_for(lambda: volumes.get_volume(
            ctxt, volume.ec2_id).status == 'available')
        snapshot = volumes.create_snapshot(ctxt, volume.ec2_id)
        self.wait_for(lambda: volumes.get_snapshot(
            ctxt, snapshot.ec2_id).status == 'completed')
        image = images.register_image(
            ctxt, 'fuzz-image', '/dev/sda1', bdm.from_ec2_params(
                [{'DeviceName': '/dev/sda1',
                  'Ebs': {'SnapshotId': snapshot.ec2_id}}], ctxt))
        ami = images.image_ec2_id(image)
        instance = instances.run_instances(ctxt, ami, 1, 1)[0]
        self.wait_for(lambda: db.instance_get(
            ctxt, instance.id).state == 'running')
        return {'volume': [volume.ec2_id], 'snapshot': [snapshot.ec2_id],
                'image': [ami], 'instance': [instance.ec2_id]}

    # One request ---------------------------------------------------------

    def _send(self, body, transport):
        if transport == 'GET':
            request = awsrequest.AWSRequest(
                method='GET',
                url='http://127.0.0.1:8788/?' + body.decode('ascii'))
        else:
            request = awsrequest.AWSRequest(
                method='POST', url='http://127.0.0.1:8788/', data=body,
                headers={'Content-Type': 'application/x-www-form-urlencoded;'
                                         ' charset=utf-8'})
        if transport != 'unsigned':
            botocore_auth.SigV4Auth(
                botocore_credentials.Credentials('AKALPHA', 'alpha-secret'),
                'ec2', 'RegionOne').add_auth(request)
        return test_auth.to_webob(request).get_response(self.app)

    def _rows(self):
        """Row counts of the resource tables.

        Counts suffice: nothing runs in the background between requests
        (see ``_settled``).
        """
        query = 'SELECT %s' % ', '.join(
            '(SELECT count(*) FROM %s)' % table.__tablename__
            for table in _TABLES)
        admin = ebs_context.get_admin_context()
        with db._reader(admin) as session:
            counts = session.execute(sqlalchemy.text(query)).one()
        return dict(zip((table.__tablename__ for table in _TABLES), counts))

    def _settled(self):
        """Nothing in flight: no flow, no volume or snapshot in the making.

        Rows a successful request started may still appear until then.
        """
        admin = ebs_context.get_admin_context()
        return (not any(i.task for i in db.instance_list(admin)) and
                not any(v.status in _BUSY_VOLUME
                        for v in db.volume_list(admin)) and
                not any(s.status in _BUSY_SNAPSHOT
                        for s in db.snapshot_list(admin)))

    def _check(self, action, pairs, mutations, transport, seed):
        before = self._rows()
        body = ec2fuzz.encode(action, pairs)
        response = self._send(body, transport)
        where = ('%s %s case seed %d (%s): %r'
                 % (transport, action, seed, ', '.join(mutations),
                    body[:600] + (b'...' if len(body) > 600 else b'')))
        self.assertLess(response.status_int, 500,
                        '%s\n%s' % (where, response.body[:2000]))
        self.assertNotIn(b'Traceback', response.body, where)
        ElementTree.fromstring(response.body)  # well-formed XML
        parsed = parsers.create_parser('ec2').parse(
            {'body': response.body, 'headers': dict(response.headers),
             'status_code': response.status_int},
            ec2fuzz.MODEL.operation_model(action).output_shape)
        if response.status_int != 200:
            self.assertTrue(parsed['Error']['Code'], where)
            self.assertEqual(before, self._rows(), '%s left rows' % where)
        else:
            self.wait_for(self._settled, timeout=30)

    def _fuzz(self, action):
        base_seed = zlib.crc32(action.encode()) ^ SEED
        for n in range(CASES):
            seed = base_seed + n
            builder = ec2fuzz.CaseBuilder(action, self.ids, seed)
            pairs, mutations = builder.case()
            self._check(action, pairs, mutations, builder.transport(), seed)


def _make_test(actions):
    def test(self):
        for action in sorted(actions):
            self._fuzz(action)
    return test


# One test per API module, each action in turn: the resources are made
# once for all of the module's actions.
for _module in ec2_app.RESOURCE_MODULES:
    _name = _module.__name__.rsplit('.', 1)[-1]
    setattr(FuzzTest, 'test_%s' % _name, _make_test(_module.ACTIONS))
del _module, _name
