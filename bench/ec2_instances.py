#!/usr/bin/env python3
"""Benchmark RunInstances and DescribeInstances: ebsboot against moto.

One boto3 scenario is run against a fresh ebsboot all-in-one (``fake``
compute driver, real qcow2 volumes) and against ``moto_server``, one after the
other, in the same run:

* register an EBS image from a 1 GiB snapshot;
* launch ``--instances`` instances in RunInstances calls of
  MinCount=MaxCount=``--batch``, each time waiting until the whole batch is
  ``running`` (timed from the call);
* with all instances present, time ``--repeat`` calls of
  ``DescribeInstances`` (everything, one page) and of
  ``DescribeInstances(InstanceIds=[one])``.

The results are printed side by side with the moto/ebsboot ratios and
PASS/FAIL against the targets. It is a benchmark: it exits 0 whether the
targets are met or not, and 1 only when something broke (including
instances that never got running; the table is printed all the same).

moto lives in its own virtualenv, ``bench/.moto-venv``, created on first
use. See bench/README.rst.
"""

import argparse
import collections
import gc
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import traceback

import benchlib
import boto3
import botocore.config

HERE = os.path.dirname(os.path.abspath(__file__))
MOTO_VENV = os.path.join(HERE, '.moto-venv')
# moto and the boto3/botocore of its venv; boto3/botocore as in
# upper-constraints.txt, so both sides run the same client code.
MOTO_REQUIREMENTS = ['moto[server]==5.2.5', 'boto3==1.44.5',
                     'botocore==1.44.5']

# Targets (moto time / ebsboot time must reach these).
DESCRIBE_TARGET = 10.0
RUN_TARGET = 1.0

FAILED_STATES = ('shutting-down', 'terminated', 'stopping', 'stopped')

TIMESTAMP = re.compile(r'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d')
# The first line of an oslo.log ERROR record carries the request context.
ERROR_HEAD = re.compile(TIMESTAMP.pattern +
                        r'\.\d+ \d+ (ERROR|CRITICAL) \S+ '
                        r'\[(None req-|req-|-\])')


BenchError = benchlib.BenchError
free_port = benchlib.free_port
poll = benchlib.poll


