"""RunInstances, Describe/Start/Stop/TerminateInstances, console, status."""

from sqlalchemy import engine as sa_engine

from ebsboot.api.ec2 import filters as ec2_filters
from ebsboot.api.ec2 import tags as ec2_tags
from ebsboot.api.ec2 import xmlutil
from ebsboot.cloud import bdm as bdm_utils
from ebsboot.cloud import instances as cloud_instances
from ebsboot.cloud import vpcs as cloud_vpcs
from ebsboot.conf import CONF
from ebsboot.db import api as db
from ebsboot.db import versioned
from ebsboot import exception


def _state(name):
    return {'code': cloud_instances.STATE_CODES[name], 'name': name}


# What Describe calls show and filter on (not user data, say).
INSTANCE_COLUMNS = (
    'id', 'ec2_id', 'reservation_id', 'project_id', 'image_ec2_id', 'state',
    'state_transition_reason', 'launch_index', 'instance_type',
    'launched_at', 'created_at', 'availability_zone', 'kernel_id',
    'ramdisk_id', 'root_device_name', 'short_root_device_name',
    'client_token', 'vcpus',
    'state_reason_code', 'state_reason_message', 'key_name',
    'subnet_ec2_id', 'vpc_ec2_id', 'private_ip_address', 'mac_address')

# Filters whose plain values narrow the database query.
QUERY_FILTERS = {
    'instance-id': 'ec2_id',
    'instance-state-name': 'state',
    'reservation-id': 'reservation_id',
    'image-id': 'image_ec2_id',
    'instance-type': 'instance_type',
    'availability-zone': 'availability_zone',
    'client-token': 'client_token',
    'key-name': 'key_name',
    'vpc-id': 'vpc_ec2_id',
    'subnet-id': 'subnet_ec2_id',
    'private-ip-address': 'private_ip_address',
}

DEVICE_COLUMNS = ('device_name', 'short_name', 'volume_ec2_id', 'status',
                  'attach_time', 'created_at', 'delete_on_termination')


def root_device_name(instance):
    """The instance's root device name as the client gave it."""
    return bdm_utils.as_given(instance.root_device_name,
                              instance.short_root_device_name)


def device_name(device):
    """A device row's name as the client gave it."""
    return bdm_utils.as_given(device.device_name, device.short_name)


def _devices(instances, rows=None):
    """``{instance id: its device rows}``; ``rows``: read already."""
    if rows is None:
        rows = db.block_device_rows([i.id for i in instances],
                                    DEVICE_COLUMNS)
    by_instance = {}
    for device in rows:
        by_instance.setdefault(device.instance_id, []).append(device)
    return by_instance


def format_instance(instance, devices, tags=()):
    item = {
        'instanceId': instance.ec2_id,
        'imageId': instance.image_ec2_id,
        'instanceState': _state(instance.state),
        'reason': instance.state_transition_reason or '',
        'keyName': instance.key_name,
        'amiLaunchIndex': instance.launch_index,
        'instanceType': instance.instance_type,
        'launchTime': instance.launched_at or instance.created_at,
        'placement': {'availabilityZone': instance.availability_zone,
                      'tenancy': 'default'},
        'kernelId': instance.kernel_id,
        'ramdiskId': instance.ramdisk_id,
        'monitoring': {'state': 'disabled'},
        'architecture': 'x86_64',
        'rootDeviceType': 'ebs',
        'rootDeviceName': root_device_name(instance),
        'blockDeviceMapping': [
            {'deviceName': device_name(d),
             'ebs': {'volumeId': d.volume_ec2_id,
                     'status': d.status,
                     'attachTime': d.attach_time or d.created_at,
                     'deleteOnTermination': d.delete_on_termination}}
            for d in devices if d.volume_ec2_id],
        'virtualizationType': 'hvm',
        'clientToken': instance.client_token or '',
        'ebsOptimized': False,
        'cpuOptions': {'coreCount': instance.vcpus,
                       'threadsPerCore': 1},
        'tagSet': ec2_tags.tag_set(tags),
    }
    if instance.state_reason_code:
        item['stateReason'] = {'code': instance.state_reason_code,
                               'message': instance.state_reason_message}
    item.update(_network(instance))
    return item


