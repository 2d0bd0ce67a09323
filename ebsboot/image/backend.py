"""The contract of an image backend (``ebsboot.image.backends`` plugins).

An EBS image is a placeholder record whose ``properties`` carry the block
device mapping in Nova's format (``root_device_name``, ``bdm_v2`` and the
JSON ``block_device_mapping``), so the same record works in Glance. Images
are dicts: ``{'id': uuid, 'name', 'owner': project_id, 'status',
'visibility': 'private'|'shared'|'public', 'members': [project_id, ...],
'created_at', 'properties': {str: str}}``.
"""

import abc


class ImageBackend(metaclass=abc.ABCMeta):

    def __init__(self, conf):
        self.conf = conf

    @abc.abstractmethod
    def create(self, context, name, properties, visibility='private'):
        """Store a placeholder image owned by the context's project.

        Returns the image, ``status`` ``active``.
        """

    @abc.abstractmethod
    def get(self, context, image_id):
        """The image if the project may see it, else None."""

    @abc.abstractmethod
    def list(self, context):
        """Every image the project may see."""

    @abc.abstractmethod
    def update(self, context, image_id, name=None, properties=None,
               visibility=None, members=None):
        """Change an image the project owns; return it."""

    @abc.abstractmethod
    def delete(self, context, image_id):
        """Delete an image the project owns; a missing one is no error."""
