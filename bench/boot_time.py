#!/usr/bin/env python3
"""Benchmark the boot time of an EBS-backed instance under libvirt/QEMU.

Measures, in one run, on one host:

* ``ebsboot``: the time from the RunInstances call to the guest's first
  console line (the instance's console log, ``<state>/consoles/<uuid>.log``,
  is followed directly, every few milliseconds);
* ``raw``: the same disk booted with the same domain XML straight through
  libvirt-python: the XML of an ebsboot guest (captured with ``XMLDesc``
  while it runs) with another name, UUID, console file and a fresh qcow2
  overlay of the same snapshot file (``qemu-img create -b SNAP -F qcow2``),
  timed from the ``create()`` call to the first console line;
* size independence: RunInstances -> first console line for AMIs of a
  1 GiB and a ``--big-gib`` GiB snapshot, both full of data (the demo guest
  followed by 0x5a bytes, imported with ``ebsboot-manage snapshot import``).

Each path is booted once as a warm-up (reported, not counted), then
``--runs`` rounds boot every path once, in ABBA order (every other round
reversed), one guest at a time; each guest is terminated (ebsboot) or
destroyed (raw) before the next boot. The time to the demo guest's
``demo guest ready`` line (kernel and initrd read from the volume, init
run) is recorded too, as a secondary measurement.

For the ebsboot runs the all-in-one's log gives the time of each control
plane step (RunInstances accepted, volume requested, volume file created,
spawn received, guest started).

Targets (issue 4 item 8): the control plane adds less than 20 % (or less
than 1 s) to the raw boot; big/small snapshot boot time ratio under 1.1.
Like the other benchmarks here it exits 0 whether or not the targets are
met, 1 when something broke. See bench/README.rst.
"""

import argparse
import datetime
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from xml.etree import ElementTree as ET

import benchlib
import boto3
import botocore.config

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
DEMO_GUEST_DIR = os.path.join(TOP, '.cache', 'demo-guest')

GiB = 1 << 30
CHUNK = 64 << 20
FILL = 0x5a

READY = 'demo guest ready'
RAW_PREFIX = 'bootbench-'       # not ebsboot's "ebsboot-" domain prefix
POLL = 0.002                    # console poll interval (s)
BOOT_TIMEOUT = 180
TERMINATE_TIMEOUT = 120
SPACE_MARGIN = 2 * GiB

OVERHEAD_PCT_TARGET = 20.0
OVERHEAD_ABS_TARGET = 1.0
SIZE_RATIO_TARGET = 1.1

LOG_LINE = re.compile(r'(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) \d+ (\S+) '
                      r'(\S+) \[[^\]]*\] (.*)')
ANSI = re.compile(r'\x1b(\[[0-9;?]*[ -/]*[@-~]|[()][0-9A-Za-z]|[@-_])')

# Control plane steps found in the all-in-one's log, in order:
# (key, label, test(message, ids)).
STEPS = (
    ('accepted', "'Launching' (RunInstances accepted)",
     lambda m, i: m.startswith('Launching ') and i['instance'] in m),
    ('volume_requested', "'Creating volume' (launch step)",
     lambda m, i: m.startswith('Creating volume %s ' % i['volume'])),
    ('volume_created', "'Created volume file' (qcow2 overlay)",
     lambda m, i: m.startswith('Created volume file') and
     i['volume_uuid'] in m),
    ('spawning', "'Spawning' (compute got spawn)",
     lambda m, i: m == 'Spawning %s' % i['instance']),
    ('started', "'Guest started' (create() returned)",
     lambda m, i: m == 'Guest %s started' % i['instance']),
)


BenchError = benchlib.BenchError
free_port = benchlib.free_port
poll = benchlib.poll


# Helpers ------------------------------------------------------------------

def run(*cmd):
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode:
        raise BenchError('%s failed (%d):\n%s%s' % (
            ' '.join(cmd), result.returncode, result.stdout, result.stderr))
    return result.stdout


