"""Functional tests: real ebsboot processes driven by boto3 and the AWS CLI."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid

import boto3
import botocore.config
import fixtures
import sqlalchemy as sa
import testtools

BIN = os.path.dirname(sys.executable)
# A service name for Cloud: the API in a WSGI container, not a script.
WSGI_CONTAINER = 'ebsboot.tests.functional.wsgi_container'


def postgres_database(test, admin_url, prefix='ebsboot_test'):
    """A fresh PostgreSQL database for ``test``; dropped at its clean-up.

    ``admin_url`` names a database of a role that may create others
    (``EBSBOOT_TEST_DB_URL``). Returns the URL of the new database.
    """
    name = '%s_%s' % (prefix, uuid.uuid4().hex[:12])
    admin = sa.create_engine(admin_url, isolation_level='AUTOCOMMIT')
    with admin.connect() as conn:
        conn.execute(sa.text('CREATE DATABASE %s' % name))

    def drop():
        with admin.connect() as conn:
            conn.execute(sa.text('DROP DATABASE IF EXISTS %s WITH (FORCE)'
                                 % name))
        admin.dispose()
    test.addCleanup(drop)
    return admin_url.rsplit('/', 1)[0] + '/' + name


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def wait_for_port(port, process, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError('ebsboot exited with %s' % process.returncode)
        try:
            socket.create_connection(('127.0.0.1', port), 0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError('port %d never opened' % port)


def wait_for(predicate, timeout=60, interval=0.2, what='condition'):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError('timed out waiting for %s' % what)


class Cloud(fixtures.Fixture):
    """An ebsboot deployment in a temporary state path.

    ``services`` lists the console scripts to run (the all-in-one by
    default), or ``WSGI_CONTAINER`` for the API; ``extra_conf`` adds
    config lines. ``credentials`` maps the names that ``client`` and
    ``aws`` take to access and secret keys made elsewhere (Keystone's);
    without it, local credentials of the projects alpha and beta are made.
    """

    def __init__(self, services=('ebsboot-all-in-one',), extra_conf='',
                 env=None, compute_driver='fake', credentials=None):
        super().__init__()
        self.given_credentials = credentials
        self.services = services
        self.extra_conf = extra_conf
        self.env = env or {}
        self.compute_driver = compute_driver
        self.processes = []

    def _setUp(self):
        # 0700: ebsboot itself lets QEMU (libvirt-qemu) traverse it.
        self.state = self.useFixture(fixtures.TempDir()).path
        self.port = free_port()
        self.endpoint = 'http://127.0.0.1:%d' % self.port
        self.conf = os.path.join(self.state, 'ebsboot.conf')
        with open(self.conf, 'w') as f:
            f.write('[DEFAULT]\nstate_path = %s\nlog_file = %s\n'
                    'sync_power_state_interval = 1\n'
                    '[api]\nport = %d\n[compute]\ndriver = %s\n%s\n'
                    % (self.state, os.path.join(self.state, 'ebsboot.log'),
                       self.port, self.compute_driver, self.extra_conf))
        self.manage('db', 'sync')
        self.credentials = dict(self.given_credentials or {})
        for project in () if self.given_credentials else ('alpha', 'beta'):
            self.credentials[project] = json.loads(self.manage(
                'credentials', 'create', '--project', project,
                '--format', 'json'))
        for service in self.services:
            self.start(service)
        try:
            wait_for_port(self.port, self.processes[-1])
        except AssertionError as e:
            raise AssertionError('%s; its output:\n%s' % (
                e, self.output(self.services[-1])))
        self.addCleanup(self.stop_all)

    def manage(self, *args):
        return subprocess.run(
            [os.path.join(BIN, 'ebsboot-manage'), '--config-file',
             self.conf] + list(args),
            check=True, capture_output=True, text=True).stdout

    def start(self, service, conf_files=(), name=None):
        """Start a console script, or ``WSGI_CONTAINER``.

        ``conf_files`` are read after the cloud's (a compute host's own
        ``host`` and ``state_path``, say); ``name`` names its output file
        (``<name>.out``, by default the service's).
        """
        if service == WSGI_CONTAINER:
            argv = [sys.executable, '-m', WSGI_CONTAINER]
        else:
            argv = [os.path.join(BIN, service), '--config-file', self.conf]
            for path in conf_files:
                argv += ['--config-file', path]
        out = open(os.path.join(self.state, (name or service) + '.out'),
                   'ab')
        process = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT,
            env=dict(os.environ, OS_EBSBOOT_CONFIG_FILE=self.conf,
                     **self.env))
        out.close()
        self.processes.append(process)
        return process

    def stop_all(self):
        """SIGTERM every process; each must exit cleanly (status 0)."""
        codes = []
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                codes.append(process.wait(timeout=30))
            except subprocess.TimeoutExpired:
                process.kill()
                codes.append('hung')
        self.processes = []
        if any(code != 0 for code in codes):
            raise AssertionError('unclean shut-down: %s\n%s'
                                 % (codes, self.log()))

    def output(self, service, tail=5000):
        """What ``service`` printed (stdout and stderr)."""
        with open(os.path.join(self.state, service + '.out'),
                  errors='replace') as f:
            return f.read()[-tail:]

    def log(self, tail=5000):
        path = os.path.join(self.state, 'ebsboot.log')
        if not os.path.exists(path):
            return ''
        with open(path) as f:
            return f.read()[-tail:] if tail else f.read()

    def client(self, project='alpha', **kwargs):
        cred = self.credentials[project]
        return boto3.client(
            'ec2', endpoint_url=self.endpoint, region_name='RegionOne',
            aws_access_key_id=cred['access_key'],
            aws_secret_access_key=cred['secret_key'],
            config=botocore.config.Config(retries={'max_attempts': 1}),
            **kwargs)

    def aws(self, *args, project='alpha', check=True):
        """Run the AWS CLI; returns (exit code, parsed JSON or stderr)."""
        cred = self.credentials[project]
        env = dict(os.environ,
                   AWS_ACCESS_KEY_ID=cred['access_key'],
                   AWS_SECRET_ACCESS_KEY=cred['secret_key'],
                   AWS_DEFAULT_REGION='RegionOne',
                   AWS_CONFIG_FILE=os.devnull,
                   AWS_SHARED_CREDENTIALS_FILE=os.devnull,
                   AWS_MAX_ATTEMPTS='1')
        result = subprocess.run(
            [os.path.join(BIN, 'aws'), 'ec2', '--endpoint-url',
             self.endpoint, '--output', 'json'] + list(args),
            capture_output=True, text=True, env=env)
        if check and result.returncode != 0:
            raise AssertionError('aws %s failed: %s'
                                 % (' '.join(args), result.stderr))
        if result.returncode == 0:
            return 0, json.loads(result.stdout) if result.stdout else {}
        return result.returncode, result.stderr


class FunctionalTestCase(testtools.TestCase):

    def assertEC2Error(self, code, func, *args, **kwargs):
        try:
            func(*args, **kwargs)
        except boto3.exceptions.botocore.exceptions.ClientError as e:
            self.assertEqual(code, e.response['Error']['Code'],
                             e.response['Error'].get('Message'))
            self.assertLess(e.response['ResponseMetadata']['HTTPStatusCode'],
                            500)
            return e
        self.fail('%s did not raise %s' % (func, code))

    @staticmethod
    def wait_volume(ec2, volume_id, state='available'):
        return wait_for(
            lambda: [v for v in ec2.describe_volumes(
                VolumeIds=[volume_id])['Volumes'] if v['State'] == state],
            what='%s %s' % (volume_id, state))[0]

    @staticmethod
    def wait_snapshot(ec2, snapshot_id, state='completed'):
        return wait_for(
            lambda: [s for s in ec2.describe_snapshots(
                SnapshotIds=[snapshot_id])['Snapshots']
                if s['State'] == state],
            what='%s %s' % (snapshot_id, state))[0]
