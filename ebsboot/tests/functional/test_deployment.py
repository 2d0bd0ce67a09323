"""Deployments beyond the default all-in-one.

* separate ebsboot-api / -volume / -compute processes over a real RabbitMQ
  and a shared PostgreSQL database (``tools/test-services`` starts both and
  exports ``EBSBOOT_TEST_TRANSPORT_URL`` and ``EBSBOOT_TEST_DB_URL``);
* the all-in-one on the opt-in eventlet runtime (smoke test).
"""

import os
import uuid

import sqlalchemy as sa

from ebsboot.db import migration
from ebsboot.tests.functional import base


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


class SeparateServicesTest(base.FunctionalTestCase):

    def setUp(self):
        super().setUp()
        transport_url = os.environ.get('EBSBOOT_TEST_TRANSPORT_URL')
        admin_url = os.environ.get('EBSBOOT_TEST_DB_URL')
        if not (transport_url and admin_url):
            self.skipTest('RabbitMQ/PostgreSQL not configured: run '
                          'tools/run-tests or export EBSBOOT_TEST_* from '
                          'tools/test-services')
        name = 'ebsboot_test_%s' % uuid.uuid4().hex[:12]
        admin = sa.create_engine(admin_url, isolation_level='AUTOCOMMIT')
        with admin.connect() as conn:
            conn.execute(sa.text('CREATE DATABASE %s' % name))

        def drop():
            with admin.connect() as conn:
                conn.execute(sa.text('DROP DATABASE IF EXISTS %s WITH '
                                     '(FORCE)' % name))
            admin.dispose()
        self.addCleanup(drop)
        self.db_url = admin_url.rsplit('/', 1)[0] + '/' + name
        suffix = uuid.uuid4().hex[:8]
        self.cloud = self.useFixture(base.Cloud(
            services=('ebsboot-volume', 'ebsboot-compute', 'ebsboot-api'),
            extra_conf='[DEFAULT]\ntransport_url = %s\n'
                       '[database]\nconnection = %s\n'
                       '[volume]\ntopic = volume-%s\n'
                       '[compute]\ntopic = compute-%s\n'
                       % (transport_url, self.db_url, suffix, suffix)))

    def test_volume_flow_across_processes(self):
        ec2 = self.cloud.client()
        _volume_round_trip(self, ec2)
        engine = sa.create_engine(self.db_url)
        with engine.connect() as conn:
            version = conn.execute(sa.text(
                'SELECT version_num FROM alembic_version')).scalar()
        engine.dispose()
        self.assertEqual(migration.head_revision(), version)


class EventletRuntimeTest(base.FunctionalTestCase):

    def test_all_in_one_on_eventlet(self):
        cloud = self.useFixture(base.Cloud(
            env={'OS_EBSBOOT_CONCURRENCY': 'eventlet'}))
        _volume_round_trip(self, cloud.client())
