"""Database access for ebsboot, on oslo.db's enginefacade.

Reads and writes are scoped to the context's project unless the context is
an admin one (services working on behalf of any project). State changes use
compare-and-set (``expected_status``) so two requests racing on one resource
cannot both win.
"""

import collections
import contextlib
import sqlite3
import threading

from oslo_db import api as oslo_db_api
from oslo_db import exception as db_exc
from oslo_db.sqlalchemy import enginefacade
from oslo_utils import timeutils
import sqlalchemy as sa

from ebsboot.conf import CONF
from ebsboot import context as ebs_context
from ebsboot.db import models
from ebsboot.db import versioned
from ebsboot import secret_keys

main_context_manager = enginefacade.transaction_context()
_configured = False
_sqlite = False
_wal_set = False
_SQLITE_WRITE_LOCK = threading.RLock()
SQLITE_BUSY_TIMEOUT = 30
SQLITE_POOL_SIZE = 32


def configure():
    """Point the engine facade at ``[database] connection`` (once)."""
    global _configured, _sqlite
    if not _configured:
        # thread_checkin puts a sleep(0) in every connection check-in, a
        # yield for eventlet; with native threads it only hands the GIL
        # away, often in the middle of a write.
        main_context_manager.configure(thread_checkin=False,
                                       **dict(CONF.database.items()))
        engine = main_context_manager.writer.get_engine()
        if engine.dialect.name == 'sqlite':
            if engine.url.database not in (None, '', ':memory:'):
                _keep_connections(engine)
            sa.event.listen(engine, 'connect', _sqlite_connect)
            _sqlite = True
        _configured = True


def _keep_connections(engine):
    """Pool the connections to an SQLite file instead of reopening them.

    oslo.db gives SQLite files a NullPool: every session opens the file
    and closes it again, and closing the last connection of a WAL
    database checkpoints the log and removes it, so each short
    transaction paid for a checkpoint. Open connections to a file are
    cheap (the dialect allows them to move between threads).
    """
    old = engine.pool
    engine.pool = sa.pool.QueuePool(
        old._creator, pool_size=SQLITE_POOL_SIZE, max_overflow=-1,
        timeout=SQLITE_BUSY_TIMEOUT, recycle=old._recycle,
        reset_on_return=old._reset_on_return, pre_ping=False,
        # Keep the listeners oslo.db set (as Pool.recreate does).
        _dispatch=old.dispatch, dialect=old._dialect)
    old.dispose()


def _sqlite_connect(dbapi_connection, connection_record):
    """Make SQLite fit many threads and processes.

    With the database in WAL mode readers never block the writer; a writer
    waits for the lock instead of failing at once.
    """
    global _wal_set
    cursor = dbapi_connection.cursor()
    if not _wal_set:
        # A property of the database file: once per process is enough
        # (setting it takes the write lock, on every connection it would
        # make writers queue).
        cursor.execute('PRAGMA journal_mode=WAL')
        _wal_set = True
    cursor.execute('PRAGMA busy_timeout=%d' % (SQLITE_BUSY_TIMEOUT * 1000))
    # FULL: every commit waits for its fsync of the log; NORMAL: only
    # checkpoints do (see the option).
    cursor.execute('PRAGMA synchronous=%s'
                   % CONF.sqlite_synchronous.upper())
    cursor.close()


def _locked(exc):
    return 'database is locked' in str(exc)


# A write that still finds SQLite locked is retried, as a deadlock is on
# other databases; every write here is one short transaction.
retry_on_lock = oslo_db_api.wrap_db_retry(
    max_retries=5, retry_interval=0.2, retry_on_deadlock=True,
    exception_checker=_locked)


def get_engine():
    configure()
    return main_context_manager.writer.get_engine()


def dispose_engine():
    """Forget the engine; the next call builds a new one (tests, forks)."""
    global main_context_manager, _configured, _sqlite, _wal_set
    global _version_connection
    if _configured:
        main_context_manager.dispose_pool()
    main_context_manager = enginefacade.transaction_context()
    _configured = _sqlite = _wal_set = False
    with _VERSION_LOCK:
        if _version_connection is not None:
            _version_connection.close()
        _version_connection = None


_VERSION_LOCK = threading.Lock()
_version_connection = None
_version_connections = 0


