#!/usr/bin/env python3
"""Load test of the EC2 API's HTTP server: many boto3 clients at once.

Against a fresh ebsboot all-in-one (``fake`` compute driver, real qcow2
volumes) on loopback:

#. set-up: an EBS image, ``--instances`` running instances, a volume and
   a snapshot to describe;
#. one client alone runs the request mix for ``--single`` seconds: the
   single-client latency;
#. ``--clients`` clients (threads spread over ``--processes`` processes,
   each with its own boto3 client) run the mix for ``--duration``
   seconds, while a side probe times a plain TCP connect every 0.1 s;
#. the same clients as an open loop for ``--open-duration`` seconds: steps
   of the mix arrive at random, ``--rate`` a second in all, whether or
   not earlier ones are answered (the closed loop measures saturation,
   this a load below it);
#. DescribeInstances of one id, ``--repeat`` times against ebsboot,
   moto_server and the client floor (``replay_server.py`` answering
   ebsboot's own answer at once) in turns.

The mix: DescribeInstances (one id), DescribeVolumes, DescribeSnapshots
and DescribeImages (one id each), and CreateVolume/DeleteVolume and
CreateSnapshot/DeleteSnapshot of the client's own resources
(``--describe-share`` of the calls describe, 0.7 by default). Every loop
is bounded in time and count; only 127.0.0.1 is used. Exits 0 whether
the targets are met or not, 1 when something broke. See bench/README.rst.
"""

import argparse
import collections
import multiprocessing
import os
import random
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
import traceback

import benchlib
import ec2_instances as bench

# Targets.
P99_FACTOR = 10.0       # p99 under load / single-client median
MOTO_FACTOR = 3.0       # moto / ebsboot, DescribeInstances of one id
STALL_SECONDS = 0.2     # a plain connect slower than this is stalled

MAX_REQUESTS_PER_CLIENT = 100000