def wait_for_port(port, process, name, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError('%s exited with status %s at start'
                             % (name, process.returncode))
        try:
            socket.create_connection(('127.0.0.1', port), 0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise BenchError('%s never opened port %d' % (name, port))


def rss_mib(process):
    """Resident memory of a running process in MiB, or None."""
    try:
        with open('/proc/%d/status' % process.pid) as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def stop_process(process, timeout=60):
    """SIGTERM, then SIGKILL after ``timeout``; returns the exit status."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return 'hung (killed)'


class LocalServer:
    """A server process of the benchmark, on a free loopback port."""

    def __init__(self):
        self.port = free_port()
        self.endpoint = 'http://127.0.0.1:%d' % self.port
        self.process = None

    def stop(self):
        """Stop the process (if started); its exit status."""
        return stop_process(self.process) if self.process else None


class Ebsboot(LocalServer):
    """An ebsboot all-in-one with its state in ``<tmp>/ebsboot``."""

    name = 'ebsboot'

    def __init__(self, tmp, extra_conf=''):
        super().__init__()
        self.extra_conf = extra_conf
        self.state = os.path.join(tmp, 'ebsboot')
        os.makedirs(self.state)
        self.log_file = os.path.join(tmp, 'ebsboot.log')
        self.out_file = os.path.join(tmp, 'ebsboot.out')
        self.conf = os.path.join(tmp, 'ebsboot.conf')
        self.credentials = None

    def manage(self, *args):
        result = subprocess.run(
            [benchlib.ebsboot_bin('ebsboot-manage'), '--config-file',
             self.conf]
            + list(args), capture_output=True, text=True)
        if result.returncode:
            raise BenchError('ebsboot-manage %s failed:\n%s'
                             % (' '.join(args), result.stderr))
        return result.stdout

    def start(self):
        with open(self.conf, 'w') as f:
            # The fake compute driver: guests are bookkeeping, the volumes
            # are real qcow2 files.
            f.write('[DEFAULT]\nstate_path = %s\nlog_file = %s\n'
                    '[api]\nport = %d\n[compute]\ndriver = fake\n%s'
                    % (self.state, self.log_file, self.port,
                       self.extra_conf))
        self.manage('db', 'sync')
        self.credentials = json.loads(self.manage(
            'credentials', 'create', '--project', 'bench',
            '--format', 'json'))
        with open(self.out_file, 'ab') as out:
            self.process = subprocess.Popen(
                [benchlib.ebsboot_bin('ebsboot-all-in-one'), '--config-file',
                 self.conf], stdout=out, stderr=subprocess.STDOUT)
        wait_for_port(self.port, self.process, self.name)

    def client(self):
        return make_client(self.endpoint, 'RegionOne',
                           self.credentials['access_key'],
                           self.credentials['secret_key'])

    def volume_files(self):
        path = os.path.join(self.state, 'volumes')
        if not os.path.isdir(path):
            return 0
        return len([n for n in os.listdir(path) if n.endswith('.qcow2')])

    def problems(self, limit=10):
        """The ERROR/CRITICAL records of the log, without tracebacks.

        Returns (the last ``limit`` records, each its first line and the
        untimestamped lines after it; the number of records; the number of
        "database is locked" errors).
        """
        records, locked = [], 0
        if not os.path.exists(self.log_file):
            return records, 0, 0
        with open(self.log_file, errors='replace') as f:
            current = None
            for line in f:
                line = line.rstrip()
                if ERROR_HEAD.match(line):
                    current = [line]
                    records.append(current)
                    locked += 'database is locked' in line
                elif current is not None and not TIMESTAMP.match(line):
                    current.append(line)
                else:
                    current = None
        return records[-limit:], len(records), locked


class Moto(LocalServer):
    """``moto_server`` from ``bench/.moto-venv`` (created on first use)."""

    name = 'moto'

    def __init__(self, tmp):
        super().__init__()
        self.log_file = os.path.join(tmp, 'moto.log')

    @staticmethod
    def ensure_venv():
        stamp = os.path.join(MOTO_VENV, 'bench-requirements.txt')
        wanted = '\n'.join(MOTO_REQUIREMENTS) + '\n'
        server = os.path.join(MOTO_VENV, 'bin', 'moto_server')
        if os.path.exists(stamp) and os.path.exists(server):
            with open(stamp) as f:
                if f.read() == wanted:
                    return server
        print('Installing %s into %s ...' % (' '.join(MOTO_REQUIREMENTS),
                                             MOTO_VENV), flush=True)
        started = time.perf_counter()
        for command in (
                [sys.executable, '-m', 'venv', MOTO_VENV],
                [os.path.join(MOTO_VENV, 'bin', 'pip'), 'install', '-q',
                 '--disable-pip-version-check'] + MOTO_REQUIREMENTS):
            result = subprocess.run(command, capture_output=True, text=True)
            if result.returncode:
                raise BenchError('%s failed:\n%s%s' % (
                    ' '.join(command), result.stdout, result.stderr))
        with open(stamp, 'w') as f:
            f.write(wanted)
        print('  done in %.1f s' % (time.perf_counter() - started))
        return server

    def start(self):
        server = self.ensure_venv()
        with open(self.log_file, 'ab') as out:
            self.process = subprocess.Popen(
                [server, '-H', '127.0.0.1', '-p', str(self.port)],
                stdout=out, stderr=subprocess.STDOUT)
        wait_for_port(self.port, self.process, self.name)

    def client(self):
        return make_client(self.endpoint, 'us-east-1', 'testing', 'testing')


class Replay(LocalServer):
    """``replay_server.py``: ebsboot's own answer, served in no time.

    The client's floor for that answer: what a boto3 call costs with the
    server's part taken out.
    """

    name = 'floor'

    def __init__(self, tmp):
        super().__init__()
        self.body_file = os.path.join(tmp, 'describe-instances.xml')

    def start(self, body):
        with open(self.body_file, 'wb') as f:
            f.write(body)
        self.process = subprocess.Popen(
            [sys.executable, os.path.join(HERE, 'replay_server.py'),
             self.body_file, str(self.port)])
        wait_for_port(self.port, self.process, self.name)

    def client(self):
        return make_client(self.endpoint, 'RegionOne', 'replay', 'replay')


def make_client(endpoint, region, access_key, secret_key):
    return boto3.client(
        'ec2', endpoint_url=endpoint, region_name=region,
        aws_access_key_id=access_key, aws_secret_access_key=secret_key,
        config=botocore.config.Config(
            retries={'max_attempts': 1}, connect_timeout=10,
            read_timeout=600))


def timed(func, *args, **kwargs):
    started = time.perf_counter()
    result = func(*args, **kwargs)
    return time.perf_counter() - started, result


def sampled(func, *args, **kwargs):
    """``timed``, as ``timeit`` times: the client's garbage collector off.

    Parsing 500 instances makes enough objects to start a full
    collection of the client's heap every few calls (20-60 ms here).
    That pause belongs to neither server, so it is taken between the
    samples, for both alike.
    """
    gc.collect()
    gc.disable()
    try:
        return timed(func, *args, **kwargs)
    finally:
        gc.enable()


def count_instances(response):
    return sum(len(r['Instances']) for r in response['Reservations'])


def register_image(ec2, zone, timeout):
    """A 1 GiB volume -> snapshot -> EBS AMI; returns the image id."""
    volume_id = ec2.create_volume(AvailabilityZone=zone, Size=1)['VolumeId']
    poll(lambda: ec2.describe_volumes(VolumeIds=[volume_id])['Volumes'][0][
        'State'] == 'available', timeout, 'volume %s available' % volume_id)
    snapshot_id = ec2.create_snapshot(VolumeId=volume_id)['SnapshotId']
    poll(lambda: ec2.describe_snapshots(SnapshotIds=[snapshot_id])[
        'Snapshots'][0]['State'] == 'completed', timeout,
        'snapshot %s completed' % snapshot_id)
    ec2.delete_volume(VolumeId=volume_id)
    image_id = ec2.register_image(
        Name='bench-image', RootDeviceName='/dev/sda1',
        BlockDeviceMappings=[{'DeviceName': '/dev/sda1',
                              'Ebs': {'SnapshotId': snapshot_id}}])['ImageId']
    poll(lambda: ec2.describe_images(ImageIds=[image_id])['Images'][0][
        'State'] == 'available', timeout, 'image %s available' % image_id)
    return image_id


def launch_batch(ec2, image_id, count, args):
    """RunInstances(MinCount=MaxCount=count), then wait until all run.

    Stops waiting when every instance is running or has failed (gone to
    a stopped or terminated state), after ``args.timeout`` seconds, or
    after ``args.stall`` seconds without any state change. Returns a
    dict: ``call`` (seconds of the call), ``running`` (seconds until all
    were running, None if they never were), ``progress`` (seconds until
    the last state change), ``states`` (a Counter of the final states),
    ``stuck`` (ids not running), ``failed`` (messages of the instances
    that failed), ``ids``.
    """
    started = time.perf_counter()
    reservation = ec2.run_instances(ImageId=image_id, MinCount=count,
                                    MaxCount=count, InstanceType='t2.micro')
    call = time.perf_counter() - started
    ids = [i['InstanceId'] for i in reservation['Instances']]
    if len(ids) != count:
        raise BenchError('RunInstances launched %d instances, not %d'
                         % (len(ids), count))
    # moto has no 'reservation-id' filter; 'instance-id' works on both.
    filters = [{'Name': 'instance-id', 'Values': ids}]
    result = {'call': call, 'running': None, 'ids': ids}
    seen, progress = None, call
    while True:
        states, failed = {}, {}
        for r in ec2.describe_instances(Filters=filters)['Reservations']:
            for i in r['Instances']:
                states[i['InstanceId']] = i['State']['Name']
                if i['State']['Name'] in FAILED_STATES:
                    failed[i['InstanceId']] = '%s: %s' % (
                        i['State']['Name'],
                        i.get('StateReason', {}).get('Message'))
        now = time.perf_counter() - started
        if states != seen:
            seen, progress = states, now
        result.update(progress=progress, failed=failed,
                      states=collections.Counter(states.values()),
                      stuck=sorted(i for i in ids
                                   if states.get(i) != 'running'))
        if not result['stuck']:
            result['running'] = now
            return result
        if (set(result['stuck']) == set(failed) or now > args.timeout
                or now - progress > args.stall):
            return result
        time.sleep(args.poll)


def summary(samples):
    return {'mean': statistics.mean(samples),
            'median': statistics.median(samples),
            'max': max(samples), 'n': len(samples)}


def _rounds(targets, count):
    """The targets in ABBA order, ``count`` rounds: drift hits both."""
    for n in range(count):
        yield n, (targets if n % 2 == 0 else list(reversed(targets)))


def prepare(target, args):
    """Warm the server up and register the image; the state to go on."""
    ec2 = target.client()
    state = {'ec2': ec2, 'ids': [], 'result': {'batches': []}}
    print('[%s] warm-up DescribeInstances' % target.name, flush=True)
    state['result']['warmup'], _ = timed(ec2.describe_instances)
    zone = ec2.describe_availability_zones()['AvailabilityZones'][0][
        'ZoneName']
    state['image_id'] = register_image(ec2, zone, args.timeout)
    print('[%s] image %s registered' % (target.name, state['image_id']),
          flush=True)
    return state


def launch(target, state, args):
    """The next batch of RunInstances on one server."""
    ids = state['ids']
    count = min(args.batch, args.instances - len(ids))
    batch = launch_batch(state['ec2'], state['image_id'], count, args)
    ids.extend(batch['ids'])
    batch.update(count=count, total=len(ids))
    state['result']['batches'].append(batch)
    if batch['running'] is not None:
        print('[%s] RunInstances %d: call %.3f s, all running after '
              '%.3f s (%d instances)' % (target.name, count, batch['call'],
                                         batch['running'], len(ids)),
              flush=True)
    else:
        print('[%s] RunInstances %d: call %.3f s, NOT ALL RUNNING: %s; '
              'last change after %.3f s; not running: %s'
              % (target.name, count, batch['call'], dict(batch['states']),
                 batch['progress'], ' '.join(batch['stuck'][:5])),
              flush=True)
        for instance_id, message in sorted(batch['failed'].items()):
            print('    %s %s' % (instance_id, message))


def check_all_listed(state):
    response = state['ec2'].describe_instances()
    if (count_instances(response) != len(state['ids'])
            or response.get('NextToken')):
        raise BenchError(
            'DescribeInstances returned %d instances (NextToken %r), '
            'expected %d in one page'
            % (count_instances(response), response.get('NextToken'),
               len(state['ids'])))


def describe_body(ec2):
    """The XML of a ``DescribeInstances()`` answer, as the client got it."""
    bodies = []

    def keep(response_dict, **kwargs):
        bodies.append(response_dict['body'])

    ec2.meta.events.register('before-parse.ec2.DescribeInstances', keep)
    try:
        ec2.describe_instances()
    finally:
        ec2.meta.events.unregister('before-parse.ec2.DescribeInstances',
                                   keep)
    return bodies[0]


def describe_one(state):
    ids = state['ids']
    seconds, response = sampled(state['ec2'].describe_instances,
                                InstanceIds=[ids[len(ids) // 2]])
    if count_instances(response) != 1:
        raise BenchError('DescribeInstances(InstanceIds=[one]) returned '
                         '%d instances' % count_instances(response))
    return seconds


def scenario(targets, replay, args):
    """The boto3 scenario against all servers, interleaved.

    Each step (a batch of RunInstances, a DescribeInstances sample)
    runs on every server before the next, in ABBA order, so that a
    change of the machine's speed during the run (it is shared) falls on
    both alike. ``replay`` (a Replay) serves ebsboot's answer of all the
    instances and is sampled with the others. Returns ``{name:
    results}``.
    """
    states = {t.name: prepare(t, args) for t in targets}
    batches = -(-args.instances // args.batch)
    for _n, order in _rounds(targets, batches):
        for target in order:
            launch(target, states[target.name], args)
    for target in targets:
        check_all_listed(states[target.name])
    replay.start(describe_body(states['ebsboot']['ec2']))
    states[replay.name] = {'ec2': replay.client(), 'result': {},
                           'ids': states['ebsboot']['ids']}
    check_all_listed(states[replay.name])
    for key, sample, sampled_targets in (
            ('describe_all', lambda state: sampled(
                state['ec2'].describe_instances)[0], targets + [replay]),
            ('describe_one', describe_one, targets)):
        samples = {t.name: [] for t in sampled_targets}
        for _n, order in _rounds(sampled_targets, args.repeat):
            for target in order:
                samples[target.name].append(sample(states[target.name]))
        for target in sampled_targets:
            states[target.name]['result'][key] = summary(
                samples[target.name])
    for target in targets:
        result = states[target.name]['result']
        print('[%s] DescribeInstances (%d instances): mean %.4f s'
              % (target.name, len(states[target.name]['ids']),
                 result['describe_all']['mean']), flush=True)
        result['rss_mib'] = rss_mib(target.process)
    return {name: state['result'] for name, state in states.items()}


def fmt(seconds):
    if seconds is None:
        return '-'
    if seconds >= 1:
        return '%.2f s' % seconds
    return '%.1f ms' % (seconds * 1000)


def ratio(moto, ebsboot):
    if not ebsboot:
        return None
    return moto / ebsboot


def batch_time(batch):
    """Seconds until the batch was running, or how far it got."""
    if batch['running'] is not None:
        return fmt(batch['running'])
    return '%d/%d ran' % (batch['states'].get('running', 0),
                          batch['count'])


def complete_mean(batches):
    done = [b['running'] for b in batches if b['running'] is not None]
    return statistics.mean(done) if done else None


def report(args, results):
    """Print the comparison; returns the batches that never all ran."""
    ebs, moto = results['ebsboot'], results['moto']
    first_e, first_m = ebs['batches'][0], moto['batches'][0]
    rows = [
        ('warm-up: first DescribeInstances', ebs['warmup'],
         moto['warmup']),
        ('RunInstances %d -> all running, 1st batch' % first_e['count'],
         first_e, first_m),
        ('  of which the RunInstances call',
         first_e['call'], first_m['call']),
        ('RunInstances -> all running, mean of %d/%d*'
         % (len([b for b in ebs['batches'] if b['running'] is not None]),
            len(ebs['batches'])), complete_mean(ebs['batches']),
         complete_mean(moto['batches'])),
        ('RunInstances -> all running, last batch',
         ebs['batches'][-1], moto['batches'][-1]),
    ]
    for key, label in (('describe_all', 'DescribeInstances (%d, all)'
                        % args.instances),
                       ('describe_one', 'DescribeInstances (1 id)')):
        for stat in ('mean', 'median', 'max'):
            rows.append(('%s %s of %d' % (label, stat, ebs[key]['n']),
                         ebs[key][stat], moto[key][stat]))

    def value(v):
        if isinstance(v, dict):
            return v['running'], batch_time(v)
        return v, fmt(v)

    width = max(len(r[0]) for r in rows) + 2
    print()
    print('Results (%d instances, batches of %d, %d repeats, %d cores)'
          % (args.instances, args.batch, args.repeat, os.cpu_count()))
    print('%-*s %12s %12s %13s' % (width, 'measurement', 'ebsboot', 'moto',
                                   'moto/ebsboot'))
    print('-' * (width + 40))
    for label, e, m in rows:
        (e, e_text), (m, m_text) = value(e), value(m)
        r = ratio(m, e) if m is not None else None
        print('%-*s %12s %12s %13s' % (width, label, e_text, m_text,
                                       '%.2fx' % r if r else '-'))
    print('* mean over the batches that all got running (on ebsboot).')
    print()
    for name in ('ebsboot', 'moto'):
        print('%-8s per batch (until all running): %s' % (name, ', '.join(
            batch_time(b) for b in results[name]['batches'])))
    print('Server RSS at the end: ebsboot %s MiB, moto %s MiB'
          % tuple('%.0f' % r['rss_mib'] if r['rss_mib'] else '?'
                  for r in (ebs, moto)))
    print()
    floor = results['floor']['describe_all']
    print("Client floor: ebsboot's answer of all %d instances replayed by "
          "a static server" % args.instances)
    print('  mean %s, median %s, max %s' % (
        fmt(floor['mean']), fmt(floor['median']), fmt(floor['max'])))
    share = ebs['describe_all']['mean'] - floor['mean']
    print("  ebsboot's server part (ebsboot - floor, means): %s (%.0f %%)"
          % (fmt(share), 100 * share / ebs['describe_all']['mean']))
    ceiling = ratio(moto['describe_all']['mean'], floor['mean'])
    print('  ceiling (moto / floor, means): %.2fx, what a server answering '
          'in no time would reach' % ceiling)
    print()
    describe = ratio(moto['describe_all']['mean'],
                     ebs['describe_all']['mean'])
    print('Target: DescribeInstances (%d) >= %.0fx faster than moto: '
          '%.2fx  %s' % (args.instances, DESCRIBE_TARGET, describe,
                         'PASS' if describe >= DESCRIBE_TARGET else 'FAIL'))
    if first_e['running'] is None:
        print('Target: RunInstances %d -> running no slower than moto: '
              'FAIL (ebsboot never got them all running)' % first_e['count'])
    else:
        run = ratio(first_m['running'], first_e['running'])
        print('Target: RunInstances %d -> running no slower than moto: '
              '%.2fx  %s' % (first_e['count'], run,
                             'PASS' if run >= RUN_TARGET else 'FAIL'))
    return ['%s batch %d (%s)' % (name, n + 1, batch_time(b))
            for name in ('ebsboot', 'moto')
            for n, b in enumerate(results[name]['batches'])
            if b['running'] is None]


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description='DescribeInstances/RunInstances: ebsboot vs moto.')
    parser.add_argument('--instances', type=int, default=500,
                        help='instances to launch (default 500)')
    parser.add_argument('--batch', type=int, default=100,
                        help='MinCount=MaxCount of each RunInstances '
                             '(default 100)')
    parser.add_argument('--repeat', type=int, default=20,
                        help='DescribeInstances calls timed (default 20)')
    parser.add_argument('--timeout', type=int, default=900,
                        help='seconds to wait for a batch to be running '
                             '(default 900)')
    parser.add_argument('--stall', type=int, default=120,
                        help='give up on a batch after this many seconds '
                             'without a state change (default 120)')
    parser.add_argument('--poll', type=float, default=0.05,
                        help='seconds between DescribeInstances polls '
                             'while waiting for a batch (default 0.05)')
    parser.add_argument('--keep', action='store_true',
                        help='keep the temp dir (state, logs) at the end')
    args = parser.parse_args(argv)
    if min(args.instances, args.batch, args.repeat) < 1:
        parser.error('--instances, --batch and --repeat must be >= 1')
    return args


def main(argv=None):
    args = parse_args(argv)
    tmp = tempfile.mkdtemp(prefix='ebsboot-bench-')
    print('Temp dir: %s' % tmp)
    ebsboot, moto, replay = Ebsboot(tmp), Moto(tmp), Replay(tmp)
    status = 0
    results = {}
    try:
        started = time.perf_counter()
        ebsboot.start()
        print('ebsboot all-in-one on %s (log %s), up after %.1f s'
              % (ebsboot.endpoint, ebsboot.log_file,
                 time.perf_counter() - started))
        moto.start()
        print('moto_server on %s (log %s)' % (moto.endpoint, moto.log_file))
        started = time.perf_counter()
        results = scenario([ebsboot, moto], replay, args)
        print('Scenario took %.1f s' % (time.perf_counter() - started))
        print('ebsboot volume files: %d' % ebsboot.volume_files())
        incomplete = report(args, results)
        if incomplete:
            status = 1
            print('\nBROKEN: not all instances got running: %s'
                  % '; '.join(incomplete))
    except BenchError as e:
        status = 1
        print('\nBENCHMARK BROKEN: %s' % e)
    except Exception as e:
        status = 1
        traceback.print_exc(file=sys.stdout)
        print('\nBENCHMARK BROKEN: %s: %s' % (type(e).__name__, e))
    except KeyboardInterrupt:
        status = 130
        print('\ninterrupted')
    finally:
        replay.stop()
        codes = {'ebsboot': ebsboot.stop(), 'moto': moto.stop()}
        if codes['ebsboot'] not in (0, None):
            print('ebsboot exit status: %s' % codes['ebsboot'])
        problems, total, locked = ebsboot.problems()
        if problems:
            print('\nebsboot log: %d ERROR records (%d "database is '
                  'locked"), the last %d without tracebacks:'
                  % (total, locked, len(problems)))
            for record in problems:
                print('\n'.join(record[:4]))
        if args.keep:
            print('Kept %s' % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return status


if __name__ == '__main__':
    sys.exit(main())
