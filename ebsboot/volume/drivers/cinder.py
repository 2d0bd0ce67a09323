"""The ``cinder`` volume driver: volumes and snapshots kept by a real Cinder.

``[volume] driver = cinder`` makes ebsboot's volume service a client of a
Cinder (block-storage API v3, microversion 3.54, python-cinderclient),
reached as the ``[cinder]`` group says (``ebsboot.conf.cinder``). ebsboot
acts with one identity: every Cinder volume and snapshot it makes belongs
to the project of that identity, whatever EC2 account asked for it;
ebsboot's database keeps ownership, as with the qcow2 driver.

What is made in Cinder:

* an EBS volume is a Cinder volume named ``ebsboot-volume-<id>`` (metadata
  ``ebsboot_id``) of the same size, of the Cinder volume type that
  ``[cinder] volume_type_map`` gives its VolumeType (Cinder's default type
  when not listed); its Cinder id is the ``provider_location``;
* a volume from a snapshot is a Cinder volume made from the Cinder
  snapshot: on RBD a clone, in constant time at any size;
* an EBS snapshot is a Cinder snapshot ``ebsboot-snapshot-<id>``, taken
  with ``force`` (RBD snapshots are crash-consistent, and EC2 snapshots
  volumes in use);
* Cinder cannot delete a volume that has snapshots, EC2 can: a deleted
  volume whose snapshots remain is renamed ``ebsboot-holder-<id>``, marked
  ``ebsboot_deleted`` and deleted with its last snapshot;
* an imported snapshot (``ebsboot-manage snapshot import``) is a holder
  volume written by ``qemu-img`` through ``rbd:`` (RBD backends only; needs
  ``[cinder] rbd_ceph_conf`` and ``rbd_user`` on the volume host) and its
  snapshot; a copied snapshot (CopySnapshot) is a holder volume made from
  the source snapshot, and its snapshot;
* a connection is a Cinder attachment (connector of the compute host, the
  instance's id) completed with ``os-complete``; its ``connection_info``
  is returned as ``{'driver_volume_type': ..., 'data': ...}``. Deleting an
  attachment made for an instance needs a service token: with keystone the
  same credentials sign one (the user needs the ``service`` role); with
  python-cinderclient's ``noauth`` plugin the request carries
  ``X-Service-Roles: service``.

States: every method waits (``[cinder] status_timeout``) until Cinder is
done, so ebsboot's rows carry EC2 states: Cinder's ``available`` gives
``available`` (volumes) and ``completed`` (snapshots), any ``error*``
status or a refusal fails the step and the volume service marks the
resource ``error`` with Cinder's reason; nothing reaches an EC2 client as a
500. Volumes grow with Cinder's extend (online on backends that can), not
through compute. No live_snapshot_* methods: Cinder snapshots in-use
volumes itself.
"""

import functools
import tempfile
import time

from cinderclient import client as cinder_client
from cinderclient.contrib import noauth
from cinderclient import exceptions as cinder_exc
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading
from keystoneauth1 import service_token
from oslo_concurrency import processutils
from oslo_log import log as logging

from ebsboot.conf import cinder as cinder_conf
from ebsboot import exception
from ebsboot import importfile
from ebsboot.volume import diskimage
from ebsboot.volume import driver

LOG = logging.getLogger(__name__)

API_VERSION = '3.54'
VOLUME_PREFIX = 'ebsboot-volume-'
SNAPSHOT_PREFIX = 'ebsboot-snapshot-'
HOLDER_PREFIX = 'ebsboot-holder-'
DELETED_KEY = 'ebsboot_deleted'
ID_KEY = 'ebsboot_id'


class CinderError(exception.VolumeDriverError):
    """Cinder refused a request, or a resource went to an error status."""


class CinderUnavailable(CinderError):
    """Cinder could not be reached, or failed with a 5xx."""


class _ServiceNoAuth(noauth.CinderNoAuthPlugin):
    """python-cinderclient's noauth plugin, acting with the service role.

    Cinder's noauth pipeline reads the service roles from the request: an
    attachment of an instance is deleted only with them.
    """

    def get_headers(self, session, **kwargs):
        headers = super().get_headers(session, **kwargs)
        headers['X-Service-Roles'] = 'service'
        return headers


