"""EBS images (AMIs): register, describe, share and deregister them.

An EBS image is a placeholder image of the image backend (``[image]
backend``, a plugin of ``ebsboot.image.backends``) in Nova's format for
snapshots of volume-backed servers: zero bytes, and properties holding the
root device name and the block-device mapping (see ``ebsboot.cloud.bdm``).
Everything here goes through the ``ImageBackend`` interface, so that the
images may as well live in Glance.

EC2 details are image properties too: ``ec2_id`` (the ``ami-`` id),
``description``, ``architecture``, ``kernel_id`` and ``ramdisk_id``, and
``ec2_state`` with ``ec2_state_reason_code``/``ec2_state_reason`` while an
image is not simply available (CreateImage). The image's name is the EC2
name and its owner the project.

Launch permissions map onto the backend's visibility: other projects given
permission are members of a ``shared`` image; the group ``all`` makes it
``public``.

Kernel and ramdisk images (``aki-``, ``ari-``; imageType ``kernel`` and
``ramdisk``) hold the files of a direct kernel boot. EC2 has no action to
make them (AWS provided its own): operators import them with
``ebsboot-manage image import-kernel`` / ``import-ramdisk``. Their backend
format (``aki``/``ari``, as Glance keeps them for Nova) tells them apart.
An image's KernelId and RamdiskId must name such images (see
``get_boot_image``).

Functions take and return backend image dicts (see
``ebsboot.image.backend``).
"""

import re
import threading

from oslo_log import log as logging
from oslo_serialization import jsonutils
from oslo_utils import excutils
from oslo_utils import timeutils
from stevedore import driver as stevedore_driver

from ebsboot.cloud import bdm as bdm_utils
from ebsboot.cloud import ec2ids
from ebsboot.cloud import validation
from ebsboot.conf import CONF
from ebsboot import context as ebs_context
from ebsboot.db import api as db
from ebsboot import exception
from ebsboot.image import bootfiles

LOG = logging.getLogger(__name__)

ARCHITECTURES = ('i386', 'x86_64', 'arm64', 'x86_64_mac', 'arm64_mac')
# AWS's default for EBS images registered without an architecture.
DEFAULT_ARCHITECTURE = 'i386'
# EC2 boot modes and the Nova image property that says the same.
BOOT_MODES = {'legacy-bios': 'bios', 'uefi': 'uefi', 'uefi-preferred': 'uefi'}

_NAME_RE = re.compile(r"[A-Za-z0-9()\[\] ./\-'@_]{3,128}\Z")
# Backend (Glance) statuses other than ``active``, as EC2 image states.
_BACKEND_STATES = {
    'queued': 'pending', 'saving': 'pending', 'uploading': 'pending',
    'importing': 'pending', 'killed': 'failed', 'deactivated': 'disabled',
    'pending_delete': 'deregistered', 'deleted': 'deregistered',
}
_ID_PROPERTY = 'ec2_id'
# When a deregistered image, kept visible a while, was deregistered.
_DEREGISTERED_AT = 'ec2_deregistered_at'
# EC2 id kinds of images and the imageType of each; kernels and ramdisks
# are the images of those formats.
IMAGE_TYPES = {'ami': 'machine', 'aki': 'kernel', 'ari': 'ramdisk'}
BOOT_KINDS = (bootfiles.KERNEL, bootfiles.RAMDISK)
_MALFORMED_BOOT_IDS = {bootfiles.KERNEL: exception.InvalidKernelIdMalformed,
                       bootfiles.RAMDISK: exception.InvalidRamDiskIdMalformed}

_backends = {}
# EC2 ids of images and their backend ids (an EC2 id never changes image).
_backend_ids = {}
_backends_lock = threading.Lock()


def get_backend():
    """The ``[image] backend`` plugin, loaded once per name."""
    name = CONF.image.backend
    with _backends_lock:
        backend = _backends.get(name)
        if backend is None:
            backend = _backends[name] = stevedore_driver.DriverManager(
                'ebsboot.image.backends', name, invoke_on_load=True,
                invoke_args=(CONF,)).driver
        return backend


