"""Unit test base: a private state path, a migrated SQLite database, the
in-process RPC transport and the fake drivers."""

import time

import fixtures
from oslo_config import fixture as config_fixture
from oslotest import base

from ebsboot.cloud import tasks
from ebsboot.compute.drivers import fake as fake_compute
from ebsboot.compute import manager as compute_manager
from ebsboot import conf
from ebsboot.conf import CONF
from ebsboot import context as ebs_context
from ebsboot.db import api as db_api
from ebsboot.db import migration
from ebsboot import policy
from ebsboot import rpc
from ebsboot import service
from ebsboot.volume.drivers import fake as fake_volume
from ebsboot.volume import manager as volume_manager


class TestCase(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.state = self.useFixture(fixtures.TempDir()).path
        conf.parse_args(['ebsboot-test'], default_config_files=[])
        self.config = self.useFixture(config_fixture.Config(CONF))
        self.config.config(state_path=self.state, host='test-host')
        self.config.config(connection=self.database_connection(),
                           group='database')
        self.config.config(driver='fake', group='volume')
        self.config.config(driver='fake', group='compute')
        db_api.dispose_engine()
        self.addCleanup(db_api.dispose_engine)
        migration.db_sync()
        policy.reset()
        self.addCleanup(policy.reset)

    def database_connection(self):
        """The ``[database] connection`` of the test.

        Called before any service starts, so that its clean-ups run after
        theirs.
        """
        return 'sqlite:///%s/ebsboot.sqlite' % self.state

    def context(self, project='alpha'):
        return ebs_context.RequestContext(project_id=project,
                                          roles=['reader', 'member'])

    def wait_for(self, predicate, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = predicate()
            if result:
                return result
            time.sleep(0.01)
        self.fail('condition never became true')


class ServiceTestCase(TestCase):
    """Volume and compute services on the in-process transport."""

    def setUp(self):
        super().setUp()
        rpc.init(CONF, url='fake://')
        self.addCleanup(rpc.cleanup)
        self.volume_driver = fake_volume.FakeDriver(CONF)
        self.volume_manager = volume_manager.VolumeManager(
            driver=self.volume_driver)
        self.compute_driver = fake_compute.FakeDriver(CONF)
        self.start_service(CONF.volume.topic, self.volume_manager)

    def start_service(self, topic, manager):
        svc = service.Service(topic, manager)
        svc.start()
        self.addCleanup(svc.stop)
        return svc


class CloudTestCase(ServiceTestCase):
    """The whole cloud in this process: both services and the task runner."""

    def setUp(self):
        super().setUp()
        self.start_service(CONF.compute.topic, compute_manager.ComputeManager(
            driver=self.compute_driver))
        tasks.reset_runner()
        tasks.get_runner().start()
        self.addCleanup(tasks.reset_runner)
