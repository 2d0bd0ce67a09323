"""Deployments beyond the default all-in-one.

* separate ebsboot-api / -volume / -compute processes over a real RabbitMQ
  and a shared PostgreSQL database (``tools/test-services`` starts both and
  exports ``EBSBOOT_TEST_TRANSPORT_URL`` and ``EBSBOOT_TEST_DB_URL``), and
  the same with the API in a WSGI container instead of ebsboot-api;
* the all-in-one on the opt-in eventlet runtime (smoke test).
"""

import os
import uuid

import sqlalchemy as sa

from ebsboot.db import migration
from ebsboot.tests.functional import base
from ebsboot.tests.functional import test_instances


def _volume_round_trip(test, ec2):
    volume = ec2.create_volume(AvailabilityZone='nova', Size=1)
    test.wait_volume(ec2, volume['VolumeId'])
    snapshot = ec2.create_snapshot(VolumeId=volume['VolumeId'])
    test.wait_snapshot(ec2, snapshot['SnapshotId'])
    clone = ec2.create_volume(AvailabilityZone='nova', Size=2,
                              SnapshotId=snapshot['SnapshotId'])
    test.wait_volume(ec2, clone['VolumeId'])
    for volume_id in (clone['VolumeId'], volume['VolumeId']):
        ec2.delete_volume(VolumeId=volume_id)
    ec2.delete_snapshot(SnapshotId=snapshot['SnapshotId'])
    base.wait_for(lambda: not ec2.describe_volumes()['Volumes'] and
                  not ec2.describe_snapshots()['Snapshots'],
                  what='cleanup')


class _SeparateServices(base.FunctionalTestCase,
                        test_instances.EbsTestMixin):
    """``SERVICES`` over RabbitMQ, on a PostgreSQL database of its own."""

    SERVICES = ('ebsboot-volume', 'ebsboot-compute', 'ebsboot-api')

    def setUp(self):
        super().setUp()
        transport_url = os.environ.get('EBSBOOT_TEST_TRANSPORT_URL')
        admin_url = os.environ.get('EBSBOOT_TEST_DB_URL')
        if not (transport_url and admin_url):
            self.skipTest('RabbitMQ/PostgreSQL not configured: run '
                          'tools/run-tests or export EBSBOOT_TEST_* from '
                          'tools/test-services')
        self.db_url = base.postgres_database(self, admin_url)
        # Topics of their own: tests run in parallel on one RabbitMQ.
        self.suffix = suffix = uuid.uuid4().hex[:8]
        self.cloud = self.useFixture(base.Cloud(
            services=self.SERVICES,
            extra_conf='[DEFAULT]\ntransport_url = %s\n'
                       'cloud_topic = cloud-%s\n'
                       '[database]\nconnection = %s\n'
                       '[volume]\ntopic = volume-%s\n'
                       '[compute]\ntopic = compute-%s\n'
                       % (transport_url, suffix, self.db_url, suffix,
                          suffix)))

    def launch_and_terminate(self):
        # A RunInstances of several goes through the batched launch steps:
        # grouped writes on PostgreSQL, volume RPCs over RabbitMQ.
        ec2 = self.cloud.client()
        image_id, snapshot_id = self._image(ec2)
        reservation = ec2.run_instances(ImageId=image_id, MinCount=4,
                                        MaxCount=4)
        ids = [i['InstanceId'] for i in reservation['Instances']]
        volumes = set()
        for instance_id in ids:
            instance = self.wait_state(ec2, instance_id, 'running')
            self.assertEqual(
                ['/dev/sda1', '/dev/sdb'],
                [d['DeviceName'] for d in instance['BlockDeviceMappings']])
            volumes.update(d['Ebs']['VolumeId']
                           for d in instance['BlockDeviceMappings'])
        self.assertEqual(8, len(volumes))
        ec2.terminate_instances(InstanceIds=ids)
        for instance_id in ids:
            self.wait_state(ec2, instance_id, 'terminated')
        # The roots go with their instances; /dev/sdb volumes stay.
        left = base.wait_for(
            lambda: (lambda v: v if len(v) == 4 else None)(
                ec2.describe_volumes()['Volumes']), what='root volumes gone')
        self.assertEqual({'available'}, {v['State'] for v in left})
        self.assertLess({v['VolumeId'] for v in left}, volumes)
        return image_id


class SeparateServicesTest(_SeparateServices):

    def test_volume_flow_across_processes(self):
        ec2 = self.cloud.client()
        _volume_round_trip(self, ec2)
        engine = sa.create_engine(self.db_url)
        with engine.connect() as conn:
            version = conn.execute(sa.text(
                'SELECT version_num FROM alembic_version')).scalar()
        engine.dispose()
        self.assertEqual(migration.head_revision(), version)

    def test_batched_launch_across_processes(self):
        self.launch_and_terminate()


class WsgiContainerTest(_SeparateServices):
    """The API as ``ebsboot.wsgi.api:application`` in a WSGI container.

    The container's process is the controller too: its periodic jobs
    (here: the power-state sync that applies a shutdown behaviour) and
    its RPC service run there.
    """

    SERVICES = ('ebsboot-volume', 'ebsboot-compute', base.WSGI_CONTAINER)

    def test_launch_and_terminate_through_the_wsgi_application(self):
        image_id = self.launch_and_terminate()
        ec2 = self.cloud.client()
        # The fake guest powers itself off after booting.
        instance_id = ec2.run_instances(
            ImageId=image_id, MinCount=1, MaxCount=1, UserData='poweroff',
            InstanceInitiatedShutdownBehavior='stop')['Instances'][0][
                'InstanceId']
        stopped = self.wait_state(ec2, instance_id, 'stopped')
        self.assertEqual('Client.InstanceInitiatedShutdown',
                         stopped['StateReason']['Code'])
        ec2.terminate_instances(InstanceIds=[instance_id])
        self.wait_state(ec2, instance_id, 'terminated')
        # It shuts down cleanly (Cloud checks the exit status), controller
        # included.
        self.cloud.stop_all()
        self.assertIn('Service cloud-%s stopped' % self.suffix,
                      self.cloud.log(tail=0))


class EventletRuntimeTest(base.FunctionalTestCase):

    def test_all_in_one_on_eventlet(self):
        cloud = self.useFixture(base.Cloud(
            env={'OS_EBSBOOT_CONCURRENCY': 'eventlet'}))
        _volume_round_trip(self, cloud.client())