def cpu_seconds(pid):
    """User plus system CPU seconds of a process so far."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def percentile(samples, fraction):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class Client:
    """One boto3 client running the mix on its own resources.

    Closed loop (the default): the next step as soon as the last is
    answered. ``interval``: one step each ``interval`` seconds. ``rate``
    (open loop): steps arrive at random (a Poisson process of ``rate``
    steps a second), whether or not the last is answered; a step that
    arrives while the client is busy waits, and that wait counts in its
    first request's latency.
    """

    def __init__(self, ec2, fixture, seed, describe_share, interval=0,
                 rate=0):
        self.ec2 = ec2
        self.describe_share = describe_share
        self.interval = interval
        self.rate = rate
        self.late = 0.0
        self.fixture = fixture
        self.random = random.Random(seed)
        self.volumes = collections.deque()
        self.snapshots = collections.deque()
        self.latencies = []
        self.by_action = collections.defaultdict(list)
        self.errors = collections.Counter()

    def step(self):
        f = self.fixture
        if self.random.random() < self.describe_share:
            action, kwargs = self.random.choice([
                ('describe_instances', {'InstanceIds': [f['instance']]}),
                ('describe_volumes', {'VolumeIds': [f['volume']]}),
                ('describe_snapshots', {'SnapshotIds': [f['snapshot']]}),
                ('describe_images', {'ImageIds': [f['image']]})])
            self.call(action, **kwargs)
            return
        kind = self.random.choice(('volume', 'snapshot'))
        owned = self.volumes if kind == 'volume' else self.snapshots
        if owned and (len(owned) > 2 or self.random.random() < 0.5):
            self.delete(kind, owned)
        elif kind == 'volume':
            answer = self.call('create_volume', Size=1,
                               AvailabilityZone=f['zone'])
            if answer:
                owned.append(answer['VolumeId'])
        else:
            answer = self.call('create_snapshot', VolumeId=f['volume'])
            if answer:
                owned.append(answer['SnapshotId'])

    def delete(self, kind, owned):
        """Delete the oldest one once it is ready (else describe it)."""
        resource_id = owned[0]
        if kind == 'volume':
            answer = self.call('describe_volumes', VolumeIds=[resource_id])
            ready = answer and answer['Volumes'][0]['State'] == 'available'
            if ready and self.call('delete_volume', VolumeId=resource_id):
                owned.popleft()
        else:
            answer = self.call('describe_snapshots',
                               SnapshotIds=[resource_id])
            ready = answer and answer['Snapshots'][0]['State'] == 'completed'
            if ready and self.call('delete_snapshot',
                                   SnapshotId=resource_id):
                owned.popleft()

    def call(self, action, **kwargs):
        # An open loop's step that waited for the client: from its arrival.
        started = time.perf_counter() - self.late
        self.late = 0.0
        try:
            answer = getattr(self.ec2, action)(**kwargs)
        except Exception as e:
            code = getattr(e, 'response', {}).get('Error', {}).get('Code')
            self.errors['%s: %s' % (action, code or type(e).__name__)] += 1
            return None
        finally:
            seconds = time.perf_counter() - started
            self.latencies.append(seconds)
            self.by_action[action].append(seconds)
        return answer

    def run(self, until):
        """Steps until ``until``, paced by ``interval`` or ``rate``."""
        # Paced clients start at different moments of their interval.
        next_step = time.monotonic() + self.random.random() * self.interval
        if self.rate:
            next_step = time.monotonic() + self.random.expovariate(self.rate)
        for _ in range(MAX_REQUESTS_PER_CLIENT):
            if self.interval or self.rate:
                delay = next_step - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                elif self.rate:
                    self.late = -delay
                next_step += (self.random.expovariate(self.rate)
                              if self.rate else self.interval)
            if time.monotonic() >= until:
                break
            self.step()

    def clean_up(self, until):
        """Delete what is left (not timed, errors not counted)."""
        while (self.volumes or self.snapshots) and time.monotonic() < until:
            for kind, owned in (('volume', self.volumes),
                                ('snapshot', self.snapshots)):
                if owned:
                    self.delete(kind, owned)
            time.sleep(0.05)


def _client_process(endpoint, credentials, fixture, threads, seed, start_at,
                    args, results):
    """A process of ``threads`` clients; puts their samples."""
    clients = [Client(bench.make_client(endpoint, 'RegionOne',
                                        credentials['access_key'],
                                        credentials['secret_key']),
                      fixture, seed * 1000 + n, args.describe_share,
                      args.interval, args.rate / args.clients)
               for n in range(threads)]
    duration = args.duration
    delay = start_at - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    workers = [threading.Thread(target=c.run, args=(start_at + duration,))
               for c in clients]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    latencies, errors = [], collections.Counter()
    by_action = collections.defaultdict(list)
    for client in clients:
        latencies.extend(client.latencies)
        errors.update(client.errors)
        for action, samples in client.by_action.items():
            by_action[action].extend(samples)
    results.put((latencies, dict(errors), dict(by_action)))
    for client in clients:
        client.clean_up(time.monotonic() + 60)


class ConnectProbe(threading.Thread):
    """Times a plain TCP connect every ``interval`` seconds until stopped."""

    def __init__(self, port, interval=0.1):
        super().__init__(daemon=True)
        self.port = port
        self.interval = interval
        self.times = []
        self.failed = 0
        self.done = threading.Event()

    def run(self):
        while not self.done.wait(self.interval):
            started = time.perf_counter()
            try:
                socket.create_connection(('127.0.0.1', self.port), 5).close()
            except OSError:
                self.failed += 1
                continue
            self.times.append(time.perf_counter() - started)


def set_up(ebsboot, args):
    ec2 = ebsboot.client()
    zone = ec2.describe_availability_zones()['AvailabilityZones'][0][
        'ZoneName']
    image = bench.register_image(ec2, zone, 120)
    ids = [i['InstanceId'] for i in ec2.run_instances(
        ImageId=image, MinCount=args.instances, MaxCount=args.instances,
        InstanceType='t2.micro')['Instances']]
    benchlib.poll(lambda: all(
        i['State']['Name'] == 'running'
        for r in ec2.describe_instances(InstanceIds=ids)['Reservations']
        for i in r['Instances']), 300, 'instances running')
    volume = ec2.create_volume(Size=1, AvailabilityZone=zone)['VolumeId']
    benchlib.poll(lambda: ec2.describe_volumes(VolumeIds=[volume])[
        'Volumes'][0]['State'] == 'available', 120, 'volume available')
    snapshot = ec2.create_snapshot(VolumeId=volume)['SnapshotId']
    benchlib.poll(lambda: ec2.describe_snapshots(SnapshotIds=[snapshot])[
        'Snapshots'][0]['State'] == 'completed', 120, 'snapshot completed')
    return {'zone': zone, 'image': image, 'instance': ids[len(ids) // 2],
            'volume': volume, 'snapshot': snapshot}


def single_client(ebsboot, fixture, args):
    client = Client(ebsboot.client(), fixture, 1, args.describe_share)
    client.run(time.monotonic() + args.single)
    client.clean_up(time.monotonic() + 60)
    return client.latencies, client.errors, client.by_action


def load(ebsboot, fixture, args):
    """Run the clients as ``args`` say (duration, interval, rate)."""
    ctx = multiprocessing.get_context('fork')
    results = ctx.Queue()
    per_process = [args.clients // args.processes
                   + (1 if n < args.clients % args.processes else 0)
                   for n in range(args.processes)]
    start_at = time.monotonic() + 2.0
    processes = [ctx.Process(target=_client_process, args=(
        ebsboot.endpoint, ebsboot.credentials, fixture, threads, n,
        start_at, args, results))
        for n, threads in enumerate(per_process) if threads]
    for process in processes:
        process.start()
    probe = ConnectProbe(ebsboot.port)
    time.sleep(max(0, start_at - time.monotonic()))
    probe.start()
    cpu = cpu_seconds(ebsboot.process.pid)
    latencies, errors = [], collections.Counter()
    by_action = collections.defaultdict(list)
    for _ in processes:
        got_latencies, got_errors, got_actions = results.get(
            timeout=args.duration + 120)
        latencies.extend(got_latencies)
        errors.update(got_errors)
        for action, samples in got_actions.items():
            by_action[action].extend(samples)
    probe.cpu = cpu_seconds(ebsboot.process.pid) - cpu
    probe.done.set()
    probe.join()
    for process in processes:
        process.join(timeout=90)
        if process.is_alive():
            process.kill()
    return latencies, errors, by_action, probe


def one_id_body(ec2, instance):
    """ebsboot's XML answer to DescribeInstances of ``instance``."""
    bodies = []

    def keep(response_dict, **kwargs):
        bodies.append(response_dict['body'])

    ec2.meta.events.register('before-parse.ec2.DescribeInstances', keep)
    try:
        ec2.describe_instances(InstanceIds=[instance])
    finally:
        ec2.meta.events.unregister('before-parse.ec2.DescribeInstances',
                                   keep)
    return bodies[0]