def data_version():
    """A value that changes whenever anything is committed, or None.

    On an SQLite file: ``PRAGMA data_version`` of a connection of its own
    that never writes, so that every commit to the file, from any
    connection of any process, changes it. Read it *before* what it is
    to vouch for: a commit in between changes it again and the reader
    only reads once more. Other databases have no such cheap check
    (None: nothing can be kept).
    """
    global _version_connection, _version_connections
    engine = get_engine()
    if not _sqlite or engine.url.database in (None, '', ':memory:'):
        return None
    with _VERSION_LOCK:
        if _version_connection is None:
            _version_connection = sqlite3.connect(
                engine.url.database, check_same_thread=False,
                isolation_level=None, timeout=SQLITE_BUSY_TIMEOUT)
            _version_connections += 1
        # Values of one connection only compare with each other.
        return (_version_connections, _version_connection.execute(
            'PRAGMA data_version').fetchone()[0])


def _reader(context):
    configure()
    return main_context_manager.reader.using(context)


@contextlib.contextmanager
def _writer(context):
    configure()
    if _sqlite:
        # SQLite takes one writer at a time and makes the others poll with
        # growing sleeps; queueing this process' writers on a lock hands
        # the database over at once instead.
        with _SQLITE_WRITE_LOCK:
            with main_context_manager.writer.using(context) as session:
                yield session
    else:
        with main_context_manager.writer.using(context) as session:
            yield session


class ConflictError(Exception):
    """The row was not in the expected state (lost a race)."""


class DuplicateError(Exception):
    """A unique key (e.g. a client token) is taken already."""


# Credentials ----------------------------------------------------------------

@retry_on_lock
def credential_create(context, access_key, secret_key, project_id):
    """Store a key pair; the row holds the secret key encrypted."""
    token = secret_keys.encrypt(secret_key)
    with _writer(context) as session:
        cred = models.Credential(access_key=access_key,
                                 secret_key=token,
                                 project_id=project_id)
        session.add(cred)
        try:
            session.flush()
        except db_exc.DBDuplicateEntry:
            raise DuplicateError(access_key)
        return cred


Credential = collections.namedtuple('Credential',
                                    'access_key secret_key project_id')


def credential_get(context, access_key):
    """The ``Credential`` of ``access_key``, secret key decrypted, or None.

    Every EC2 request reads one: kept (a plain row, not an ORM object)
    until the next commit to the database, so a deleted or changed
    credential is never given again.

    :raises secret_keys.WrongKeyError: the key file cannot decrypt it.
    """
    # (The key file names the key that decrypted the secret.)
    return _CREDENTIALS.get((access_key, CONF.credentials.key_file),
                            lambda: _credential_read(context, access_key))


def _credential_read(context, access_key):
    table = models.Credential.__table__
    with _reader(context) as session:
        row = session.connection().execute(
            sa.select(table.c.secret_key, table.c.project_id).where(
                table.c.access_key == access_key)).first()
    if row is None:
        return None
    return Credential(access_key,
                      secret_keys.decrypt(row.secret_key,
                                          access_key=access_key),
                      row.project_id)


CREDENTIAL_CACHE_SIZE = 1024
_CREDENTIALS = versioned.VersionedCache(CREDENTIAL_CACHE_SIZE,
                                        lambda: data_version())


def credential_list(context, project_id=None):
    with _reader(context) as session:
        query = session.query(models.Credential)
        if project_id:
            query = query.filter_by(project_id=project_id)
        return query.order_by(models.Credential.id).all()


@retry_on_lock
def credential_delete(context, access_key):
    with _writer(context) as session:
        return session.query(models.Credential).filter_by(
            access_key=access_key).delete()


# Resources (volumes, snapshots) --------------------------------------------

def _scoped(context, session, model):
    query = session.query(model)
    if not context.is_admin:
        query = query.filter(model.project_id == context.project_id)
    return query


@retry_on_lock
def _create(context, model, values, tags=None):
    """Insert a row, and the ``tags`` (``{key: value}``) of its ec2_id."""
    with _writer(context) as session:
        row = model(**values)
        session.add(row)
        _add_tags(session, values.get('project_id'), values.get('ec2_id'),
                  TAGGED.get(model), tags)
        try:
            session.flush()
        except db_exc.DBDuplicateEntry as e:
            raise DuplicateError(e.columns)
        return row


def _get(context, model, **by):
    with _reader(context) as session:
        return _scoped(context, session, model).filter_by(**by).first()


def _list(context, model, ec2_ids=None, ids=None, **by):
    with _reader(context) as session:
        query = _scoped(context, session, model).filter_by(**by)
        if ec2_ids is not None:
            query = query.filter(model.ec2_id.in_(ec2_ids))
        if ids is not None:
            query = query.filter(model.id.in_(ids))
        return query.order_by(model.created_at, model.ec2_id).all()