def _region():
    return CONF.api.region_name


def _network(instance):
    """The VPC elements of an instance with a private address."""
    address = instance.private_ip_address
    if not address:
        return {}
    dns = cloud_vpcs.dns_name(address, _region())
    suffix = instance.ec2_id.split('-', 1)[1]
    return {
        'privateDnsName': dns,
        'privateIpAddress': address,
        'subnetId': instance.subnet_ec2_id,
        'vpcId': instance.vpc_ec2_id,
        'sourceDestCheck': True,
        'networkInterfaceSet': [{
            'networkInterfaceId': 'eni-' + suffix,
            'subnetId': instance.subnet_ec2_id,
            'vpcId': instance.vpc_ec2_id,
            'ownerId': instance.project_id,
            'status': 'in-use',
            'macAddress': instance.mac_address,
            'privateIpAddress': address,
            'privateDnsName': dns,
            'sourceDestCheck': True,
            'attachment': {'attachmentId': 'eni-attach-' + suffix,
                           'deviceIndex': 0,
                           'status': 'attached',
                           'deleteOnTermination': True,
                           'networkCardIndex': 0},
            'privateIpAddressesSet': [{'privateIpAddress': address,
                                       'privateDnsName': dns,
                                       'primary': True}],
            'interfaceType': 'interface'}],
    }


def instance_xml(instance, devices, tags=()):
    """``format_instance`` rendered straight to XML: the same elements.

    DescribeInstances shows hundreds of instances, and building their
    dicts and walking them cost more than the rest of the call. A unit
    test keeps this and ``format_instance`` identical.
    """
    if not isinstance(instance, sa_engine.Row):
        return _instance_xml(instance, devices, tags)
    # Rows of INSTANCE_COLUMNS and DEVICE_COLUMNS and the tags hold
    # everything the XML shows: the same values give the same XML, so a
    # poll of unchanged instances renders nothing again. (Plain tuples as
    # the key: they compare in C, rows do not.)
    key = (tuple(instance), tuple([tuple(d) for d in devices]),
           tuple(tags))
    xml = _XML_CACHE.get(key)
    if xml is None:
        xml = _instance_xml(instance, devices, tags)
        if len(_XML_CACHE) >= XML_CACHE_SIZE:
            _XML_CACHE.clear()
        _XML_CACHE[key] = xml
    return xml


# About 2.5 KiB an entry; emptied when full (a cloud with more instances
# than this renders every time, as without the cache).
XML_CACHE_SIZE = 5000
_XML_CACHE = {}


