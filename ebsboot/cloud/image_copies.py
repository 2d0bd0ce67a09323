"""CopyImage within the region: new snapshots and a new image.

``copy_image`` registers the new image ``pending`` at once, with the UUIDs
of its snapshot copies already in its mapping and, in the property
``ec2_copy_snapshots``, which source snapshot each copy is made from; then
it writes the copies (``pending`` snapshots, made by the volume service
as CopySnapshot's are). ``finish_copies`` (a periodic job of the
controller, see ``ebsboot.cloud.tasks``) reads that property back: it
writes a copy a crash left unwritten, makes the image ``available`` once
every copy is ``completed``, or marks it ``failed`` and deletes its
copies when one of them failed. So everything is in the image and the
snapshot rows, and a restarted controller carries on where it stopped.
"""

import hashlib
import uuid

from oslo_log import log as logging
from oslo_serialization import jsonutils

from ebsboot.cloud import images as cloud_images
from ebsboot.cloud import validation
from ebsboot.cloud import volumes as cloud_volumes
from ebsboot import context as ebs_context
from ebsboot.db import api as db
from ebsboot import exception
from ebsboot.volume import rpcapi as volume_rpcapi

LOG = logging.getLogger(__name__)

# {copy snapshot UUID: source snapshot UUID} of an image being copied.
COPIES_PROPERTY = 'ec2_copy_snapshots'
# The source image's id, and the tags of the copies (JSON), for copies
# that a crash left unwritten.
SOURCE_PROPERTY = 'ec2_copied_from'
SNAPSHOT_TAGS_PROPERTY = 'ec2_copy_snapshot_tags'
CLIENT_TOKEN_PROPERTY = 'ec2_client_token'
DIGEST_PROPERTY = 'ec2_request_digest'
# What finish_copies needs no more once the copies are done.
_WORK_PROPERTIES = (COPIES_PROPERTY, SNAPSHOT_TAGS_PROPERTY)
_COPY_DESCRIPTION = ('Copied for DestinationAmi %s from SourceAmi %s for '
                     'SourceSnapshot %s.')
_BOOT_MODES = {'bios': 'legacy-bios', 'uefi': 'uefi'}


def _digest(*values):
    return hashlib.sha256(repr(values).encode()).hexdigest()


def _by_client_token(context, token, digest):
    for image in cloud_images.get_backend().list(
            context, filters={CLIENT_TOKEN_PROPERTY: token}):
        if cloud_images.is_owner(context, image) and \
                cloud_images.image_ec2_id(image):
            if image['properties'].get(DIGEST_PROPERTY) != digest:
                raise exception.IdempotentParameterMismatch(token=token)
            return image
    return None


def _source_snapshots(context, image):
    """``{UUID: row}`` of the image's snapshots.

    Each must be one the project may copy (its own or shared with it),
    and completed.
    """
    found = {}
    _root, bdms = cloud_images.block_device_mappings(image)
    admin = ebs_context.get_admin_context()
    for bdm in bdms:
        snapshot_id = bdm['snapshot_id']
        if not snapshot_id or snapshot_id in found:
            continue
        row = db.snapshot_get(admin, snapshot_id)
        if row is None:
            raise exception.InvalidSnapshotNotFound(id=snapshot_id)
        snapshot = cloud_volumes.get_restorable_snapshot(context,
                                                         row.ec2_id)
        if snapshot.status != 'completed':
            raise exception.IncorrectState(
                "Snapshot '%s' of image %s is in state '%s', not "
                "'completed'." % (snapshot.ec2_id,
                                  cloud_images.image_ec2_id(image),
                                  snapshot.status))
        found[snapshot_id] = snapshot
    return found


def copy_image(context, source_ec2_id, name, description=None,
               client_token=None, tags=None, copy_image_tags=False):
    """Start copying an image the project may launch; the new image.

    :param tags: ``{'image'|'snapshot': {key: value}}``, checked; the
        snapshot tags go on every copy. With ``copy_image_tags`` the
        project's tags of the source image come first, then ``tags``.
    :raises: InvalidAMIID.*, InvalidAMIName.*, IdempotentParameterMismatch,
        AuthFailure-like errors of a snapshot the project may not copy.
    """
    tags = tags or {}
    cloud_images.check_name(name)
    validation.check_description(description)
    digest = _digest(source_ec2_id, name, description, copy_image_tags,
                     sorted((k, sorted(v.items())) for k, v in tags.items()))
    if client_token:
        validation.check_client_token(client_token)
        existing = _by_client_token(context, client_token, digest)
        if existing is not None:
            return existing
    source = cloud_images.get_image(context, source_ec2_id)
    if cloud_images.image_state(source) != 'available':
        raise exception.InvalidAMIIDUnavailable(
            "The image '%s' is not available." % source_ec2_id)
    _root, bdms = cloud_images.block_device_mappings(source)
    root = cloud_images.root_device_name_given(source)
    snapshots = _source_snapshots(context, source)
    copies = {source_id: str(uuid.uuid4()) for source_id in snapshots}
    new_bdms = [dict(bdm, snapshot_id=copies.get(bdm['snapshot_id']))
                if bdm['snapshot_id'] else dict(bdm) for bdm in bdms]
    image_tags = {}
    if copy_image_tags:
        image_tags.update(db.tags_by_resource(
            context, 'image', [source_ec2_id]).get(source_ec2_id, []))
    image_tags.update(tags.get('image') or {})
    props = source['properties']
    extra = {COPIES_PROPERTY: jsonutils.dumps(
        {copy: source_id for source_id, copy in copies.items()}),
        SOURCE_PROPERTY: source_ec2_id}
    if tags.get('snapshot'):
        extra[SNAPSHOT_TAGS_PROPERTY] = jsonutils.dumps(tags['snapshot'])
    if client_token:
        extra.update({CLIENT_TOKEN_PROPERTY: client_token,
                      DIGEST_PROPERTY: digest})
    image = cloud_images.register_image(
        context, name, root, new_bdms,
        description=description if description is not None
        else props.get('description'),
        architecture=props.get('architecture'),
        kernel_id=props.get('kernel_id'), ramdisk_id=props.get('ramdisk_id'),
        boot_mode=_BOOT_MODES.get(props.get('hw_firmware_type')),
        state='pending', tags=image_tags or None, extra_properties=extra)
    ec2_id = cloud_images.image_ec2_id(image)
    try:
        for source_id, copy_id in sorted(copies.items()):
            snapshot = snapshots[source_id]
            cloud_volumes.new_copy(
                context, snapshot, _COPY_DESCRIPTION % (
                    ec2_id, source_ec2_id, snapshot.ec2_id),
                snapshot_id=copy_id, tags=tags.get('snapshot'))
    except Exception:
        # Left to finish_copies, which writes what is missing.
        LOG.exception('Copies of image %s stopped half-way', ec2_id)
    LOG.info('Copying image %s to %s (%d snapshots)', source_ec2_id,
             ec2_id, len(copies))
    return image