@retry_on_lock
def _update(context, model, row_id, values, expected_status=None,
            expected=None):
    """Update a row if it is in the expected state, else ConflictError.

    ``expected_status`` is a status or a tuple of them; ``expected`` maps
    other columns to the values they must have (None: must be NULL).
    """
    with _writer(context) as session:
        query = _scoped(context, session, model).filter(model.id == row_id)
        if expected_status is not None:
            if isinstance(expected_status, str):
                expected_status = (expected_status,)
            query = query.filter(model.status.in_(expected_status))
        for column, value in (expected or {}).items():
            column = getattr(model, column)
            if value is None:
                query = query.filter(column.is_(None))
            elif isinstance(value, (tuple, list, set)):
                query = query.filter(column.in_(value))
            else:
                query = query.filter(column == value)
        if not query.update(values, synchronize_session=False):
            raise ConflictError(row_id)
        return query.session.get(model, row_id)


@retry_on_lock
def _destroy(context, model, row_id):
    """Delete a row and every project's tags of it."""
    with _writer(context) as session:
        _delete_tags_of(session, _scoped(context, session, model).filter(
            model.id == row_id).with_entities(model.ec2_id))
        return _scoped(context, session, model).filter(
            model.id == row_id).delete(synchronize_session=False)


def volume_create(context, values, tags=None):
    return _create(context, models.Volume, values, tags)


def volume_get(context, volume_id):
    return _get(context, models.Volume, id=volume_id)


def volume_get_by_ec2_id(context, ec2_id):
    return _get(context, models.Volume, ec2_id=ec2_id)


def volume_get_by_client_token(context, client_token):
    return _get(context, models.Volume, client_token=client_token)


def volume_list(context, ec2_ids=None, ids=None, **by):
    return _list(context, models.Volume, ec2_ids, ids, **by)


def volume_update(context, volume_id, values, expected_status=None,
                  expected=None):
    return _update(context, models.Volume, volume_id, values,
                   expected_status, expected)


@retry_on_lock
def volume_destroy(context, volume_id):
    with _writer(context) as session:
        session.query(models.VolumeModification).filter_by(
            volume_id=volume_id).delete(synchronize_session=False)
    return _destroy(context, models.Volume, volume_id)


def volume_modification_create(context, values):
    return _create(context, models.VolumeModification, values)


def volume_modification_get(context, modification_id):
    return _get(context, models.VolumeModification, id=modification_id)


def volume_modification_list(context, ids=None, **by):
    """Modifications, oldest first (``by``: column values)."""
    model = models.VolumeModification
    with _reader(context) as session:
        query = _scoped(context, session, model).filter_by(**by)
        if ids is not None:
            query = query.filter(model.id.in_(ids))
        return query.order_by(model.created_at, model.id).all()


def volume_modification_update(context, modification_id, values,
                               expected_status=None):
    return _update(context, models.VolumeModification, modification_id,
                   values, expected_status)


def snapshot_create(context, values, tags=None):
    return _create(context, models.Snapshot, values, tags)


def snapshots_create(context, items):
    """Insert snapshots and their tags in one transaction, all or none.

    ``items``: ``[(values, tags or None)]``; returns the rows.
    """
    with _writer(context) as session:
        rows = []
        for values, tags in items:
            row = models.Snapshot(**values)
            session.add(row)
            _add_tags(session, values['project_id'], values['ec2_id'],
                      'snapshot', tags)
            rows.append(row)
        try:
            session.flush()
        except db_exc.DBDuplicateEntry as e:
            raise DuplicateError(e.columns)
        return rows


def snapshot_get(context, snapshot_id):
    return _get(context, models.Snapshot, id=snapshot_id)


def snapshot_get_by_ec2_id(context, ec2_id):
    return _get(context, models.Snapshot, ec2_id=ec2_id)


def snapshot_list(context, ec2_ids=None, ids=None, **by):
    return _list(context, models.Snapshot, ec2_ids, ids, **by)


def snapshot_update(context, snapshot_id, values, expected_status=None,
                    expected=None):
    return _update(context, models.Snapshot, snapshot_id, values,
                   expected_status, expected)


@retry_on_lock
def snapshot_destroy(context, snapshot_id):
    """Delete a snapshot row, its tags and its create-volume permissions."""
    with _writer(context) as session:
        def owned():
            return _scoped(context, session, models.Snapshot).filter(
                models.Snapshot.id == snapshot_id)
        session.query(models.SnapshotPermission).filter(
            models.SnapshotPermission.snapshot_id.in_(
                owned().with_entities(models.Snapshot.id))).delete(
            synchronize_session=False)
        _delete_tags_of(session, owned().with_entities(
            models.Snapshot.ec2_id))
        return owned().delete(synchronize_session=False)


# Create-volume permissions of snapshots -------------------------------------

SNAPSHOT_PUBLIC = ('group', 'all')


