"""Files that look like kernels and ramdisks to ``ebsboot.image.bootfiles``."""

import gzip
import struct


def kernel(architecture='x86_64', size=4096):
    """The first bytes of a kernel of ``architecture``, padded to ``size``."""
    data = bytearray(size)
    if architecture == 'arm64':
        data[0x38:0x3c] = b'ARM\x64'
    elif architecture in ('x86_64', 'i386'):
        data[0x202:0x206] = b'HdrS'
        struct.pack_into('<H', data, 0x206, 0x020f)
        struct.pack_into('<H', data, 0x236,
                         1 if architecture == 'x86_64' else 0)
    return bytes(data)


def ramdisk(text=b'070701 an initramfs'):
    return gzip.compress(text)


def write(path, data):
    with open(path, 'wb') as f:
        f.write(data)
    return path