def describe_one(ebsboot, fixture, moto, replay, args):
    """Medians of DescribeInstances(one id): ebsboot, moto and the floor.

    The floor is ebsboot's own answer replayed at once: what the client
    alone costs for it.
    """
    moto_ec2 = moto.client()
    zone = moto_ec2.describe_availability_zones()['AvailabilityZones'][0][
        'ZoneName']
    image = bench.register_image(moto_ec2, zone, 120)
    moto_id = moto_ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)[
        'Instances'][0]['InstanceId']
    ebs_ec2 = ebsboot.client()
    replay.start(one_id_body(ebs_ec2, fixture['instance']))
    calls = [(ebs_ec2, fixture['instance']), (moto_ec2, moto_id),
             (replay.client(), fixture['instance'])]
    samples = [[], [], []]
    for ec2, instance in calls:
        ec2.describe_instances(InstanceIds=[instance])
    for n in range(args.repeat):
        # A different order each round: drift falls on all alike.
        for side in (0, 1, 2) if n % 2 == 0 else (2, 1, 0):
            ec2, instance = calls[side]
            seconds, _ = bench.sampled(ec2.describe_instances,
                                       InstanceIds=[instance])
            samples[side].append(seconds)
    return [statistics.median(side) for side in samples]


def ms(seconds):
    return '%.1f ms' % (seconds * 1000)