def _instance_xml(instance, devices, tags=()):
    esc = xmlutil.escape
    launched = instance.launched_at or instance.created_at
    out = [
        f'<instanceId>{esc(instance.ec2_id)}</instanceId>'
        f'<imageId>{esc(instance.image_ec2_id)}</imageId>'
        f'<instanceState><code>{cloud_instances.STATE_CODES[instance.state]}'
        f'</code><name>{esc(instance.state)}</name></instanceState>'
        f'<reason>{esc(instance.state_transition_reason or "")}</reason>']
    if instance.key_name is not None:
        out.append(f'<keyName>{esc(instance.key_name)}</keyName>')
    out += [
        f'<amiLaunchIndex>{instance.launch_index}</amiLaunchIndex>'
        f'<instanceType>{esc(instance.instance_type)}</instanceType>']
    if launched is not None:
        out.append(f'<launchTime>{xmlutil.format_datetime(launched)}'
                   '</launchTime>')
    out.append(f'<placement><availabilityZone>'
               f'{esc(instance.availability_zone)}</availabilityZone>'
               '<tenancy>default</tenancy></placement>')
    if instance.kernel_id is not None:
        out.append(f'<kernelId>{esc(instance.kernel_id)}</kernelId>')
    if instance.ramdisk_id is not None:
        out.append(f'<ramdiskId>{esc(instance.ramdisk_id)}</ramdiskId>')
    out.append('<monitoring><state>disabled</state></monitoring>'
               '<architecture>x86_64</architecture>'
               '<rootDeviceType>ebs</rootDeviceType>'
               f'<rootDeviceName>{esc(root_device_name(instance))}'
               '</rootDeviceName>')
    mapped = [d for d in devices if d.volume_ec2_id]
    out.append('<blockDeviceMapping>' if mapped else '<blockDeviceMapping/>')
    for d in mapped:
        out.append(f'<item><deviceName>{esc(device_name(d))}</deviceName>'
                   f'<ebs><volumeId>{esc(d.volume_ec2_id)}</volumeId>')
        if d.status is not None:
            out.append(f'<status>{esc(d.status)}</status>')
        attached = d.attach_time or d.created_at
        if attached is not None:
            out.append(f'<attachTime>{xmlutil.format_datetime(attached)}'
                       '</attachTime>')
        if d.delete_on_termination is not None:
            out.append('<deleteOnTermination>%s</deleteOnTermination>'
                       % ('true' if d.delete_on_termination else 'false'))
        out.append('</ebs></item>')
    if mapped:
        out.append('</blockDeviceMapping>')
    out.append('<virtualizationType>hvm</virtualizationType>'
               f'<clientToken>{esc(instance.client_token or "")}'
               '</clientToken><ebsOptimized>false</ebsOptimized>'
               f'<cpuOptions><coreCount>{instance.vcpus}</coreCount>'
               '<threadsPerCore>1</threadsPerCore></cpuOptions>')
    if tags:
        out.append('<tagSet>')
        for key, value in tags:
            out.append(f'<item><key>{esc(key)}</key>'
                       f'<value>{esc(value)}</value></item>')
        out.append('</tagSet>')
    if instance.state_reason_code:
        out.append(f'<stateReason><code>{esc(instance.state_reason_code)}'
                   '</code>')
        if instance.state_reason_message is not None:
            out.append(f'<message>{esc(instance.state_reason_message)}'
                       '</message>')
        out.append('</stateReason>')
    network = _network(instance)
    if network:
        out.append(xmlutil.render_fields(network))
    return xmlutil.Raw(''.join(out))


def format_reservations(instances, devices=None, tags=None):
    """Reservations of the instances; ``tags``: a ``TagIndex`` of them."""
    devices = _devices(instances) if devices is None else devices
    tags_of = tags.of if tags is not None else (lambda instance: ())
    reservations = {}
    for instance in instances:
        reservation = reservations.setdefault(instance.reservation_id, {
            'reservationId': instance.reservation_id,
            'ownerId': instance.project_id,
            'groupSet': [],
            'instancesSet': [],
        })
        reservation['instancesSet'].append(
            instance_xml(instance, devices.get(instance.id, ()),
                         tags_of(instance)))
    return list(reservations.values())


class _DeviceIndex:
    """Block devices of a set of instances, read on first use only.

    ``read`` reads their rows (by default: by the instances' ids).
    """

    def __init__(self, instances, read=None):
        self._instances = instances
        self._read = read
        self._devices = None

    @property
    def read(self):
        return self._devices is not None

    def all(self):
        """``{instance id: its device rows}``."""
        if self._devices is None:
            self._devices = _devices(
                self._instances, self._read() if self._read else None)
        return self._devices

    def values(self, attribute):
        """Filter of a column of the devices, or of a function of them."""
        get = (attribute if callable(attribute)
               else lambda d: getattr(d, attribute))

        def extract(instance):
            return [get(d)
                    for d in self.all().get(instance.id, [])
                    if d.volume_ec2_id]
        return extract


