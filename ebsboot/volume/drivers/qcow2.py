"""qcow2 files on a local filesystem: the embedded default volume backend.

Layout (``[qcow2]`` options)::

    <volumes_dir>/volume-<id>.qcow2        a volume
    <snapshots_dir>/snapshot-<id>.qcow2    a snapshot (never written again)
    <snapshots_dir>/snapshot-<id>.deps/    one empty file per dependent:
                       volume-<id>         a volume made from the snapshot
                       snapshot-<id>       a later snapshot backed by it
    <snapshots_dir>/snapshot-<id>.deleted  DeleteSnapshot was called
    <snapshots_dir>/templates/snapshot-<id>-<size>G.qcow2
                                           an empty overlay of the snapshot
    <volumes_dir>/overlays/volume-<id>.snapshot-<id>.qcow2
                                           what a running guest writes
                                           while its volume is copied

* A volume made from a snapshot is a copy-on-write overlay whose backing
  file is the snapshot (``qemu-img create -b``), so it costs the same
  whatever the snapshot's size.
* The first volume of a given size made from a snapshot has ``qemu-img``
  make an empty overlay, the snapshot's *template*; that volume and every
  later one are copies of it. The overlay is the same bytes whatever its
  name, so a copy is the file ``qemu-img create`` would have made, at a
  fraction of the cost of a process per volume (a RunInstances of 100).
  Templates go when their snapshot is removed.
* A snapshot is a ``qemu-img convert`` of the volume into a new file; the
  volume's file is only read (with ``-U``: a running guest may hold it), so
  its identity never changes. When the volume is an overlay on snapshot P,
  the copy keeps P as its backing file (``-B``) and holds only the clusters
  the volume wrote since it was made from P.
* An imported snapshot is a ``qemu-img convert`` of the operator's image,
  read through the file the import opened: raw data straight from it, a
  qcow2 image from an unnamed private copy in the snapshots folder (see
  ``import_snapshot``).
* A snapshot of a volume a running guest uses is taken with the compute
  host's help (see ``ebsboot.volume.live``): the guest switches to an
  overlay backed by the volume file, the frozen volume file is copied as
  above, and the overlay is merged back and removed. Whether an overlay
  exists is what records that the snapshot took this path.
* Files are written under a hidden temporary name in the same folder and
  renamed once complete and flushed: a crash never leaves half a file under
  the final name, and a retry overwrites what an earlier attempt left.

Dependency tracking. A snapshot file may be the backing file of volumes and
of later snapshots, and EC2 lets users delete a snapshot that still has
volumes. The driver therefore counts the dependents of each snapshot itself,
on disk, so that the count survives restarts:

1. Before a child file backed by snapshot P is written, the marker
   ``snapshot-P.deps/<child>`` is created (and flushed). A file backed by P
   thus never exists without its marker.
2. ``delete_snapshot`` creates ``snapshot-P.deleted`` and then collects P.
3. Deleting a child (volume or snapshot) removes its file first, then its
   marker in the parent's ``.deps`` folder (found by name, so this also
   works when a retry finds the file already gone), then collects the
   parent.
4. Collecting P: if ``snapshot-P.deleted`` exists and ``snapshot-P.deps/``
   is empty, remove P's file, release P's own marker in its parent, remove
   the ``.deps`` folder and then the ``.deleted`` marker, and collect P's
   parent the same way (up the chain).

Every step is idempotent; ``do_setup`` collects every snapshot that still
has a ``.deleted`` marker, which finishes a collection a crash interrupted.
The bookkeeping runs under a lock of the driver (one volume service owns a
store).

Backing chains are validated before a file is handed to qemu-img as a
backing file or to a compute host (see ``_validate_chain``): a qcow2 file can
name any file as its backing file or data file, and a raw file may be probed
as qcow2, which would expose host files to a guest. A snapshot's chain is
validated once per process (snapshot files never change); a volume handed
to a compute host has its own header read in Python and must be backed by
such a snapshot or by nothing (only ebsboot writes volume headers; guests
write data clusters).
"""