def loadavg():
    try:
        with open('/proc/loadavg') as f:
            return ' '.join(f.read().split()[:3])
    except OSError:
        return '?'


def fmt(seconds):
    return '-' if seconds is None else '%.3f' % seconds


def median(samples):
    samples = [s for s in samples if s is not None]
    return statistics.median(samples) if samples else None


def utc_timestamp(text):
    """The POSIX time of a naive UTC datetime as sqlite stores it."""
    for pattern in ('%Y-%m-%d %H:%M:%S.%f', '%Y-%m-%d %H:%M:%S'):
        try:
            value = datetime.datetime.strptime(text, pattern)
        except ValueError:
            continue
        return value.replace(tzinfo=datetime.timezone.utc).timestamp()
    raise BenchError('unexpected time %r in the database' % (text,))


def clean_line(raw):
    """A console line without escape sequences and control characters."""
    text = ANSI.sub('', raw.decode('utf-8', 'replace'))
    return ''.join(c for c in text if c.isprintable()).strip()


# The guest disks -----------------------------------------------------------

def demo_guest(path=None):
    """The demo guest disk, built with tools/build-demo-guest if missing."""
    if path:
        if not os.path.exists(path):
            raise BenchError('%s does not exist' % path)
        return os.path.abspath(path)
    path = os.path.join(DEMO_GUEST_DIR, 'demo-guest.raw')
    if not os.path.exists(path):
        print('Building the demo guest in %s ...' % DEMO_GUEST_DIR,
              flush=True)
        run(os.path.join(TOP, 'tools', 'build-demo-guest'), DEMO_GUEST_DIR)
    return path


def make_data_image(path, guest, gib):
    """A raw disk of ``gib`` GiB: the demo guest, then 0x5a bytes.

    Every byte is written, so the snapshot imported from it is fully
    allocated (qemu-img convert would skip zeros, not this pattern).
    """
    size = gib * GiB
    if os.path.getsize(guest) > size:
        raise BenchError('%s is larger than %d GiB' % (guest, gib))
    fill = memoryview(bytes([FILL]) * CHUNK)
    with open(guest, 'rb') as src, open(path, 'wb') as dst:
        shutil.copyfileobj(src, dst, CHUNK)
        done = dst.tell()
        while done < size:
            count = min(CHUNK, size - done)
            dst.write(fill[:count])
            done += count
    return path


# The cloud ------------------------------------------------------------------