def _time(value):
    return value.strftime('%Y-%m-%dT%H:%M:%S.000Z') if value else ''


def instance_filters(devices):
    """The filters of DescribeInstances; ``devices``: a _DeviceIndex."""
    return {
        'instance-id': lambda i: i.ec2_id,
        'instance-state-name': lambda i: i.state,
        'instance-state-code': lambda i: cloud_instances.STATE_CODES[
            i.state],
        'instance-type': lambda i: i.instance_type,
        'image-id': lambda i: i.image_ec2_id,
        'reservation-id': lambda i: i.reservation_id,
        'owner-id': lambda i: i.project_id,
        'availability-zone': lambda i: i.availability_zone,
        'root-device-type': lambda i: 'ebs',
        'root-device-name': root_device_name,
        'client-token': lambda i: i.client_token,
        'key-name': lambda i: i.key_name,
        'vpc-id': lambda i: i.vpc_ec2_id,
        'subnet-id': lambda i: i.subnet_ec2_id,
        'private-ip-address': lambda i: i.private_ip_address,
        'private-dns-name': lambda i: cloud_vpcs.dns_name(
            i.private_ip_address, _region()) or None,
        'network-interface.subnet-id': lambda i: i.subnet_ec2_id,
        'network-interface.vpc-id': lambda i: i.vpc_ec2_id,
        'network-interface.mac-address': lambda i: i.mac_address,
        'network-interface.addresses.private-ip-address':
            lambda i: i.private_ip_address,
        'launch-index': lambda i: i.launch_index,
        'kernel-id': lambda i: i.kernel_id,
        'ramdisk-id': lambda i: i.ramdisk_id,
        'state-reason-code': lambda i: i.state_reason_code,
        'architecture': lambda i: 'x86_64',
        'block-device-mapping.device-name': devices.values(device_name),
        'block-device-mapping.volume-id': devices.values('volume_ec2_id'),
        'block-device-mapping.status': devices.values('status'),
        'block-device-mapping.delete-on-termination':
            devices.values('delete_on_termination'),
        'block-device-mapping.attach-time': lambda i: [
            _time(t) for t in devices.values('attach_time')(i)],
    }


def run_instances(context, params, request):
    params.check_unknown((
        'ImageId', 'MinCount', 'MaxCount', 'InstanceType', 'Placement',
        'UserData', 'ClientToken', 'DisableApiTermination', 'DisableApiStop',
        'InstanceInitiatedShutdownBehavior', 'BlockDeviceMapping',
        'KernelId', 'RamdiskId', 'Monitoring', 'EbsOptimized',
        'TagSpecification', 'KeyName', 'SubnetId', 'DryRun'))
    tags = ec2_tags.tag_specifications(params, ('instance', 'volume'))
    rows = cloud_instances.run_instances(
        context, params.get_str('ImageId', required=True),
        min_count=params.get_int('MinCount', required=True),
        max_count=params.get_int('MaxCount', required=True),
        instance_type=params.get_str('InstanceType'),
        zone=params.get_str('Placement.AvailabilityZone'),
        user_data=params.get_str('UserData'),
        client_token=params.get_str('ClientToken'),
        disable_api_termination=params.get_bool('DisableApiTermination'),
        disable_api_stop=params.get_bool('DisableApiStop'),
        shutdown_behavior=params.get_str('InstanceInitiatedShutdownBehavior',
                                         default='stop'),
        block_device_mappings=params.get_dict_list('BlockDeviceMapping'),
        kernel_id=params.get_str('KernelId'),
        ramdisk_id=params.get_str('RamdiskId'),
        tags=tags, key_name=params.get_str('KeyName'),
        subnet_id=params.get_str('SubnetId'))
    [reservation] = format_reservations(rows, tags=ec2_tags.TagIndex(
        context, 'instance', rows))
    return reservation