def snapshot_permissions(snapshot_id):
    """The ``(kind, grantee)`` permissions of a snapshot, sorted.

    The caller checks that the project owns the snapshot.
    """
    with _reader(ebs_context.get_admin_context()) as session:
        rows = session.query(models.SnapshotPermission).filter_by(
            snapshot_id=snapshot_id).all()
    return sorted((row.kind, row.grantee) for row in rows)


@retry_on_lock
def snapshot_permissions_change(snapshot_id, add=(), remove=()):
    """Add, then remove, ``(kind, grantee)`` permissions, in one step.

    ``remove=None`` removes them all (ResetSnapshotAttribute).
    """
    with _writer(ebs_context.get_admin_context()) as session:
        model = models.SnapshotPermission
        rows = session.query(model).filter_by(snapshot_id=snapshot_id)
        have = {(row.kind, row.grantee) for row in rows}
        for kind, grantee in sorted(set(add) - have):
            session.add(model(snapshot_id=snapshot_id, kind=kind,
                              grantee=grantee))
        session.flush()
        if remove is None:
            rows.delete(synchronize_session=False)
            return
        for kind, grantee in set(remove):
            rows.filter_by(kind=kind, grantee=grantee).delete(
                synchronize_session=False)


def snapshot_list_shared(context, ec2_ids=None):
    """Other projects' snapshots the project may create volumes from.

    Those shared with it by project id and the public ones, in the order
    of their creation.
    """
    model = models.SnapshotPermission
    with _reader(context) as session:
        granted = session.query(model.snapshot_id).filter(sa.or_(
            sa.and_(model.kind == 'user',
                    model.grantee == context.project_id),
            sa.and_(model.kind == SNAPSHOT_PUBLIC[0],
                    model.grantee == SNAPSHOT_PUBLIC[1])))
        query = session.query(models.Snapshot).filter(
            models.Snapshot.id.in_(granted),
            models.Snapshot.project_id != context.project_id)
        if ec2_ids is not None:
            query = query.filter(models.Snapshot.ec2_id.in_(ec2_ids))
        return query.order_by(models.Snapshot.created_at,
                              models.Snapshot.ec2_id).all()


def snapshot_permissions_of(snapshot_ids):
    """``{snapshot id: [(kind, grantee)]}`` of many snapshots at once."""
    found = collections.defaultdict(list)
    if not snapshot_ids:
        return found
    with _reader(ebs_context.get_admin_context()) as session:
        for row in session.query(models.SnapshotPermission).filter(
                models.SnapshotPermission.snapshot_id.in_(
                    list(snapshot_ids))):
            found[row.snapshot_id].append((row.kind, row.grantee))
    return found


def count_rows(context, model_name):
    """Number of rows of a model in the context's project (tests, quotas)."""
    model = getattr(models, model_name)
    with _reader(context) as session:
        return _scoped(context, session, model).with_entities(
            sa.func.count()).scalar()


# Images of the local image backend (visibility is the backend's job) -----

@retry_on_lock
def image_create(context, values):
    with _writer(context) as session:
        row = models.Image(**values)
        session.add(row)
        session.flush()
        return row


def image_get(image_id):
    with _reader(ebs_context.get_admin_context()) as session:
        return session.get(models.Image, image_id)


def image_list():
    with _reader(ebs_context.get_admin_context()) as session:
        return session.query(models.Image).order_by(
            models.Image.created_at, models.Image.id).all()


@retry_on_lock
def image_update(image_id, values):
    with _writer(ebs_context.get_admin_context()) as session:
        session.query(models.Image).filter_by(id=image_id).update(values)


@retry_on_lock
def image_destroy(image_id):
    with _writer(ebs_context.get_admin_context()) as session:
        session.query(models.Image).filter_by(id=image_id).delete()


# EC2 ids of Glance images (the glance image backend) ----------------------

def image_id_create(ec2_id, image_id):
    """Record ``ec2_id`` for the Glance image ``image_id``.

    :raises: DuplicateError if either is taken already.
    """
    return _create(ebs_context.get_admin_context(), models.ImageId,
                   {'ec2_id': ec2_id, 'image_id': image_id})


def image_id_get_by_ec2_id(ec2_id):
    """The Glance image id of ``ec2_id``, or None."""
    with _reader(ebs_context.get_admin_context()) as session:
        row = session.query(models.ImageId).filter_by(ec2_id=ec2_id).first()
        return row.image_id if row is not None else None


