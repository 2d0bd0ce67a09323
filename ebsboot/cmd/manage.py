"""ebsboot-manage: database, credential, snapshot and image administration.

::

    ebsboot-manage --config-file F db sync
    ebsboot-manage --config-file F db version
    ebsboot-manage --config-file F credentials create --project P [--format F]
    ebsboot-manage --config-file F credentials list [--project P] [--format F]
    ebsboot-manage --config-file F credentials delete ACCESS_KEY
    ebsboot-manage --config-file F snapshot import FILE --project P
        [--description D] [--format F]
    ebsboot-manage --config-file F image import-kernel FILE --project P
        [--name N] [--description D] [--architecture A] [--public]
        [--format F]
    ebsboot-manage --config-file F image import-ramdisk FILE ...
"""

import json
import os
import secrets
import string
import sys
import uuid

from oslo_config import cfg

from ebsboot.cloud import ec2ids
from ebsboot.cloud import images as cloud_images
from ebsboot import conf
from ebsboot.conf import api as api_conf
from ebsboot.conf import CONF
from ebsboot import context as ebs_context
from ebsboot.db import api as db
from ebsboot.db import migration
from ebsboot import exception
from ebsboot import fileperms
from ebsboot.image import bootfiles
from ebsboot import importfile
from ebsboot.volume import diskimage
from ebsboot.volume import manager as volume_manager

_KEY_ALPHABET = string.ascii_uppercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits + '+/'


def _print(rows, fmt, columns):
    if fmt == 'json':
        print(json.dumps(rows, indent=None if isinstance(rows, dict) else 1))
        return
    rows = rows if isinstance(rows, list) else [rows]
    widths = [max([len(c)] + [len(str(r[c])) for r in rows])
              for c in columns]
    print('  '.join(c.ljust(w) for c, w in zip(columns, widths)))
    for row in rows:
        print('  '.join(str(row[c]).ljust(w) for c, w in zip(columns, widths)))


class DbCommands:

    def sync(self):
        migration.db_sync()
        print('Database is at version %s' % migration.db_version())

    def version(self):
        print(migration.db_version() or 'none')


KEYSTONE_OWNS_CREDENTIALS = (
    'ebsboot verifies signatures with Keystone ([api] auth_strategy = '
    'keystone): Keystone owns the EC2 credentials. Manage them with '
    '"openstack ec2 credentials create|list|delete".')


class CredentialCommands:

    def __init__(self):
        if CONF.api.auth_strategy == api_conf.AUTH_KEYSTONE:
            sys.exit(KEYSTONE_OWNS_CREDENTIALS)

    def create(self):
        project = CONF.category.project
        if not project:
            sys.exit('--project is required')
        access_key = 'AKIA' + ''.join(secrets.choice(_KEY_ALPHABET)
                                      for _ in range(16))
        secret_key = ''.join(secrets.choice(_SECRET_ALPHABET)
                             for _ in range(40))
        db.credential_create(ebs_context.get_admin_context(), access_key,
                             secret_key, project)
        _print({'project': project, 'access_key': access_key,
                'secret_key': secret_key}, CONF.category.format,
               ('project', 'access_key', 'secret_key'))

    def list(self):
        rows = [{'project': c.project_id, 'access_key': c.access_key,
                 'created_at': c.created_at.isoformat()}
                for c in db.credential_list(ebs_context.get_admin_context(),
                                            CONF.category.project)]
        _print(rows, CONF.category.format,
               ('project', 'access_key', 'created_at'))

    def delete(self):
        if not db.credential_delete(ebs_context.get_admin_context(),
                                    CONF.category.access_key):
            sys.exit('No credentials with access key %s'
                     % CONF.category.access_key)