def _admin():
    return ebs_context.get_admin_context()


def _owner_context(image):
    return ebs_context.RequestContext(project_id=image['owner'],
                                      overwrite=False)


# Reading an image ----------------------------------------------------------

def image_ec2_id(image):
    return image['properties'].get(_ID_PROPERTY)


def image_kind(image):
    """``ami``, or ``aki``/``ari`` for a kernel/ramdisk image."""
    for image_format in (image['container_format'], image['disk_format']):
        if image_format in BOOT_KINDS:
            return image_format
    return 'ami'


def image_type(image):
    """EC2's imageType: ``machine``, ``kernel`` or ``ramdisk``."""
    return IMAGE_TYPES[image_kind(image)]


def image_state(image):
    """``pending``, ``available``, ``failed``... as EC2 shows it."""
    state = _BACKEND_STATES.get(image['status'])
    if state is not None:
        return state
    return image['properties'].get('ec2_state') or 'available'


def state_reason(image):
    """``(code, message)`` of a failed image, else None."""
    props = image['properties']
    if image_state(image) != 'failed':
        return None
    return (props.get('ec2_state_reason_code') or 'Server.InternalError',
            props.get('ec2_state_reason') or 'The image could not be made.')


def block_device_mappings(image):
    """``(root_device_name, BDMs)`` of the image, see ``bdm.from_nova``."""
    return bdm_utils.from_nova(image['properties'])


def root_device_name_given(image):
    """The image's root device name as its registration spelled it."""
    root, _bdms = block_device_mappings(image)
    return bdm_utils.as_given(root, bdm_utils.root_is_short(
        image['properties']))


def root_device_type(image):
    root, bdms = block_device_mappings(image)
    if any(b['device_name'] == root and bdm_utils.is_ebs(b) for b in bdms):
        return 'ebs'
    return 'instance-store'


def launch_permissions(image):
    """``(public, project ids)`` that may launch the image (not the owner).

    The members of a private image do not count.
    """
    visibility = image['visibility']
    members = (sorted(image['members'])
               if visibility in ('shared', 'public') else [])
    return visibility == 'public', members


def is_owner(context, image):
    return image['owner'] == context.project_id


# Lookups -------------------------------------------------------------------

def _expired(image):
    """Whether a deregistered image kept visible is past its time."""
    deregistered_at = image['properties'].get(_DEREGISTERED_AT)
    if deregistered_at is None:
        return False
    try:
        since = timeutils.parse_isotime(deregistered_at)
    except ValueError:
        return True
    return timeutils.is_older_than(
        timeutils.normalize_time(since),
        CONF.image.deregistered_visible_seconds)


def _remove(image):
    """Remove a deregistered image from the backend, with its data."""
    get_backend().delete(_owner_context(image), image['id'])
    LOG.info('Removed deregistered image %s (%s)', image_ec2_id(image),
             image['id'])


def _ec2_images(context, ec2_id=None):
    """The project's EC2 images; deregistered ones past their time go."""
    filters = {_ID_PROPERTY: ec2_id} if ec2_id else None
    images = []
    for image in get_backend().list(context, filters=filters):
        if not image_ec2_id(image):
            continue
        if _expired(image):
            _remove(image)
            continue
        images.append(image)
    return images


