"""Disk image files that operators import as snapshots.

``inspect`` accepts an open file (``ebsboot.importfile.SourceFile``) only
if it is a self-contained raw or qcow2 image: a qcow2 file may name any
host file as its backing file or external data file, and importing it
would copy that file into a snapshot a guest can read. The content is
first checked in Python by oslo.utils' ``format_inspector`` (as Nova,
Cinder and Glance do), and only then shown to ``qemu-img info``, always
with that format given (``-f``) and through the same open file, so that
qemu-img never probes a format nor reads another file than the one
inspected.
"""

import collections
import json
import os
import shutil
import struct
import subprocess
import sys

from oslo_concurrency import processutils
from oslo_log import log as logging
from oslo_utils.imageutils import format_inspector
from oslo_utils import units

from ebsboot import exception

LOG = logging.getLogger(__name__)

#: Formats an image may have to be imported.
IMPORT_FORMATS = ('raw', 'qcow2')

# Guards against crafted images when reading their headers, as Nova and
# Cinder do for qemu-img info.
QEMU_IMG_LIMITS = processutils.ProcessLimits(cpu_time=30,
                                             address_space=1 * units.Gi)

_PRLIMIT = shutil.which('prlimit')

# What format_inspector detects, as qemu-img names it. A partition table
# or an ISO 9660 file system is a raw disk to qemu.
_QEMU_FORMATS = {'vhd': 'vpc', 'gpt': 'raw', 'iso': 'raw'}
_INSPECT_CHUNK = 64 * 1024


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


def execute(cmd, pass_fds=(), limit=False):
    """Run ``cmd`` as ``processutils.execute`` does, keeping ``pass_fds``.

    ``processutils.execute`` closes every inherited descriptor; a command
    that reads an imported file through ``/proc/self/fd/N`` needs it.
    ``limit`` runs it under ``QEMU_IMG_LIMITS``.

    :returns: (stdout, stderr)
    :raises processutils.ProcessExecutionError: non-zero exit status.
    :raises OSError: the command cannot be run.
    """
    argv = [str(arg) for arg in cmd]
    if limit:
        argv, kwargs = limited(argv)
        if kwargs:
            argv = ([sys.executable, '-m', 'oslo_concurrency.prlimit'] +
                    QEMU_IMG_LIMITS.prlimit_args() + ['--'] + argv)
    LOG.debug('Running cmd (subprocess): %s', ' '.join(argv))
    result = subprocess.run(argv, stdin=subprocess.DEVNULL,
                            capture_output=True, pass_fds=pass_fds,
                            encoding='utf-8', errors='replace')
    if result.returncode:
        raise processutils.ProcessExecutionError(
            stdout=result.stdout, stderr=result.stderr,
            exit_code=result.returncode, cmd=' '.join(argv))
    return result.stdout, result.stderr


DiskImage = collections.namedtuple('DiskImage',
                                   ('path', 'format', 'virtual_size'))


def size_in_gib(size):
    """A size in bytes rounded up to whole GiB, at least 1."""
    return max(1, -(-size // units.Gi))


def _detect(source):
    """The format inspector matching the content of ``source``."""
    # A file object of its own: the wrapper closes it, not the source.
    with open(source.fd, 'rb', closefd=False) as f:
        f.seek(0)
        wrapper = format_inspector.InspectWrapper(f)
        try:
            while wrapper.read(_INSPECT_CHUNK) and wrapper.formats is None:
                pass
        finally:
            wrapper.close()
    try:
        return wrapper.format
    except format_inspector.ImageFormatError:
        names = sorted(str(i) for i in wrapper.formats)
        if names == ['gpt', 'iso']:
            # A bootable ISO may have a partition table in front.
            return [i for i in wrapper.formats if str(i) == 'iso'][0]
        raise exception.InvalidDiskImage(
            '%s looks like several formats at once (%s)'
            % (source.path, ', '.join(names)))


def _safety_failure(source, inspector, failures):
    """Why the format inspector's safety checks refused ``source``."""
    path = source.path
    checks = failures.keys() & {'backing_file', 'data_file'}
    if str(inspector) == 'qcow2' and checks:
        header = parse_qcow2_header(os.pread(source.fd, 65536, 0), path)
        if 'backing_file' in failures:
            return '%s has a backing file (%s); flatten it first with ' \
                'qemu-img convert' % (path, header.backing_file)
        return '%s has an external data file (%s)' % (
            path, header.data_file)
    return '%s fails the safety checks of format %s: %s' % (
        path, inspector, '; '.join(
            '%s (%s)' % (failure, name)
            for name, failure in sorted(failures.items())))


def detect_format(source):
    """The format of an open ``SourceFile`` by its content, if safe.

    oslo.utils' format inspector reads the start of the file (all of it
    for a few formats), finds its format and runs that format's safety
    checks (backing file, external data file, unknown qcow2 features, a
    well-formed partition table...).

    :raises InvalidDiskImage: a format other than raw or qcow2, or a
        failed safety check.
    :returns: ``'raw'`` or ``'qcow2'``, as qemu-img names it.
    """
    inspector = _detect(source)
    fmt = _QEMU_FORMATS.get(str(inspector), str(inspector))
    if fmt not in IMPORT_FORMATS:
        raise exception.InvalidDiskImage(
            '%s has format %s; only %s images can be imported' % (
                source.path, fmt, ' and '.join(IMPORT_FORMATS)))
    try:
        inspector.safety_check()
    except format_inspector.SafetyCheckFailed as e:
        raise exception.InvalidDiskImage(
            _safety_failure(source, inspector, e.failures))
    except format_inspector.ImageFormatError as e:
        raise exception.InvalidDiskImage('%s: %s' % (source.path, e))
    return fmt


def inspect(source, qemu_img='qemu-img'):
    """Return the ``DiskImage`` of an open ``SourceFile`` fit for import.

    ``detect_format`` first; then ``qemu-img info -f <format>`` of the
    same open file. Raise ``InvalidDiskImage`` if the file has a format
    other than raw or qcow2, fails a safety check, or is a qcow2 image
    with a backing file, an external data file, encryption or the corrupt
    flag, or is empty.
    """
    path = source.path
    fmt = detect_format(source)
    try:
        out, _err = execute([qemu_img, 'info', '-f', fmt, '--output=json',
                             source.proc_path], pass_fds=(source.fd,),
                            limit=True)
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
    if info.get('format') != fmt:
        raise exception.InvalidDiskImage(
            'qemu-img info says %s has format %s, not %s' % (
                path, info.get('format'), fmt))
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
    return parse_qcow2_header(head, path)


def parse_qcow2_header(head, path):
    """``qcow2_header`` of the first 64 KiB of a file.

    ``path`` names the file in errors.
    """
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