class Cloud:
    """An ebsboot all-in-one (libvirt driver, TCG) in ``<tmp>/state``."""

    def __init__(self, tmp, debug=False):
        self.debug = debug
        self.state = os.path.join(tmp, 'state')
        os.makedirs(self.state)
        # QEMU runs as libvirt-qemu and must reach the volume files.
        os.chmod(self.state, 0o755)
        self.log_file = os.path.join(self.state, 'ebsboot.log')
        self.conf = os.path.join(self.state, 'ebsboot.conf')
        self.db_file = os.path.join(self.state, 'ebsboot.sqlite')
        self.console_dir = os.path.join(self.state, 'consoles')
        self.port = free_port()
        self.endpoint = 'http://127.0.0.1:%d' % self.port
        self.process = None
        self.credentials = None

    def manage(self, *args):
        return run(benchlib.ebsboot_bin('ebsboot-manage'), '--config-file',
                   self.conf, *args)

    def start(self):
        with open(self.conf, 'w') as f:
            f.write('[DEFAULT]\nstate_path = %s\nlog_file = %s\n'
                    'debug = %s\n'
                    '[api]\nport = %d\n[compute]\ndriver = libvirt\n'
                    '[libvirt]\nvirt_type = qemu\n'
                    % (self.state, self.log_file, self.debug, self.port))
        self.manage('db', 'sync')
        self.credentials = json.loads(self.manage(
            'credentials', 'create', '--project', 'bench', '--format',
            'json'))
        with open(os.path.join(self.state, 'ebsboot-all-in-one.out'),
                  'ab') as out:
            self.process = subprocess.Popen(
                [benchlib.ebsboot_bin('ebsboot-all-in-one'), '--config-file',
                 self.conf], stdout=out, stderr=subprocess.STDOUT)

        def up():
            if self.process.poll() is not None:
                raise BenchError('ebsboot-all-in-one exited with %s; see %s'
                                 % (self.process.returncode, self.log_file))
            try:
                socket.create_connection(('127.0.0.1', self.port),
                                         0.5).close()
                return True
            except OSError:
                return False
        poll(up, 60, 'the all-in-one to listen', 0.1)

    def client(self):
        return boto3.client(
            'ec2', endpoint_url=self.endpoint, region_name='RegionOne',
            aws_access_key_id=self.credentials['access_key'],
            aws_secret_access_key=self.credentials['secret_key'],
            config=botocore.config.Config(
                retries={'max_attempts': 1}, connect_timeout=10,
                read_timeout=300))

    def stop(self, timeout=60):
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return 'hung (killed)'

    def query(self, sql, *args):
        db = sqlite3.connect('file:%s?mode=ro' % self.db_file, uri=True,
                             timeout=10)
        try:
            return db.execute(sql, args).fetchall()
        finally:
            db.close()

    def instance_uuids(self):
        return {row[0] for row in self.query('SELECT id FROM instances')}

    def log_size(self):
        try:
            return os.path.getsize(self.log_file)
        except OSError:
            return 0

    def log_since(self, offset):
        """(wall time, message) of the log records after ``offset``."""
        records = []
        with open(self.log_file, 'rb') as f:
            f.seek(offset)
            for line in f.read().decode('utf-8', 'replace').splitlines():
                match = LOG_LINE.match(line)
                if match:
                    stamp = datetime.datetime.strptime(
                        match.group(1), '%Y-%m-%d %H:%M:%S.%f').timestamp()
                    records.append((stamp, match.group(4)))
        return records

    def import_snapshot(self, path, description):
        started = time.monotonic()
        out = self.manage('snapshot', 'import', path, '--project', 'bench',
                          '--description', description, '--format', 'json')
        snapshot_id = json.loads(out)['snapshot_id']
        rows = self.query('SELECT provider_location, volume_size FROM '
                          'snapshots WHERE ec2_id = ?', snapshot_id)
        return {'snapshot_id': snapshot_id, 'file': rows[0][0],
                'gib': rows[0][1], 'import_s': time.monotonic() - started}


def register_image(ec2, name, snapshot_id):
    image_id = ec2.register_image(
        Name=name, RootDeviceName='/dev/vda',
        BlockDeviceMappings=[{'DeviceName': '/dev/vda',
                              'Ebs': {'SnapshotId': snapshot_id}}])['ImageId']
    poll(lambda: ec2.describe_images(ImageIds=[image_id])['Images'][0][
        'State'] == 'available', 60, 'image %s available' % image_id)
    return image_id


# Consoles -------------------------------------------------------------------

def follow_console(path, t0, timeout=BOOT_TIMEOUT, ready=READY,
                   stop=None):
    """Follow a console log until ``ready`` appears on it.

    Returns the seconds since ``t0`` (a ``time.monotonic()`` value) to the
    first byte, to the first non-empty line (complete, with its newline;
    escape sequences and blanks do not count) and to ``ready``, the text of
    that first line and ``late``: True when the file already had content at
    the first look (the first times are then too late). Gives up (returns
    None) when the ``stop`` event is set.
    """
    result = {'first_byte': None, 'first_line': None, 'first_text': None,
              'ready': None, 'late': False}
    fd = None
    data = b''
    scanned = 0
    looks = 0
    try:
        while True:
            if fd is None:
                try:
                    fd = os.open(path, os.O_RDONLY)
                except FileNotFoundError:
                    pass
            chunk = os.read(fd, 1 << 20) if fd is not None else b''
            now = time.monotonic() - t0
            if chunk:
                if result['first_byte'] is None:
                    result['first_byte'] = now
                    result['late'] = looks == 0
                data += chunk
                while result['first_line'] is None:
                    end = data.find(b'\n', scanned)
                    if end < 0:
                        break
                    text = clean_line(data[scanned:end])
                    scanned = end + 1
                    if text:
                        result['first_line'] = now
                        result['first_text'] = text
                if ready.encode() in data:
                    result['ready'] = now
                    return result
            elif now > timeout:
                raise BenchError(
                    'no %r on %s after %d s; console so far:\n%s'
                    % (ready, path, timeout,
                       data[-2000:].decode('utf-8', 'replace')))
            if stop is not None and stop.is_set():
                return None
            looks += 1
            time.sleep(POLL)
    finally:
        if fd is not None:
            os.close(fd)