from concurrent import futures
import contextlib
import glob
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading

from oslo_concurrency import processutils
from oslo_log import log as logging
from oslo_utils import units

from ebsboot import exception
from ebsboot import fileperms
from ebsboot import importfile
from ebsboot.volume import diskimage
from ebsboot.volume import driver

LOG = logging.getLogger(__name__)

VERSION = '1.0.0'


_SAFE_ID = re.compile(r'[0-9A-Za-z][0-9A-Za-z_-]*')
_VOLUME = 'volume-%s'
_SNAPSHOT = 'snapshot-%s'
_EXT = '.qcow2'
_DEPS = '.deps'
_DELETED = '.deleted'
_TEMPLATES = 'templates'
_OVERLAYS = 'overlays'
_PROGRESS = re.compile(rb'\((\d+(?:\.\d+)?)/100%\)')
# Volume files flushed at the same time by create_volumes_from_snapshot.
FLUSH_WORKERS = 8


def _check_id(resource_id):
    if not isinstance(resource_id, str) or not _SAFE_ID.fullmatch(
            resource_id):
        raise exception.VolumeDriverError('invalid id %r' % (resource_id,))
    return resource_id


def _id_from(name, suffix):
    """The id in ``snapshot-<id><suffix>``, or None."""
    prefix = _SNAPSHOT % ''
    if not (name.startswith(prefix) and name.endswith(suffix)):
        return None
    snapshot_id = name[len(prefix):-len(suffix)]
    return snapshot_id if _SAFE_ID.fullmatch(snapshot_id) else None


def _tmp_path(path):
    folder, name = os.path.split(path)
    return os.path.join(folder, '.%s.tmp' % name)


def _remove(path):
    """Remove a file; True if it existed."""
    try:
        os.unlink(path)
        return True
    except FileNotFoundError:
        return False


def _fsync(path, directory=False):
    flags = os.O_RDONLY | (os.O_DIRECTORY if directory else 0)
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _inside(path, folder):
    return (path != folder and
            os.path.commonpath([path, folder]) == folder)


