#!/usr/bin/env python3
"""Benchmark live snapshots of a volume a running guest writes.

Starts an ebsboot all-in-one with the libvirt driver (the functional tests'
``Cloud`` fixture) and boots the writer guest of the live-snapshot tests
(``ebsboot.tests.functional.writer_guest``: rewrites sectors of vda and
vdb in turn, each write flushed, and prints ``t <uptime> <n>`` after each
round). For each ``--gib`` size it then:

#. creates a volume one GiB larger, fills its first N GiB on the host with
   ``qemu-io`` (data the snapshot must copy: N GiB changed since the last
   snapshot) and attaches it to the guest as vdb, which the guest then
   writes too;
#. takes ``--runs`` CreateSnapshot of it, each after ``--quiet`` seconds
   of plain writing, and measures

   * the CreateSnapshot call (boto3, from the call to the answer),
   * the time to ``completed`` (the background copy and the merge),
   * the switch and the pivot as the compute host logs them (the two
     moments the guest's I/O is held),
   * the guest's view: the longest gap between two rounds of writes during
     the snapshot, against the longest gap in the quiet period before it
     (the guest's rounds take tens of milliseconds under TCG, so a pause
     shows as a gap longer than the quiet period's), and its rounds per
     second during the snapshot against the quiet period;

#. detaches and deletes the volume and its snapshots.

Targets (issue 12): pause under 50 ms at every size, call under 100 ms.
Exits 0 whether or not they are met, 1 when something broke. Run it with
the Python of an environment that has ebsboot, its test requirements and
libvirt-python (``.tox/functional/bin/python bench/live_snapshot.py``), as
root, on a host with libvirtd.
"""

import argparse
import json
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

from ebsboot.tests.functional import base
from ebsboot.tests.functional import test_qemu
from ebsboot.tests.functional import writer_guest

GiB = 1 << 30
PAUSE_TARGET = 0.050
CALL_TARGET = 0.100

SWITCHED = re.compile(r'switched vdb to overlays in (\d+\.\d+) s')
PIVOT = re.compile(r'merged the overlay of vdb back in (\d+\.\d+) s '
                   r'\(pivot (\d+\.\d+) s\)')


