"""The ``glance`` image backend: placeholder images in Glance (v2 API).

Every EBS image is an ordinary Glance image in exactly the format Nova
gives a snapshot of a volume-backed server (``disk_format`` ``raw``,
``container_format`` ``bare``, zero bytes uploaded so it is ``active`` with
size 0, ``root_device_name``, ``bdm_v2`` and the JSON
``block_device_mapping``), so Nova can boot it and ebsboot can boot the
images Nova (or anybody) makes that way.

How ebsboot talks to Glance is the ``[glance]`` group (keystoneauth1
session, auth and adapter options, see ``ebsboot.conf.glance``). ebsboot
acts with one identity for every project, so it enforces ownership and
visibility itself, as the ``local`` backend does:

* it sets ``owner`` to the request's project on create, and changes only
  images that project owns;
* a project sees its own images, public ones and shared ones it is a
  member of; community images are left out, as Glance's default listing
  leaves them out.

That identity must therefore be allowed to see every image and to set the
owner: with keystone, a service user with Glance's admin role; without
keystone, Glance's unauthenticated context (which is admin and has no
project at all). Members added for a launch permission are accepted on
behalf of the member project, so the image is also in that project's own
Glance (and Nova) listings.

Kernels and ramdisks are stored as Nova boots them: ``disk_format`` and
``container_format`` ``aki`` (or ``ari``), then their data uploaded.
Downloads are checked against the hash Glance recorded.

EC2 ids: every Glance image the API shows gets an ``ami-`` id (``aki-`` or
``ari-`` for a kernel or ramdisk, by its format), kept in ebsboot's
``image_ids`` table; images registered through ebsboot also carry it as
the ``ec2_id`` property. An image without that property (made
by Nova's createImage or by hand) gets a new id when first seen, and so
does one whose ``ec2_id`` belongs to another image already (Nova copies
the properties of the image a server was booted from into its
snapshots). The table is authoritative: the ``ec2_id`` of the returned
images always comes from it. Ids are never reused.

``kernel_id`` and ``ramdisk_id`` are Glance image UUIDs for Nova and for
Glance's schema: an EC2 id given for them is stored as the UUID of its
image when that is a Glance image, else as ``ec2_kernel_id`` /
``ec2_ramdisk_id``; reading turns them back into EC2 ids. Glance keeps
members of shared images only, so the launch permissions of a public image
are kept in its ``ec2_launch_users`` property.

Errors: an unreachable Glance (or one that fails with a 5xx, or an
identity keystone refuses) is ``Unavailable`` (503) for the EC2 client;
any other refusal is an ``InternalError`` with the reason in the log. An
image whose upload (of zero bytes for a placeholder) fails is deleted
again.
"""

import errno
import functools
import io
import os
import threading

from glanceclient import client as glance_client
from glanceclient import exc as glance_exc
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading
from oslo_log import log as logging
from oslo_utils import excutils
from oslo_utils import timeutils
from oslo_utils import uuidutils

from ebsboot.cloud import ec2ids
from ebsboot.conf import glance as glance_conf
from ebsboot.db import api as db
from ebsboot import exception
from ebsboot.image import backend

LOG = logging.getLogger(__name__)

API_VERSION = '2'
# Glance's own image attributes; every other key is a property.
CORE_ATTRIBUTES = frozenset((
    'id', 'name', 'owner', 'status', 'visibility', 'disk_format',
    'container_format', 'size', 'virtual_size', 'checksum', 'protected',
    'min_ram', 'min_disk', 'os_hidden', 'os_hash_algo', 'os_hash_value',
    'created_at', 'updated_at', 'tags', 'file', 'schema', 'self',
    'locations', 'direct_url', 'stores'))
ID_PROPERTY = 'ec2_id'
# The EC2 id kinds of images by their Glance format.
KINDS = {'aki': 'aki', 'ari': 'ari'}
PUBLIC_MEMBERS_PROPERTY = 'ec2_launch_users'
# Properties that hold a Glance image UUID, and where an EC2 id that names
# no Glance image is kept instead.
IMAGE_REFERENCES = {'kernel_id': 'ec2_kernel_id',
                    'ramdisk_id': 'ec2_ramdisk_id'}
_HIDDEN = frozenset([PUBLIC_MEMBERS_PROPERTY, *IMAGE_REFERENCES.values()])
_SORT = 'created_at:asc,id:asc'


