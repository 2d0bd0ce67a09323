"""A compute host's copies of kernel and ramdisk images."""

import os

from oslo_concurrency import lockutils
from oslo_log import log as logging
from oslo_utils import uuidutils

from ebsboot import fileperms
from ebsboot.image import files

LOG = logging.getLogger(__name__)


class BootFileCache:
    """Kernel and ramdisk images of this host, as files named by image UUID.

    A file is downloaded once through the image backend, written whole
    (a crash leaves no half file under the image's name) in a folder QEMU
    may traverse (libvirt hands the file itself to QEMU), then reused.
    Image data never changes and image UUIDs are never reused, so a copy
    never goes stale; copies stay when their image is deleted, so
    instances launched with it still boot on this host.
    """

    def __init__(self, path, get_backend):
        """:param get_backend: returns the image backend when needed."""
        self.path = path
        self._get_backend = get_backend

    def fetch(self, context, image_id):
        """The path of this host's copy of an image, downloaded if needed.

        :raises LookupError: the context may not see such an image.
        """
        if not uuidutils.is_uuid_like(image_id):
            raise ValueError('%r is not an image UUID' % (image_id,))
        target = os.path.join(self.path, image_id)
        with lockutils.lock('ebsboot-boot-file-%s' % image_id):
            fileperms.qemu_dir(self.path)
            if not os.path.exists(target):
                with files.atomic_file(target) as tmp:
                    self._get_backend().download(context, image_id, tmp)
                LOG.info('Downloaded image %s (%d bytes) to %s', image_id,
                         os.path.getsize(target), target)
        return target