class Follower(threading.Thread):
    """``follow_console`` on a thread, started before the guest is."""

    def __init__(self, path, t0):
        super().__init__(name='console-follower', daemon=True)
        self.path = path
        self.t0 = t0
        self.stopping = threading.Event()
        self.result = None
        self.error = None

    def run(self):
        try:
            self.result = follow_console(self.path, self.t0,
                                         stop=self.stopping)
        except Exception as e:
            self.error = e

    def outcome(self):
        self.join()
        if self.error is not None:
            raise self.error
        return self.result

    def cancel(self):
        self.stopping.set()
        self.join()


# The two boot paths ---------------------------------------------------------

class Bench:

    def __init__(self, args, tmp, cloud, conn):
        self.args = args
        self.tmp = tmp
        self.cloud = cloud
        self.ec2 = cloud.client()
        self.conn = conn
        self.raw_dir = os.path.join(tmp, 'raw')
        os.makedirs(self.raw_dir)
        os.chmod(self.raw_dir, 0o755)
        self.template = None    # domain XML captured from an ebsboot guest
        self.demo = None        # the demo snapshot (import result)
        self.raw_count = 0

    def boot_ebsboot(self, image_id, capture=False):
        """RunInstances -> first console line; then terminate."""
        offset = self.cloud.log_size()
        wall = time.time()
        t0 = time.monotonic()
        reservation = self.ec2.run_instances(
            ImageId=image_id, MinCount=1, MaxCount=1,
            InstanceType='t2.nano')
        call = time.monotonic() - t0
        instance_id = reservation['Instances'][0]['InstanceId']
        rows = self.cloud.query('SELECT id FROM instances WHERE ec2_id = ?',
                                instance_id)
        if not rows:
            raise BenchError('%s is not in the database' % instance_id)
        instance_uuid = rows[0][0]
        try:
            console = follow_console(
                os.path.join(self.cloud.console_dir,
                             '%s.log' % instance_uuid), t0)
            devices = self.cloud.query(
                'SELECT volume_id, volume_ec2_id, attach_time FROM '
                'block_devices WHERE instance_id = ? AND boot_index = 0',
                instance_uuid)
            launched = poll(lambda: self.cloud.query(
                'SELECT launched_at FROM instances WHERE id = ? AND '
                'launched_at IS NOT NULL', instance_uuid), 30,
                '%s launched' % instance_id, 0.05)
            if capture:
                domain = self.conn.lookupByUUIDString(instance_uuid)
                self.template = domain.XMLDesc(
                    self.libvirt.VIR_DOMAIN_XML_INACTIVE)
                with open(os.path.join(self.tmp, 'captured-domain.xml'),
                          'w') as f:
                    f.write(self.template)
        finally:
            self.terminate(instance_id)
        ids = {'instance': instance_id, 'volume_uuid': devices[0][0],
               'volume': devices[0][1]}
        steps = {}
        for stamp, message in self.cloud.log_since(offset):
            for key, _label, test in STEPS:
                if key not in steps and test(message, ids):
                    steps[key] = stamp - wall
        # Written by the controller in UTC: the end of the launch_connect
        # and launch_spawn steps.
        for key, value in (('connected', devices[0][2]),
                           ('running', launched[0][0])):
            if value:
                steps[key] = utc_timestamp(value) - wall
        result = dict(console, call=call, steps=steps,
                      instance=instance_id)
        return result

    def terminate(self, instance_id):
        self.ec2.terminate_instances(InstanceIds=[instance_id])
        poll(lambda: self.ec2.describe_instances(InstanceIds=[instance_id])[
            'Reservations'][0]['Instances'][0]['State']['Name'] ==
            'terminated', TERMINATE_TIMEOUT, '%s terminated' % instance_id)
        # The root volume is deleted after the instance is terminated:
        # let that finish too, so the next boot has the host to itself.
        poll(lambda: not self.ec2.describe_volumes()['Volumes'],
             TERMINATE_TIMEOUT, 'the root volume of %s deleted'
             % instance_id)

    @property
    def libvirt(self):
        import libvirt
        return libvirt

    def raw_xml(self, name, domain_uuid, disk, console):
        """The captured XML with another name, UUID, disk and console."""
        root = ET.fromstring(self.template)
        root.find('name').text = name
        root.find('uuid').text = domain_uuid
        disks = root.findall('./devices/disk')
        if len(disks) != 1:
            raise BenchError('the captured domain has %d disks, not 1'
                             % len(disks))
        for backing in disks[0].findall('backingStore'):
            disks[0].remove(backing)
        disks[0].find('source').set('file', disk)
        changed = 0
        for tag in ('serial', 'console'):
            for device in root.findall('./devices/' + tag):
                source = device.find('source')
                if source is not None and 'path' in source.attrib:
                    source.set('path', console)
                    changed += 1
        if not changed:
            raise BenchError('the captured domain has no console file')
        return ET.tostring(root, encoding='unicode')

    def boot_raw(self):
        """create() -> first console line of the same disk and XML."""
        self.raw_count += 1
        name = '%s%d-%d' % (RAW_PREFIX, os.getpid(), self.raw_count)
        disk = os.path.join(self.raw_dir, name + '.qcow2')
        console = os.path.join(self.raw_dir, name + '.log')
        run('qemu-img', 'create', '-q', '-f', 'qcow2', '-b',
            self.demo['file'], '-F', 'qcow2', disk,
            '%dG' % self.demo['gib'])
        xml = self.raw_xml(name, str(uuid.uuid4()), disk, console)
        started = time.monotonic()
        domain = self.conn.defineXML(xml)
        define = time.monotonic() - started
        # The console is followed from before the create() call: the
        # guest may print before create() returns.
        t0 = time.monotonic()
        follower = Follower(console, t0)
        follower.start()
        try:
            domain.create()
            create = time.monotonic() - t0
            result = follower.outcome()
        finally:
            follower.cancel()
            try:
                if domain.isActive():
                    domain.destroy()
            finally:
                domain.undefine()
                for path in (disk, console):
                    try:
                        os.unlink(path)
                    except FileNotFoundError:
                        pass
        return dict(result, define=define, create=create, domain=name)