def _translate_errors(func):
    """Turn Glance's and keystone's failures into EC2 errors."""
    @functools.wraps(func)
    def wrapper(self, *args, **kwargs):
        try:
            return func(self, *args, **kwargs)
        except (glance_exc.CommunicationError, glance_exc.InvalidEndpoint,
                ks_exc.ClientException) as e:
            LOG.warning('Glance is unavailable (%s): %s', func.__name__, e)
            raise exception.ServiceUnavailable(
                'The image service is unavailable. Try again later.')
        except glance_exc.HTTPException as e:
            if isinstance(e.code, int) and e.code >= 500:
                LOG.warning('Glance failed (%s): %s', func.__name__, e)
                raise exception.ServiceUnavailable(
                    'The image service is unavailable. Try again later.')
            LOG.error('Glance refused %s: %s', func.__name__, e)
            raise exception.InternalError(
                'The image service refused the request (HTTP %s).' % e.code)
    return wrapper


def _check_strings(properties):
    for key, value in properties.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError('image property %r=%r is not a string'
                            % (key, value))
        if key in CORE_ATTRIBUTES or key in _HIDDEN:
            raise ValueError('%r is not an image property ebsboot may set'
                             % key)


def _kind(raw):
    """``ami``, ``aki`` or ``ari``: the EC2 id kind of a Glance image."""
    return (KINDS.get(raw.get('container_format')) or
            KINDS.get(raw.get('disk_format')) or 'ami')


def build_client(conf):
    """A glanceclient v2 client from the ``[glance]`` options."""
    group = glance_conf.GROUP
    auth = ks_loading.load_auth_from_conf_options(conf, group)
    session = ks_loading.load_session_from_conf_options(conf, group,
                                                        auth=auth)
    adapter = ks_loading.load_adapter_from_conf_options(
        conf, group, session=session, auth=auth)
    if auth is None and not adapter.endpoint_override:
        LOG.error('[glance] needs auth_type (keystone) or, for a Glance '
                  'without keystone, auth_type = none and '
                  'endpoint_override.')
        raise exception.InternalError(
            'The image service is not configured.')
    # The adapter's options, except the API version: glanceclient puts
    # /v2 into its URLs itself, so the endpoint must stay unversioned.
    options = {name: getattr(adapter, name) for name in (
        'service_type', 'service_name', 'interface', 'region_name',
        'endpoint_override', 'connect_retries', 'status_code_retries',
        'retriable_status_codes', 'connect_retry_delay',
        'status_code_retry_delay')}
    options = {k: v for k, v in options.items() if v is not None}
    return glance_client.Client(API_VERSION, session=session, auth=auth,
                                **options)


