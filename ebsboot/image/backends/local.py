"""The ``local`` image backend: placeholder images in ebsboot's database.

It keeps exactly what a Glance placeholder image holds, so switching the
backend to Glance changes where images live, not what they say.
"""

import uuid

from oslo_serialization import jsonutils

from ebsboot.db import api as db
from ebsboot.image import backend


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

    def create(self, context, name, properties, visibility='private',
               min_disk=0):
        _check_strings(properties)
        row = db.image_create(context, {
            'id': str(uuid.uuid4()), 'name': name,
            'owner': context.project_id, 'status': 'active',
            'visibility': visibility, 'disk_format': 'raw',
            'container_format': 'bare', 'size': 0, 'min_disk': min_disk,
            'properties': jsonutils.dumps(properties),
            'members': jsonutils.dumps([])})
        return _as_dict(row)

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