# DescribeInstances answers, by what was asked, until the next commit:
# pollers (SDK waiters, Terraform, dashboards) ask the same again and
# again while nothing changes.
RESPONSE_CACHE_SIZE = 64
_RESPONSES = versioned.VersionedCache(RESPONSE_CACHE_SIZE,
                                      lambda: db.data_version())


def describe_instances(context, params, request):
    params.check_unknown(('InstanceId', 'Filter', 'MaxResults', 'NextToken',
                          'IncludeManagedResources', 'DryRun'))
    key = (context.project_id, context.is_admin, _frozen(params.raw))
    return _RESPONSES.get(key, lambda: _describe_instances(context, params))


def _frozen(value):
    """Nested request parameters as a hashable value."""
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


def _describe_instances(context, params):
    ids = params.get_list('InstanceId')
    pager = ec2_filters.Pager(params, ids_given=bool(ids), maximum=1000)
    filters = params.get_filters()
    where = _query_filters(filters)
    found = cloud_instances.instance_rows(context, INSTANCE_COLUMNS, ids,
                                          **where)
    devices = _DeviceIndex(found, lambda: cloud_instances.instance_device_rows(
        context, DEVICE_COLUMNS, ids, **where))
    tags = ec2_tags.TagIndex(context, 'instance', found)
    instances = ec2_filters.apply(found, filters, instance_filters(devices),
                                  tags=tags.of)
    page, token = pager.page(instances)
    if len(page) < len(found) and not devices.read:
        # Only the page's: fewer than the query found.
        devices = _DeviceIndex(page)
    return {'reservationSet': format_reservations(
        page, devices.all(), tags.for_page(page)),
        'nextToken': token}


def _query_filters(filters):
    where = {}
    for name, column in QUERY_FILTERS.items():
        values = ec2_filters.exact_values(filters, name)
        if values is not None:
            where[column] = values
    return where


def _state_changes(result):
    return [{'instanceId': instance.ec2_id,
             'currentState': _state(current),
             'previousState': _state(previous)}
            for instance, previous, current in result]


def stop_instances(context, params, request):
    params.check_unknown(('InstanceId', 'Force', 'Hibernate',
                          'SkipOsShutdown', 'DryRun'))
    result = cloud_instances.stop_instances(
        context, params.get_list('InstanceId', required=True),
        force=params.get_bool('Force'))
    return {'instancesSet': _state_changes(result)}


def start_instances(context, params, request):
    params.check_unknown(('InstanceId', 'AdditionalInfo', 'DryRun'))
    result = cloud_instances.start_instances(
        context, params.get_list('InstanceId', required=True))
    return {'instancesSet': _state_changes(result)}


def reboot_instances(context, params, request):
    params.check_unknown(('InstanceId', 'DryRun'))
    cloud_instances.reboot_instances(
        context, params.get_list('InstanceId', required=True))
    return {'return': True}


def terminate_instances(context, params, request):
    params.check_unknown(('InstanceId', 'Force', 'SkipOsShutdown',
                          'DryRun'))
    result = cloud_instances.terminate_instances(
        context, params.get_list('InstanceId', required=True))
    return {'instancesSet': _state_changes(result)}


def get_console_output(context, params, request):
    params.check_unknown(('InstanceId', 'Latest', 'DryRun'))
    params.get_bool('Latest')
    # Older SDKs send the list form InstanceId.1; one instance still.
    ids = params.get_list('InstanceId', required=True)
    if ids == ['']:
        raise exception.MissingParameter(param='InstanceId')
    if len(ids) != 1:
        raise exception.InvalidParameterValue(
            'GetConsoleOutput takes exactly one InstanceId.')
    instance, output = cloud_instances.console_output(context, ids[0])
    return {'instanceId': instance.ec2_id,
            'timestamp': instance.updated_at or instance.created_at,
            'output': output}