def upkeep():
    """The controller's periodic care of images.

    Remove deregistered images past ``[image]
    deregistered_visible_seconds`` (listings remove them too, if they come
    first), and the tags of images that are gone without DeregisterImage
    (deleted in Glance directly, say). The tags are read before the
    images: an image is made before its tags are written, so a tag read
    whose image is not listed afterwards is truly an orphan.
    """
    admin = _admin()
    tagged = {row.resource_id for row in db.tag_rows(
        admin, resource_types=['image'])}
    present = set()
    try:
        for image in get_backend().list(admin):
            ec2_id = image_ec2_id(image)
            if not ec2_id:
                continue
            if _expired(image):
                _remove(image)
                continue
            present.add(ec2_id)
    except exception.EC2Error as e:
        # The backend is away (Glance stopped, say): the next round.
        LOG.warning('Image upkeep stopped: %s', e.msg)
        return
    for ec2_id in sorted(tagged - present):
        # Looked up by id once more before its tags go: a listing that
        # left an image out must not cost it its tags.
        try:
            if get_backend().list(admin, filters={_ID_PROPERTY: ec2_id}):
                continue
        except exception.EC2Error as e:
            LOG.warning('Image upkeep stopped: %s', e.msg)
            return
        db.tags_destroy_resource(ec2_id)
        LOG.info('Removed the tags of image %s, which is gone', ec2_id)


def _check_image_id(ec2_id, kinds):
    if not any(ec2ids.is_valid(kind, ec2_id) for kind in kinds):
        raise exception.InvalidAMIIDMalformed(id=ec2_id)


def get_image(context, ec2_id, kinds=('ami',)):
    """The image ``ami-...`` if the project may see it.

    :param kinds: the EC2 id kinds accepted, ``IMAGE_TYPES`` for any image.
    :raises: InvalidAMIID.Malformed, InvalidAMIID.NotFound, and
        InvalidAMIID.Unavailable for a deregistered image the backend still
        shows.
    """
    _check_image_id(ec2_id, kinds)
    images = _ec2_images(context, ec2_id)
    if not images:
        raise exception.InvalidAMIIDNotFound(id=ec2_id)
    image = images[0]
    if image_state(image) == 'deregistered':
        raise exception.InvalidAMIIDUnavailable(id=ec2_id)
    return image


def get_own_image(context, ec2_id, kinds=('ami',)):
    """``get_image``, refused with AuthFailure if another project owns it."""
    image = get_image(context, ec2_id, kinds)
    if not is_owner(context, image):
        raise exception.ImageAuthFailure(id=ec2_id)
    return image


def _executable_by(context, users):
    """Filter of images that these users were given launch permission."""
    def check(image):
        public, members = launch_permissions(image)
        for user in users:
            if user == 'all' and public:
                return True
            project = context.project_id if user == 'self' else user
            if project in members:
                return True
        return False
    return check


def list_images(context, ec2_ids=None, owners=None, executable_by=None):
    """The images the project may launch, in the order of their creation.

    That is its own images, the images shared with it and the public ones,
    kernels and ramdisks included; images deregistered less than ``[image]
    deregistered_visible_seconds`` ago too, in state ``deregistered``.

    :param ec2_ids: only these (all must exist, else NotFound).
    :param owners: only images of these owners: ``self`` or project ids.
    :param executable_by: only images with an explicit launch permission
        for one of these: ``self`` (the project), a project id, or ``all``
        (public images). As in EC2 the owner's own images do not count.
    """
    for ec2_id in ec2_ids or ():
        _check_image_id(ec2_id, IMAGE_TYPES)
    images = _ec2_images(context)
    if ec2_ids:
        wanted = set(ec2_ids)
        images = [image for image in images if image_ec2_id(image) in wanted]
        found = {image_ec2_id(image) for image in images}
        for ec2_id in ec2_ids:
            if ec2_id not in found:
                raise exception.InvalidAMIIDNotFound(id=ec2_id)
    if owners:
        projects = {context.project_id if owner == 'self' else owner
                    for owner in owners}
        images = [image for image in images if image['owner'] in projects]
    if executable_by:
        images = list(filter(_executable_by(context, executable_by),
                             images))
    return images


def snapshot_in_use(context, snapshot_id):
    """An image of any project whose mapping uses the snapshot, or None.

    :param snapshot_id: the snapshot's UUID.
    :returns: the image's ``ami-`` id (its backend id for an image without
        one, such as a snapshot image made by Nova).
    """
    for image in get_backend().list(_admin()):
        if snapshot_id not in image['properties'].get(
                'block_device_mapping', ''):
            continue    # cheap test before decoding the JSON
        if image_state(image) == 'deregistered':
            continue
        _root, bdms = block_device_mappings(image)
        if any(bdm['snapshot_id'] == snapshot_id for bdm in bdms):
            return image_ec2_id(image) or image['id']
    return None


