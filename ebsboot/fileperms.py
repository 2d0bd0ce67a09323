"""Who may read ebsboot's files: its own user, and QEMU where it must.

Every ebsboot process runs with umask 077 (``restrict_umask``), so what it
creates, and what the tools it runs create (qemu-img, genisoimage), is
``0600`` or ``0700``. A guest's files (its volumes and their backing
snapshots, kernel, ramdisk, config drive) stay so: libvirt's dynamic
ownership hands each of them to QEMU's user while the guest runs. libvirt
does not do that for folders, and QEMU opens the files by their path, so
the folders on the way to them are ``0750`` with QEMU's group
(``qemu_dir``); every other folder is ``0700`` (``private_dir``).

Serial consoles are written by virtlogd (root), not by QEMU, so their
folder is private too.
"""

import grp
import os

from oslo_log import log as logging
import sqlalchemy as sa

from ebsboot.conf import CONF

LOG = logging.getLogger(__name__)

UMASK = 0o077
PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
QEMU_DIR = 0o750
# Groups QEMU runs with under libvirt, tried when [DEFAULT] qemu_group is
# not set: Debian's and Ubuntu's, then Fedora's and RHEL's.
QEMU_GROUPS = ('libvirt-qemu', 'qemu')

_warned = set()


class QemuGroupError(Exception):
    """``[DEFAULT] qemu_group`` names no group of this host."""


def restrict_umask():
    """Files and folders this process creates are its user's only."""
    os.umask(UMASK)


def qemu_gid(conf=CONF):
    """The id of QEMU's group, or None when this host has none."""
    # (A private ConfigOpts of a driver's tests may lack the option.)
    group = conf.qemu_group if 'qemu_group' in conf else None
    if group:
        try:
            return grp.getgrnam(group).gr_gid
        except KeyError:
            raise QemuGroupError('[DEFAULT] qemu_group: no group %s on this '
                                 'host' % group)
    for name in QEMU_GROUPS:
        try:
            return grp.getgrnam(name).gr_gid
        except KeyError:
            pass
    return None


def private_dir(path):
    """Make ``path`` (and missing parents) a folder of ebsboot's only."""
    _make_dir(path, PRIVATE_DIR, None)


def qemu_dir(path, conf=CONF):
    """Make ``path`` (and missing parents) a folder QEMU may traverse.

    ``0750`` with QEMU's group; ``0700`` on a host without that group
    (a host without libvirt) or where ebsboot may not give it away.
    """
    _make_dir(path, QEMU_DIR, qemu_gid(conf))


def _make_dir(path, mode, gid):
    missing = []
    parent = os.path.abspath(path)
    while not os.path.isdir(parent):
        missing.append(parent)
        parent = os.path.dirname(parent)
    os.makedirs(path, exist_ok=True)
    # The folder itself also when it was there: an older ebsboot left
    # its folders 0755.
    for folder in missing or [os.path.abspath(path)]:
        _set_mode(folder, mode, gid)


def _set_mode(folder, mode, gid):
    if mode == QEMU_DIR:
        try:
            if gid is None:
                raise PermissionError('no group of QEMU on this host')
            if os.stat(folder).st_gid != gid:
                os.chown(folder, -1, gid)
        except PermissionError as e:
            _warn_once(folder, 'Folder %s stays 0700, so QEMU cannot reach '
                               'it: %s', folder, e)
            mode = PRIVATE_DIR
    try:
        if os.stat(folder).st_mode & 0o7777 != mode:
            os.chmod(folder, mode)
    except PermissionError as e:
        _warn_once(folder, 'Cannot make %s %o: %s', folder, mode, e)


def private_file(path):
    """Make an existing file ``0600`` (an older ebsboot made it 0644)."""
    try:
        if os.stat(path).st_mode & 0o777 != PRIVATE_FILE:
            os.chmod(path, PRIVATE_FILE)
    except FileNotFoundError:
        pass


def no_world_access(path):
    """Take every right of other users away from an existing file."""
    try:
        mode = os.stat(path).st_mode & 0o7777
        if mode & 0o007:
            os.chmod(path, mode & ~0o007)
    except FileNotFoundError:
        pass


def sqlite_files(conf=CONF):
    """The SQLite database file and its WAL and shared-memory files."""
    url = sa.engine.make_url(conf.database.connection)
    if url.get_backend_name() != 'sqlite' or \
            url.database in (None, '', ':memory:'):
        return []
    return [url.database + suffix for suffix in ('', '-wal', '-shm')]


def protect_state(conf=CONF):
    """At a process' start: the umask, ``state_path`` and its old files.

    ``state_path`` holds the QEMU-facing folders by default, so QEMU may
    traverse it; the database, the credential key and the log file are
    for ebsboot only (SQLite gives its WAL the database's mode).
    """
    restrict_umask()
    qemu_dir(conf.state_path, conf)
    for path in sqlite_files(conf) + [conf.credentials.key_file]:
        private_file(path)
    if conf.log_file:
        no_world_access(os.path.join(conf.log_dir or '', conf.log_file))


def _warn_once(key, message, *args):
    if key not in _warned:
        _warned.add(key)
        LOG.warning(message, *args)
