#!/usr/bin/env python3
"""Benchmark ebsboot on Cinder/RBD against ebsboot on qcow2, in one run.

Starts a single-node Ceph (``tools/ceph-server``) and a Cinder on it
(``tools/cinder-server``), then two ebsboot all-in-ones with the fake
compute driver (the functional tests' ``Cloud`` fixture): one with the
default ``qcow2`` volume driver, one with ``[volume] driver = cinder``.

#. RunInstances of ``--instances`` (20) at once from an EBS image of a
   1 GiB snapshot, timed from the call until DescribeInstances shows all of
   them ``running`` (each has a root volume made from the snapshot and
   connected), then TerminateInstances until ``terminated``; ``--rounds``
   rounds in ABBA order (qcow2, cinder, cinder, qcow2, ...);
#. the root clone time at 1 GiB and at ``--big`` (20) GiB of data: a Cinder
   volume of each size is filled with real data (``rbd bench --io-type
   write``, so nothing is sparse), snapshotted through EC2, and then
   ``--clones`` CreateVolume from each snapshot are timed from the call to
   ``available`` (an RBD clone each), alternating the sizes. Target: the
   median at 20 GiB over the median at 1 GiB <= 1.1.

Prints JSON. Run it as root with the Python of an environment that has
ebsboot and its test requirements (``.tox/functional/bin/python
bench/cinder_rbd.py``); needs ``tools/install-deps --test`` and ~25 GiB of
disk for the OSD's block file.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from cinderclient import client as cinder_client
from cinderclient.contrib import noauth
from keystoneauth1 import session as ks_session

from ebsboot.tests.functional import base
from ebsboot.tests.functional import test_cinder


def timed_run(ec2, image_id, count):
    started = time.perf_counter()
    ids = [i['InstanceId'] for i in ec2.run_instances(
        ImageId=image_id, MinCount=count, MaxCount=count)['Instances']]
    base.wait_for(lambda: all(
        i['State']['Name'] == 'running'
        for r in ec2.describe_instances(InstanceIds=ids)['Reservations']
        for i in r['Instances']), timeout=600, interval=0.1,
        what='%d instances running' % count)
    elapsed = time.perf_counter() - started
    ec2.terminate_instances(InstanceIds=ids)
    base.wait_for(lambda: all(
        i['State']['Name'] == 'terminated'
        for r in ec2.describe_instances(InstanceIds=ids)['Reservations']
        for i in r['Instances']), timeout=600, interval=0.2,
        what='%d instances terminated' % count)
    base.wait_for(lambda: len(ec2.describe_volumes()['Volumes']) == 0,
                  timeout=600, what='root volumes deleted')
    return elapsed


def image(ec2, size=1):
    volume = ec2.create_volume(AvailabilityZone='nova', Size=size)
    base.FunctionalTestCase.wait_volume(ec2, volume['VolumeId'])
    snapshot = ec2.create_snapshot(VolumeId=volume['VolumeId'])
    base.FunctionalTestCase.wait_snapshot(ec2, snapshot['SnapshotId'])
    ec2.delete_volume(VolumeId=volume['VolumeId'])
    return ec2.register_image(
        Name='bench', RootDeviceName='/dev/sda1',
        BlockDeviceMappings=[{'DeviceName': '/dev/sda1', 'Ebs': {
            'SnapshotId': snapshot['SnapshotId']}}])['ImageId']


def filled_snapshot(ec2, cinder, size):
    """An EC2 snapshot of a Cinder volume of ``size`` GiB of real data."""
    volume = ec2.create_volume(AvailabilityZone='nova', Size=size)
    base.FunctionalTestCase.wait_volume(ec2, volume['VolumeId'])
    [made] = [v for v in cinder.volumes.list() if v.size == size and
              v.name.startswith('ebsboot-volume-')]
    subprocess.run(
        ['rbd', '-c', test_cinder.SERVERS['CEPH_CONF'], 'bench',
         '--io-type', 'write', '--io-size', '4M', '--io-threads', '4',
         '--io-pattern', 'seq', '--io-total', '%dG' % size,
         '%s/volume-%s' % (test_cinder.SERVERS['CEPH_POOL'], made.id)],
        check=True, capture_output=True)
    snapshot = ec2.create_snapshot(VolumeId=volume['VolumeId'])
    base.FunctionalTestCase.wait_snapshot(ec2, snapshot['SnapshotId'])
    return volume['VolumeId'], snapshot['SnapshotId']


def timed_clone(ec2, snapshot_id):
    started = time.perf_counter()
    volume_id = ec2.create_volume(AvailabilityZone='nova',
                                  SnapshotId=snapshot_id)['VolumeId']
    base.wait_for(lambda: ec2.describe_volumes(VolumeIds=[volume_id])[
        'Volumes'][0]['State'] == 'available', timeout=600, interval=0.05,
        what='clone available')
    elapsed = time.perf_counter() - started
    ec2.delete_volume(VolumeId=volume_id)
    base.wait_for(lambda: not ec2.describe_volumes(Filters=[
        {'Name': 'volume-id', 'Values': [volume_id]}])['Volumes'],
        timeout=600, what='clone deleted')
    return elapsed


def summary(samples):
    return {'median': round(statistics.median(samples), 3),
            'min': round(min(samples), 3), 'max': round(max(samples), 3),
            'runs': [round(s, 3) for s in samples]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--instances', type=int, default=20)
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('--big', type=int, default=20)
    parser.add_argument('--clones', type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault('CEPH_BLOCK_SIZE', str((args.big + 6) << 30))
    test_cinder.setUpModule()
    try:
        case = test_cinder.CinderTestCase('run')
        case.setUp = lambda: None
        project = os.urandom(16).hex()
        case.project = project
        clouds = {}
        for name, conf in (('qcow2', ''), ('cinder', case.cinder_conf())):
            cloud = base.Cloud(compute_driver='fake', extra_conf=conf)
            cloud.setUp()
            clouds[name] = cloud
        try:
            ec2 = {name: c.client() for name, c in clouds.items()}
            images = {name: image(client) for name, client in ec2.items()}
            runs = {name: [] for name in clouds}
            order = ['qcow2', 'cinder']
            for round_ in range(args.rounds):
                for name in (order if round_ % 2 == 0 else order[::-1]):
                    runs[name].append(timed_run(ec2[name], images[name],
                                                args.instances))
            cinder = cinder_client.Client('3.54', session=ks_session.Session(
                auth=noauth.CinderNoAuthPlugin(
                    'ebsboot', project,
                    endpoint=test_cinder.SERVERS['url'])))
            snapshots = {}
            fill = {}
            for size in (1, args.big):
                started = time.perf_counter()
                snapshots[size] = filled_snapshot(ec2['cinder'], cinder,
                                                  size)[1]
                fill[size] = round(time.perf_counter() - started, 1)
            clones = {size: [] for size in snapshots}
            for i in range(args.clones):
                sizes = (1, args.big) if i % 2 == 0 else (args.big, 1)
                for size in sizes:
                    clones[size].append(timed_clone(ec2['cinder'],
                                                    snapshots[size]))
            result = {
                'run_instances_%d' % args.instances: {
                    name: summary(samples) for name, samples in runs.items()},
                'run_ratio_cinder_over_qcow2': round(
                    statistics.median(runs['cinder']) /
                    statistics.median(runs['qcow2']), 2),
                'fill_and_snapshot_seconds': fill,
                'clone_seconds': {'%d GiB' % size: summary(samples)
                                  for size, samples in clones.items()},
                'clone_ratio_big_over_1gib': round(
                    statistics.median(clones[args.big]) /
                    statistics.median(clones[1]), 2),
                'clone_target': 1.1,
            }
            print(json.dumps(result, indent=2))
        finally:
            for cloud in clouds.values():
                cloud.cleanUp()
    finally:
        test_cinder.tearDownModule()
    return 0


if __name__ == '__main__':
    sys.exit(main())