def get_boot_image(context, kind, ec2_id):
    """The kernel (``aki``) or ramdisk (``ari``) a KernelId/RamdiskId names.

    The project must be allowed to launch it. Errors, as AWS documents
    them where it does:

    * an id that is neither of that kind nor ``ami-`` (the glance backend
      gave kernels ``ami-`` ids before they had their own kind):
      InvalidKernelId.Malformed / InvalidRamDiskId.Malformed;
    * no such image: InvalidAMIID.NotFound, which AWS also gives for "an
      incorrect kernel ID";
    * a deregistered or unfinished one: InvalidAMIID.Unavailable;
    * an image of another type: InvalidParameterValue (no documented code).
    """
    if not (ec2ids.is_valid(kind, ec2_id) or ec2ids.is_valid('ami', ec2_id)):
        raise _MALFORMED_BOOT_IDS[kind](id=ec2_id)
    image = get_image(context, ec2_id, kinds=(kind, 'ami'))
    if image_kind(image) != kind:
        raise exception.InvalidParameterValue(
            'The image %s is a %s image, not a %s image.'
            % (ec2_id, image_type(image), IMAGE_TYPES[kind]))
    if image_state(image) != 'available':
        raise exception.InvalidAMIIDUnavailable(
            "The image '%s' is not available." % ec2_id)
    return image


def check_boot_images(context, kernel_id=None, ramdisk_id=None):
    """Refuse a KernelId or RamdiskId naming no usable image of its kind.

    See ``get_boot_image``. (A ramdisk without a kernel is allowed, and not
    used: only a direct kernel boot loads one.)
    """
    if kernel_id:
        get_boot_image(context, bootfiles.KERNEL, kernel_id)
    if ramdisk_id:
        get_boot_image(context, bootfiles.RAMDISK, ramdisk_id)


def backend_image_id(ec2_id):
    """The backend id of any project's image ``ec2_id``, or None.

    The compute host gets kernels and ramdisks by their backend id. The
    image backend failing is logged, not raised: only a boot needs the id,
    and it fails without it (stopping or terminating the instance does
    not).
    """
    if not ec2_id:
        return None
    image_id = _backend_ids.get(ec2_id)
    if image_id is None:
        try:
            images = _ec2_images(_admin(), ec2_id)
        except exception.EC2Error as e:
            LOG.warning('Cannot look up image %s: %s', ec2_id, e.msg)
            return None
        if images:
            image_id = _backend_ids[ec2_id] = images[0]['id']
    return image_id


def image_property(ec2_id, key):
    """A property of any project's image ``ec2_id``, None if it is gone."""
    images = _ec2_images(_admin(), ec2_id)
    return images[0]['properties'].get(key) if images else None


def snapshot_ec2_ids(snapshot_ids):
    """Map snapshot UUIDs to their ``snap-`` ids (any project).

    Snapshots that no longer exist are left out.
    """
    admin = _admin()
    found = {}
    for snapshot_id in set(snapshot_ids):
        snapshot = db.snapshot_get(admin, snapshot_id)
        if snapshot is not None:
            found[snapshot_id] = snapshot.ec2_id
    return found


# Registering ---------------------------------------------------------------

def check_name(name):
    """Refuse a malformed AMI name (3-128 characters of a small set)."""
    if name is None or not _NAME_RE.match(name):
        raise exception.InvalidAMINameMalformed(
            "AMI names must be between 3 and 128 characters long, and may "
            "contain letters, numbers, '(', ')', '.', '-', '/', '[', ']', "
            "' ', ''', '@' and '_'; got %r." % (name,))


