"""EC2 key pairs: SSH public keys a project launches instances with.

CreateKeyPair makes the key here and hands its private half back once;
only the public key is stored. Fingerprints are computed as EC2 does,
so they match what AWS users compare with their local tools:

* a created RSA key: SHA-1 of the private key in PKCS#8 DER
  (``openssl pkcs8 -topk8 -nocrypt -outform DER | openssl sha1 -c``);
* an imported RSA key: MD5 of the public key in DER (SubjectPublicKeyInfo,
  ``openssl pkey -pubout -outform DER | openssl md5 -c``);
* an ed25519 key, created or imported: base64 of the SHA-256 of the SSH
  public key blob (what ``ssh-keygen -l`` shows after ``SHA256:``).
"""

import base64
import binascii
import hashlib
import re
import uuid

from cryptography import exceptions as crypto_exceptions
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives import serialization
from oslo_log import log as logging

from ebsboot.cloud import ec2ids
from ebsboot.db import api as db
from ebsboot import exception

LOG = logging.getLogger(__name__)

KEY_TYPES = ('rsa', 'ed25519')
KEY_FORMATS = ('pem', 'ppk')
#: AWS's limit on a key pair's name: up to 255 ASCII characters.
MAX_NAME_LENGTH = 255
RSA_SIZES = (1024, 2048, 4096)
_RFC4716 = re.compile(
    r'-{4} BEGIN SSH2 PUBLIC KEY -{4}(.*)-{4} END SSH2 PUBLIC KEY -{4}',
    re.S)


def check_name(name):
    if not name:
        raise exception.MissingParameter(param='KeyName')
    if (len(name) > MAX_NAME_LENGTH or not name.isascii() or
            not name.isprintable()):
        raise exception.InvalidParameterValue(
            "Value (%s) for parameter keyName is invalid. Key pair names "
            "are up to %d printable ASCII characters."
            % (name[:MAX_NAME_LENGTH], MAX_NAME_LENGTH))


def _colons(digest):
    return ':'.join('%02x' % b for b in digest)


def openssh_public_key(public_key):
    """``<type> <base64>`` of a cryptography public key."""
    return public_key.public_bytes(
        serialization.Encoding.OpenSSH,
        serialization.PublicFormat.OpenSSH).decode('ascii')


def ed25519_fingerprint(public_key):
    blob = base64.b64decode(openssh_public_key(public_key).split()[1])
    return base64.b64encode(hashlib.sha256(blob).digest()).decode('ascii')