# Reporting ------------------------------------------------------------------

def summarize(samples, key):
    values = [s[key] for s in samples if s.get(key) is not None]
    if not values:
        return None
    return {'median': statistics.median(values), 'min': min(values),
            'max': max(values), 'n': len(values)}


def print_table(title, paths, results, key):
    print()
    print(title)
    head = '%-34s %3s %8s %8s %8s %10s' % ('path', 'n', 'median', 'min',
                                           'max', 'warm-up')
    print(head)
    print('-' * len(head))
    for label, name in paths:
        s = summarize(results[name]['runs'], key)
        warm = [w[key] for w in results[name]['warmup']
                if w.get(key) is not None]
        print('%-34s %3s %8s %8s %8s %10s' % (
            label, s['n'] if s else 0, fmt(s and s['median']),
            fmt(s and s['min']), fmt(s and s['max']),
            fmt(warm[0] if warm else None)))


def print_steps(paths, results):
    print()
    print('ebsboot control plane: median seconds after the RunInstances '
          'call')
    names = [name for _label, name in paths]
    head = '%-42s' % 'step' + ''.join('%10s' % results[n]['short']
                                      for n in names)
    print(head)
    print('-' * len(head))
    labels = {key: label for key, label, _test in STEPS}
    rows = [('RunInstances call returned', 'call')]
    rows += [(label, key) for key, label in (
        ('accepted', labels['accepted']),
        ('volume_requested', labels['volume_requested']),
        ('volume_created', labels['volume_created']),
        ('connected', 'volume connected (bdm attach_time)'),
        ('spawning', labels['spawning']),
        ('started', labels['started']),
        ('running', 'instance running (launched_at)'))]
    rows += [('first console line', 'first_line'),
             ("'%s'" % READY, 'ready')]
    for label, key in rows:
        cells = []
        for name in names:
            runs = results[name]['runs']
            if key in ('call', 'first_line', 'ready'):
                cells.append(median([r.get(key) for r in runs]))
            else:
                cells.append(median([r['steps'].get(key) for r in runs]))
        print('%-42s' % label + ''.join('%10s' % fmt(c) for c in cells))


