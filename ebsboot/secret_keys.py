"""EC2 secret keys at rest: Fernet tokens under ``[credentials] key_file``.

The database holds a Fernet token (AES-128-CBC and HMAC-SHA256) of each
secret key, never the key itself, so a copy of the database alone gives
away no credential. The key file is made (0600, whole or not at all) the
first time a secret is encrypted; decrypting never makes one, as a new key
could not read the tokens of the old. One Fernet object per key file and
process, and the tokens it decrypted are remembered: the API looks up one
per request, and a Fernet decryption (HMAC, AES, base64) costs more than
the rest of the lookup. A deleted credential is not found in the database
any more, so a remembered token never outlives its row's use.
"""

import binascii
import functools
import os
import threading

from cryptography import fernet

from ebsboot.conf import CONF
from ebsboot import exception
from ebsboot import fileperms

_lock = threading.Lock()
_fernets = {}


class KeyFileError(exception.EbsbootException):
    """The key file is missing, unreadable or not a Fernet key."""


class WrongKeyError(exception.EbsbootException):
    """A stored secret key was not encrypted with the key file's key."""


def _key_file(conf):
    return conf.credentials.key_file


def _read_key(path):
    try:
        with open(path, 'rb') as f:
            key = f.read().strip()
    except OSError as e:
        raise KeyFileError('Cannot read the credential key file %s '
                           '([credentials] key_file): %s'
                           % (path, e.strerror or e))
    try:
        return fernet.Fernet(key)
    except (ValueError, binascii.Error):
        raise KeyFileError('%s ([credentials] key_file) holds no Fernet key'
                           % path)


def _write_new_key(path):
    """Write a new key to ``path`` unless another process just did."""
    folder = os.path.dirname(path) or '.'
    if not os.path.isdir(folder):
        fileperms.private_dir(folder)
    tmp = os.path.join(folder, '.%s.%d.tmp' % (os.path.basename(path),
                                               os.getpid()))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                 fileperms.PRIVATE_FILE)
    try:
        os.write(fd, fernet.Fernet.generate_key() + b'\n')
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        # link() never replaces: of two processes, one key wins.
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)


def get_fernet(conf=CONF, create=False):
    """The Fernet object of the key file (read once per process)."""
    return _fernet(_key_file(conf), create)


def _fernet(path, create=False):
    with _lock:
        found = _fernets.get(path)
        if found is None:
            if create and not os.path.exists(path):
                _write_new_key(path)
            found = _fernets[path] = _read_key(path)
        return found


def reset():
    """Forget the keys read (tests; a key file that was replaced)."""
    with _lock:
        _fernets.clear()
    _decrypt.cache_clear()


def encrypt(secret, conf=CONF):
    """The token to store for ``secret``; makes the key file if needed."""
    return get_fernet(conf, create=True).encrypt(
        secret.encode('utf-8')).decode('ascii')


def decrypt(token, conf=CONF, access_key=None):
    """The secret key a stored token holds.

    :raises WrongKeyError: the token is not one of this key file's (or
        not a token): the message names the access key, never a secret.
    """
    try:
        return _decrypt(_key_file(conf), token)
    except (fernet.InvalidToken, UnicodeError):
        raise WrongKeyError(
            'The secret key of access key %s cannot be decrypted with the '
            'key in %s ([credentials] key_file): the file is not the one '
            'the secret was stored with.' % (access_key, _key_file(conf)))


@functools.lru_cache(maxsize=4096)
def _decrypt(path, token):
    # (``path`` keys the cache: a token of another key file is another.)
    return _fernet(path).decrypt(token.encode('ascii')).decode('utf-8')


def is_token(value, conf=CONF):
    """Whether a stored value is a token of this key file (not a secret)."""
    try:
        get_fernet(conf).decrypt(value.encode('ascii'))
        return True
    except (fernet.InvalidToken, UnicodeError):
        return False