class SnapshotCommands:

    def import_image(self, path, project, description=None, fmt='table'):
        """Import a raw or qcow2 disk image as a completed snapshot.

        Runs on the volume host, with its configuration: the snapshot row
        names ``CONF.host`` and the volume driver stores the data. The
        file is opened once and only read through that open file (see
        ``ebsboot.importfile``). The row is ``pending`` while the driver
        copies the image, then ``completed``; on failure it is ``error``
        (with the reason as its state message), the driver's copy is
        removed and the command exits with a non-zero status.
        """
        if not project:
            sys.exit('--project is required')
        try:
            source = importfile.open_source(path, block_devices=True)
        except importfile.RefusedFile as e:
            sys.exit('Cannot import %s: %s' % (path, e))
        with source:
            self._import(source, path, project, description, fmt)

    def _import(self, source, path, project, description, fmt):
        try:
            image = diskimage.inspect(source, CONF.qcow2.qemu_img)
        except exception.InvalidDiskImage as e:
            sys.exit('Cannot import %s: %s' % (path, e))
        size = diskimage.size_in_gib(image.virtual_size)
        if size > CONF.volume.max_volume_size:
            sys.exit('Cannot import %s: its %d GiB exceed [volume] '
                     'max_volume_size (%d GiB)'
                     % (image.path, size, CONF.volume.max_volume_size))
        if description is None:
            description = ('Imported from %s'
                           % os.path.basename(image.path))[:255]
        elif len(description) > 255:
            sys.exit('The description is longer than 255 characters')
        try:
            driver = volume_manager.load_driver()
            driver.do_setup()
        except Exception as e:
            sys.exit('Cannot set up the volume driver %s: %s'
                     % (CONF.volume.driver, e))

        ctxt = ebs_context.get_admin_context()
        snapshot = db.snapshot_create(ctxt, {
            'id': str(uuid.uuid4()),
            'ec2_id': ec2ids.new_id('snap'),
            'project_id': project,
            'volume_id': None,
            # What AWS shows as the volume of an imported snapshot.
            'volume_ec2_id': 'vol-ffffffff',
            'volume_size': size,
            'status': 'pending',
            'host': CONF.host,
            'progress': 0,
            'description': description,
        })
        fields = {field: getattr(snapshot, field)
                  for field in volume_manager.SNAPSHOT_FIELDS}
        try:
            update = driver.import_snapshot(fields, source, image.format)
            db.snapshot_update(ctxt, snapshot.id,
                               dict(update or {}, status='completed',
                                    progress=100),
                               expected_status='pending')
        except BaseException as e:
            reason = str(e) or e.__class__.__name__
            if isinstance(e, db.ConflictError):
                reason = ('the snapshot changed state during the import '
                          '(did the volume service restart?)')
            self._failed(ctxt, driver, snapshot, fields, reason)
            if not isinstance(e, Exception):
                raise
            sys.exit('Importing %s as snapshot %s failed: %s'
                     % (image.path, snapshot.ec2_id, reason))
        _print({'snapshot_id': snapshot.ec2_id}, fmt, ('snapshot_id',))

    @staticmethod
    def _failed(ctxt, driver, snapshot, fields, reason):
        """Remove what the driver made and mark the snapshot failed."""
        try:
            driver.delete_snapshot(fields)
        except Exception as e:
            print('Could not remove the data of snapshot %s: %s'
                  % (snapshot.ec2_id, e), file=sys.stderr)
        try:
            db.snapshot_update(ctxt, snapshot.id,
                               {'status': 'error',
                                'state_message': reason[:255]},
                               expected_status='pending')
        except db.ConflictError:
            pass


class ImageCommands:

    def import_image(self, kind, path, project, name=None, description=None,
                     architecture=None, public=False, fmt='table'):
        """Import a kernel (``aki``) or ramdisk (``ari``) image file.

        The image backend stores the data (the ``local`` backend in
        ``state_path``: run this where the services' state is). The image
        is named after the file unless ``name`` is given.
        """
        if not project:
            sys.exit('--project is required')
        name = name or os.path.basename(path)
        try:
            image = cloud_images.import_boot_image(
                ebs_context.RequestContext(project_id=project,
                                           overwrite=False),
                kind, path, name, description=description,
                architecture=architecture, public=public)
        except exception.EC2Error as e:
            sys.exit('Cannot import %s: %s' % (path, e.msg))
        except OSError as e:
            sys.exit('Cannot import %s: %s' % (path, e))
        _print({'image_id': cloud_images.image_ec2_id(image)}, fmt,
               ('image_id',))


