"""Files an operator imports, opened once and then read only through the
descriptor.

An import names its source by path, and whoever may write to the source's
folder can put another file under that name at any moment. Every look at
the file after the first open therefore goes through the one descriptor
(or a subprocess that inherited it and opens ``/proc/self/fd/N``, which
reaches the same inode), never through the path again.

The file is opened without following a final symbolic link and without
blocking (``O_NONBLOCK``: opening a FIFO would otherwise wait for a
writer), and is accepted only if ``fstat`` of the descriptor says it is a
regular file (or a block device, where the caller allows one). An
``lstat`` before the open spares devices and FIFOs even being opened in
the usual case; the ``fstat`` after it is what counts.
"""

import errno
import os
import stat

CHUNK = 1024 * 1024

_OPEN_FLAGS = (os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY |
               os.O_CLOEXEC)


class RefusedFile(Exception):
    """A file that is not imported: missing, unreadable or special."""


def _check_mode(path, mode, block_devices):
    if stat.S_ISREG(mode) or (block_devices and stat.S_ISBLK(mode)):
        return
    if stat.S_ISLNK(mode):
        raise RefusedFile('%s is a symbolic link; give the path of the file '
                          'itself' % path)
    if block_devices:
        raise RefusedFile('%s is not a file or a block device' % path)
    raise RefusedFile('%s is not a regular file' % path)


class SourceFile:
    """A file opened once for an import.

    ``path`` (absolute) is for messages only: read the data through
    ``file`` (a binary file object; seek it first, every user shares its
    position) or let a subprocess that inherited ``fd`` open
    ``proc_path``.
    """

    def __init__(self, path, file):
        self.path = path
        self.file = file
        self.mode = os.fstat(file.fileno()).st_mode

    @property
    def fd(self):
        return self.file.fileno()

    @property
    def proc_path(self):
        """What a process that inherited ``fd`` opens to read the file."""
        return '/proc/self/fd/%d' % self.fd

    @property
    def is_block_device(self):
        return stat.S_ISBLK(self.mode)

    def size(self):
        """The size in bytes (of a block device too)."""
        return os.lseek(self.fd, 0, os.SEEK_END)

    def rewind(self):
        """Seek ``file`` to its start and return it."""
        self.file.seek(0)
        return self.file

    def close(self):
        self.file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def open_source(path, block_devices=False):
    """Open the file an operator named for an import, once.

    :param block_devices: also accept a block device.
    :raises RefusedFile: the file is missing or unreadable, a symbolic
        link, or something other than a regular file (or block device).
    :returns: a ``SourceFile`` the caller closes.
    """
    path = os.path.abspath(path)
    try:
        _check_mode(path, os.lstat(path).st_mode, block_devices)
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as e:
        if e.errno == errno.ELOOP:
            # Replaced by a symbolic link since the lstat.
            _check_mode(path, stat.S_IFLNK, block_devices)
        raise RefusedFile('%s: %s' % (path, e.strerror))
    try:
        _check_mode(path, os.fstat(fd).st_mode, block_devices)
        # Regular files and block devices read the same either way; a
        # blocking descriptor is what file objects expect.
        os.set_blocking(fd, True)
        file = os.fdopen(fd, 'rb')
    except BaseException:
        os.close(fd)
        raise
    return SourceFile(path, file)


def copy_to(source, target):
    """Copy all of ``source`` into the file object ``target``.

    ``source`` is a ``SourceFile``; returns the byte count. The data goes
    from descriptor to descriptor: ``copy_file_range`` lets the kernel
    copy (or share extents, on file systems that can); where it cannot
    (another file system, a block device), a buffer does.
    """
    src, dst = source.fd, target.fileno()
    target.flush()
    offset = 0
    try:
        while True:
            copied = os.copy_file_range(src, dst, CHUNK, offset)
            if not copied:
                return offset
            offset += copied
    except OSError as e:
        if offset or e.errno not in (errno.EXDEV, errno.EINVAL,
                                     errno.ENOSYS, errno.EOPNOTSUPP):
            raise
    while True:
        chunk = os.pread(src, CHUNK, offset)
        if not chunk:
            return offset
        view = memoryview(chunk)
        while view:
            view = view[os.write(dst, view):]
        offset += len(chunk)