class Qcow2Driver(driver.VolumeDriver):
    """Volumes and snapshots as qcow2 files, attached with LocalConnector."""

    supports_live_snapshot = True

    def __init__(self, conf):
        super().__init__(conf)
        self._lock = threading.Lock()
        # Snapshots whose backing chain was validated by this process.
        self._trusted = set()

    # Paths -------------------------------------------------------------------

    @property
    def volumes_dir(self):
        return self.conf.qcow2.volumes_dir

    @property
    def snapshots_dir(self):
        return self.conf.qcow2.snapshots_dir

    def _volume_path(self, volume_id):
        return os.path.join(self.volumes_dir,
                            _VOLUME % _check_id(volume_id) + _EXT)

    def _snapshot_path(self, snapshot_id):
        return os.path.join(self.snapshots_dir,
                            _SNAPSHOT % _check_id(snapshot_id) + _EXT)

    def _overlay_path(self, volume_id, snapshot_id):
        return os.path.join(self.volumes_dir, _OVERLAYS,
                            _VOLUME % _check_id(volume_id) + '.' +
                            _SNAPSHOT % _check_id(snapshot_id) + _EXT)

    def _deps_dir(self, snapshot_id):
        return os.path.join(self.snapshots_dir,
                            _SNAPSHOT % _check_id(snapshot_id) + _DEPS)

    def _template_path(self, snapshot_id, size):
        return os.path.join(self.snapshots_dir, _TEMPLATES,
                            _SNAPSHOT % _check_id(snapshot_id) +
                            '-%dG' % size + _EXT)

    def _deleted_marker(self, snapshot_id):
        return os.path.join(self.snapshots_dir,
                            _SNAPSHOT % _check_id(snapshot_id) + _DELETED)

    # Commands ----------------------------------------------------------------

    def _execute(self, *cmd, pass_fds=None, **kwargs):
        try:
            if pass_fds:
                return diskimage.execute(cmd, pass_fds=pass_fds)
            return processutils.execute(*cmd, **kwargs)
        except processutils.ProcessExecutionError as e:
            raise exception.VolumeDriverError(
                '%s %s failed (exit code %s): %s' % (
                    cmd[0], cmd[1] if len(cmd) > 1 else '', e.exit_code,
                    (e.stderr or e.stdout or '').strip()))
        except OSError as e:
            raise exception.VolumeDriverError(
                'cannot run %s: %s' % (cmd[0], e))

    def _qemu_img(self, *args, **kwargs):
        return self._execute(self.conf.qcow2.qemu_img, *args, **kwargs)

    def _convert(self, args, progress=None):
        """``qemu-img convert args``, reporting its percentage done."""
        if progress is None:
            return self._qemu_img('convert', *args)
        cmd = [self.conf.qcow2.qemu_img, 'convert', '-p'] + list(args)
        try:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE)
        except OSError as e:
            raise exception.VolumeDriverError(
                'cannot run %s: %s' % (cmd[0], e))
        with proc:
            # qemu-img ends each progress line with a carriage return.
            for chunk in iter(lambda: proc.stdout.read1(4096), b''):
                for match in _PROGRESS.finditer(chunk):
                    progress(float(match.group(1)))
            err = proc.stderr.read()
        if proc.returncode:
            raise exception.VolumeDriverError(
                '%s convert failed (exit code %s): %s' % (
                    cmd[0], proc.returncode,
                    err.decode(errors='replace').strip()))

    def _write_atomically(self, path, write):
        """Run ``write(tmp)``, flush tmp and rename it to ``path``."""
        tmp = _tmp_path(path)
        _remove(tmp)
        try:
            write(tmp)
            _fsync(tmp)
            os.rename(tmp, path)
        except BaseException:
            _remove(tmp)
            raise
        _fsync(os.path.dirname(path), directory=True)

    # Backing chains ----------------------------------------------------------

    def _validate_chain(self, path):
        """Return the backing chain of ``path`` if it stays in the store.

        Raise ``UnsafeBackingChain`` unless every image of the chain is a
        qcow2 file whose real path is inside ``volumes_dir`` or
        ``snapshots_dir``, without an external data file, and records
        qcow2 as the format of its backing file. The chain is a list of
        ``qemu-img info`` dicts, ``path`` first.
        """
        argv, kwargs = diskimage.limited([
            self.conf.qcow2.qemu_img, 'info', '--output=json',
            '--backing-chain', '-U', path])
        out, _err = self._execute(*argv, **kwargs)
        try:
            chain = json.loads(out)
        except ValueError:
            raise exception.VolumeDriverError(
                'qemu-img info gave no JSON for %s' % path)
        if isinstance(chain, dict):
            chain = [chain]
        if not chain:
            raise exception.UnsafeBackingChain('%s: empty chain' % path)
        store = [os.path.realpath(self.volumes_dir),
                 os.path.realpath(self.snapshots_dir)]
        for index, image in enumerate(chain):
            name = path if index == 0 else image.get('filename', '')
            reason = self._unsafe_reason(name, image, index > 0,
                                         index == len(chain) - 1, store)
            if reason:
                raise exception.UnsafeBackingChain(
                    'backing chain of %s: %s %s' % (path, name, reason))
        return chain

    def _trust_snapshot(self, snapshot_id):
        """Validate a snapshot's chain, once: snapshot files never change."""
        if snapshot_id not in self._trusted:
            self._validate_chain(self._snapshot_path(snapshot_id))
            self._trusted.add(snapshot_id)

    def _check_volume(self, path):
        """Validate a volume's own header; its backing snapshot's chain."""
        # As _validate_chain: the file itself (a symlink, say) must be in
        # the store.
        if not _inside(os.path.realpath(path),
                       os.path.realpath(self.volumes_dir)):
            raise exception.UnsafeBackingChain(
                '%s is outside the volume store' % path)
        try:
            header = diskimage.qcow2_header(path)
        except exception.InvalidDiskImage as e:
            raise exception.UnsafeBackingChain(str(e))
        if header.data_file is not None or header.encrypted:
            raise exception.UnsafeBackingChain(
                '%s has an external data file or encryption' % path)
        if header.backing_file is None:
            return
        # qemu resolves a relative name against the volume's folder (or
        # as a protocol), realpath against ours: only the absolute names
        # ebsboot writes.
        snapshot_id = None
        if os.path.isabs(header.backing_file) and \
                '\0' not in header.backing_file:
            folder, name = os.path.split(
                os.path.realpath(header.backing_file))
            if folder == os.path.realpath(self.snapshots_dir):
                snapshot_id = _id_from(name, _EXT)
        if snapshot_id is None or header.backing_format != 'qcow2':
            raise exception.UnsafeBackingChain(
                'backing file of %s: %s (%s) is not a snapshot' % (
                    path, header.backing_file, header.backing_format))
        self._trust_snapshot(snapshot_id)

    @staticmethod
    def _unsafe_reason(name, image, is_backing, is_last, store):
        """Why one image of a chain is unsafe, or None."""
        if image.get('format') != 'qcow2':
            return 'has format %s, not qcow2' % image.get('format')
        if is_backing and not os.path.isabs(name):
            return 'is not a plain file path'
        if not any(_inside(os.path.realpath(name), folder)
                   for folder in store):
            return 'is outside the volume store'
        data_file = image.get('format-specific', {}).get(
            'data', {}).get('data-file')
        if data_file:
            return 'has an external data file %s' % data_file
        if image.get('backing-filename'):
            if image.get('backing-filename-format') != 'qcow2':
                return 'has backing file %s of format %s, not qcow2' % (
                    image['backing-filename'],
                    image.get('backing-filename-format'))
            if is_last:
                return 'has a backing file that was not read'
        elif not is_last:
            return 'has no backing file but the chain goes on'
        return None

    def _backing_snapshot(self, chain):
        """Id of the snapshot that directly backs ``chain[0]``, or None."""
        if len(chain) < 2:
            return None
        folder, name = os.path.split(os.path.realpath(chain[1]['filename']))
        if folder != os.path.realpath(self.snapshots_dir):
            return None
        return _id_from(name, _EXT)

    # Dependency bookkeeping (see the module docstring) -----------------------

    def _add_dependent(self, snapshot_id, child, allow_deleted=False):
        """Record that ``child`` is (about to be) backed by the snapshot."""
        self._add_dependents(snapshot_id, [child], allow_deleted)

    def _add_dependents(self, snapshot_id, children, allow_deleted=False):
        """``_add_dependent`` of several children, with one flush."""
        with self._lock:
            if not os.path.exists(self._snapshot_path(snapshot_id)):
                raise exception.VolumeDriverError(
                    'snapshot %s does not exist' % snapshot_id)
            deps = self._deps_dir(snapshot_id)
            markers = [os.path.join(deps, child) for child in children]
            markers = [m for m in markers if not os.path.exists(m)]
            if not markers:
                return
            if (not allow_deleted and
                    os.path.exists(self._deleted_marker(snapshot_id))):
                raise exception.VolumeDriverError(
                    'snapshot %s is deleted' % snapshot_id)
            if not os.path.isdir(deps):
                os.makedirs(deps, exist_ok=True)
                _fsync(self.snapshots_dir, directory=True)
            for marker in markers:
                os.close(os.open(marker, os.O_WRONLY | os.O_CREAT,
                                 fileperms.PRIVATE_FILE))
            _fsync(deps, directory=True)

    def _drop_markers(self, child):
        """Remove ``child``'s markers; return the ids of its parents."""
        pattern = os.path.join(glob.escape(self.snapshots_dir),
                               _SNAPSHOT % '*' + _DEPS, child)
        parents = []
        for marker in glob.glob(pattern):
            _remove(marker)
            parent = _id_from(os.path.basename(os.path.dirname(marker)),
                              _DEPS)
            if parent is not None:
                parents.append(parent)
        return parents

    def _release(self, child):
        """Drop ``child``'s markers and collect its parents (lock held)."""
        for parent in self._drop_markers(child):
            self._collect(parent)

    def _collect(self, snapshot_id):
        """Remove a deleted snapshot that nothing depends on (lock held).

        Goes up the chain: removing a snapshot may free its parent.
        """
        pending = [snapshot_id]
        while pending:
            sid = pending.pop()
            if not os.path.exists(self._deleted_marker(sid)):
                continue
            deps = self._deps_dir(sid)
            dependents = os.listdir(deps) if os.path.isdir(deps) else []
            if dependents:
                LOG.info('Keeping deleted snapshot %s: %d dependents',
                         sid, len(dependents))
                continue
            path = self._snapshot_path(sid)
            if _remove(path):
                LOG.info('Removed snapshot file %s', path)
            _remove(_tmp_path(path))
            for template in glob.glob(os.path.join(
                    glob.escape(self.snapshots_dir), _TEMPLATES,
                    _SNAPSHOT % sid + '-*G' + _EXT)):
                _remove(template)
            self._trusted.discard(sid)
            pending.extend(self._drop_markers(_SNAPSHOT % sid))
            try:
                os.rmdir(deps)
            except FileNotFoundError:
                pass
            _remove(self._deleted_marker(sid))

    # VolumeDriver ------------------------------------------------------------

    def do_setup(self):
        # QEMU opens volumes and their backing snapshots, not templates.
        for folder in (self.volumes_dir, self.snapshots_dir):
            fileperms.qemu_dir(folder, self.conf)
        fileperms.private_dir(os.path.join(self.snapshots_dir, _TEMPLATES))
        # Finish collections a crash interrupted.
        pattern = os.path.join(glob.escape(self.snapshots_dir),
                               _SNAPSHOT % '*' + _DELETED)
        with self._lock:
            for marker in glob.glob(pattern):
                snapshot_id = _id_from(os.path.basename(marker), _DELETED)
                if snapshot_id is not None:
                    self._collect(snapshot_id)

    def check_for_setup_error(self):
        binary = self.conf.qcow2.qemu_img
        try:
            self._execute(binary, '--version')
        except exception.VolumeDriverError as e:
            raise exception.VolumeDriverError(
                'qemu-img is not usable ([qcow2] qemu_img = %s): %s; '
                'install qemu-utils' % (binary, e))
        for folder in (self.volumes_dir, self.snapshots_dir):
            if not os.path.isdir(folder):
                raise exception.VolumeDriverError(
                    'folder %s does not exist' % folder)
            if not os.access(folder, os.R_OK | os.W_OK | os.X_OK):
                raise exception.VolumeDriverError(
                    'folder %s is not writable' % folder)

    def create_volume(self, volume):
        path = self._volume_path(volume['id'])
        if not os.path.exists(path):
            self._write_atomically(path, lambda tmp: self._qemu_img(
                'create', '-q', '-f', 'qcow2', tmp, '%dG' % volume['size']))
            LOG.info('Created volume file %s (%d GiB)', path,
                     volume['size'])
        return {'provider_location': path}

    def create_volume_from_snapshot(self, volume, snapshot):
        path = self._volume_path(volume['id'])
        if os.path.exists(path):
            return {'provider_location': path}
        if volume['size'] < snapshot['volume_size']:
            raise exception.VolumeDriverError(
                'volume %s (%d GiB) is smaller than snapshot %s (%d GiB)' % (
                    volume['id'], volume['size'], snapshot['id'],
                    snapshot['volume_size']))
        snapshot_path = self._snapshot_path(snapshot['id'])
        self._trust_snapshot(snapshot['id'])
        child = _VOLUME % volume['id']
        self._add_dependent(snapshot['id'], child)
        try:
            # The marker keeps the snapshot (and its templates) alive.
            template = self._template(snapshot['id'], volume['size'])
            self._write_atomically(
                path, lambda tmp: shutil.copyfile(template, tmp))
        except Exception:
            with self._lock:
                if not os.path.exists(path):
                    self._release(child)
            raise
        LOG.info('Created volume file %s on snapshot %s', path,
                 snapshot_path)
        return {'provider_location': path}

    def create_volumes_from_snapshot(self, volumes, snapshot):
        """Many volumes of one snapshot, flushed together.

        The same files and markers as ``create_volume_from_snapshot``, but
        one flush per folder and the copies flushed in parallel, which the
        file system commits in a few journal transactions instead of
        three per volume. Anything unusual goes one by one.
        """
        todo = [v for v in volumes
                if not os.path.exists(self._volume_path(v['id']))
                and v['size'] >= snapshot['volume_size']]
        results = {}
        if len(todo) > 1:
            try:
                self._copy_templates(todo, snapshot)
                LOG.info('Created %d volume files on snapshot %s',
                         len(todo), self._snapshot_path(snapshot['id']))
                results = {v['id']: {'provider_location':
                                     self._volume_path(v['id'])}
                           for v in todo}
            except Exception:
                LOG.warning('Creating %d volumes of snapshot %s together '
                            'failed; going on one by one', len(todo),
                            snapshot['id'], exc_info=True)
        rest = [v for v in volumes if v['id'] not in results]
        results.update(super().create_volumes_from_snapshot(rest, snapshot))
        return results

    def _copy_templates(self, volumes, snapshot):
        self._trust_snapshot(snapshot['id'])
        self._add_dependents(snapshot['id'],
                             [_VOLUME % v['id'] for v in volumes])
        copies = []
        try:
            for volume in volumes:
                template = self._template(snapshot['id'], volume['size'])
                path = self._volume_path(volume['id'])
                tmp = _tmp_path(path)
                copies.append((tmp, path))
                _remove(tmp)
                shutil.copyfile(template, tmp)
            with futures.ThreadPoolExecutor(
                    max_workers=FLUSH_WORKERS) as flushers:
                list(flushers.map(_fsync, [tmp for tmp, _path in copies]))
            for tmp, path in copies:
                os.rename(tmp, path)
        except BaseException:
            for tmp, _path in copies:
                _remove(tmp)
            raise
        _fsync(self.volumes_dir, directory=True)

    def _template(self, snapshot_id, size):
        """The empty overlay of a snapshot at a size, made on first use."""
        path = self._template_path(snapshot_id, size)
        if not os.path.exists(path):
            with self._lock:
                if not os.path.exists(path):
                    self._write_atomically(path, lambda tmp: self._qemu_img(
                        'create', '-q', '-f', 'qcow2', '-b',
                        self._snapshot_path(snapshot_id), '-F', 'qcow2',
                        tmp, '%dG' % size))
        return path

    def delete_volume(self, volume):
        path = self._volume_path(volume['id'])
        if _remove(path):
            LOG.info('Removed volume file %s', path)
        _remove(_tmp_path(path))
        # Overlays of live snapshots that failed to clean up.
        for overlay in glob.glob(os.path.join(
                glob.escape(self.volumes_dir), _OVERLAYS,
                _VOLUME % _check_id(volume['id']) + '.' + _SNAPSHOT % '*' +
                _EXT)):
            _remove(overlay)
        with self._lock:
            self._release(_VOLUME % volume['id'])

    def create_snapshot(self, snapshot, volume, progress=None):
        path = self._snapshot_path(snapshot['id'])
        if os.path.exists(path):
            return {'provider_location': path}
        volume_path = self._volume_path(volume['id'])
        chain = self._validate_chain(volume_path)
        args = ['-U', '-f', 'qcow2', '-O', 'qcow2']
        if progress is None:
            args.insert(0, '-q')
        parent = self._backing_snapshot(chain)
        child = _SNAPSHOT % snapshot['id']
        if parent is not None:
            # The volume keeps its parent alive, so a deleted parent may
            # gain this dependent too.
            self._add_dependent(parent, child, allow_deleted=True)
            args += ['-B', self._snapshot_path(parent), '-F', 'qcow2']
        try:
            self._write_atomically(
                path, lambda tmp: self._convert(args + [volume_path, tmp],
                                                progress))
        except Exception:
            if parent is not None:
                with self._lock:
                    if not os.path.exists(path):
                        self._release(child)
            raise
        LOG.info('Created snapshot file %s of %s', path, volume_path)
        return {'provider_location': path}

    # Growing volumes --------------------------------------------------

    def extend_volume(self, volume, new_size):
        path = self._volume_path(volume['id'])
        self._check_volume(path)
        size = new_size * units.Gi
        if diskimage.qcow2_header(path).size >= size:
            return
        # Without -U: fails rather than resize a file a guest holds.
        self._qemu_img('resize', '-q', '-f', 'qcow2', path, str(size))
        _fsync(path)
        LOG.info('Grew volume file %s to %d GiB', path, new_size)

    def guest_disk(self, volume):
        return {'path': self._volume_path(volume['id'])}

    # Live snapshots (see ebsboot.volume.live) ---------------------------

    def live_snapshot_state(self, snapshot, volume):
        path = self._volume_path(volume['id'])
        overlay = self._overlay_path(volume['id'], snapshot['id'])
        copied = os.path.exists(self._snapshot_path(snapshot['id']))
        if os.path.exists(overlay):
            state = driver.LIVE_COPIED if copied else driver.LIVE_PREPARED
        else:
            state = driver.LIVE_DONE if copied else driver.LIVE_NEW
        return state, {'path': path, 'overlay': overlay}

    def live_snapshot_overlay(self, snapshot, volume):
        path = self._volume_path(volume['id'])
        overlay = self._overlay_path(volume['id'], snapshot['id'])
        if not os.path.exists(overlay):
            self._check_volume(path)
            # Made on first use, beside the volumes: QEMU opens it too.
            fileperms.qemu_dir(os.path.dirname(overlay), self.conf)
            # -u and the size: the guest holds the volume file's lock.
            self._write_atomically(overlay, lambda tmp: self._qemu_img(
                'create', '-q', '-f', 'qcow2', '-u', '-b', path, '-F',
                'qcow2', tmp, '%dG' % volume['size']))
            LOG.info('Created overlay %s for snapshot %s', overlay,
                     snapshot['id'])
        return {'path': path, 'overlay': overlay}

    def merge_overlay(self, snapshot, volume):
        state, disk = self.live_snapshot_state(snapshot, volume)
        if state not in (driver.LIVE_PREPARED, driver.LIVE_COPIED):
            return
        chain = self._validate_chain(disk['overlay'])
        if len(chain) < 2 or os.path.realpath(chain[1]['filename']) != \
                os.path.realpath(disk['path']):
            raise exception.UnsafeBackingChain(
                '%s is not backed by %s' % (disk['overlay'], disk['path']))
        # Without -U: fails rather than write a file a guest holds.
        self._qemu_img('commit', '-q', '-f', 'qcow2', '-d', disk['overlay'])
        LOG.info('Merged overlay %s into %s', disk['overlay'], disk['path'])

    def delete_overlay(self, snapshot, volume):
        overlay = self._overlay_path(volume['id'], snapshot['id'])
        _remove(_tmp_path(overlay))
        if _remove(overlay):
            LOG.info('Removed overlay %s', overlay)
            _fsync(os.path.dirname(overlay), directory=True)

    def import_snapshot(self, snapshot, source, source_format):
        path = self._snapshot_path(snapshot['id'])
        if os.path.exists(path):
            return {'provider_location': path}
        if source_format == 'qcow2':
            # qemu-img convert reads the header again, and whoever may
            # write to the source could have changed it since it was
            # checked: convert a copy nobody else can write. Raw data is
            # only copied (-f raw) and needs none.
            with self._private_copy(source) as copy:
                image = self._import(path, snapshot, copy, source_format)
        else:
            image = self._import(path, snapshot, source, source_format)
        LOG.info('Imported snapshot file %s from %s (%s)', path, image.path,
                 image.format)
        return {'provider_location': path}

    @contextlib.contextmanager
    def _private_copy(self, source):
        """A copy of ``source`` without a name, in the snapshots folder.

        (``O_TMPFILE`` where the file system has it.) Only this process
        can reach it, and it is gone when closed, even after a crash.
        """
        with tempfile.TemporaryFile(dir=self.snapshots_dir) as f:
            importfile.copy_to(source, f)
            yield importfile.SourceFile(source.path, f)

    def _import(self, path, snapshot, source, source_format):
        # Check again what the caller checked, on what is converted.
        try:
            image = diskimage.inspect(source, self.conf.qcow2.qemu_img)
        except exception.InvalidDiskImage as e:
            raise exception.VolumeDriverError(str(e))
        if image.format != source_format:
            raise exception.VolumeDriverError(
                '%s has format %s, not %s' % (image.path, image.format,
                                              source_format))
        if diskimage.size_in_gib(image.virtual_size) != \
                snapshot['volume_size']:
            raise exception.VolumeDriverError(
                '%s has %d bytes, not the %d GiB of snapshot %s: did it '
                'change during the import?' % (
                    image.path, image.virtual_size, snapshot['volume_size'],
                    snapshot['id']))

        def convert(tmp):
            self._qemu_img('convert', '-q', '-f', image.format, '-O',
                           'qcow2', source.proc_path, tmp,
                           pass_fds=(source.fd,))
            # What qemu-img read must be what was inspected (a raw file
            # may grow or shrink meanwhile).
            header = diskimage.qcow2_header(tmp)
            if (header.backing_file is not None or
                    header.data_file is not None or
                    header.size != -(-image.virtual_size // 512) * 512):
                raise exception.VolumeDriverError(
                    '%s changed during the import' % image.path)

        self._write_atomically(path, convert)
        return image

    def copy_snapshot(self, snapshot, source):
        path = self._snapshot_path(snapshot['id'])
        if os.path.exists(path):
            return {'provider_location': path}
        source_path = self._snapshot_path(source['id'])
        self._trust_snapshot(source['id'])
        # Flattened: the copy has no backing file, so it outlives the
        # source and the snapshots the source was made on.
        self._write_atomically(path, lambda tmp: self._convert(
            ['-q', '-U', '-f', 'qcow2', '-O', 'qcow2', source_path, tmp]))
        LOG.info('Copied snapshot file %s to %s', source_path, path)
        return {'provider_location': path}

    def delete_snapshot(self, snapshot):
        marker = self._deleted_marker(snapshot['id'])
        with self._lock:
            if not os.path.exists(marker):
                os.close(os.open(marker, os.O_WRONLY | os.O_CREAT,
                                 fileperms.PRIVATE_FILE))
                _fsync(self.snapshots_dir, directory=True)
            self._collect(snapshot['id'])

    def initialize_connection(self, volume, connector, instance_id=None):
        # A file on this host: any compute host sharing the folder opens
        # it; nothing is exported.
        path = self._volume_path(volume['id'])
        self._check_volume(path)
        return {
            'driver_volume_type': 'local',
            'data': {
                'device_path': path,
                'format': 'qcow2',
                'volume_id': volume['id'],
            },
        }

    def terminate_connection(self, volume, connector, instance_id=None):
        pass

    def get_volume_stats(self):
        stat = os.statvfs(self.volumes_dir)
        return {
            'volume_backend_name': 'qcow2',
            'vendor_name': 'ebsboot',
            'driver_version': VERSION,
            'storage_protocol': 'local',
            'total_capacity_gb': round(
                stat.f_blocks * stat.f_frsize / units.Gi, 2),
            'free_capacity_gb': round(
                stat.f_bavail * stat.f_frsize / units.Gi, 2),
            'thin_provisioning_support': True,
        }