def report_phase(title, single, phase, args):
    """Print one loaded phase; (p99, stalled, errors) for the targets."""
    single_latencies, _single_errors, single_actions = single
    loaded, errors, by_action, probe, phase_args = phase
    p50, p99 = percentile(loaded, 0.5), percentile(loaded, 0.99)
    stalled = [t for t in probe.times if t > STALL_SECONDS]
    if phase_args.rate:
        how = ', open loop: %g steps/s arriving at random' % (
            phase_args.rate)
    elif phase_args.interval:
        how = ', a request every %g s each' % phase_args.interval
    else:
        how = ', closed loop'
    print('%s: %d clients in %d processes, %d s%s: %d requests, %.1f '
          'requests/s' % (title, args.clients, args.processes,
                          phase_args.duration, how, len(loaded),
                          len(loaded) / phase_args.duration))
    print('  ebsboot process CPU: %.1f s (%.0f %% of one core), load '
          'average at the end %.1f' % (
              probe.cpu, 100 * probe.cpu / phase_args.duration,
              os.getloadavg()[0]))
    print('  latency p50 %s, p90 %s, p99 %s, max %s'
          % (ms(p50), ms(percentile(loaded, 0.9)), ms(p99),
             ms(max(loaded))))
    print('  %-20s %7s %10s %10s %10s' % ('action', 'calls', 'alone p50',
                                          'p50', 'p99'))
    for action in sorted(by_action):
        samples = by_action[action]
        alone = single_actions.get(action)
        print('  %-20s %7d %10s %10s %10s' % (
            action, len(samples),
            ms(statistics.median(alone)) if alone else '-',
            ms(percentile(samples, 0.5)), ms(percentile(samples, 0.99))))
    print('  errors: %d %s' % (sum(errors.values()), dict(errors) or ''))
    print('  connect probe: %d connects, %d over %s, %d failed, max %s'
          % (len(probe.times), len(stalled), ms(STALL_SECONDS),
             probe.failed, ms(max(probe.times) if probe.times else 0)))
    return p99, stalled or probe.failed, errors


def report(single, phases, describe, args):
    """``phases``: (title, (latencies, errors, by_action, probe, args))."""
    single_latencies, single_errors, _single_actions = single
    single_p50 = statistics.median(single_latencies)
    print('\nSingle client, %d s: %d requests, p50 %s, p99 %s, max %s, '
          '%d errors' % (args.single, len(single_latencies), ms(single_p50),
                         ms(percentile(single_latencies, 0.99)),
                         ms(max(single_latencies)),
                         sum(single_errors.values())))
    verdicts = [('no errors', not single_errors)]
    for title, phase in phases:
        p99, stalled, errors = report_phase(title, single, phase, args)
        verdicts += [
            ('%s: no errors' % title, not errors),
            ('%s: p99 under load < %gx single-client p50 (%.1fx)'
             % (title, P99_FACTOR, p99 / single_p50),
             p99 < P99_FACTOR * single_p50),
            ('%s: no stalled connects' % title, not stalled)]
    ebs, moto, floor = describe
    print('DescribeInstances (1 id), median of %d: ebsboot %s, moto %s, '
          'moto/ebsboot %.2fx' % (args.repeat, ms(ebs), ms(moto), moto / ebs))
    print('  client floor (ebsboot\'s answer replayed) %s: ebsboot\'s '
          'server part %s, ceiling moto/floor %.2fx'
          % (ms(floor), ms(ebs - floor), moto / floor))
    verdicts.append(
        ('DescribeInstances (1 id) >= %gx faster than moto (%.2fx)'
         % (MOTO_FACTOR, moto / ebs), moto / ebs >= MOTO_FACTOR))
    print('\nTargets:')
    for text, ok in verdicts:
        print('  %s: %s' % ('PASS' if ok else 'FAIL', text))


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description='Load test of the EC2 API HTTP server.')
    parser.add_argument('--clients', type=int, default=50)
    parser.add_argument('--processes', type=int, default=5,
                        help='client processes the clients are spread over')
    parser.add_argument('--duration', type=int, default=60,
                        help='seconds of load (default 60)')
    parser.add_argument('--single', type=int, default=10,
                        help='seconds of the single-client run (default 10)')
    parser.add_argument('--instances', type=int, default=20,
                        help='instances launched at set-up (default 20)')
    parser.add_argument('--repeat', type=int, default=100,
                        help='DescribeInstances (1 id) calls on each of '
                             'ebsboot and moto (default 100)')
    parser.add_argument('--describe-share', type=float, default=0.7,
                        help='share of Describe calls in the mix, the rest '
                             'Create/Delete (default 0.7)')
    parser.add_argument('--interval', type=float, default=0,
                        help='seconds between the starts of a loaded '
                             'client\'s requests (default 0: each client '
                             'sends its next request as soon as it has the '
                             'answer)')
    parser.add_argument('--rate', type=float, default=10,
                        help='after the closed loop, an open loop: steps '
                             'of the mix arriving at random at this rate '
                             '(a second, all clients together; a step is '
                             'one request, or two for a delete; default '
                             '10, a quarter of what the closed loop gets '
                             'through here; 0: no open loop)')
    parser.add_argument('--open-duration', type=int, default=60,
                        help='seconds of the open loop (default 60)')
    parser.add_argument('--api', action='append', default=[],
                        metavar='OPTION=VALUE',
                        help='an [api] option for ebsboot (repeatable), '
                             'e.g. --api workers=8')
    parser.add_argument('--set', action='append', default=[],
                        metavar='SECTION.OPTION=VALUE',
                        help='any option for ebsboot (repeatable), e.g. '
                             '--set DEFAULT.sqlite_synchronous=normal')
    parser.add_argument('--keep', action='store_true',
                        help='keep the temp dir (state, logs) at the end')
    args = parser.parse_args(argv)
    if min(args.clients, args.processes, args.duration, args.single,
           args.instances, args.repeat) < 1:
        parser.error('every number must be >= 1')
    args.processes = min(args.processes, args.clients)
    return args