def _format_arg(parser):
    parser.add_argument('--format', choices=('table', 'json'),
                        default='table')


def add_command_parsers(subparsers):
    db_parser = subparsers.add_parser('db', help='Database schema')
    db_sub = db_parser.add_subparsers(dest='action')
    db_sub.required = True
    db_sub.add_parser('sync', help='Create or upgrade the schema').\
        set_defaults(func=lambda: DbCommands().sync())
    db_sub.add_parser('version', help='Print the schema version').\
        set_defaults(func=lambda: DbCommands().version())

    cred = subparsers.add_parser('credentials', help='EC2 access keys')
    cred_sub = cred.add_subparsers(dest='action')
    cred_sub.required = True
    create = cred_sub.add_parser('create', help='New key pair of a project')
    create.add_argument('--project', required=True)
    _format_arg(create)
    create.set_defaults(func=lambda: CredentialCommands().create())
    listing = cred_sub.add_parser('list', help='List key pairs')
    listing.add_argument('--project')
    _format_arg(listing)
    listing.set_defaults(func=lambda: CredentialCommands().list())
    delete = cred_sub.add_parser('delete', help='Delete a key pair')
    delete.add_argument('access_key')
    delete.set_defaults(func=lambda: CredentialCommands().delete())

    snap = subparsers.add_parser('snapshot', help='EBS snapshots')
    snap_sub = snap.add_subparsers(dest='action')
    snap_sub.required = True
    imp = snap_sub.add_parser(
        'import', help='Import a raw or qcow2 disk image as a completed '
                       'snapshot of a project (run on the volume host)')
    imp.add_argument('file', help='Disk image file (raw or qcow2)')
    imp.add_argument('--project', required=True,
                     help='Project that owns the snapshot')
    imp.add_argument('--description',
                     help='Snapshot description (default: "Imported from '
                          '<file name>")')
    _format_arg(imp)
    imp.set_defaults(func=lambda: SnapshotCommands().import_image(
        CONF.category.file, CONF.category.project,
        CONF.category.description, CONF.category.format))

    image = subparsers.add_parser('image', help='Kernel and ramdisk images')
    image_sub = image.add_subparsers(dest='action')
    image_sub.required = True
    for kind, what in ((bootfiles.KERNEL, 'kernel'),
                       (bootfiles.RAMDISK, 'ramdisk')):
        _image_import_parser(image_sub, kind, what)


def _image_import_parser(subparsers, kind, what):
    imp = subparsers.add_parser(
        'import-' + what,
        help='Import a Linux %s file as an %s- image of a project, for '
             'the KernelId/RamdiskId of a direct kernel boot' % (what, kind))
    imp.add_argument('file', help='The %s file' % what)
    imp.add_argument('--project', required=True,
                     help='Project that owns the image')
    # (Not dest "name": oslo.config's sub-command attribute has its own.)
    imp.add_argument('--name', dest='image_name',
                     help='Image name (default: the file name)')
    imp.add_argument('--description', help='Image description')
    imp.add_argument('--architecture',
                     choices=cloud_images.ARCHITECTURES,
                     help='Architecture (default: from the kernel header; '
                          'x86_64 for a ramdisk)')
    imp.add_argument('--public', action='store_true',
                     help='Let every project launch it')
    _format_arg(imp)
    imp.set_defaults(func=lambda: ImageCommands().import_image(
        kind, CONF.category.file, CONF.category.project,
        name=CONF.category.image_name, description=CONF.category.description,
        architecture=CONF.category.architecture,
        public=CONF.category.public, fmt=CONF.category.format))


category_opt = cfg.SubCommandOpt('category', title='Commands',
                                 handler=add_command_parsers)


def main(argv=None):
    argv = argv if argv is not None else sys.argv
    CONF.register_cli_opt(category_opt)
    conf.parse_args(argv)
    try:
        fileperms.protect_state(CONF)
    except fileperms.QemuGroupError as e:
        sys.exit(str(e))
    CONF.category.func()