class GlanceBackend(backend.ImageBackend):

    def __init__(self, conf):
        super().__init__(conf)
        self._client = None
        self._lock = threading.Lock()

    @property
    def client(self):
        with self._lock:
            if self._client is None:
                self._client = build_client(self.conf)
            return self._client

    # Reading ---------------------------------------------------------------

    def _get_raw(self, image_id):
        if not uuidutils.is_uuid_like(image_id):
            return None
        try:
            return self.client.images.get(image_id)
        except glance_exc.HTTPNotFound:
            return None

    def _members(self, image_id):
        try:
            return {m['member_id']: m['status']
                    for m in self.client.image_members.list(image_id)}
        except (glance_exc.HTTPNotFound, glance_exc.HTTPForbidden):
            return {}    # gone, or no longer shared

    def _ec2_ids(self, claims):
        """``{image UUID: ec2 id}``, recording ids for new images.

        :param claims: ``{image UUID: (its ec2_id property or None, the
            kind of EC2 id it gets)}``.
        """
        known = db.image_ids_by_image_id(claims)
        for image_id, (claim, kind) in claims.items():
            if image_id in known:
                continue
            candidates = [claim] if ec2ids.is_valid(kind, claim) else []
            candidates += [ec2ids.new_id(kind) for _ in range(3)]
            for ec2_id in candidates:
                try:
                    db.image_id_create(ec2_id, image_id)
                except db.DuplicateError:
                    # The id is another image's, or another request just
                    # gave this image one.
                    won = db.image_ids_by_image_id([image_id])
                    if image_id in won:
                        known[image_id] = won[image_id]
                        break
                    continue
                if claim and ec2_id != claim:
                    LOG.info('Image %s carries ec2_id %s of another image; '
                             'its EC2 id is %s', image_id, claim, ec2_id)
                known[image_id] = ec2_id
                break
        return known

    def _to_dicts(self, raws):
        """Backend image dicts of Glance images (see ``backend``)."""
        raws = [dict(raw) for raw in raws]
        claims = {}
        for raw in raws:
            claims[raw['id']] = (raw.get(ID_PROPERTY), _kind(raw))
            for key, kind in (('kernel_id', 'aki'), ('ramdisk_id', 'ari')):
                if uuidutils.is_uuid_like(raw.get(key)):
                    # Not seen yet: it gets an id of the kind it is used as.
                    claims.setdefault(raw[key], (None, kind))
        ec2_ids = self._ec2_ids(claims)
        return [self._to_dict(raw, ec2_ids) for raw in raws]

    def _to_dict(self, raw, ec2_ids):
        properties = {k: v if isinstance(v, str) else str(v)
                      for k, v in raw.items()
                      if k not in CORE_ATTRIBUTES and k not in _HIDDEN}
        properties[ID_PROPERTY] = ec2_ids[raw['id']]
        for key, fallback in IMAGE_REFERENCES.items():
            if raw.get(fallback):
                properties[key] = raw[fallback]
            elif properties.get(key) in ec2_ids:
                properties[key] = ec2_ids[properties[key]]
        visibility = raw.get('visibility')
        if visibility == 'shared':
            members = sorted(self._members(raw['id']))
        elif visibility == 'public':
            members = sorted(
                (raw.get(PUBLIC_MEMBERS_PROPERTY) or '').split())
        else:
            members = []
        created_at = raw.get('created_at')
        if created_at:
            created_at = timeutils.normalize_time(
                timeutils.parse_isotime(created_at))
        return {'id': raw['id'], 'name': raw.get('name'),
                'owner': raw.get('owner'), 'status': raw.get('status'),
                'visibility': visibility, 'members': members,
                'disk_format': raw.get('disk_format'),
                'container_format': raw.get('container_format'),
                'size': raw.get('size'), 'min_disk': raw.get('min_disk') or 0,
                'created_at': created_at, 'properties': properties}

    @staticmethod
    def _visible(context, image):
        project = context.project_id
        return (context.is_admin or
                (project is not None and image['owner'] == project) or
                image['visibility'] == 'public' or
                (image['visibility'] == 'shared' and
                 project in image['members']))

    def _find_by_ec2_id(self, ec2_id):
        image_id = db.image_id_get_by_ec2_id(ec2_id)
        if image_id is not None:
            raw = self._get_raw(image_id)
            return [raw] if raw is not None else []
        # Not seen yet: an image that carries the id as its property.
        return list(self.client.images.list(
            filters={ID_PROPERTY: ec2_id}, sort=_SORT))

    @_translate_errors
    def get(self, context, image_id):
        raw = self._get_raw(image_id)
        if raw is None:
            return None
        [image] = self._to_dicts([raw])
        return image if self._visible(context, image) else None

    @_translate_errors
    def list(self, context, filters=None):
        filters = dict(filters or {})
        ec2_id = filters.pop(ID_PROPERTY, None)
        if ec2_id is not None:
            raws = self._find_by_ec2_id(ec2_id)
        else:
            # Glance filters by the other properties, except those whose
            # stored value differs from what ebsboot shows.
            remote = {k: v for k, v in filters.items()
                      if k not in IMAGE_REFERENCES}
            raws = self.client.images.list(filters=remote, sort=_SORT)
        images = [image for image in self._to_dicts(raws)
                  if self._visible(context, image)]
        if ec2_id is not None:
            filters[ID_PROPERTY] = ec2_id
        for key, value in filters.items():
            images = [i for i in images if i['properties'].get(key) == value]
        return images

    # Writing ---------------------------------------------------------------

    def _stored_properties(self, properties):
        """``properties`` as Glance stores them (image references)."""
        stored = dict(properties)
        refs = {stored[key] for key in IMAGE_REFERENCES
                if stored.get(key)}
        by_ec2_id = {ec2_id: db.image_id_get_by_ec2_id(ec2_id)
                     for ec2_id in refs}
        for key, fallback in IMAGE_REFERENCES.items():
            value = stored.get(key)
            if value and by_ec2_id.get(value):
                stored[key] = by_ec2_id[value]
            elif value:
                stored[fallback] = stored.pop(key)
        return stored

    def _delete_quietly(self, image_id):
        try:
            self.client.images.delete(image_id)
        except glance_exc.HTTPNotFound:
            pass
        except Exception:
            LOG.exception('Could not delete the unfinished image %s from '
                          'Glance; delete it by hand.', image_id)

    def _create(self, context, name, properties, visibility, data, size,
                **attributes):
        """Create an image, upload ``data`` (a file object) and record it."""
        _check_strings(properties)
        stored = self._stored_properties(properties)
        raw = self.client.images.create(
            name=name, visibility=visibility, owner=context.project_id,
            min_ram=0, **dict(attributes, **stored))
        try:
            self.client.images.upload(raw['id'], data, image_size=size)
            ec2_id = properties.get(ID_PROPERTY)
            if ec2_id:
                db.image_id_create(ec2_id, raw['id'])
        except Exception:
            with excutils.save_and_reraise_exception():
                LOG.warning('Registering image %s failed; deleting it',
                            raw['id'])
                self._delete_quietly(raw['id'])
        LOG.debug('Created Glance image %s for project %s', raw['id'],
                  context.project_id)
        return self.get(context, raw['id'])

    @_translate_errors
    def create(self, context, name, properties, visibility='private',
               min_disk=0):
        # Zero bytes make the image active, as Nova does for its
        # placeholders: a queued image cannot be booted.
        return self._create(context, name, properties, visibility,
                            io.BytesIO(b''), 0, disk_format='raw',
                            container_format='bare', min_disk=min_disk)

    @_translate_errors
    def create_with_data(self, context, name, properties, data, disk_format,
                         container_format, visibility='private'):
        size = os.fstat(data.fileno()).st_size - data.tell()
        return self._create(context, name, properties, visibility, data,
                            size, disk_format=disk_format,
                            container_format=container_format, min_disk=0)

    @_translate_errors
    def download(self, context, image_id, path):
        if self.get(context, image_id) is None:
            raise LookupError(image_id)
        try:
            # glanceclient checks the data against the image's hash.
            body = self.client.images.data(image_id)
        except glance_exc.HTTPNotFound:
            raise LookupError(image_id)
        if getattr(body, 'wrapped', body) is None:
            raise backend.ImageDataError('Glance image %s has no data.'
                                         % image_id)
        try:
            with open(path, 'wb') as f:
                for chunk in body:
                    f.write(chunk)
        except IOError as e:
            # glanceclient's verdict on data that does not match its hash.
            if e.errno != errno.EPIPE:
                raise
            raise backend.ImageDataError('Glance image %s: %s'
                                         % (image_id, e))

    def _accept(self, image_id, member_id):
        try:
            self.client.image_members.update(image_id, member_id,
                                             'accepted')
        except glance_exc.HTTPForbidden as e:
            LOG.warning('Could not accept image %s for project %s (%s); '
                        'the project must accept it to see it in Glance.',
                        image_id, member_id, e)

    def _sync_members(self, image_id, members):
        current = self._members(image_id)
        for member_id in sorted(set(current) - set(members)):
            try:
                self.client.image_members.delete(image_id, member_id)
            except glance_exc.HTTPNotFound:
                pass
        for member_id in sorted(set(members)):
            if member_id not in current:
                self.client.image_members.create(image_id, member_id)
            if current.get(member_id) != 'accepted':
                self._accept(image_id, member_id)

    @_translate_errors
    def update(self, context, image_id, name=None, properties=None,
               remove_properties=(), visibility=None, members=None):
        raw = self._get_raw(image_id)
        if (raw is None or context.project_id is None or
                raw['owner'] != context.project_id):
            raise LookupError(image_id)
        changes = {}
        remove = set()
        if name is not None:
            changes['name'] = name
        if properties:
            _check_strings(properties)
            changes.update(self._stored_properties(properties))
        for key in remove_properties:
            remove.add(key)
            if key in IMAGE_REFERENCES:
                remove.add(IMAGE_REFERENCES[key])
        target = visibility or raw['visibility']
        if members is None and target != raw['visibility']:
            [current] = self._to_dicts([raw])
            members = current['members']
        if members is not None:
            members = sorted(set(members))
            if target == 'public' and members:
                changes[PUBLIC_MEMBERS_PROPERTY] = ' '.join(members)
            else:
                remove.add(PUBLIC_MEMBERS_PROPERTY)
        if target != raw['visibility']:
            changes['visibility'] = target
        remove -= set(changes)
        remove &= set(raw)
        if changes or remove:
            self.client.images.update(image_id, remove_props=sorted(remove),
                                      **changes)
        # Glance keeps members of shared images only.
        if members is not None and target == 'shared':
            self._sync_members(image_id, members)
        return self.get(context, image_id)

    @_translate_errors
    def delete(self, context, image_id):
        raw = self._get_raw(image_id)
        if (raw is None or context.project_id is None or
                raw['owner'] != context.project_id):
            return
        try:
            self.client.images.delete(image_id)
        except glance_exc.HTTPNotFound:
            pass