def extra_conf(args):
    """The config lines of ``--api`` and ``--set``, by section."""
    sections = collections.defaultdict(list)
    for option in args.api:
        sections['api'].append(option)
    for option in args.set:
        section, _dot, option = option.partition('.')
        sections[section].append(option)
    return ''.join('[%s]\n%s' % (section, ''.join(
        '%s\n' % option.replace('=', ' = ', 1) for option in options))
        for section, options in sections.items())


def main(argv=None):
    args = parse_args(argv)
    tmp = tempfile.mkdtemp(prefix='ebsboot-httpload-')
    print('Temp dir: %s' % tmp)
    ebsboot = bench.Ebsboot(tmp, extra_conf(args))
    moto = bench.Moto(tmp)
    replay = bench.Replay(tmp)
    status = 0
    try:
        ebsboot.start()
        moto.start()
        print('ebsboot on %s, moto on %s' % (ebsboot.endpoint,
                                             moto.endpoint), flush=True)
        fixture = set_up(ebsboot, args)
        print('Set-up done: %s' % fixture, flush=True)
        single = single_client(ebsboot, fixture, args)
        print('Single client done; load for %d s ...' % args.duration,
              flush=True)
        closed = argparse.Namespace(**dict(vars(args), rate=0))
        phases = [('Load', load(ebsboot, fixture, closed) + (closed,))]
        if args.rate:
            print('Open loop at %g steps/s for %d s ...'
                  % (args.rate, args.open_duration), flush=True)
            opened = argparse.Namespace(**dict(
                vars(args), interval=0, duration=args.open_duration))
            phases.append(('Open loop', load(ebsboot, fixture, opened)
                           + (opened,)))
        describe = describe_one(ebsboot, fixture, moto, replay, args)
        report(single, phases, describe, args)
    except benchlib.BenchError as e:
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
        moto.stop()
        code = ebsboot.stop()
        if code not in (0, None):
            print('ebsboot exit status: %s' % code)
            status = status or 1
        problems, total, _locked = ebsboot.problems()
        if problems:
            print('\nebsboot log: %d ERROR records, the last %d:'
                  % (total, len(problems)))
            for record in problems:
                print('\n'.join(record[:4]))
        if args.keep:
            print('Kept %s' % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return status


if __name__ == '__main__':
    sys.exit(main())