def _cinder_errors(method):
    """Turn client and transport errors into ``CinderError``."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except (ks_exc.ConnectionError, ks_exc.RequestTimeout,
                ks_exc.DiscoveryFailure, ks_exc.EndpointNotFound) as e:
            raise CinderUnavailable('Cinder is unreachable: %s' % e)
        except ks_exc.Unauthorized as e:
            raise CinderUnavailable('Cinder refused ebsboot\'s identity: '
                                    '%s' % e)
        except cinder_exc.ClientException as e:
            if getattr(e, 'code', 0) and e.code >= 500:
                raise CinderUnavailable('Cinder failed: %s' % e)
            raise CinderError('Cinder refused: %s' % e)
    return wrapper


class CinderDriver(driver.VolumeDriver):
    """Volumes and snapshots in Cinder; connections are its attachments."""

    def __init__(self, conf, client=None, sleep=time.sleep,
                 clock=time.monotonic):
        super().__init__(conf)
        self._client = client
        self._sleep = sleep
        self._clock = clock

    # Client -----------------------------------------------------------------

    @property
    def client(self):
        if self._client is None:
            self._client = self._make_client()
        return self._client

    def _make_client(self):
        group = cinder_conf.GROUP
        auth = ks_loading.load_auth_from_conf_options(self.conf, group)
        if auth is None:
            raise CinderError('[cinder] auth_type is not set')
        if isinstance(auth, noauth.CinderNoAuthPlugin):
            auth = _ServiceNoAuth(auth._user_id, auth._project_id,
                                  endpoint=auth._endpoint)
        else:
            # The service token that lets Cinder delete attachments of
            # instances, signed by the same (service) user.
            auth = service_token.ServiceTokenAuthWrapper(
                user_auth=auth, service_auth=auth)
        session = ks_loading.load_session_from_conf_options(
            self.conf, group, auth=auth)
        opts = self.conf[group]
        interfaces = opts.valid_interfaces or ['public']
        return cinder_client.Client(
            API_VERSION, session=session, auth=auth,
            service_type=opts.service_type,
            endpoint_type=interfaces[0],
            region_name=opts.region_name,
            os_endpoint=opts.endpoint_override)

    # Helpers ----------------------------------------------------------------

    def _volume_type(self, volume):
        ec2_type = volume.get('volume_type')
        return self.conf.cinder.volume_type_map.get(ec2_type) or None

    def _wait(self, get, resource_id, ready, what):
        """Poll until ``get(resource_id).status`` is ``ready``."""
        deadline = self._clock() + self.conf.cinder.status_timeout
        while True:
            resource = get(resource_id)
            status = resource.status
            if status == ready:
                return resource
            if status.startswith('error'):
                raise CinderError('Cinder %s %s is %s' % (
                    what, resource_id, status))
            if self._clock() > deadline:
                raise CinderError('Cinder %s %s is still %s after %d s' % (
                    what, resource_id, status,
                    self.conf.cinder.status_timeout))
            self._sleep(self.conf.cinder.status_poll_interval)

    def _wait_gone(self, get, resource_id, what):
        deadline = self._clock() + self.conf.cinder.status_timeout
        while True:
            try:
                resource = get(resource_id)
            except cinder_exc.NotFound:
                return
            if resource.status == 'error_deleting':
                raise CinderError('Cinder could not delete %s %s' % (
                    what, resource_id))
            if self._clock() > deadline:
                raise CinderError('Cinder %s %s is still %s after %d s' % (
                    what, resource_id, resource.status,
                    self.conf.cinder.status_timeout))
            self._sleep(self.conf.cinder.status_poll_interval)

    def _get_volume(self, cinder_id):
        try:
            return self.client.volumes.get(cinder_id)
        except cinder_exc.NotFound:
            return None

    def _find_volume(self, name, cinder_id=None):
        """The Cinder volume: by id if known, else by name."""
        if cinder_id:
            return self._get_volume(cinder_id)
        found = self.client.volumes.list(search_opts={'name': name})
        return self.client.volumes.get(found[0].id) if found else None

    def _find_snapshot(self, name, cinder_id=None):
        if cinder_id:
            try:
                return self.client.volume_snapshots.get(cinder_id)
            except cinder_exc.NotFound:
                return None
        found = self.client.volume_snapshots.list(
            search_opts={'name': name})
        return found[0] if found else None

    def _volume_of(self, volume):
        return self._find_volume(VOLUME_PREFIX + volume['id'],
                                 volume.get('provider_location'))

    def _snapshot_of(self, snapshot):
        return self._find_snapshot(SNAPSHOT_PREFIX + snapshot['id'],
                                   snapshot.get('provider_location'))

    def _make_volume(self, name, size, volume_type=None, snapshot_id=None,
                     metadata=None):
        """Create (or find again, after a crash) a volume; wait for it."""
        existing = self._find_volume(name)
        if existing is not None and existing.status.startswith('error'):
            self._delete_volume(existing)
            existing = None
        if existing is None:
            existing = self.client.volumes.create(
                size, snapshot_id=snapshot_id, name=name,
                volume_type=volume_type, metadata=metadata or {})
        return self._wait(self.client.volumes.get, existing.id, 'available',
                          'volume')

    def _make_snapshot(self, name, cinder_volume_id, ebsboot_id):
        existing = self._find_snapshot(name)
        if existing is not None and existing.status.startswith('error'):
            self._delete_snapshot(existing)
            existing = None
        if existing is None:
            existing = self.client.volume_snapshots.create(
                cinder_volume_id, force=True, name=name,
                metadata={ID_KEY: ebsboot_id})
        return self._wait(self.client.volume_snapshots.get, existing.id,
                          'available', 'snapshot')

    def _attachments(self, cinder_volume_id, instance_id=None):
        search = {'volume_id': cinder_volume_id}
        if instance_id:
            search['instance_id'] = instance_id
        return self.client.attachments.list(search_opts=search)

    def _delete_attachment(self, attachment_id):
        try:
            self.client.attachments.delete(attachment_id)
        except cinder_exc.NotFound:
            pass

    def _delete_volume(self, cinder_volume):
        for attachment in self._attachments(cinder_volume.id):
            self._delete_attachment(attachment.id)
        try:
            self.client.volumes.delete(cinder_volume.id)
        except cinder_exc.NotFound:
            return
        self._wait_gone(self.client.volumes.get, cinder_volume.id, 'volume')

    def _delete_snapshot(self, cinder_snapshot):
        try:
            self.client.volume_snapshots.delete(cinder_snapshot.id)
        except cinder_exc.NotFound:
            return
        self._wait_gone(self.client.volume_snapshots.get,
                        cinder_snapshot.id, 'snapshot')

    def _snapshots_on(self, cinder_volume_id):
        return self.client.volume_snapshots.list(
            search_opts={'volume_id': cinder_volume_id})

    # Volumes ----------------------------------------------------------------

    def check_for_setup_error(self):
        try:
            self._check()
        except CinderError as e:
            # Cinder may come up after ebsboot: every step retries it.
            LOG.warning('Cinder is not usable yet: %s', e)

    @_cinder_errors
    def _check(self):
        self.client.volumes.list(limit=1)

    @_cinder_errors
    def create_volume(self, volume):
        made = self._make_volume(
            VOLUME_PREFIX + volume['id'], volume['size'],
            volume_type=self._volume_type(volume),
            metadata={ID_KEY: volume['id']})
        LOG.info('Cinder volume %s is volume %s', made.id, volume['id'])
        return {'provider_location': made.id}

    @_cinder_errors
    def create_volume_from_snapshot(self, volume, snapshot):
        source = self._snapshot_of(snapshot)
        if source is None:
            raise CinderError('the Cinder snapshot of snapshot %s is gone'
                              % snapshot['id'])
        made = self._make_volume(
            VOLUME_PREFIX + volume['id'], volume['size'],
            volume_type=self._volume_type(volume), snapshot_id=source.id,
            metadata={ID_KEY: volume['id']})
        LOG.info('Cinder volume %s is volume %s, from Cinder snapshot %s',
                 made.id, volume['id'], source.id)
        return {'provider_location': made.id}

    @_cinder_errors
    def delete_volume(self, volume):
        cinder_volume = self._volume_of(volume)
        if cinder_volume is None or \
                cinder_volume.metadata.get(DELETED_KEY):
            return
        if self._snapshots_on(cinder_volume.id):
            # EC2 snapshots outlive their volume; Cinder's do not: keep
            # the volume hidden until its last snapshot goes.
            for attachment in self._attachments(cinder_volume.id):
                self._delete_attachment(attachment.id)
            self.client.volumes.set_metadata(cinder_volume.id,
                                             {DELETED_KEY: 'true'})
            self.client.volumes.update(
                cinder_volume.id, name=HOLDER_PREFIX + volume['id'])
            LOG.info('Cinder volume %s of volume %s waits for its '
                     'snapshots to be deleted', cinder_volume.id,
                     volume['id'])
            return
        self._delete_volume(cinder_volume)

    @_cinder_errors
    def extend_volume(self, volume, new_size):
        cinder_volume = self._volume_of(volume)
        if cinder_volume is None:
            raise CinderError('the Cinder volume of volume %s is gone'
                              % volume['id'])
        if cinder_volume.size >= new_size:
            return
        if cinder_volume.status != 'extending':
            self.client.volumes.extend(cinder_volume.id, new_size)
        deadline = self._clock() + self.conf.cinder.status_timeout
        while True:
            current = self.client.volumes.get(cinder_volume.id)
            if current.size >= new_size and current.status != 'extending':
                return
            if current.status.startswith('error'):
                raise CinderError('Cinder volume %s is %s' % (
                    cinder_volume.id, current.status))
            if self._clock() > deadline:
                raise CinderError('Cinder volume %s did not reach %d GiB '
                                  'in %d s' % (
                                      cinder_volume.id, new_size,
                                      self.conf.cinder.status_timeout))
            self._sleep(self.conf.cinder.status_poll_interval)

    # Snapshots --------------------------------------------------------------

    @_cinder_errors
    def create_snapshot(self, snapshot, volume, progress=None):
        cinder_volume = self._volume_of(volume)
        if cinder_volume is None:
            raise CinderError('the Cinder volume of volume %s is gone'
                              % volume['id'])
        made = self._make_snapshot(SNAPSHOT_PREFIX + snapshot['id'],
                                   cinder_volume.id, snapshot['id'])
        if progress is not None:
            progress(100)
        return {'provider_location': made.id}

    def _holder_snapshot(self, snapshot, make_holder):
        """A snapshot of a hidden volume of its own (imports, copies)."""
        existing = self._find_snapshot(SNAPSHOT_PREFIX + snapshot['id'])
        if existing is not None and existing.status == 'available':
            return {'provider_location': existing.id}
        holder = make_holder(HOLDER_PREFIX + snapshot['id'])
        try:
            made = self._make_snapshot(SNAPSHOT_PREFIX + snapshot['id'],
                                       holder.id, snapshot['id'])
        except Exception:
            self._delete_volume(holder)
            raise
        return {'provider_location': made.id}

    @_cinder_errors
    def copy_snapshot(self, snapshot, source):
        original = self._snapshot_of(source)
        if original is None:
            raise CinderError('the Cinder snapshot of snapshot %s is gone'
                              % source['id'])
        return self._holder_snapshot(snapshot, lambda name: self._make_volume(
            name, source['volume_size'], snapshot_id=original.id,
            metadata={ID_KEY: snapshot['id'], DELETED_KEY: 'true'}))

    @_cinder_errors
    def import_snapshot(self, snapshot, source, source_format):
        if not self.conf.cinder.rbd_user:
            raise CinderError('importing a snapshot into Cinder needs '
                              '[cinder] rbd_user and rbd_ceph_conf')

        def make_holder(name):
            holder = self._make_volume(
                name, snapshot['volume_size'],
                metadata={ID_KEY: snapshot['id'], DELETED_KEY: 'true'})
            try:
                self._write_image(holder, snapshot, source, source_format)
            except Exception:
                self._delete_volume(holder)
                raise
            return holder

        return self._holder_snapshot(snapshot, make_holder)

    def _rbd_name(self, cinder_volume):
        """``pool/image`` of a volume, from a connection Cinder gives."""
        connector = {'host': 'ebsboot-import', 'ip': '127.0.0.1',
                     'initiator': None, 'multipath': False,
                     'do_local_attach': False, 'platform': 'x86_64',
                     'os_type': 'linux'}
        attachment = self.client.attachments.create(
            cinder_volume.id, connector, mode='rw')
        try:
            info = attachment['connection_info']
        finally:
            self._delete_attachment(attachment['id'])
        if info.get('driver_volume_type') != 'rbd':
            raise CinderError('importing a snapshot needs a Cinder RBD '
                              'backend, not %s' %
                              info.get('driver_volume_type'))
        return info['name']

    def _write_image(self, holder, snapshot, source, source_format):
        target = 'rbd:%s:id=%s:conf=%s' % (
            self._rbd_name(holder), self.conf.cinder.rbd_user,
            self.conf.cinder.rbd_ceph_conf)
        try:
            image = diskimage.inspect(source, self.conf.qcow2.qemu_img)
        except exception.InvalidDiskImage as e:
            raise CinderError(str(e))
        if image.format != source_format:
            raise CinderError('%s has format %s, not %s' % (
                image.path, image.format, source_format))
        if diskimage.size_in_gib(image.virtual_size) != \
                snapshot['volume_size']:
            raise CinderError('%s changed during the import' % image.path)

        def convert(source):
            try:
                diskimage.execute(
                    [self.conf.qcow2.qemu_img, 'convert', '-q', '-n', '-f',
                     source_format, '-O', 'raw', source.proc_path, target],
                    pass_fds=(source.fd,))
            except (processutils.ProcessExecutionError, OSError) as e:
                raise CinderError('writing %s into Cinder volume %s '
                                  'failed: %s' % (image.path, holder.id, e))

        if source_format == 'qcow2':
            # qemu-img reads the header again: convert a private copy
            # that nobody else can change since it was checked.
            with tempfile.TemporaryFile() as f:
                importfile.copy_to(source, f)
                convert(importfile.SourceFile(source.path, f))
        else:
            convert(source)

    @_cinder_errors
    def delete_snapshot(self, snapshot):
        cinder_snapshot = self._snapshot_of(snapshot)
        if cinder_snapshot is None:
            # Its holder may still be there (a crash after the delete).
            holder = self._find_volume(HOLDER_PREFIX + snapshot['id'])
            if holder is not None:
                self._delete_holder(holder)
            return
        volume_id = cinder_snapshot.volume_id
        self._delete_snapshot(cinder_snapshot)
        holder = self._get_volume(volume_id)
        if holder is not None:
            self._delete_holder(holder)

    def _delete_holder(self, cinder_volume):
        """Delete a hidden volume once it has no snapshot left."""
        if cinder_volume.metadata.get(DELETED_KEY) and \
                not self._snapshots_on(cinder_volume.id):
            self._delete_volume(cinder_volume)

    # Connections ------------------------------------------------------------

    @_cinder_errors
    def initialize_connection(self, volume, connector, instance_id=None):
        cinder_volume = self._volume_of(volume)
        if cinder_volume is None:
            raise CinderError('the Cinder volume of volume %s is gone'
                              % volume['id'])
        if instance_id:
            # Again after a crash, or for another host: one attachment per
            # instance.
            for old in self._attachments(cinder_volume.id, instance_id):
                self._delete_attachment(old.id)
        attachment = self.client.attachments.create(
            cinder_volume.id, connector, instance_id, mode='rw')
        try:
            self.client.attachments.complete(attachment['id'])
        except Exception:
            self._delete_attachment(attachment['id'])
            raise
        data = dict(attachment['connection_info'])
        return {'driver_volume_type': data.pop('driver_volume_type'),
                'data': data}

    @_cinder_errors
    def terminate_connection(self, volume, connector, instance_id=None):
        cinder_volume = self._volume_of(volume)
        if cinder_volume is None:
            return
        for attachment in self._attachments(cinder_volume.id, instance_id):
            self._delete_attachment(attachment.id)

    def get_volume_stats(self):
        return {
            'volume_backend_name': 'cinder',
            'vendor_name': 'OpenStack',
            'driver_version': '1.0.0',
            'storage_protocol': 'cinder',
        }