def _copies(image):
    try:
        return jsonutils.loads(image['properties'][COPIES_PROPERTY])
    except (KeyError, ValueError, TypeError):
        return {}


def _owner(image):
    return ebs_context.RequestContext(project_id=image['owner'],
                                      overwrite=False)


def _write_missing(image, copy_id, source_id):
    """Write a copy a crash left unwritten; False if it cannot be."""
    admin = ebs_context.get_admin_context()
    source = db.snapshot_get(admin, source_id)
    if source is None or source.status != 'completed':
        return False
    props = image['properties']
    tags = (jsonutils.loads(props[SNAPSHOT_TAGS_PROPERTY])
            if props.get(SNAPSHOT_TAGS_PROPERTY) else None)
    try:
        cloud_volumes.new_copy(_owner(image), source, _COPY_DESCRIPTION % (
            cloud_images.image_ec2_id(image), props.get(SOURCE_PROPERTY),
            source.ec2_id), snapshot_id=copy_id, tags=tags)
    except db.DuplicateError:
        pass    # another controller wrote it meanwhile
    return True


def _delete_copies(admin, rows):
    """Delete the finished copies of a failed image; True once all gone."""
    done = True
    for row in rows:
        if row is None:
            continue
        if row.status == 'pending':
            done = False    # deleted once the volume service is done
            continue
        if row.status in ('completed', 'error'):
            try:
                db.snapshot_update(admin, row.id, {'status': 'deleting'},
                                   expected_status=row.status)
            except db.ConflictError:
                done = False
                continue
            volume_rpcapi.VolumeAPI().delete_snapshot(
                admin, {'id': row.id, 'host': row.host})
    return done


def finish_image(image):
    """One look at an image being copied: write, finish or fail it."""
    admin = ebs_context.get_admin_context()
    copies = _copies(image)
    rows = {copy_id: db.snapshot_get(admin, copy_id) for copy_id in copies}
    state = cloud_images.image_state(image)
    failed = state == 'failed' or any(
        row is not None and row.status in ('error', 'deleting')
        for row in rows.values())
    if not failed:
        for copy_id, row in rows.items():
            if row is None and not _write_missing(image, copy_id,
                                                  copies[copy_id]):
                failed = True
    if failed:
        if state != 'failed':
            cloud_images.mark_image_failed(
                image['id'], 'Server.InternalError',
                'A snapshot of the image could not be copied.')
            LOG.warning('Copy %s of an image failed',
                        cloud_images.image_ec2_id(image))
        if _delete_copies(admin, rows.values()):
            cloud_images.remove_properties(image['id'], _WORK_PROPERTIES)
        return
    if all(row is not None and row.status == 'completed'
           for row in rows.values()):
        cloud_images.mark_image_available(image['id'],
                                          remove=_WORK_PROPERTIES)
        LOG.info('Copy %s of an image is available',
                 cloud_images.image_ec2_id(image))


def finish_copies():
    """Finish (or fail) every image copy in progress (periodic)."""
    admin = ebs_context.get_admin_context()
    for state in ('pending', 'failed'):
        try:
            images = cloud_images.get_backend().list(
                admin, filters={'ec2_state': state})
        except exception.EC2Error as e:
            # The backend is away (Glance stopped, say): the next look.
            LOG.warning('Image copies not checked: %s', e.msg)
            return
        for image in images:
            if COPIES_PROPERTY in image['properties']:
                try:
                    finish_image(image)
                except exception.EC2Error as e:
                    LOG.warning('Copy %s of an image not checked: %s',
                                cloud_images.image_ec2_id(image), e.msg)
                except Exception:
                    LOG.exception('Cannot finish the copy %s of an image',
                                  cloud_images.image_ec2_id(image))