def _check_unique_name(context, name):
    for image in _ec2_images(context):
        if (image['name'] == name and is_owner(context, image) and
                image_state(image) != 'deregistered'):
            raise exception.InvalidAMINameDuplicate(
                name=name, id=image_ec2_id(image))


def _check_architecture(architecture):
    if architecture not in ARCHITECTURES:
        raise exception.InvalidParameterValue(
            "Value (%s) for parameter architecture is invalid. Expected one "
            "of: %s." % (architecture, ', '.join(ARCHITECTURES)))


def _complete_bdms(context, bdms, root):
    """Copies of the BDMs with the defaults of a registered image."""
    completed = []
    for bdm in bdms:
        bdm = dict(bdm, boot_index=0 if bdm['device_name'] == root else -1)
        if bdm_utils.is_ebs(bdm):
            if bdm['volume_size'] is None and bdm['snapshot_id']:
                snapshot = db.snapshot_get(context, bdm['snapshot_id'])
                if snapshot is None:
                    raise exception.InvalidSnapshotNotFound(
                        id=bdm['snapshot_id'])
                bdm['volume_size'] = snapshot.volume_size
            if bdm['delete_on_termination'] is None:
                bdm['delete_on_termination'] = True
            if bdm['volume_type'] is None:
                bdm['volume_type'] = CONF.volume.default_volume_type
        completed.append(bdm)
    return completed


def _snapshots_gone(bdms):
    """Snapshots deleted while the image was being registered."""
    admin = _admin()
    gone = []
    for bdm in bdms:
        if bdm['snapshot_id']:
            snapshot = db.snapshot_get(admin, bdm['snapshot_id'])
            if snapshot is None or snapshot.status not in ('pending',
                                                           'completed'):
                gone.append(bdm['snapshot_id'])
    return gone


def register_image(context, name, root_device_name, bdms, description=None,
                   architecture=None, kernel_id=None, ramdisk_id=None,
                   boot_mode=None, state=None, tags=None,
                   extra_properties=None):
    """Register an EBS image; it is available at once.

    :param bdms: BDMs from ``bdm.from_ec2_params``; the root device's must
        be an EBS volume from a snapshot. EBS volumes get the defaults of
        EC2: the snapshot's size, DeleteOnTermination true, the default
        volume type.
    :param architecture: by default ``i386``, as in EC2.
    :param kernel_id, ramdisk_id: EC2 ids of a kernel and a ramdisk the
        project may launch (see ``get_boot_image``); CreateImage (state
        ``pending``) copies those of the instance unchecked.
    :param boot_mode: ``legacy-bios``, ``uefi`` or ``uefi-preferred``,
        stored as Nova's ``hw_firmware_type``.
    :param state: None for an available image; ``pending`` for one whose
        snapshots are being taken (CreateImage), see ``mark_image_*``.
    :param tags: ``{key: value}`` of the image, checked by the caller.
    :param extra_properties: more backend properties (CopyImage's).
    :returns: the image.
    """
    check_name(name)
    validation.check_description(description)
    architecture = architecture or DEFAULT_ARCHITECTURE
    _check_architecture(architecture)
    if state != 'pending':
        check_boot_images(context, kernel_id, ramdisk_id)
    if boot_mode is not None and boot_mode not in BOOT_MODES:
        raise exception.InvalidParameterValue(
            "Value (%s) for parameter BootMode is invalid. Expected one of: "
            "%s." % (boot_mode, ', '.join(sorted(BOOT_MODES))))
    if not root_device_name:
        raise exception.InvalidParameterCombination(
            'Either ImageLocation or RootDeviceName must be given; ebsboot '
            'registers EBS images only, which need RootDeviceName.')
    root = bdm_utils.normalize_device_name(root_device_name)
    root_bdm = next((b for b in bdms if b['device_name'] == root), None)
    if (root_bdm is None or not bdm_utils.is_ebs(root_bdm) or
            not root_bdm['snapshot_id']):
        raise exception.InvalidBlockDeviceMapping(
            'The root device %s needs a block-device mapping with '
            'Ebs.SnapshotId.' % root)
    bdms = _complete_bdms(context, bdms, root)
    _check_unique_name(context, name)
    block_device_mapping, mappings = bdm_utils.to_nova(bdms, root)
    properties = {
        _ID_PROPERTY: ec2ids.new_id('ami'),
        'root_device_name': root,
        'bdm_v2': 'True',
        'block_device_mapping': jsonutils.dumps(block_device_mapping),
        'architecture': architecture,
    }
    if mappings:
        properties['mappings'] = jsonutils.dumps(mappings)
    properties.update(bdm_utils.short_names_properties(bdms,
                                                       root_device_name))
    optional = {'description': description, 'kernel_id': kernel_id,
                'ramdisk_id': ramdisk_id, 'ec2_state': state,
                'hw_firmware_type': BOOT_MODES.get(boot_mode)}
    properties.update((k, v) for k, v in optional.items() if v is not None)
    properties.update(extra_properties or {})
    root_bdm = next(b for b in bdms if b['device_name'] == root)
    image = get_backend().create(context, name, properties,
                                 min_disk=root_bdm['volume_size'])
    # DeleteSnapshot checks for images before it deletes: one that raced
    # with this registration is caught here. (A pending image's snapshots
    # are still to be taken by CreateImage.)
    gone = _snapshots_gone(bdms) if state != 'pending' else None
    if gone:
        get_backend().delete(context, image['id'])
        raise exception.InvalidSnapshotNotFound(id=gone[0])
    if tags:
        try:
            db.tags_set(context, [(properties[_ID_PROPERTY], 'image')],
                        tags, len(tags))
        except Exception:
            with excutils.save_and_reraise_exception():
                get_backend().delete(context, image['id'])
    LOG.info('Registered image %s (%s) of project %s',
             properties[_ID_PROPERTY], image['id'], context.project_id)
    return image