def report(results, args, info):
    raw_label = 'raw libvirt, demo disk'
    paths = [
        (raw_label, 'raw'),
        ('ebsboot, demo AMI (1 GiB volume)', 'demo'),
        ('ebsboot, 1 GiB data snapshot', 'small'),
        ('ebsboot, %d GiB data snapshot' % args.big_gib, 'big'),
    ]
    print()
    print('Host: %s; load average before %s, after %s'
          % (info['host'], info['load_before'], loadavg()))
    print('Raw path: create() call -> console; ebsboot: RunInstances call '
          '-> console. Seconds; warm-up = first (cold) boot, not counted.')
    print_table('Time to the first console line (%r)'
                % results['raw']['runs'][0]['first_text'], paths, results,
                'first_line')
    print_table("Time to '%s'" % READY, paths, results, 'ready')
    print_steps(paths[1:], results)
    raw = results['raw']['runs']
    print('raw path: defineXML %s s, create() %s s (medians)'
          % (fmt(median([r['define'] for r in raw])),
             fmt(median([r['create'] for r in raw]))))
    late = [r for name in results for r in results[name]['runs']
            if r['late']]
    if late:
        print('WARNING: %d runs found the console already written at the '
              'first look; their times are upper bounds' % len(late))

    verdicts = {}
    print()
    for key, what in (('first_line', 'first console line'),
                      ('ready', repr(READY))):
        raw_m = summarize(raw, key)['median']
        ebs_m = summarize(results['demo']['runs'], key)['median']
        overhead = ebs_m - raw_m
        pct = 100.0 * overhead / raw_m
        ok = pct < OVERHEAD_PCT_TARGET or overhead < OVERHEAD_ABS_TARGET
        verdicts['overhead_' + key] = {'seconds': overhead, 'percent': pct,
                                       'pass': ok}
        print('Control plane overhead (%s): %.3f s = %+.1f %% of the raw '
              'boot (target < %.0f %% or < %.0f s): %s'
              % (what, overhead, pct, OVERHEAD_PCT_TARGET,
                 OVERHEAD_ABS_TARGET, 'PASS' if ok else 'FAIL'))
    for key, what in (('first_line', 'first console line'),
                      ('ready', repr(READY))):
        small = summarize(results['small']['runs'], key)['median']
        big = summarize(results['big']['runs'], key)['median']
        ratio = big / small
        ok = ratio < SIZE_RATIO_TARGET
        verdicts['size_' + key] = {'ratio': ratio, 'pass': ok}
        print('Size ratio %d GiB / 1 GiB (%s): %.3f (target < %.1f): %s'
              % (args.big_gib, what, ratio, SIZE_RATIO_TARGET,
                 'PASS' if ok else 'FAIL'))
    return verdicts


# Main -----------------------------------------------------------------------

