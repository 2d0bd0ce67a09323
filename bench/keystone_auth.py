"""Per-request latency of the EC2 API in local and in keystone mode.

Starts, in a temporary directory, a private Keystone
(``tools/keystone-server``) and two ebsboot all-in-ones (fake compute
driver, SQLite, ``fake://`` transport): one with ``[api] auth_strategy =
local`` and one with ``keystone``. A boto3 client times ``--requests``
small ``DescribeRegions`` calls against each, alternating one call to each
(so that a change of the shared machine's speed falls on both alike):
first with Keystone's cache off, then again after restarting Keystone with
its cache on a memcached (Debian ``memcached``). Prints the median, 90th
percentile and mean of each, and the ratios keystone / local of the same
phase. One run; a benchmark, not a test.

    python bench/keystone_auth.py [--requests 200]
"""

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time

import benchlib
import boto3
import botocore.config
import requests as http

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(TOP, 'tools', 'keystone-server')


def keystone(*args):
    result = subprocess.run([TOOL] + list(args), capture_output=True,
                            text=True, timeout=900)
    if result.returncode != 0:
        raise benchlib.BenchError('keystone-server %s: %s'
                                  % (args[0], result.stderr[-1500:]))
    return result.stdout


class Cloud:
    """An ebsboot all-in-one with ``extra`` config lines."""

    def __init__(self, tmp, name, extra):
        self.state = os.path.join(tmp, name)
        os.makedirs(self.state)
        self.port = benchlib.free_port()
        self.endpoint = 'http://127.0.0.1:%d' % self.port
        self.conf = os.path.join(self.state, 'ebsboot.conf')
        with open(self.conf, 'w') as f:
            f.write('[DEFAULT]\nstate_path = %s\nlog_file = %s\n'
                    '[api]\nport = %d\n[compute]\ndriver = fake\n%s\n'
                    % (self.state, os.path.join(self.state, 'ebsboot.log'),
                       self.port, extra))
        self.manage('db', 'sync')
        out = open(os.path.join(self.state, 'out'), 'ab')
        self.process = subprocess.Popen(
            [benchlib.ebsboot_bin('ebsboot-all-in-one'), '--config-file',
             self.conf], stdout=out, stderr=subprocess.STDOUT)
        out.close()

    def manage(self, *args):
        return subprocess.run(
            [benchlib.ebsboot_bin('ebsboot-manage'), '--config-file',
             self.conf] + list(args), check=True, capture_output=True,
            text=True).stdout

    def client(self, access_key, secret_key):
        return boto3.client(
            'ec2', endpoint_url=self.endpoint, region_name='RegionOne',
            aws_access_key_id=access_key, aws_secret_access_key=secret_key,
            config=botocore.config.Config(retries={'max_attempts': 1}))

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)


def timed(client, samples):
    started = time.perf_counter()
    client.describe_regions()
    samples.append((time.perf_counter() - started) * 1000)


def summary(samples):
    ordered = sorted(samples)
    return {'median': statistics.median(ordered),
            'p90': ordered[int(len(ordered) * 0.9) - 1],
            'mean': statistics.fmean(ordered)}


def phase(local, remote, requests):
    """Alternate one call to each; (local samples, keystone samples)."""
    for client in (local, remote):   # warm up: connections, token
        for _ in range(5):
            client.describe_regions()
    a, b = [], []
    for i in range(requests):
        pair = [(local, a), (remote, b)]
        if i % 2:
            pair.reverse()
        for client, samples in pair:
            timed(client, samples)
    return a, b


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--requests', type=int, default=200)
    parser.add_argument('--keep', action='store_true')
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix='ebsboot-bench-keystone-')
    ks_dir = os.path.join(tmp, 'keystone')
    ks_port = benchlib.free_port()
    clouds = []
    try:
        ids = json.loads(keystone('start', ks_dir, str(ks_port)))
        service, user = ids['service'], ids['users']['alpha-member']
        token = http.post(ids['auth_url'] + '/auth/tokens', json={'auth': {
            'identity': {'methods': ['password'], 'password': {'user': {
                'id': user['id'], 'password': user['password']}}},
            'scope': {'project': {'id': user['project_id']}}}},
            timeout=30).headers['X-Subject-Token']
        cred = http.post('%s/users/%s/credentials/OS-EC2'
                         % (ids['auth_url'], user['id']),
                         json={'tenant_id': user['project_id']},
                         headers={'X-Auth-Token': token},
                         timeout=30).json()['credential']
        local = Cloud(tmp, 'ebsboot-local', '')
        clouds.append(local)
        remote = Cloud(tmp, 'ebsboot-keystone', (
            '[api]\nauth_strategy = keystone\n[keystone]\n'
            'auth_type = password\nauth_url = %s\nusername = %s\n'
            'password = %s\nproject_name = service\n'
            'user_domain_name = Default\nproject_domain_name = Default\n'
            % (ids['auth_url'], service['name'], service['password'])))
        clouds.append(remote)
        local_cred = json.loads(local.manage(
            'credentials', 'create', '--project', 'alpha', '--format',
            'json'))
        for cloud in clouds:
            benchlib.poll(lambda: cloud.process.poll() is None and
                          _listening(cloud.port), 60, 'ebsboot to listen',
                          0.1)
        local_client = local.client(local_cred['access_key'],
                                    local_cred['secret_key'])
        remote_client = remote.client(cred['access'], cred['secret'])

        results = {}
        a, b = phase(local_client, remote_client, args.requests)
        results['local (phase 1)'] = summary(a)
        results['keystone, no cache'] = summary(b)
        keystone('stop', ks_dir)
        keystone('start', ks_dir, str(ks_port), str(benchlib.free_port()))
        a, b = phase(local_client, remote_client, args.requests)
        results['local (phase 2)'] = summary(a)
        results['keystone, memcached'] = summary(b)

        print('%d DescribeRegions per mode, ms per request'
              % args.requests)
        print('%-22s %8s %8s %8s' % ('mode', 'median', 'p90', 'mean'))
        for name, row in results.items():
            print('%-22s %8.1f %8.1f %8.1f'
                  % (name, row['median'], row['p90'], row['mean']))
        for name, base in (('keystone, no cache', 'local (phase 1)'),
                           ('keystone, memcached', 'local (phase 2)')):
            print('ratio %s / local: median %.1fx, mean %.1fx' % (
                name, results[name]['median'] / results[base]['median'],
                results[name]['mean'] / results[base]['mean']))
    finally:
        for cloud in clouds:
            cloud.stop()
        keystone('stop', ks_dir)
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


def _listening(port):
    try:
        socket.create_connection(('127.0.0.1', port), 0.5).close()
        return True
    except OSError:
        return False


if __name__ == '__main__':
    main()