def import_boot_image(context, kind, path, name, description=None,
                      architecture=None, public=False):
    """Store the file ``path`` as a kernel (``aki``) or ramdisk (``ari``).

    The name and description are checked as RegisterImage checks them; the
    file as ``bootfiles.inspect`` does (which also tells a kernel's
    architecture). The file is opened once (a regular file, not a
    symbolic link, FIFO or device) and both checked and stored from that
    open file. ``public`` lets every project launch it.

    :raises: InvalidAMIName.Malformed/.Duplicate, InvalidParameterValue
        (also for a file that is not what ``kind`` says), OSError.
    :returns: the image.
    """
    check_name(name)
    validation.check_description(description)
    if architecture is not None:
        _check_architecture(architecture)
    try:
        source = bootfiles.open_boot_file(path)
    except bootfiles.InvalidBootFile as e:
        raise exception.InvalidParameterValue(str(e))
    with source:
        try:
            architecture = bootfiles.inspect(kind, source, architecture)
        except bootfiles.InvalidBootFile as e:
            raise exception.InvalidParameterValue(str(e))
        _check_unique_name(context, name)
        properties = {_ID_PROPERTY: ec2ids.new_id(kind),
                      'architecture': architecture}
        if description:
            properties['description'] = description
        # The bytes inspected, from the same open file.
        image = get_backend().create_with_data(
            context, name, properties, source.rewind(), kind, kind,
            visibility='public' if public else 'private')
    LOG.info('Imported %s as %s %s (%s) of project %s', path,
             IMAGE_TYPES[kind], properties[_ID_PROPERTY], image['id'],
             context.project_id)
    return image


def _set_state(image_id, values, remove=()):
    image = get_backend().get(_admin(), image_id)
    if image is None or image_state(image) == 'deregistered':
        return None
    return get_backend().update(_owner_context(image), image_id,
                                properties=values,
                                remove_properties=remove)


def mark_image_available(image_id, remove=()):
    """Make a pending image (by backend id) available.

    ``remove``: more properties to remove with its pending state.
    """
    return _set_state(image_id, None,
                      remove=('ec2_state', 'ec2_state_reason_code',
                              'ec2_state_reason') + tuple(remove))