class Bench:

    def __init__(self, args):
        self.args = args
        self.cloud = base.Cloud(compute_driver='libvirt',
                                extra_conf=test_qemu.CONF)

    def start(self):
        files = test_qemu.demo_guest_files()
        self.cloud.setUp()
        self.ec2 = self.cloud.client()
        work = tempfile.mkdtemp(dir=self.cloud.state)
        initrd = os.path.join(work, 'writer.initrd')
        writer_guest.build_initrd(files.initrd, initrd)
        blank = os.path.join(work, 'blank.raw')
        writer_guest.blank_disk(blank)
        ids = {}
        for what, path in (('kernel', files.kernel), ('ramdisk', initrd)):
            ids[what] = self._manage('image', 'import-' + what,
                                     path)['image_id']
        snapshot = self._manage('snapshot', 'import', blank)['snapshot_id']
        image = self.ec2.register_image(
            Name='writer', RootDeviceName='/dev/vda',
            KernelId=ids['kernel'], RamdiskId=ids['ramdisk'],
            BlockDeviceMappings=[{'DeviceName': '/dev/vda',
                                  'Ebs': {'SnapshotId': snapshot}}])
        self.instance = self.ec2.run_instances(
            ImageId=image['ImageId'], MinCount=1, MaxCount=1,
            InstanceType='t2.nano')['Instances'][0]['InstanceId']
        [self.uuid] = self._ids('instances', self.instance)
        base.wait_for(lambda: 'writer ready' in self._console(),
                      timeout=180, interval=1, what='writer ready')

    def _manage(self, *args):
        return json.loads(self.cloud.manage(*args, '--project', 'alpha',
                                            '--format', 'json'))

    def _ids(self, table, ec2_id):
        db = sqlite3.connect(os.path.join(self.cloud.state,
                                          'ebsboot.sqlite'))
        try:
            return [row[0] for row in db.execute(
                'SELECT id FROM %s WHERE ec2_id = ?' % table, (ec2_id,))]
        finally:
            db.close()

    def _console(self):
        path = os.path.join(self.cloud.state, 'consoles',
                            '%s.log' % self.uuid)
        try:
            with open(path, errors='replace') as f:
                return f.read()
        except FileNotFoundError:
            return ''      # the guest has not started yet

    def _ticks_since(self, offset):
        console = self._console()
        return writer_guest.ticks(console[offset:]), len(console)

    @staticmethod
    def _rounds(ticks):
        """(longest gap between rounds, rounds per second)."""
        if len(ticks) < 2:
            return None, None
        gaps = [b[0] - a[0] for a, b in zip(ticks, ticks[1:])]
        span = ticks[-1][0] - ticks[0][0]
        return max(gaps), (len(ticks) - 1) / span if span else None

    def size(self, gib):
        ec2 = self.ec2
        volume = ec2.create_volume(AvailabilityZone='nova',
                                   Size=gib + 1)['VolumeId']
        base.wait_for(lambda: ec2.describe_volumes(VolumeIds=[volume])[
            'Volumes'][0]['State'] == 'available', what='volume')
        [vuuid] = self._ids('volumes', volume)
        path = os.path.join(self.cloud.state, 'volumes',
                            'volume-%s.qcow2' % vuuid)
        started = time.monotonic()
        # (qemu-io takes at most 2 GiB per request.)
        writes = []
        for start in range(0, gib * 2):
            writes += ['-c', 'write -P 0x5a %dM 512M' % (1 + start * 512)]
        subprocess.run(['qemu-io', '-f', 'qcow2'] + writes + [path],
                       check=True, capture_output=True)
        fill = time.monotonic() - started
        ec2.attach_volume(VolumeId=volume, InstanceId=self.instance,
                          Device='/dev/sdf')
        base.wait_for(lambda: ec2.describe_volumes(VolumeIds=[volume])[
            'Volumes'][0]['State'] == 'in-use', what='attached')
        time.sleep(3)       # the guest finds vdb and writes it
        runs = []
        for _run in range(self.args.runs):
            _ticks, offset = self._ticks_since(0)
            time.sleep(self.args.quiet)
            quiet, offset = self._ticks_since(offset)
            log_offset = len(self.cloud.log(tail=None))
            started = time.perf_counter()
            snapshot = ec2.create_snapshot(VolumeId=volume)['SnapshotId']
            call = time.perf_counter() - started
            base.wait_for(lambda: ec2.describe_snapshots(
                SnapshotIds=[snapshot])['Snapshots'][0]['State'] ==
                'completed', timeout=1800, interval=0.05, what='completed')
            done = time.perf_counter() - started
            during, _offset = self._ticks_since(offset)
            log = self.cloud.log(tail=None)[log_offset:]
            switch = [float(m) for m in SWITCHED.findall(log)]
            pivot = [float(p) for _m, p in PIVOT.findall(log)]
            merge = [float(m) for m, _p in PIVOT.findall(log)]
            quiet_gap, quiet_rate = self._rounds(quiet)
            gap, rate = self._rounds(during)
            runs.append({
                'call_s': call, 'completed_s': done,
                'switch_s': switch[0] if switch else None,
                'pivot_s': pivot[0] if pivot else None,
                'merge_s': merge[0] if merge else None,
                'quiet_max_gap_s': quiet_gap, 'max_gap_s': gap,
                'quiet_rounds_per_s': quiet_rate, 'rounds_per_s': rate})
            print('%3d GiB: call %.3f s, completed %.2f s, switch %s s, '
                  'pivot %s s, guest max gap %.3f s (quiet %.3f s), '
                  '%.1f rounds/s (quiet %.1f)' % (
                      gib, call, done, switch and switch[0],
                      pivot and pivot[0], gap or 0, quiet_gap or 0,
                      rate or 0, quiet_rate or 0), flush=True)
            ec2.delete_snapshot(SnapshotId=snapshot)
        ec2.detach_volume(VolumeId=volume)
        base.wait_for(lambda: ec2.describe_volumes(VolumeIds=[volume])[
            'Volumes'][0]['State'] == 'available', what='detached')
        ec2.delete_volume(VolumeId=volume)
        return {'gib': gib, 'fill_s': fill, 'runs': runs}

    def stop(self):
        try:
            self.ec2.terminate_instances(InstanceIds=[self.instance])
            base.wait_for(lambda: self.ec2.describe_instances(
                InstanceIds=[self.instance])['Reservations'][0][
                'Instances'][0]['State']['Name'] == 'terminated',
                timeout=120, what='terminated')
        finally:
            self.cloud.cleanUp()


def summary(result):
    runs = result['runs']

    def median(key):
        values = [r[key] for r in runs if r[key] is not None]
        return statistics.median(values) if values else None

    def worst(key):
        values = [r[key] for r in runs if r[key] is not None]
        return max(values) if values else None

    held = [max(r['switch_s'] or 0, r['pivot_s'] or 0) for r in runs]
    return {
        'gib': result['gib'],
        'call_median_s': median('call_s'), 'call_max_s': worst('call_s'),
        'completed_median_s': median('completed_s'),
        'switch_max_s': worst('switch_s'), 'pivot_max_s': worst('pivot_s'),
        'guest_max_gap_s': worst('max_gap_s'),
        'guest_quiet_max_gap_s': worst('quiet_max_gap_s'),
        'rounds_per_s_median': median('rounds_per_s'),
        'quiet_rounds_per_s_median': median('quiet_rounds_per_s'),
        'held_under_target': max(held) < PAUSE_TARGET,
        'call_under_target': worst('call_s') < CALL_TARGET,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--gib', type=int, nargs='+', default=[1, 20],
                        help='GiB of changed data per size (1 20)')
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--quiet', type=float, default=3.0,
                        help='seconds of plain writing before each run')
    parser.add_argument('--json', help='write the results to this file')
    args = parser.parse_args()
    bench = Bench(args)
    try:
        bench.start()
        results = [bench.size(gib) for gib in args.gib]
    except Exception as e:
        print('live_snapshot: %s' % e, file=sys.stderr)
        bench.stop()
        return 1
    bench.stop()
    summaries = [summary(r) for r in results]
    for line in summaries:
        print(json.dumps(line, sort_keys=True))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump({'results': results, 'summary': summaries}, f,
                      indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
