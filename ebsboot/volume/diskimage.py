"""Disk image files that operators import as snapshots.

``inspect`` runs ``qemu-img info`` on a file and accepts it only if it is a
self-contained raw or qcow2 image: a qcow2 file may name any host file as
its backing file or external data file, and importing it would copy that
file into a snapshot a guest can read.
"""

import collections
import json
import os
import shutil
import stat
import struct

from oslo_concurrency import processutils
from oslo_utils import units

from ebsboot import exception

#: Formats an image may have to be imported.
IMPORT_FORMATS = ('raw', 'qcow2')

# Guards against crafted images when reading their headers, as Nova and
# Cinder do for qemu-img info.
QEMU_IMG_LIMITS = processutils.ProcessLimits(cpu_time=30,
                                             address_space=1 * units.Gi)

_PRLIMIT = shutil.which('prlimit')


def limited(cmd):
    """``cmd`` run under QEMU_IMG_LIMITS: (argv, execute keyword args).

    util-linux's ``prlimit`` sets the limits with one exec; without it,
    oslo.concurrency's Python wrapper does (a Python start-up per call,
    tens of milliseconds).
    """
    if _PRLIMIT:
        return ([_PRLIMIT, '--cpu=%d' % QEMU_IMG_LIMITS.cpu_time,
                 '--as=%d' % QEMU_IMG_LIMITS.address_space, '--'] +
                list(cmd), {})
    return list(cmd), {'prlimit': QEMU_IMG_LIMITS}


DiskImage = collections.namedtuple('DiskImage',
                                   ('path', 'format', 'virtual_size'))


def size_in_gib(size):
    """A size in bytes rounded up to whole GiB, at least 1."""
    return max(1, -(-size // units.Gi))


def inspect(path, qemu_img='qemu-img'):
    """Return the ``DiskImage`` of a file fit for import.

    ``path`` is made absolute (qemu-img would take ``nbd:...`` and the like
    for a protocol). Raise ``InvalidDiskImage`` if the file is missing or
    unreadable, has a format other than raw or qcow2, or is a qcow2 image
    with a backing file, an external data file, encryption or the corrupt
    flag.
    """
    path = os.path.abspath(path)
    try:
        mode = os.stat(path).st_mode
    except OSError as e:
        raise exception.InvalidDiskImage('%s: %s' % (path, e.strerror))
    if not (stat.S_ISREG(mode) or stat.S_ISBLK(mode)):
        raise exception.InvalidDiskImage(
            '%s is not a file or a block device' % path)
    try:
        argv, kwargs = limited([qemu_img, 'info', '--output=json', path])
        out, _err = processutils.execute(*argv, **kwargs)
    except processutils.ProcessExecutionError as e:
        raise exception.InvalidDiskImage(
            'qemu-img info %s failed: %s' % (
                path, (e.stderr or e.stdout or '').strip()))
    except OSError as e:
        raise exception.InvalidDiskImage('cannot run %s: %s' % (qemu_img, e))
    try:
        info = json.loads(out)
    except ValueError:
        raise exception.InvalidDiskImage(
            'qemu-img info gave no JSON for %s' % path)
    if not isinstance(info, dict):
        raise exception.InvalidDiskImage(
            'qemu-img info gave no JSON object for %s' % path)
    fmt = info.get('format')
    if fmt not in IMPORT_FORMATS:
        raise exception.InvalidDiskImage(
            '%s has format %s; only %s images can be imported' % (
                path, fmt, ' and '.join(IMPORT_FORMATS)))
    if info.get('backing-filename'):
        raise exception.InvalidDiskImage(
            '%s has a backing file (%s); flatten it first with qemu-img '
            'convert' % (path, info['backing-filename']))
    specific = info.get('format-specific', {}).get('data', {})
    if specific.get('data-file'):
        raise exception.InvalidDiskImage(
            '%s has an external data file (%s)'
            % (path, specific['data-file']))
    if info.get('encrypted'):
        raise exception.InvalidDiskImage('%s is encrypted' % path)
    if specific.get('corrupt'):
        raise exception.InvalidDiskImage('%s is marked corrupt' % path)
    size = info.get('virtual-size')
    if not isinstance(size, int) or size < 0:
        raise exception.InvalidDiskImage('%s has no virtual size' % path)
    if size == 0:
        raise exception.InvalidDiskImage('%s is empty' % path)
    return DiskImage(path, fmt, size)


Qcow2Header = collections.namedtuple(
    'Qcow2Header', ('version', 'size', 'backing_file', 'backing_format',
                    'data_file', 'encrypted'))

_QCOW2_MAGIC = b'QFI\xfb'
_EXT_BACKING_FORMAT = 0xE2792ACA
_EXT_DATA_FILE = 0x44415441
_INCOMPAT_DATA_FILE = 1 << 2


def qcow2_header(path):
    """What the header of a qcow2 file says about the files it uses.

    A few hundred bytes read in Python, where ``qemu-img info`` costs a
    process: for files whose chain was validated when they were made and
    whose headers only ebsboot writes. Raise ``InvalidDiskImage`` if the
    file is not qcow2 or its header is malformed.
    """
    try:
        with open(path, 'rb') as f:
            head = f.read(65536)
    except OSError as e:
        raise exception.InvalidDiskImage('%s: %s' % (path, e.strerror))
    if len(head) < 72 or head[:4] != _QCOW2_MAGIC:
        raise exception.InvalidDiskImage('%s is not a qcow2 file' % path)
    version, backing_offset, backing_size = struct.unpack_from(
        '>IQI', head, 4)
    size, crypt = struct.unpack_from('>QI', head, 24)
    header_length, incompatible = 72, 0
    if version >= 3:
        if len(head) < 104:
            raise exception.InvalidDiskImage('%s: short header' % path)
        incompatible = struct.unpack_from('>Q', head, 72)[0]
        header_length = struct.unpack_from('>I', head, 100)[0]
    backing_file = None
    if backing_offset:
        end = backing_offset + backing_size
        if backing_size > 1023 or end > len(head):
            raise exception.InvalidDiskImage(
                '%s: bad backing file name' % path)
        backing_file = head[backing_offset:end].decode('utf-8', 'replace')
    extensions, offset = {}, header_length
    while offset + 8 <= len(head):
        kind, length = struct.unpack_from('>II', head, offset)
        if kind == 0:
            break
        extensions[kind] = head[offset + 8:offset + 8 + length]
        offset += 8 + (length + 7) // 8 * 8
    backing_format = extensions.get(_EXT_BACKING_FORMAT)
    data_file = extensions.get(_EXT_DATA_FILE)
    return Qcow2Header(
        version, size, backing_file,
        backing_format.decode('ascii', 'replace') if backing_format
        else None,
        data_file.decode('utf-8', 'replace') if data_file is not None
        else '' if incompatible & _INCOMPAT_DATA_FILE else None,
        bool(crypt))
