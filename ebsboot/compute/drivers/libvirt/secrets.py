"""The libvirt secret that lets QEMU open RBD disks as a cephx user.

Cinder's ``rbd`` connection info names the cephx user (``auth_username``)
and the uuid of a libvirt secret (``secret_uuid``, Cinder's
``rbd_secret_uuid``) but never the key: each compute host holds the key of
that user itself, in the file ``[libvirt] rbd_keyring_file`` names (a Ceph
keyring, as ``ceph auth get-or-create client.USER ... -o FILE`` writes it,
or a file holding only the base64 key, as ``ceph auth get-key`` prints
it). Before a guest opens an RBD disk, the host defines that secret (not
ephemeral, private: libvirt does not show its value; usage ``ceph``,
``client.USER secret UUID``) with the key as its value. The key never
reaches the logs.
"""

import base64
import binascii
import configparser
from xml.sax import saxutils

from oslo_log import log as logging

from ebsboot import exception

LOG = logging.getLogger(__name__)

_SECRET_XML = """<secret ephemeral='no' private='yes'>
  <uuid>%(uuid)s</uuid>
  <usage type='ceph'><name>%(usage)s</name></usage>
</secret>"""


def read_key(path, username):
    """The raw cephx key of ``client.<username>`` from ``path``."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError as e:
        raise exception.VolumeDriverError(
            'cannot read the cephx key file %s: %s' % (path, e.strerror))
    key = text.strip()
    if '[' in text:
        parser = configparser.ConfigParser(strict=False)
        try:
            parser.read_string(text)
            key = parser.get('client.%s' % username, 'key').strip()
        except (configparser.Error, ValueError):
            raise exception.VolumeDriverError(
                '%s has no key of client.%s' % (path, username))
    try:
        return base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        raise exception.VolumeDriverError(
            'the key of client.%s in %s is not base64' % (username, path))


def ensure_ceph_secret(conn, libvirt, secret_uuid, username, key_file):
    """Define (or update) the ceph secret ``secret_uuid`` on ``conn``."""
    if not key_file:
        raise exception.VolumeDriverError(
            'an RBD disk of cephx user %s needs [libvirt] rbd_keyring_file '
            'on the compute host' % username)
    key = read_key(key_file, username)
    # libvirt wants one secret per usage: with the uuid in it, two
    # Cinder backends (or a new rbd_secret_uuid) never collide.
    usage = 'client.%s secret %s' % (username, secret_uuid)
    try:
        secret = conn.secretLookupByUUIDString(secret_uuid)
    except libvirt.libvirtError:
        secret = None
    if secret is None:
        try:
            secret = conn.secretDefineXML(_SECRET_XML % {
                'uuid': saxutils.escape(secret_uuid),
                'usage': saxutils.escape(usage)})
        except libvirt.libvirtError as e:
            raise exception.VolumeDriverError(
                'cannot define the libvirt secret %s of client.%s: %s' % (
                    secret_uuid, username, e.get_error_message()))
        LOG.info('Defined the libvirt secret %s of client.%s',
                 secret_uuid, username)
    # Set every time: the key file may have been rotated.
    secret.setValue(key)