def describe_instance_status(context, params, request):
    params.check_unknown(('InstanceId', 'Filter', 'MaxResults', 'NextToken',
                          'IncludeAllInstances', 'IncludeManagedResources',
                          'DryRun'))
    ids = params.get_list('InstanceId')
    pager = ec2_filters.Pager(params, ids_given=bool(ids), maximum=1000)
    instances = cloud_instances.instance_rows(context, INSTANCE_COLUMNS,
                                              ids)
    if not params.get_bool('IncludeAllInstances'):
        instances = [i for i in instances if i.state == 'running']
    instances = ec2_filters.apply(instances, params.get_filters(), {
        'instance-state-name': lambda i: i.state,
        'instance-state-code': lambda i: cloud_instances.STATE_CODES[
            i.state],
        'availability-zone': lambda i: i.availability_zone,
        'instance-status.status': lambda i: _health(i),
        'system-status.status': lambda i: _health(i),
    })
    page, token = pager.page(instances)
    return {'instanceStatusSet': [{
        'instanceId': i.ec2_id,
        'availabilityZone': i.availability_zone,
        'instanceState': _state(i.state),
        'systemStatus': {'status': _health(i),
                         'details': _details(i)},
        'instanceStatus': {'status': _health(i),
                           'details': _details(i)},
    } for i in page], 'nextToken': token}


def _health(instance):
    return 'ok' if instance.state == 'running' else 'not-applicable'


def _details(instance):
    if instance.state != 'running':
        return []
    return [{'name': 'reachability', 'status': 'passed'}]


def _value(value):
    return {'value': value}


def describe_instance_attribute(context, params, request):
    params.check_unknown(('InstanceId', 'Attribute', 'DryRun'))
    instance = cloud_instances.get_instance(
        context, params.get_str('InstanceId', required=True))
    attribute = params.get_str('Attribute', required=True)
    devices = _devices([instance]).get(instance.id, [])
    values = {
        'instanceType': lambda: _value(instance.instance_type),
        'kernel': lambda: _value(instance.kernel_id),
        'ramdisk': lambda: _value(instance.ramdisk_id),
        'userData': lambda: _value(instance.user_data),
        'disableApiTermination': lambda: _value(
            instance.disable_api_termination),
        'disableApiStop': lambda: _value(instance.disable_api_stop),
        'instanceInitiatedShutdownBehavior': lambda: _value(
            instance.shutdown_behavior),
        'rootDeviceName': lambda: _value(root_device_name(instance)),
        'blockDeviceMapping': lambda: format_instance(
            instance, devices)['blockDeviceMapping'],
        'productCodes': lambda: [],
        'groupSet': lambda: [],
        'sourceDestCheck': lambda: _value(True),
        'ebsOptimized': lambda: _value(False),
        'enaSupport': lambda: _value(False),
        'sriovNetSupport': lambda: _value('simple'),
    }
    if attribute not in values:
        raise exception.InvalidParameterValue(
            'Value (%s) for parameter attribute is invalid. Unknown '
            'attribute.' % attribute)
    return {'instanceId': instance.ec2_id, attribute: values[attribute]()}


# ModifyInstanceAttribute: parameter -> (attribute, how to read its value)
_MODIFY_PARAMS = {
    'InstanceType': ('instanceType', 'str'),
    'Kernel': ('kernel', 'str'),
    'Ramdisk': ('ramdisk', 'str'),
    'UserData': ('userData', 'str'),
    'DisableApiTermination': ('disableApiTermination', 'bool'),
    'DisableApiStop': ('disableApiStop', 'bool'),
    'InstanceInitiatedShutdownBehavior': (
        'instanceInitiatedShutdownBehavior', 'str'),
}
_BOOL_ATTRIBUTES = ('disableApiTermination', 'disableApiStop')


