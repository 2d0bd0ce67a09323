"""A guest that keeps writing sectors in a fixed order, for snapshot tests.

The writer's initrd is the demo guest's initrd (``tools/build-demo-guest``:
busybox and the virtio modules) with a second cpio archive appended that
replaces ``/init`` (the kernel unpacks both, the later file wins). Booted
directly (KernelId/RamdiskId), the guest:

1. reads the sequence numbers at ``SECTORS`` (``/dev/vdb`` only if it has
   one) and prints ``writer-check <a> <b> <c>`` and ``writer-check ok`` or
   ``writer-check torn``;
2. on its first boot fills the space between the root disk's sectors
   with random data (a copy then takes a while from one to the other);
3. prints ``writer ready`` and then, for n = 1, 2, ..., writes ``SEQ=n``
   to each sector in turn, each write flushed (``conv=fsync``) before the
   next begins, and prints ``t <uptime> <n>`` after each round (the
   benchmark reads the pauses and the write rate from these lines).

So at every instant the disks hold ``a >= b >= c >= a - 1`` (``c`` absent
without vdb): a point-in-time copy holds it too, a torn one need not.
"""

import gzip
import re
import subprocess

# (device, sector) in the order the guest writes them: two sectors 60 MB
# apart on the root disk, then one on the second disk.
SECTORS = (('vda', 8), ('vda', 120000), ('vdb', 8))
DISK_BYTES = 64 * 1024 * 1024
# MiB of random data the first boot writes between the root disk's sectors.
FILL_MIB = 48

_INIT = r'''#!/bin/sh
export PATH=/bin
mount -t devtmpfs devtmpfs /dev
out=/dev/console
[ -c /dev/ttyS0 ] && out=/dev/ttyS0
exec <"$out" >"$out" 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
for ko in $(cat /etc/modules); do
    insmod "/lib/modules/$ko" 2>/dev/null
done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 300 ]; do i=$((i + 1)); sleep 0.1; done
sleep 1
seq_at() {
    [ -b "$1" ] || { echo -; return; }
    v=$(dd if="$1" bs=512 skip="$2" count=1 2>/dev/null | tr -d '\000' |
        sed -n 's/^SEQ=\([0-9][0-9]*\)$/\1/p')
    echo "${v:-0}"
}
put() {
    printf 'SEQ=%d\n' "$3" |
        dd of="$1" bs=512 seek="$2" count=1 conv=sync,notrunc,fsync \
           2>/dev/null
}
a=$(seq_at /dev/vda @A@)
b=$(seq_at /dev/vda @B@)
c=$(seq_at /dev/vdb @C@)
echo "writer-check $a $b $c"
ok=1
[ "$a" -ge "$b" ] && [ "$b" -ge $((a - 1)) ] || ok=
if [ "$c" != - ]; then
    [ "$b" -ge "$c" ] && [ "$c" -ge $((a - 1)) ] || ok=
fi
if [ -n "$ok" ]; then echo "writer-check ok"; else echo "writer-check torn"; fi
if [ "$a" = 0 ]; then
    # Data between the sectors, so that a copy takes a while to get from
    # the first to the second (a torn copy is then likely).
    dd if=/dev/urandom of=/dev/vda bs=1M seek=1 count=@FILL@ conv=fsync \
       2>/dev/null
fi
echo "writer ready"
n=$a
while :; do
    n=$((n + 1))
    put /dev/vda @A@ $n
    put /dev/vda @B@ $n
    [ -b /dev/vdb ] && put /dev/vdb @C@ $n
    read up _ < /proc/uptime
    echo "t $up $n"
done
'''


TICK = re.compile(r'^t (\d+\.\d+) (\d+)\r?$', re.M)


def ticks(console):
    """``[(guest uptime, n)]`` of the rounds a console shows."""
    return [(float(up), int(n)) for up, n in TICK.findall(console)]


def init_script():
    script = _INIT
    for mark, (_dev, sector) in zip(('@A@', '@B@', '@C@'), SECTORS):
        script = script.replace(mark, str(sector))
    script = script.replace('@FILL@', str(FILL_MIB))
    return script.encode()


def _cpio_entry(name, data, mode, ino):
    header = '070701' + ''.join('%08X' % value for value in (
        ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name) + 1, 0))
    out = header.encode() + name.encode() + b'\0'
    out += b'\0' * (-len(out) % 4)
    out += data + b'\0' * (-len(data) % 4)
    return out


def build_initrd(demo_initrd, path):
    """Write the writer's initrd: the demo initrd plus the new /init."""
    archive = (_cpio_entry('init', init_script(), 0o100755, 1) +
               _cpio_entry('TRAILER!!!', b'', 0, 2))
    with open(demo_initrd, 'rb') as f:
        demo = f.read()
    with open(path, 'wb') as f:
        f.write(demo + gzip.compress(archive))


def blank_disk(path):
    with open(path, 'wb') as f:
        f.truncate(DISK_BYTES)


def sequence_numbers(raw_disks):
    """The writer's numbers in raw disk images ``{'vda': path, ...}``."""
    numbers = []
    for dev, sector in SECTORS:
        if dev not in raw_disks:
            continue
        with open(raw_disks[dev], 'rb') as f:
            f.seek(sector * 512)
            match = re.match(rb'SEQ=(\d+)\n', f.read(512))
        numbers.append(int(match.group(1)) if match else 0)
    return numbers


def consistent(numbers):
    """Whether numbers read at one instant could be the writer's."""
    first = numbers[0]
    return all(earlier >= later for earlier, later in
               zip(numbers, numbers[1:])) and numbers[-1] >= first - 1


def qemu_img_raw(qcow2, raw):
    """A raw copy of a qcow2 file (and its backing chain)."""
    subprocess.run(['qemu-img', 'convert', '-U', '-f', 'qcow2', '-O', 'raw',
                    qcow2, raw], check=True)
    return raw
