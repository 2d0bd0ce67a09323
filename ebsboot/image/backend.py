"""The contract of an image backend (``ebsboot.image.backends`` plugins).

An EBS image is a placeholder record whose ``properties`` carry the block
device mapping in Nova's format (``root_device_name``, ``bdm_v2`` and the
JSON ``block_device_mapping``), so the same record works in Glance. Images
are dicts shaped like Glance v2 images::

    {'id': uuid, 'name': str, 'owner': project_id, 'status': 'active',
     'visibility': 'private'|'shared'|'public', 'members': [project_id],
     'disk_format': 'raw', 'container_format': 'bare', 'size': 0,
     'min_disk': GiB, 'created_at': datetime, 'properties': {str: str}}

Property values are strings, as Glance stores them.

Kernel and ramdisk images (EC2 ``aki-``/``ari-``) are the only images with
data: ``disk_format`` and ``container_format`` ``aki`` or ``ari``, as Glance
keeps the kernels and ramdisks Nova boots, and ``size`` the number of bytes.
"""

import abc


class ImageDataError(Exception):
    """The data of an image cannot be stored or read back."""


class ImageBackend(metaclass=abc.ABCMeta):

    def __init__(self, conf):
        self.conf = conf

    @abc.abstractmethod
    def create(self, context, name, properties, visibility='private',
               min_disk=0):
        """Store a zero-byte placeholder image owned by the context's project.

        Returns the image, already ``active`` (as Nova's placeholders are).
        """

    @abc.abstractmethod
    def get(self, context, image_id):
        """The image if the project may see it, else None."""

    @abc.abstractmethod
    def list(self, context, filters=None):
        """Every image the project may see.

        ``filters`` maps property names to the values they must have.
        """

    @abc.abstractmethod
    def update(self, context, image_id, name=None, properties=None,
               remove_properties=(), visibility=None, members=None):
        """Change an image the project owns; return it."""

    @abc.abstractmethod
    def delete(self, context, image_id):
        """Delete an image the project owns, with its data.

        A missing image is no error.
        """

    @abc.abstractmethod
    def create_with_data(self, context, name, properties, data, disk_format,
                         container_format, visibility='private'):
        """Store an image holding the bytes of ``data``.

        ``data`` is a binary file object of a regular file, at its start;
        the image holds what reading it to its end gives (never reopen
        the file by a name).

        The image is owned by the context's project and returned
        ``active``; if anything fails, nothing of it is left.
        """

    @abc.abstractmethod
    def download(self, context, image_id, path):
        """Write the data of an image the project may see to ``path``.

        ``path`` is a new file the caller removes if this fails.

        :raises LookupError: no such image (or the project may not see it).
        :raises ImageDataError: the data is missing or damaged.
        """