def parse_args(argv):
    parser = argparse.ArgumentParser(
        description='Boot time: RunInstances -> first console line, '
                    'against the same disk and domain XML booted straight '
                    'through libvirt; 1 GiB vs big snapshots.')
    parser.add_argument('--runs', type=int, default=5,
                        help='measured rounds (default 5); each boots '
                             'every path once')
    parser.add_argument('--big-gib', type=int, default=20,
                        help='size of the big data snapshot in GiB '
                             '(default 20)')
    parser.add_argument('--warmup', type=int, default=1,
                        help='uncounted boots of each path first '
                             '(default 1, at least 1: the first ebsboot '
                             'boot gives the domain XML)')
    parser.add_argument('--guest', help='demo guest disk (default: '
                        '.cache/demo-guest/demo-guest.raw, built if '
                        'missing)')
    parser.add_argument('--pause', type=float, default=1.0,
                        help='seconds of rest between boots (default 1)')
    parser.add_argument('--debug', action='store_true',
                        help='debug logging in the all-in-one (every '
                             'command it runs; use with --keep)')
    parser.add_argument('--json', help='also write every sample to this '
                                       'file')
    parser.add_argument('--keep', action='store_true',
                        help='keep the temp dir and leave the all-in-one '
                             'running (guests are always removed)')
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warmup < 1:
        parser.error('--runs and --warmup must be at least 1')
    if args.big_gib < 2:
        parser.error('--big-gib must be at least 2')
    return args


def check_space(tmp, big_gib):
    """Room for both data snapshots plus the big source file."""
    need = (1 + 2 * big_gib) * GiB + SPACE_MARGIN
    free = shutil.disk_usage(tmp).free
    if free < need:
        raise BenchError(
            '%s has %.1f GiB free; the data snapshots need %.1f GiB '
            '(try a smaller --big-gib)' % (tmp, free / GiB, need / GiB))


def prepare(args, tmp, cloud, bench):
    """Import the demo guest and the two data disks; register AMIs."""
    guest = demo_guest(args.guest)
    ec2 = bench.ec2
    bench.demo = cloud.import_snapshot(guest, 'demo guest')
    images = {'demo': register_image(ec2, 'bench-demo',
                                     bench.demo['snapshot_id'])}
    print('demo guest %s (%d MiB) -> %s -> %s (import %.1f s)'
          % (guest, os.path.getsize(guest) >> 20, bench.demo['snapshot_id'],
             images['demo'], bench.demo['import_s']), flush=True)
    for name, gib in (('small', 1), ('big', args.big_gib)):
        source = os.path.join(tmp, 'data-%dG.raw' % gib)
        started = time.monotonic()
        make_data_image(source, guest, gib)
        written = time.monotonic() - started
        snapshot = cloud.import_snapshot(source, 'demo guest + data, %d GiB'
                                         % gib)
        os.unlink(source)
        allocated = os.stat(snapshot['file']).st_blocks * 512
        images[name] = register_image(ec2, 'bench-data-%dG' % gib,
                                      snapshot['snapshot_id'])
        print('%d GiB data disk written in %.1f s, imported in %.1f s -> '
              '%s (%.2f GiB allocated) -> %s'
              % (gib, written, snapshot['import_s'], snapshot['snapshot_id'],
                 allocated / GiB, images[name]), flush=True)
        if allocated < gib * GiB - os.path.getsize(guest):
            raise BenchError('snapshot %s is not full of data'
                             % snapshot['snapshot_id'])
    return images


def measure(args, bench, images):
    results = {'raw': {'short': 'raw'}, 'demo': {'short': 'demo'},
               'small': {'short': '1 GiB'},
               'big': {'short': '%d GiB' % args.big_gib}}
    for entry in results.values():
        entry.update(warmup=[], runs=[])
    order = ['demo', 'raw', 'small', 'big']

    def boot(name, phase, capture=False):
        if name == 'raw':
            sample = bench.boot_raw()
        else:
            sample = bench.boot_ebsboot(images[name], capture=capture)
        results[name][phase].append(sample)
        extra = ''
        if name != 'raw':
            extra = ', call %s, spawn at %s' % (
                fmt(sample['call']), fmt(sample['steps'].get('spawning')))
        print('  %-6s %-5s first line %s s, ready %s s%s'
              % (phase, results[name]['short'], fmt(sample['first_line']),
                 fmt(sample['ready']), extra), flush=True)
        time.sleep(args.pause)

    print('Warm-up (%d per path) ...' % args.warmup, flush=True)
    for index in range(args.warmup):
        for name in order:
            boot(name, 'warmup', capture=(index == 0 and name == 'demo'))
    for index in range(args.runs):
        print('Round %d/%d (load %s)' % (index + 1, args.runs, loadavg()),
              flush=True)
        for name in (order if index % 2 == 0 else order[::-1]):
            boot(name, 'runs')
    return results