def image_ids_by_image_id(image_ids):
    """``{Glance image id: ec2 id}`` of those of ``image_ids`` known."""
    image_ids = list(image_ids)
    if not image_ids:
        return {}
    with _reader(ebs_context.get_admin_context()) as session:
        rows = session.query(models.ImageId).filter(
            models.ImageId.image_id.in_(image_ids)).all()
        return {row.image_id: row.ec2_id for row in rows}


# Instances and their block devices ------------------------------------------

@retry_on_lock
def instance_create(context, values, block_devices):
    """Create an instance and its block devices in one transaction."""
    with _writer(context) as session:
        instance = models.Instance(**values)
        session.add(instance)
        for device in block_devices:
            session.add(models.BlockDevice(instance_id=values['id'],
                                           **device))
        session.flush()
        return instance


@retry_on_lock
def instance_create_many(context, instances, tags=None):
    """Create ``(values, block_devices)`` instances in one transaction.

    ``tags`` (``{key: value}``) are given to every instance.
    """
    with _writer(context) as session:
        rows = []
        for values, block_devices in instances:
            row = models.Instance(**values)
            session.add(row)
            rows.append(row)
            _add_tags(session, values['project_id'], values['ec2_id'],
                      'instance', tags)
            for device in block_devices:
                session.add(models.BlockDevice(instance_id=values['id'],
                                               **device))
        try:
            session.flush()
        except db_exc.DBDuplicateEntry as e:
            # A private address another launch took meanwhile.
            raise DuplicateError(e.columns)
        return rows


def instance_get(context, instance_id):
    return _get(context, models.Instance, id=instance_id)


def instance_get_by_ec2_id(context, ec2_id):
    return _get(context, models.Instance, ec2_id=ec2_id)


def instance_list(context, ec2_ids=None, ids=None, **by):
    return _list(context, models.Instance, ec2_ids, ids, **by)


def instance_rows(context, columns, ec2_ids=None, **where):
    """Some columns of instances, as read-only rows (see block_device_rows).

    ``where`` maps a column to the values it may have. Scoped and
    ordered as ``instance_list``.
    """
    table = models.Instance.__table__.c
    query = _instances_where(
        context, sa.select(*[table[c] for c in columns]), ec2_ids, where)
    return _core_rows(context, query.order_by(table.created_at,
                                              table.ec2_id))


def _instances_where(context, query, ec2_ids, where):
    table = models.Instance.__table__.c
    if not context.is_admin:
        query = query.where(table.project_id == context.project_id)
    if ec2_ids is not None:
        query = query.where(table.ec2_id.in_(ec2_ids))
    for column, values in where.items():
        query = query.where(table[column].in_(values))
    return query


def _core_rows(context, query):
    """Rows of a Core select on tables: no ORM loading machinery."""
    with _reader(context) as session:
        return session.connection().execute(query).all()


def instance_update(context, instance_id, values, expected=None):
    return _update(context, models.Instance, instance_id, values,
                   expected=expected)


def instance_count_by_host(states):
    """``{host: number of its instances in one of these states}``."""
    with _reader(ebs_context.get_admin_context()) as session:
        rows = session.query(models.Instance.host, sa.func.count()).filter(
            models.Instance.host.isnot(None),
            models.Instance.state.in_(states)).group_by(
            models.Instance.host).all()
        return dict(rows)


@retry_on_lock
def instance_destroy(context, instance_id):
    with _writer(context) as session:
        _delete_tags_of(session, _scoped(
            context, session, models.Instance).filter(
            models.Instance.id == instance_id).with_entities(
            models.Instance.ec2_id))
        session.query(models.BlockDevice).filter_by(
            instance_id=instance_id).delete()
        return _scoped(context, session, models.Instance).filter(
            models.Instance.id == instance_id).delete()


def block_device_list(instance_ids):
    """Block devices of the given instances, root first, by device."""
    with _reader(ebs_context.get_admin_context()) as session:
        return session.query(models.BlockDevice).filter(
            models.BlockDevice.instance_id.in_(list(instance_ids))).order_by(
            models.BlockDevice.instance_id,
            models.BlockDevice.boot_index.desc(),
            models.BlockDevice.device_name).all()


def block_device_rows(instance_ids, columns):
    """Some columns of the instances' block devices, as read-only rows.

    For Describe calls: plain rows cost a fraction of ORM objects when
    there are hundreds of them. Ordered as ``block_device_list``.
    """
    table = models.BlockDevice.__table__.c
    return _device_rows(ebs_context.get_admin_context(), columns,
                        table.instance_id.in_(list(instance_ids)))


def instance_device_rows(context, columns, ec2_ids=None, **where):
    """``block_device_rows`` of the instances ``instance_rows`` finds.

    With the same ``context``, ``ec2_ids`` and ``where``, as a subquery:
    no list of hundreds of ids to bind.
    """
    instances = models.Instance.__table__.c
    table = models.BlockDevice.__table__.c
    return _device_rows(context, columns, table.instance_id.in_(
        _instances_where(context, sa.select(instances.id), ec2_ids, where)))