def remove_properties(image_id, names):
    """Remove properties of an image (by backend id) not deregistered."""
    return _set_state(image_id, None, remove=tuple(names))


def mark_image_failed(image_id, code, message):
    """Mark an image (by backend id) failed, with its EC2 stateReason."""
    return _set_state(image_id, {'ec2_state': 'failed',
                                 'ec2_state_reason_code': code,
                                 'ec2_state_reason': message})


# Changing ------------------------------------------------------------------

def _delete_snapshot(context, snapshot_id):
    """Delete a deregistered image's snapshot: (snap id, EC2 return code)."""
    from ebsboot.cloud import volumes

    snapshot = db.snapshot_get(context, snapshot_id)
    if snapshot is None:
        other = db.snapshot_get(_admin(), snapshot_id)
        return (other.ec2_id, 'missing-permissions') if other else None
    try:
        volumes.delete_snapshot(context, snapshot.ec2_id)
    except exception.InvalidSnapshotInUse:
        return snapshot.ec2_id, 'skipped'
    except exception.EC2Error as e:
        LOG.info('Keeping snapshot %s of a deregistered image: %s',
                 snapshot.ec2_id, e.msg)
        return snapshot.ec2_id, 'client-error'
    return snapshot.ec2_id, 'success'


def deregister_image(context, ec2_id, delete_associated_snapshots=False):
    """Deregister an image of the project (a kernel or ramdisk too).

    A kernel's or ramdisk's data goes with it; instances launched with it
    keep their compute host's copy. Snapshots stay unless
    ``delete_associated_snapshots``; even then a snapshot that another
    image uses stays.

    :returns: ``[(snapshot ec2 id, return code)]`` of the snapshots it
        tried to delete: ``success``, ``skipped`` (used by another image),
        ``missing-permissions`` (another project's) or ``client-error``.
    """
    image = get_own_image(context, ec2_id, IMAGE_TYPES)
    if CONF.image.deregistered_visible_seconds:
        get_backend().update(context, image['id'], properties={
            'ec2_state': 'deregistered',
            _DEREGISTERED_AT: timeutils.utcnow().isoformat()})
    else:
        get_backend().delete(context, image['id'])
    db.tags_destroy_resource(ec2_id)
    LOG.info('Deregistered image %s (%s)', ec2_id, image['id'])
    results = []
    if delete_associated_snapshots:
        _root, bdms = block_device_mappings(image)
        seen = set()
        for bdm in bdms:
            if bdm['snapshot_id'] and bdm['snapshot_id'] not in seen:
                seen.add(bdm['snapshot_id'])
                result = _delete_snapshot(context, bdm['snapshot_id'])
                if result is not None:
                    results.append(result)
    return results


def modify_description(context, ec2_id, description):
    """Set (or, with ``''``, clear) the description of an own image."""
    validation.check_description(description)
    image = get_own_image(context, ec2_id, IMAGE_TYPES)
    if description:
        return get_backend().update(context, image['id'],
                                    properties={'description': description})
    return get_backend().update(context, image['id'],
                                remove_properties=('description',))


def modify_launch_permission(context, ec2_id, add_users=(), remove_users=(),
                             add_public=False, remove_public=False):
    """Give or take launch permission of an own image: additions first.

    Users are project ids; the owner's own project is ignored. ``public``
    is the group ``all``.
    """
    image = get_own_image(context, ec2_id, IMAGE_TYPES)
    for user in list(add_users) + list(remove_users):
        if not user or len(user) > 255:
            raise exception.InvalidParameterValue(
                'Invalid user id: "%s"' % user)
    public, members = launch_permissions(image)
    members = set(members)
    members.update(add_users)
    members.difference_update(remove_users)
    members.discard(context.project_id)
    public = (public or add_public) and not remove_public
    visibility = ('public' if public else
                  'shared' if members else 'private')
    return get_backend().update(context, image['id'], visibility=visibility,
                                members=sorted(members))