def cleanup_domains(conn, uuids):
    """Destroy and undefine our raw domains and the cloud's guests."""
    import libvirt
    for domain in conn.listAllDomains():
        if not (domain.name().startswith('%s%d-' % (RAW_PREFIX,
                                                    os.getpid()))
                or domain.UUIDString() in uuids):
            continue
        try:
            if domain.isActive():
                domain.destroy()
            domain.undefine()
            print('Removed leftover domain %s' % domain.name())
        except libvirt.libvirtError as e:
            print('Could not remove domain %s: %s' % (domain.name(), e))


def interrupt(signum, frame):
    raise KeyboardInterrupt('signal %d' % signum)


def main(argv=None):
    args = parse_args(argv)
    # Clean up on SIGTERM as on Ctrl-C.
    signal.signal(signal.SIGTERM, interrupt)
    import libvirt
    libvirt.registerErrorHandler(lambda ctx, err: None, None)
    tmp = tempfile.mkdtemp(prefix='ebsboot-boot-bench-')
    os.chmod(tmp, 0o755)
    print('Temp dir: %s' % tmp)
    conn = libvirt.open('qemu:///system')
    cloud = Cloud(tmp, debug=args.debug)
    status = 0
    try:
        check_space(tmp, args.big_gib)
        version = conn.getLibVersion()
        info = {'host': '%d cores, libvirt %d.%d.%d, %s' % (
            os.cpu_count(), version // 1000000, version // 1000 % 1000,
            version % 1000,
            run('qemu-img', '--version').splitlines()[0]),
            'load_before': loadavg()}
        started = time.monotonic()
        cloud.start()
        print('ebsboot all-in-one on %s (log %s), up after %.1f s'
              % (cloud.endpoint, cloud.log_file,
                 time.monotonic() - started), flush=True)
        bench = Bench(args, tmp, cloud, conn)
        images = prepare(args, tmp, cloud, bench)
        results = measure(args, bench, images)
        verdicts = report(results, args, info)
        if args.json:
            with open(args.json, 'w') as f:
                json.dump({'args': vars(args), 'info': info,
                           'results': results, 'verdicts': verdicts,
                           'domain_xml': bench.template}, f, indent=1)
            print('Samples written to %s' % args.json)
    except Exception:
        traceback.print_exc()
        print('\nBenchmark failed; the all-in-one log is %s' % cloud.log_file)
        status = 1
    except KeyboardInterrupt:
        print('\nInterrupted')
        status = 1
    finally:
        try:
            uuids = cloud.instance_uuids() if os.path.exists(
                cloud.db_file) else set()
        except sqlite3.Error:
            uuids = set()
        if args.keep and cloud.process and cloud.process.poll() is None:
            # The cloud's guests are left to it; ours go.
            cleanup_domains(conn, set())
            print('Kept %s; the all-in-one (pid %d, %s, config %s) is still '
                  'running: stop it with kill %d'
                  % (tmp, cloud.process.pid, cloud.endpoint, cloud.conf,
                     cloud.process.pid))
        else:
            code = cloud.stop()
            if code not in (0, None):
                print('ebsboot-all-in-one exited with status %s' % code)
                status = 1
            cleanup_domains(conn, uuids)
            if args.keep:
                print('Kept %s' % tmp)
            else:
                shutil.rmtree(tmp, ignore_errors=True)
        conn.close()
    return status


if __name__ == '__main__':
    sys.exit(main())