def _device_rows(context, columns, which):
    table = models.BlockDevice.__table__.c
    query = sa.select(table.instance_id, *[table[c] for c in columns]).where(
        which).order_by(table.instance_id, table.boot_index.desc(),
                        table.device_name)
    return _core_rows(context, query)


def block_device_get_by_volume(volume_id):
    with _reader(ebs_context.get_admin_context()) as session:
        return session.query(models.BlockDevice).filter_by(
            volume_id=volume_id).first()


def block_devices_by_volume(volume_ids):
    """``{volume_id: BlockDevice}`` of the volumes that are attached."""
    with _reader(ebs_context.get_admin_context()) as session:
        rows = session.query(models.BlockDevice).filter(
            models.BlockDevice.volume_id.in_(list(volume_ids))).all()
        return {row.volume_id: row for row in rows}


@retry_on_lock
def block_device_create(values):
    with _writer(ebs_context.get_admin_context()) as session:
        row = models.BlockDevice(**values)
        session.add(row)
        try:
            session.flush()
        except db_exc.DBDuplicateEntry:
            raise DuplicateError(values.get('device_name'))
        return row


@retry_on_lock
def block_device_update(device_id, values):
    with _writer(ebs_context.get_admin_context()) as session:
        session.query(models.BlockDevice).filter_by(id=device_id).update(
            values)


@retry_on_lock
def block_device_destroy(device_id):
    with _writer(ebs_context.get_admin_context()) as session:
        session.query(models.BlockDevice).filter_by(id=device_id).delete()


# Several rows at once ----------------------------------------------------

_MODELS = {'instance': models.Instance, 'volume': models.Volume,
           'block_device': models.BlockDevice, 'tag': models.Tag}


@retry_on_lock
def write_many(inserts=(), updates=()):
    """Insert and update rows of several tables in one transaction.

    ``inserts`` are ``(table, values)``; ``updates`` are ``(table, row_id,
    values, expected)`` where ``expected`` maps columns to the values they
    must have (a tuple: one of them). Returns the ``(table, row_id)`` of
    the updates whose row was not as expected (and so did not change).
    Batched steps of many instances write through here: one commit
    instead of one per row.
    """
    conflicts = set()
    by_table = {}
    for table, values in inserts:
        by_table.setdefault(table, []).append(values)
    # Core statements, not ORM objects: these are the hot path of a
    # RunInstances of many instances.
    with _writer(ebs_context.get_admin_context()) as session:
        for table, rows in by_table.items():
            for keys in {tuple(sorted(row)) for row in rows}:
                session.execute(sa.insert(_MODELS[table]), [
                    row for row in rows if tuple(sorted(row)) == keys])
        for group in _update_groups(updates):
            conflicts |= _update_group(session, group)
    return conflicts


def _update_groups(updates):
    """The updates as lists that one statement can apply, in order.

    Updates of the same table, columns and expected values form a group.
    A row named twice keeps every update on its own, in the order given,
    as a later one may expect what an earlier one wrote.
    """
    updates = list(updates)
    if len({(u[0], u[1]) for u in updates}) < len(updates):
        return [[u] for u in updates]
    groups = {}
    for update in updates:
        table, _row_id, values, expected = update
        key = (table, tuple(sorted(values)),
               tuple(sorted((expected or {}).items())))
        groups.setdefault(key, []).append(update)
    return list(groups.values())


def _expected_where(model, expected, many=False):
    """The WHERE clauses of ``expected``.

    ``many``: for an executemany, which takes no ``IN`` list (those expand
    per execution).
    """
    where = []
    for column, value in (expected or {}).items():
        column = getattr(model, column)
        if isinstance(value, tuple) and many:
            where.append(sa.or_(*[column == v for v in value]))
        elif isinstance(value, tuple):
            where.append(column.in_(value))
        elif value is None:
            where.append(column.is_(None))
        else:
            where.append(column == value)
    return where