def modify_instance_attribute(context, params, request):
    params.check_unknown(tuple(_MODIFY_PARAMS) + (
        'InstanceId', 'Attribute', 'Value', 'BlockDeviceMapping',
        'SourceDestCheck', 'GroupId', 'EbsOptimized', 'EnaSupport',
        'SriovNetSupport', 'DryRun'))
    ec2_id = params.get_str('InstanceId', required=True)
    changes = []
    for name, (attribute, kind) in _MODIFY_PARAMS.items():
        if name in params:
            path = name + '.Value'
            if path not in params:
                raise exception.MissingParameter(param=path)
            value = (params.get_bool(path) if kind == 'bool'
                     else params.get_str(path, default=''))
            changes.append((attribute, value))
    if 'Attribute' in params:
        attribute = params.get_str('Attribute', required=True)
        if 'Value' not in params:
            raise exception.MissingParameter(param='Value')
        value = params.get_str('Value')
        if attribute in _BOOL_ATTRIBUTES:
            value = params.get_bool('Value')
        changes.append((attribute, value))
    if 'BlockDeviceMapping' in params:
        mappings = []
        for entry in params.get_params_list('BlockDeviceMapping'):
            mappings.append((
                entry.get_str('DeviceName', required=True),
                entry.get_bool('Ebs.DeleteOnTermination', default=True)))
        changes.append(('blockDeviceMapping', mappings))
    for unsupported in ('SourceDestCheck', 'GroupId', 'EbsOptimized',
                        'EnaSupport', 'SriovNetSupport'):
        if unsupported in params:
            raise exception.UnsupportedOperation(
                'Modifying %s is not supported.' % unsupported)
    if len(changes) != 1:
        raise exception.InvalidParameterCombination(
            'Exactly one attribute may be modified per request.')
    attribute, value = changes[0]
    cloud_instances.modify_attribute(context, ec2_id, attribute, value)
    return {'return': True}


def reset_instance_attribute(context, params, request):
    params.check_unknown(('InstanceId', 'Attribute', 'DryRun'))
    ec2_id = params.get_str('InstanceId', required=True)
    attribute = params.get_str('Attribute', required=True)
    if attribute not in cloud_instances.RESETTABLE:
        raise exception.InvalidParameterValue(
            'Value (%s) for parameter attribute is invalid. Only %s can be '
            'reset.' % (attribute, ', '.join(cloud_instances.RESETTABLE)))
    cloud_instances.reset_attribute(context, ec2_id, attribute)
    return {'return': True}


def create_image(context, params, request):
    params.check_unknown(('InstanceId', 'Name', 'Description', 'NoReboot',
                          'BlockDeviceMapping', 'TagSpecification',
                          'SnapshotLocation', 'BootModeOverride', 'DryRun'))
    location = params.get_str('SnapshotLocation')
    if location not in (None, 'regional'):
        raise exception.UnsupportedOperation(
            'Snapshots are stored in the region (SnapshotLocation '
            'regional), not in %s.' % location)
    if 'BootModeOverride' in params:
        raise exception.UnsupportedOperation(
            'The parameter BootModeOverride is not supported: the image '
            'has the instance\'s boot mode.')
    ami = cloud_instances.create_image(
        context, params.get_str('InstanceId', required=True),
        params.get_str('Name', required=True),
        description=params.get_str('Description'),
        no_reboot=params.get_bool('NoReboot'),
        block_device_mappings=params.get_dict_list('BlockDeviceMapping'),
        tags=ec2_tags.tag_specifications(params, ('image', 'snapshot')))
    return {'imageId': ami}


ACTIONS = {
    'CreateImage': create_image,
    'DescribeInstanceAttribute': describe_instance_attribute,
    'ModifyInstanceAttribute': modify_instance_attribute,
    'ResetInstanceAttribute': reset_instance_attribute,
    'RunInstances': run_instances,
    'DescribeInstances': describe_instances,
    'StopInstances': stop_instances,
    'RebootInstances': reboot_instances,
    'StartInstances': start_instances,
    'TerminateInstances': terminate_instances,
    'GetConsoleOutput': get_console_output,
    'DescribeInstanceStatus': describe_instance_status,
}
