"""Kernel and ramdisk files: telling them apart before they are imported.

A direct kernel boot loads the kernel and the ramdisk (an initramfs) as
they are. The checks here catch the usual mistakes of an import (a disk
image or a ramdisk given as the kernel, kernel and ramdisk swapped); they
do not prove that a file boots.

A file to import is opened once (``open_boot_file``: a regular file, not a
symbolic link, a FIFO or a device) and then read only through that open
file, for these checks and for the copy into the image backend.
"""

import os
import struct

from ebsboot import importfile

KERNEL = 'aki'
RAMDISK = 'ari'
# Enough of a file for the headers read here.
_HEAD = 0x240


class InvalidBootFile(Exception):
    """A file that cannot be imported as a kernel or ramdisk."""


def kernel_architecture(head):
    """The architecture of a Linux kernel by its first bytes, or None.

    x86: a bzImage (boot protocol magic ``HdrS`` at 0x202); it is 64-bit
    if its ``xloadflags`` (protocol 2.12 and later) have XLF_KERNEL_64.
    arm64: an uncompressed ``Image`` (magic ``ARM\\x64`` at 0x38).
    """
    if len(head) >= 0x208 and head[0x202:0x206] == b'HdrS':
        version = struct.unpack_from('<H', head, 0x206)[0]
        if version >= 0x020c and len(head) >= 0x238:
            xloadflags = struct.unpack_from('<H', head, 0x236)[0]
            if xloadflags & 1:
                return 'x86_64'
        return 'i386'
    if head[0x38:0x3c] == b'ARM\x64':
        return 'arm64'
    return None


def open_boot_file(path):
    """Open a kernel or ramdisk file to import, once.

    :raises InvalidBootFile: missing, unreadable, a symbolic link or not
        a regular file.
    :returns: an ``ebsboot.importfile.SourceFile`` the caller closes.
    """
    try:
        return importfile.open_source(path)
    except importfile.RefusedFile as e:
        raise InvalidBootFile(str(e))


def inspect(kind, source, architecture=None):
    """The architecture of a kernel or ramdisk file to import.

    :param kind: ``KERNEL`` or ``RAMDISK``.
    :param source: the file, from ``open_boot_file``.
    :param architecture: the operator's word for it. A kernel of another
        architecture is refused; without it, a kernel must be one
        ``kernel_architecture`` recognises, and a ramdisk is ``x86_64``.
    :raises InvalidBootFile: why the file cannot be imported.
    """
    path = source.path
    try:
        head = os.pread(source.fd, _HEAD, 0)
    except OSError as e:
        raise InvalidBootFile('%s: %s' % (path, e.strerror))
    if not head:
        raise InvalidBootFile('%s is not a regular file with data' % path)
    found = kernel_architecture(head)
    if kind == RAMDISK:
        if found:
            raise InvalidBootFile('%s is a Linux kernel, not a ramdisk'
                                  % path)
        return architecture or 'x86_64'
    if found is None and architecture is None:
        raise InvalidBootFile(
            '%s is not a Linux kernel (x86 bzImage or arm64 Image); give '
            'its architecture to import it anyway' % path)
    if found and architecture and found != architecture:
        raise InvalidBootFile('%s is a %s kernel, not %s'
                              % (path, found, architecture))
    return architecture or found
