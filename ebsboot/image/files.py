"""Image data files written whole or not at all."""

import contextlib
import os
import shutil
import tempfile

from ebsboot import fileperms

# libvirt hands a kernel or ramdisk to QEMU's user while a guest runs.
FILE_MODE = fileperms.PRIVATE_FILE
CHUNK = 1024 * 1024


def _fsync_dir(path):
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_file(target):
    """Yield a temporary path that becomes ``target`` on success.

    The temporary file is in ``target``'s folder (so the rename is
    atomic) and hidden; the data is on disk before the rename. If the body
    raises, the temporary file is removed and ``target`` is untouched.
    """
    directory = os.path.dirname(target)
    fd, tmp = tempfile.mkstemp(dir=directory, suffix='.part',
                               prefix='.%s.' % os.path.basename(target))
    os.close(fd)
    try:
        yield tmp
        with open(tmp, 'rb') as f:
            os.fsync(f.fileno())
        os.chmod(tmp, FILE_MODE)
        os.rename(tmp, target)
        _fsync_dir(directory)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def copy(source, target):
    """Copy the file ``source`` over ``target``; returns the byte count."""
    with open(source, 'rb') as src, open(target, 'wb') as dst:
        shutil.copyfileobj(src, dst, CHUNK)
        return dst.tell()


def write_from(data, target):
    """Write the rest of the file object ``data`` to ``target``.

    Returns the byte count.
    """
    with open(target, 'wb') as dst:
        shutil.copyfileobj(data, dst, CHUNK)
        return dst.tell()


def remove(path):
    """Remove a file; a missing one is no error."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
