"""Deployments beyond the default all-in-one.

* separate ebsboot-api / -volume / -compute processes over a real RabbitMQ
  and a shared PostgreSQL database (``tools/test-services`` starts both and
  exports ``EBSBOOT_TEST_TRANSPORT_URL`` and ``EBSBOOT_TEST_DB_URL``), and
  the same with the API in a WSGI container instead of ebsboot-api;
* the all-in-one on the opt-in eventlet runtime (smoke test);
* two compute hosts: a guest stopped on one starts on the other.
"""

import datetime
import json
import os
import signal
import time
import uuid

import sqlalchemy as sa
import testtools.content

from ebsboot.compute.drivers.libvirt import network as libvirt_network
from ebsboot.db import migration
from ebsboot.tests.functional import base
from ebsboot.tests.functional import test_instances
from ebsboot.tests.functional import test_qemu


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


class SeveralComputeHostsTest(base.FunctionalTestCase,
                              test_qemu.QemuTestMixin):
    """Two compute hosts, one volume service and the controller.

    Separate processes over RabbitMQ and PostgreSQL; each
    ``ebsboot-compute`` has its own ``host`` and ``state_path`` (on this
    one machine they share the libvirt daemon and see the qcow2 volume
    files at the same path). Real QEMU (TCG) guests of the demo guest,
    which counts its boots on its root volume.
    """

    HOSTS = ('compute-a', 'compute-b')

    def setUp(self):
        super().setUp()
        transport_url = os.environ.get('EBSBOOT_TEST_TRANSPORT_URL')
        admin_url = os.environ.get('EBSBOOT_TEST_DB_URL')
        if not (transport_url and admin_url):
            self.skipTest('RabbitMQ/PostgreSQL not configured: run '
                          'tools/run-tests or export EBSBOOT_TEST_* from '
                          'tools/test-services')
        self.useFixture(test_qemu.QemuLock())
        files = test_qemu.demo_guest_files()
        self.db_url = base.postgres_database(self, admin_url)
        self.engine = sa.create_engine(self.db_url)
        self.addCleanup(self.engine.dispose)
        self.suffix = suffix = uuid.uuid4().hex[:8]
        # A host is down 4 s after its last heartbeat.
        self.cloud = self.useFixture(base.Cloud(
            services=('ebsboot-volume', 'ebsboot-api'),
            compute_driver='libvirt',
            extra_conf=test_qemu.CONF +
            '[DEFAULT]\ntransport_url = %s\ncloud_topic = cloud-%s\n'
            'report_interval = 1\nservice_down_time = 4\n'
            '[database]\nconnection = %s\n'
            '[volume]\ntopic = volume-%s\n'
            '[compute]\ntopic = compute-%s\n'
            % (transport_url, suffix, self.db_url, suffix, suffix)))
        # After the guests (clean-ups run last first): the subnets'
        # bridges, namespaces and dnsmasq of each host.
        for host in self.HOSTS:
            self.addCleanup(libvirt_network.SubnetNetworks(os.path.join(
                self.cloud.state, host, 'networks')).teardown_all)
        self.addCleanup(self._destroy_leftover_domains)
        self.computes = {host: self._start_compute(host)
                         for host in self.HOSTS}
        base.wait_for(lambda: set(self._live_hosts()) == set(self.HOSTS),
                      timeout=60, what='both compute hosts up')
        self.ec2 = self.cloud.client()
        self.snapshot_id = json.loads(self.cloud.manage(
            'snapshot', 'import', files.disk, '--project', 'alpha',
            '--format', 'json'))['snapshot_id']
        self.image_id = self.register_demo_guest()

    def _start_compute(self, host):
        """``ebsboot-compute`` as ``host``, with a state path of its own.

        os-brick reads the connector through its privsep helper (the tests
        run as root, so the helper needs no sudo).
        """
        state = os.path.join(self.cloud.state, host)
        os.makedirs(state, mode=0o700)
        conf = os.path.join(self.cloud.state, host + '.conf')
        with open(conf, 'w') as f:
            f.write('[DEFAULT]\nhost = %s\nstate_path = %s\n'
                    '[privsep_osbrick]\nhelper_command = %s\n'
                    % (host, state, os.path.join(base.BIN,
                                                 'privsep-helper')))
        return self.cloud.start('ebsboot-compute', conf_files=[conf],
                                name='ebsboot-compute-' + host)

    def _stop_compute(self, host):
        process = self.computes.pop(host)
        process.send_signal(signal.SIGTERM)
        self.assertEqual(0, process.wait(timeout=60))
        self.cloud.processes.remove(process)

    def _query(self, sql, **params):
        with self.engine.connect() as conn:
            return conn.execute(sa.text(sql), params).all()

    def _live_hosts(self):
        return [row[0] for row in self._query(
            "SELECT host FROM services WHERE topic = :topic AND "
            "heartbeat_at > :since", topic='compute-' + self.suffix,
            since=datetime.datetime.utcnow() - datetime.timedelta(
                seconds=4))]

    def _uuids(self, sql='SELECT id FROM instances', *args):
        sql = sql.replace('?', ':value')
        return {row[0] for row in self._query(
            sql, **({'value': args[0]} if args else {}))}

    def _host_of(self, instance_id):
        [(host,)] = self._query('SELECT host FROM instances WHERE '
                                'ec2_id = :id', id=instance_id)
        return host

    def _connector_host(self, volume_id):
        [(connector,)] = self._query(
            'SELECT b.connector FROM block_devices b JOIN volumes v ON '
            'v.id = b.volume_id WHERE v.ec2_id = :id', id=volume_id)
        return json.loads(connector)['host']

    def _aliases(self, instance_id):
        """The volume aliases of the domain's disks, in order.

        The config drive (``network_data.json`` makes every guest have
        one) keeps libvirt's own alias and is left out.
        """
        return [alias.get('name') for alias in
                self.domain_xml(instance_id).findall(
                    './devices/disk/alias')
                if alias.get('name').startswith('ua-')]

    def _alias(self, volume_id):
        [(volume_uuid,)] = self._query(
            'SELECT id FROM volumes WHERE ec2_id = :id', id=volume_id)
        return 'ua-' + volume_uuid

    def test_a_stopped_guest_starts_on_another_host_with_its_volume(self):
        ec2 = self.ec2
        started = time.monotonic()
        instance_id = self.run_one()
        self.wait_state(ec2, instance_id, 'running', timeout=90)
        # Both hosts are empty: the first by name gets it.
        self.assertEqual('compute-a', self._host_of(instance_id))
        self.wait_console(instance_id, 'demo guest ready')
        self.assertIn('boot-count=1', self.console(ec2, instance_id))
        [root] = [d['Ebs']['VolumeId'] for d in self.wait_state(
            ec2, instance_id, 'running')['BlockDeviceMappings']]
        self.assertEqual('compute-a', self._connector_host(root))

        data = ec2.create_volume(AvailabilityZone='nova',
                                 Size=1)['VolumeId']
        self.wait_volume(ec2, data)
        ec2.attach_volume(VolumeId=data, InstanceId=instance_id,
                          Device='/dev/vdb')
        self.wait_attachment(ec2, data, 'attached')
        self.assertEqual([self._alias(root), self._alias(data)],
                         self._aliases(instance_id))

        ec2.stop_instances(InstanceIds=[instance_id])
        self.wait_state(ec2, instance_id, 'stopped', timeout=90)
        # Host A goes away; the start finds B, the only live host.
        self._stop_compute('compute-a')
        base.wait_for(lambda: self._live_hosts() == ['compute-b'],
                      timeout=30, what='compute-a down')
        ec2.start_instances(InstanceIds=[instance_id])
        self.wait_state(ec2, instance_id, 'running', timeout=90)
        self.assertEqual('compute-b', self._host_of(instance_id))
        self.wait_console(instance_id, 'boot-count=2')
        self.wait_console(instance_id, 'demo guest ready')
        # Exported for B; the data volume came along.
        self.assertEqual(['compute-b', 'compute-b'],
                         [self._connector_host(v) for v in (root, data)])
        self.assertEqual([self._alias(root), self._alias(data)],
                         self._aliases(instance_id))

        # Detach and attach work on B.
        ec2.detach_volume(VolumeId=data)
        self.wait_volume(ec2, data, 'available')
        self.assertNotIn(self._alias(data), self._aliases(instance_id))
        ec2.attach_volume(VolumeId=data, InstanceId=instance_id,
                          Device='/dev/vdc')
        self.wait_attachment(ec2, data, 'attached')
        self.assertIn(self._alias(data), self._aliases(instance_id))
        self.assertEqual('compute-b', self._connector_host(data))

        ec2.terminate_instances(InstanceIds=[instance_id])
        self.wait_state(ec2, instance_id, 'terminated', timeout=90)
        self.wait_volume(ec2, data, 'available')
        ec2.delete_volume(VolumeId=data)
        base.wait_for(lambda: not ec2.describe_volumes()['Volumes'],
                      timeout=60, what='volumes deleted')
        self.assertNotIn('Traceback', self.cloud.log(tail=None))
        self.addDetail('seconds', testtools.content.text_content(
            '%.1f' % (time.monotonic() - started)))