def created_fingerprint(private_key):
    """The fingerprint EC2 gives a key pair it made."""
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        return ed25519_fingerprint(private_key.public_key())
    der = private_key.private_bytes(serialization.Encoding.DER,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    return _colons(hashlib.sha1(der).digest())


def imported_fingerprint(public_key):
    """The fingerprint EC2 gives an imported public key."""
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return ed25519_fingerprint(public_key)
    der = public_key.public_bytes(
        serialization.Encoding.DER,
        serialization.PublicFormat.SubjectPublicKeyInfo)
    return _colons(hashlib.md5(der, usedforsecurity=False).digest())


def generate(key_type):
    """``(private key, PEM text of it)`` of a new key.

    RSA keys are 2048 bits in PKCS#1 PEM (``BEGIN RSA PRIVATE KEY``) and
    ed25519 keys in the OpenSSH format, as EC2 hands them out.
    """
    if key_type == 'ed25519':
        key = ed25519.Ed25519PrivateKey.generate()
        fmt = serialization.PrivateFormat.OpenSSH
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        fmt = serialization.PrivateFormat.TraditionalOpenSSL
    pem = key.private_bytes(serialization.Encoding.PEM, fmt,
                            serialization.NoEncryption())
    return key, pem.decode('ascii')


def _invalid_format(reason):
    return exception.InvalidKeyFormat(
        'Key is not in valid OpenSSH public key format (%s).' % reason)


def parse_public_key(material):
    """The cryptography public key of ImportKeyPair's material.

    Accepted as EC2 does: OpenSSH public key format (``ssh-rsa AAAA...``),
    the SSH2 format of RFC 4716, and base64 DER or PEM of the public key;
    RSA of 1024, 2048 or 4096 bits, or ed25519.
    """
    try:
        text = material.decode('ascii').strip()
    except UnicodeDecodeError:
        text = None
    key = None
    try:
        if text is None:
            key = serialization.load_der_public_key(material)
        elif text.startswith('-----BEGIN PUBLIC KEY-----'):
            key = serialization.load_pem_public_key(text.encode())
        elif text.startswith('---- BEGIN SSH2 PUBLIC KEY ----'):
            body = _RFC4716.search(text)
            if body is None:
                raise ValueError('no END line')
            lines = [line.strip() for line in body.group(1).splitlines()
                     if line.strip()]
            blob, joined = [], False
            for line in lines:
                # Headers ("Comment: ..."), possibly continued with "\".
                if joined or (':' in line and not blob):
                    joined = line.endswith('\\')
                    continue
                blob.append(line)
            data = base64.b64decode(''.join(blob), validate=True)
            kind = data[4:4 + int.from_bytes(data[:4], 'big')].decode()
            key = serialization.load_ssh_public_key(
                ('%s %s' % (kind, ''.join(blob))).encode())
        elif text.startswith(('ssh-rsa ', 'ssh-ed25519 ')):
            key = serialization.load_ssh_public_key(
                ' '.join(text.split()[:2]).encode())
        else:
            key = serialization.load_der_public_key(
                base64.b64decode(text, validate=True))
    except (ValueError, TypeError, IndexError, binascii.Error,
            UnicodeDecodeError, crypto_exceptions.UnsupportedAlgorithm) as e:
        raise _invalid_format(str(e) or type(e).__name__)
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size not in RSA_SIZES:
            raise _invalid_format('RSA keys are 1024, 2048 or 4096 bits, '
                                  'not %d' % key.key_size)
    elif not isinstance(key, ed25519.Ed25519PublicKey):
        raise _invalid_format('only RSA and ED25519 keys are supported')
    return key


def key_type_of(public_key):
    return 'ed25519' if isinstance(public_key,
                                   ed25519.Ed25519PublicKey) else 'rsa'


def _store(context, name, key_type, fingerprint, public_key, tags):
    values = {'id': str(uuid.uuid4()), 'ec2_id': ec2ids.new_id('key'),
              'project_id': context.project_id, 'name': name,
              'key_type': key_type, 'fingerprint': fingerprint,
              'public_key': openssh_public_key(public_key)}
    try:
        return db.key_pair_create(context, values, tags)
    except db.DuplicateError:
        raise exception.InvalidKeyPairDuplicate(name=name)


def create_key_pair(context, name, key_type='rsa', key_format='pem',
                    tags=None):
    """``(row, private key PEM)`` of a new key pair.

    The private key is not kept: this is the only time it is seen.
    """
    check_name(name)
    if key_type not in KEY_TYPES:
        raise exception.InvalidParameterValue(
            "Value (%s) for parameter keyType is invalid. Valid values are "
            "%s." % (key_type, ', '.join(KEY_TYPES)))
    if key_format not in KEY_FORMATS:
        raise exception.InvalidParameterValue(
            "Value (%s) for parameter keyFormat is invalid. Valid values "
            "are %s." % (key_format, ', '.join(KEY_FORMATS)))
    if key_format == 'ppk':
        raise exception.UnsupportedOperation(
            'This cloud returns private keys in the pem format only; '
            'convert the key with puttygen for PuTTY.')
    if db.key_pair_get_by_name(context, name) is not None:
        raise exception.InvalidKeyPairDuplicate(name=name)
    key, pem = generate(key_type)
    row = _store(context, name, key_type, created_fingerprint(key),
                 key.public_key(), tags)
    LOG.info('Created key pair %s (%s)', row.ec2_id, key_type)
    return row, pem


def import_key_pair(context, name, material, tags=None):
    """The row of an imported public key (``material``: bytes)."""
    check_name(name)
    if not material:
        raise exception.MissingParameter(param='PublicKeyMaterial')
    key = parse_public_key(material)
    row = _store(context, name, key_type_of(key), imported_fingerprint(key),
                 key, tags)
    LOG.info('Imported key pair %s', row.ec2_id)
    return row


def _check_id(ec2_id):
    if not ec2ids.is_valid('key', ec2_id):
        raise exception.InvalidKeyPairIDMalformed(id=ec2_id)


def list_key_pairs(context, names=None, ec2_ids=None):
    """The project's key pairs, or exactly those named (NotFound)."""
    for ec2_id in ec2_ids or ():
        _check_id(ec2_id)
    rows = db.key_pair_list(
        context, ec2_ids=list(set(ec2_ids)) if ec2_ids else None,
        names=list(set(names)) if names else None)
    for wanted, attribute in ((names, 'name'), (ec2_ids, 'ec2_id')):
        found = {getattr(row, attribute) for row in rows}
        for value in wanted or ():
            if value not in found:
                raise exception.InvalidKeyPairNotFound(name=value)
    return rows


def get_key_pair(context, name):
    """The project's key pair of ``name`` (RunInstances' KeyName)."""
    row = db.key_pair_get_by_name(context, name)
    if row is None:
        raise exception.InvalidKeyPairNotFound(name=name)
    return row


def delete_key_pair(context, name=None, ec2_id=None):
    """Delete a key pair; the row deleted, or None if there was none.

    As in EC2, a name that names nothing is no error; an id is checked.
    """
    if not name and not ec2_id:
        raise exception.MissingParameter(param='KeyName')
    if ec2_id:
        _check_id(ec2_id)
        rows = db.key_pair_list(context, ec2_ids=[ec2_id])
        if name:
            rows = [row for row in rows if row.name == name]
        if not rows:
            raise exception.InvalidKeyPairNotFound(name=ec2_id)
    else:
        rows = db.key_pair_list(context, names=[name])
    if not rows:
        return None
    db.key_pair_destroy(context, rows[0].id)
    LOG.info('Deleted key pair %s', rows[0].ec2_id)
    return rows[0]