def _update_group(session, group):
    """Apply one group of ``_update_groups``; the conflicting rows."""
    table, row_id, values, expected = group[0]
    model = _MODELS[table]
    where = _expected_where(model, expected)
    if len(group) == 1:
        result = session.execute(
            sa.update(model).where(model.id == row_id, *where).values(
                values), execution_options={'synchronize_session': False})
        return set() if result.rowcount else {(table, row_id)}
    # Many rows: find those as expected (locked until the commit where
    # the database can), then one executemany of a single statement.
    ids = [update[1] for update in group]
    matched = set(session.scalars(
        sa.select(model.id).where(model.id.in_(ids), *where)
        .with_for_update()))
    rows = [{'_id': update[1], **{'_v_' + k: v
                                  for k, v in update[2].items()}}
            for update in group if update[1] in matched]
    if rows:
        columns = model.__table__.c
        statement = sa.update(model.__table__).where(
            columns.id == sa.bindparam('_id'),
            *_expected_where(model, expected, many=True)).values(
            {k: sa.bindparam('_v_' + k) for k in values})
        result = session.execute(statement, rows)
        dialect = session.get_bind().dialect
        if (dialect.supports_sane_multi_rowcount
                and result.rowcount != len(rows)):
            # Another writer got in between (an SQLite file shared by
            # processes): roll back and let retry_on_lock run it again.
            raise db_exc.DBDeadlock()
    return {(table, update[1]) for update in group
            if update[1] not in matched}


# Key pairs ----------------------------------------------------------------

def key_pair_create(context, values, tags=None):
    """A new key pair; DuplicateError if the project has that name."""
    return _create(context, models.KeyPair, values, tags)


def key_pair_get_by_name(context, name):
    return _get(context, models.KeyPair, name=name)


def key_pair_list(context, ec2_ids=None, names=None):
    with _reader(context) as session:
        query = _scoped(context, session, models.KeyPair)
        if ec2_ids is not None:
            query = query.filter(models.KeyPair.ec2_id.in_(ec2_ids))
        if names is not None:
            query = query.filter(models.KeyPair.name.in_(names))
        return query.order_by(models.KeyPair.name).all()


def key_pair_destroy(context, key_pair_id):
    return _destroy(context, models.KeyPair, key_pair_id)


# VPCs and subnets ---------------------------------------------------------

def vpc_list(context, ec2_ids=None, ids=None, **by):
    return _list(context, models.Vpc, ec2_ids, ids, **by)


def subnet_list(context, ec2_ids=None, ids=None, **by):
    return _list(context, models.Subnet, ec2_ids, ids, **by)


def subnet_get(context, subnet_id):
    return _get(context, models.Subnet, id=subnet_id)


@retry_on_lock
def default_vpc_create(context, vpc, subnets):
    """Create a default VPC and its subnets in one transaction.

    DuplicateError if the project has one already (a parallel request
    made it).
    """
    with _writer(context) as session:
        session.add(models.Vpc(**vpc))
        for subnet in subnets:
            session.add(models.Subnet(**subnet))
        try:
            session.flush()
        except db_exc.DBDuplicateEntry as e:
            raise DuplicateError(e.columns)


def subnet_addresses(subnet_id):
    """The private addresses taken in a subnet (any project)."""
    table = models.Instance.__table__.c
    with _reader(ebs_context.get_admin_context()) as session:
        return {row[0] for row in session.connection().execute(
            sa.select(table.private_ip_address).where(
                table.subnet_id == subnet_id,
                table.private_ip_address.isnot(None)))}


# Tags ---------------------------------------------------------------------

#: The resource type of the tags of each tagged model's rows.
TAGGED = {models.Volume: 'volume', models.Snapshot: 'snapshot',
          models.Instance: 'instance', models.KeyPair: 'key-pair',
          models.Vpc: 'vpc', models.Subnet: 'subnet'}


class TagLimitError(Exception):
    """A resource would have more tags than allowed (its EC2 id)."""


def tag_values(project_id, resource_id, resource_type, key, value, slot):
    """The row of one tag, for ``write_many`` (table ``tag``).

    ``slot``: its place among the resource's tags (see ``tags_set``).
    """
    return {'project_id': project_id, 'resource_id': resource_id,
            'resource_type': resource_type, 'key': key, 'value': value,
            'slot': slot, 'created_at': timeutils.utcnow()}


def _add_tags(session, project_id, resource_id, resource_type, tags,
              slots=None):
    """Add tags of a resource.

    ``slots``: the free ones, by default those of a new resource (0, 1...).
    """
    slots = iter(slots if slots is not None else range(len(tags or {})))
    for key, value in (tags or {}).items():
        session.add(models.Tag(project_id=project_id,
                               resource_id=resource_id,
                               resource_type=resource_type, key=key,
                               value=value, slot=next(slots)))


def _delete_tags_of(session, ec2_ids):
    """Delete every project's tags of resources.

    ``ec2_ids``: a select of EC2 ids or a list.
    """
    session.query(models.Tag).filter(
        models.Tag.resource_id.in_(ec2_ids)).delete(
        synchronize_session=False)


