"""The ``local`` image backend: placeholder images in ebsboot's database.

It keeps exactly what a Glance placeholder image holds, so switching the
backend to Glance changes where images live, not what they say.

The data of kernel and ramdisk images is a file ``images/<image id>`` in
``[DEFAULT] state_path``, written (whole) before the image's row, and
removed after it. Compute hosts read it there too, so with this backend
they must share that folder with the host that imported the image (as the
all-in-one does); clouds of several hosts keep images in Glance.
"""

import os
import uuid

from oslo_log import log as logging
from oslo_serialization import jsonutils
from oslo_utils import excutils

from ebsboot.db import api as db
from ebsboot import fileperms
from ebsboot.image import backend
from ebsboot.image import files

LOG = logging.getLogger(__name__)
DATA_FOLDER = 'images'


def _as_dict(row):
    return {'id': row.id, 'name': row.name, 'owner': row.owner,
            'status': row.status, 'visibility': row.visibility,
            'members': jsonutils.loads(row.members),
            'disk_format': row.disk_format,
            'container_format': row.container_format, 'size': row.size,
            'min_disk': row.min_disk, 'created_at': row.created_at,
            'properties': jsonutils.loads(row.properties)}


def _check_strings(properties):
    for key, value in properties.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError('image property %r=%r is not a string'
                            % (key, value))


class LocalBackend(backend.ImageBackend):

    def _visible(self, context, image):
        project = context.project_id
        return (context.is_admin or image['owner'] == project or
                image['visibility'] == 'public' or
                (image['visibility'] == 'shared' and
                 project in image['members']))

    def _row(self, context, name, properties, visibility,
             image_id=None, **values):
        _check_strings(properties)
        return dict({
            'id': image_id or str(uuid.uuid4()), 'name': name,
            'owner': context.project_id, 'status': 'active',
            'visibility': visibility, 'disk_format': 'raw',
            'container_format': 'bare', 'size': 0, 'min_disk': 0,
            'properties': jsonutils.dumps(properties),
            'members': jsonutils.dumps([])}, **values)

    def create(self, context, name, properties, visibility='private',
               min_disk=0):
        return _as_dict(db.image_create(context, self._row(
            context, name, properties, visibility, min_disk=min_disk)))

    def data_path(self, image_id):
        """Where the data of an image is (or would be) on this host."""
        return os.path.join(self.conf.state_path, DATA_FOLDER, image_id)

    def create_with_data(self, context, name, properties, data, disk_format,
                         container_format, visibility='private'):
        image_id = str(uuid.uuid4())
        values = self._row(context, name, properties, visibility,
                           image_id=image_id, disk_format=disk_format,
                           container_format=container_format)
        target = self.data_path(image_id)
        # Compute hosts copy the data; QEMU never reads it here.
        fileperms.private_dir(os.path.dirname(target))
        with files.atomic_file(target) as tmp:
            values['size'] = files.write_from(data, tmp)
        try:
            row = db.image_create(context, values)
        except Exception:
            with excutils.save_and_reraise_exception():
                files.remove(target)
        LOG.info('Stored %d bytes of image %s', values['size'], image_id)
        return _as_dict(row)

    def download(self, context, image_id, path):
        image = self.get(context, image_id)
        if image is None:
            raise LookupError(image_id)
        source = self.data_path(image_id)
        try:
            size = files.copy(source, path)
        except FileNotFoundError:
            raise backend.ImageDataError(
                'The data of image %s is not in %s on this host: the local '
                'image backend keeps it on the host that imported the image '
                '(use the glance backend for several hosts).'
                % (image_id, os.path.dirname(source)))
        if size != image['size']:
            raise backend.ImageDataError(
                'Image %s has %d bytes in %s, not %s.'
                % (image_id, size, source, image['size']))

    def get(self, context, image_id):
        row = db.image_get(image_id)
        if row is None:
            return None
        image = _as_dict(row)
        return image if self._visible(context, image) else None

    def list(self, context, filters=None):
        images = [_as_dict(row) for row in db.image_list()]
        images = [i for i in images if self._visible(context, i)]
        for key, value in (filters or {}).items():
            images = [i for i in images if i['properties'].get(key) == value]
        return images

    def update(self, context, image_id, name=None, properties=None,
               remove_properties=(), visibility=None, members=None):
        image = self.get(context, image_id)
        if image is None or image['owner'] != context.project_id:
            raise LookupError(image_id)
        values = {}
        if name is not None:
            values['name'] = name
        if properties or remove_properties:
            merged = dict(image['properties'], **(properties or {}))
            for key in remove_properties:
                merged.pop(key, None)
            _check_strings(merged)
            values['properties'] = jsonutils.dumps(merged)
        if visibility is not None:
            values['visibility'] = visibility
        if members is not None:
            values['members'] = jsonutils.dumps(sorted(set(members)))
        if values:
            db.image_update(image_id, values)
        return self.get(context, image_id)

    def delete(self, context, image_id):
        image = self.get(context, image_id)
        if image is not None and image['owner'] == context.project_id:
            db.image_destroy(image_id)
            files.remove(self.data_path(image_id))