@retry_on_lock
def tags_set(context, resources, tags, limit):
    """Add or overwrite tags of the project's resources, all or none.

    ``tags``: ``{key: value}``; ``resources``: ``[(ec2 id, type)]``.

    :raises: TagLimitError if a resource would have more than ``limit``.
    """
    table = models.Tag.__table__.c
    ids = [resource_id for resource_id, _type in resources]
    with _writer(context) as session:
        existing = {}
        for resource_id, key, slot in session.connection().execute(
                sa.select(table.resource_id, table.key, table.slot).where(
                    table.project_id == context.project_id,
                    table.resource_id.in_(ids))):
            existing.setdefault(resource_id, {})[key] = slot
        for resource_id in ids:
            keys = set(existing.get(resource_id, ()))
            if len(keys | set(tags)) > limit:
                raise TagLimitError(resource_id)
        for resource_id, resource_type in resources:
            keys = existing.get(resource_id, {})
            for key, value in tags.items():
                if key in keys:
                    session.query(models.Tag).filter_by(
                        project_id=context.project_id,
                        resource_id=resource_id, key=key).update(
                        {'value': value}, synchronize_session=False)
            # Each tag holds one of the slots 0..limit-1, unique per
            # resource: two writers that both counted room for one more
            # tag take the same slot, and the second one's insert fails
            # and runs again (it then counts the first one's tag).
            taken = set(keys.values())
            free = [slot for slot in range(limit) if slot not in taken]
            _add_tags(session, context.project_id, resource_id,
                      resource_type,
                      {k: v for k, v in tags.items() if k not in keys},
                      slots=free)
        try:
            session.flush()
        except db_exc.DBDuplicateEntry as e:
            # A parallel CreateTags of the same key or slot: run again.
            raise db_exc.DBDeadlock(e)


@retry_on_lock
def tags_delete(context, resource_ids, tags=None):
    """Delete tags of the project's resources.

    ``tags``: ``[(key, value or None)]`` (None: whatever the value), or
    None for all of them.
    """
    with _writer(context) as session:
        query = session.query(models.Tag).filter(
            models.Tag.project_id == context.project_id,
            models.Tag.resource_id.in_(list(resource_ids)))
        if tags is not None:
            query = query.filter(sa.or_(*[
                sa.and_(models.Tag.key == key,
                        *([models.Tag.value == value]
                          if value is not None else []))
                for key, value in tags]))
        query.delete(synchronize_session=False)


@retry_on_lock
def tags_destroy_resource(resource_id):
    """Delete every project's tags of a resource that is gone."""
    with _writer(ebs_context.get_admin_context()) as session:
        _delete_tags_of(session, [resource_id])


def tag_rows(context, resource_ids=None, resource_types=None, keys=None):
    """The project's tags as read-only rows, by resource id then key.

    Rows of resource_id, resource_type, key and value; each argument
    narrows.
    """
    table = models.Tag.__table__.c
    query = sa.select(table.resource_id, table.resource_type, table.key,
                      table.value)
    if not context.is_admin:
        query = query.where(table.project_id == context.project_id)
    for column, values in (('resource_id', resource_ids),
                           ('resource_type', resource_types),
                           ('key', keys)):
        if values is not None:
            query = query.where(table[column].in_(list(values)))
    return _core_rows(context, query.order_by(table.resource_id,
                                              table.key))


def tags_by_resource(context, resource_type, resource_ids):
    """``{ec2 id: [(key, value)]}``: the project's tags of resources.

    Keys in order; one query for a Describe page.
    """
    resource_ids = list(resource_ids)
    if not resource_ids:
        return {}
    # Many ids: the project's tags of the type (an index), sorted here.
    rows = tag_rows(context, resource_types=[resource_type],
                    resource_ids=(resource_ids if len(resource_ids) <= 100
                                  else None))
    wanted = set(resource_ids)
    found = {}
    for row in rows:
        if row.resource_id in wanted:
            found.setdefault(row.resource_id, []).append(
                (row.key, row.value))
    return found


# Service heartbeats -------------------------------------------------------

@retry_on_lock
def service_heartbeat(host, topic, now):
    with _writer(ebs_context.get_admin_context()) as session:
        updated = session.query(models.Service).filter_by(
            host=host, topic=topic).update({'heartbeat_at': now})
        if not updated:
            session.add(models.Service(host=host, topic=topic,
                                       heartbeat_at=now))


def service_hosts(topic, since):
    """Hosts of ``topic`` whose heartbeat is not older than ``since``."""
    with _reader(ebs_context.get_admin_context()) as session:
        return [row.host for row in session.query(models.Service).filter(
            models.Service.topic == topic,
            models.Service.heartbeat_at >= since).order_by(
                models.Service.host)]
