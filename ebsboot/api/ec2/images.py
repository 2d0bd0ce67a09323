"""RegisterImage, DeregisterImage, DescribeImages and the image attributes.

Machine images are EBS-backed: registered from snapshots here, or made by
CreateImage. Kernel and ramdisk images (imported by the operator) are shown
as AWS shows its AKIs and ARIs: no root device or mappings (so
rootDeviceType ``instance-store``), virtualizationType ``paravirtual``.
"""

from ebsboot.api.ec2 import filters as ec2_filters
from ebsboot.api.ec2 import permissions as ec2_permissions
from ebsboot.api.ec2 import tags as ec2_tags
from ebsboot.api.ec2 import xmlutil
from ebsboot.cloud import bdm as bdm_utils
from ebsboot.cloud import image_copies
from ebsboot.cloud import images as cloud_images
from ebsboot.conf import CONF
from ebsboot import exception

DESCRIBE_ATTRIBUTES = ('description', 'kernel', 'ramdisk',
                       'launchPermission', 'productCodes',
                       'blockDeviceMapping', 'bootMode', 'sriovNetSupport')
_BOOT_MODES = {'bios': 'legacy-bios', 'uefi': 'uefi'}
_LAUNCH_PERMISSION_PARAMS = ('LaunchPermission', 'OperationType', 'UserId',
                             'UserGroup')


def _format_mapping(bdm, snapshot_ids):
    item = {'deviceName': bdm_utils.as_given(bdm['device_name'],
                                             bdm.get('short_name'))}
    if bdm['no_device']:
        item['noDevice'] = ''
    elif bdm['virtual_name']:
        item['virtualName'] = bdm['virtual_name']
    else:
        item['ebs'] = {
            'snapshotId': snapshot_ids.get(bdm['snapshot_id']),
            'volumeSize': bdm['volume_size'],
            'deleteOnTermination': bool(bdm['delete_on_termination']),
            'volumeType': bdm['volume_type'],
            'encrypted': False,
        }
    return item


class _View:
    """What DescribeImages shows of an image, computed once."""

    def __init__(self, image, snapshot_ids):
        props = image['properties']
        self.image = image
        self.ec2_id = cloud_images.image_ec2_id(image)
        self.state = cloud_images.image_state(image)
        _root, self.bdms = cloud_images.block_device_mappings(image)
        self.root_device_name = cloud_images.root_device_name_given(image)
        self.root_device_type = cloud_images.root_device_type(image)
        self.image_type = cloud_images.image_type(image)
        self.virtualization_type = ('hvm' if self.image_type == 'machine'
                                    else 'paravirtual')
        self.public, _members = cloud_images.launch_permissions(image)
        self.description = props.get('description')
        self.architecture = props.get('architecture') or 'x86_64'
        self.kernel_id = props.get('kernel_id')
        self.ramdisk_id = props.get('ramdisk_id')
        self.boot_mode = _BOOT_MODES.get(props.get('hw_firmware_type'))
        self.mappings = [_format_mapping(b, snapshot_ids) for b in self.bdms]

    def ebs(self, key):
        return [m['ebs'][key] for m in self.mappings if 'ebs' in m]

    def format(self, tags=()):
        image = self.image
        item = {
            'imageId': self.ec2_id,
            'imageLocation': '%s/%s' % (image['owner'], image['name']),
            'imageState': self.state,
            'imageOwnerId': image['owner'],
            'creationDate': image['created_at'],
            'isPublic': self.public,
            'architecture': self.architecture,
            'imageType': self.image_type,
            'kernelId': self.kernel_id,
            'ramdiskId': self.ramdisk_id,
            'platformDetails': 'Linux/UNIX',
            'usageOperation': 'RunInstances',
            'name': image['name'],
            'description': self.description,
            'rootDeviceType': self.root_device_type,
            'rootDeviceName': self.root_device_name,
            'blockDeviceMapping': self.mappings,
            'virtualizationType': self.virtualization_type,
            'hypervisor': 'xen',
            'bootMode': self.boot_mode,
            'tagSet': ec2_tags.tag_set(tags),
        }
        reason = cloud_images.state_reason(image)
        if reason is not None:
            item['stateReason'] = {'code': reason[0], 'message': reason[1]}
        return item


def _views(images):
    snapshot_ids = cloud_images.snapshot_ec2_ids(
        bdm['snapshot_id'] for image in images
        for bdm in cloud_images.block_device_mappings(image)[1]
        if bdm['snapshot_id'])
    return [_View(image, snapshot_ids) for image in images]


IMAGE_FILTERS = {
    'image-id': lambda v: v.ec2_id,
    'name': lambda v: v.image['name'],
    'state': lambda v: v.state,
    'root-device-type': lambda v: v.root_device_type,
    'root-device-name': lambda v: v.root_device_name,
    'owner-id': lambda v: v.image['owner'],
    'architecture': lambda v: v.architecture,
    'is-public': lambda v: v.public,
    'image-type': lambda v: v.image_type,
    'description': lambda v: v.description,
    'kernel-id': lambda v: v.kernel_id,
    'ramdisk-id': lambda v: v.ramdisk_id,
    'virtualization-type': lambda v: v.virtualization_type,
    'hypervisor': lambda v: 'xen',
    'platform-details': lambda v: 'Linux/UNIX',
    'creation-date': lambda v: xmlutil.format_datetime(
        v.image['created_at']),
    'block-device-mapping.device-name':
        lambda v: [m['deviceName'] for m in v.mappings],
    'block-device-mapping.snapshot-id': lambda v: v.ebs('snapshotId'),
    'block-device-mapping.volume-size': lambda v: v.ebs('volumeSize'),
    'block-device-mapping.volume-type': lambda v: v.ebs('volumeType'),
    'block-device-mapping.delete-on-termination':
        lambda v: v.ebs('deleteOnTermination'),
    'block-device-mapping.encrypted': lambda v: v.ebs('encrypted'),
}


def register_image(context, params, request):
    params.check_unknown((
        'Name', 'Description', 'Architecture', 'KernelId', 'RamdiskId',
        'RootDeviceName', 'BlockDeviceMapping', 'VirtualizationType',
        'SriovNetSupport', 'EnaSupport', 'BootMode', 'ImageLocation',
        'BillingProduct', 'TpmSupport', 'UefiData', 'ImdsSupport',
        'TagSpecification', 'DryRun'))
    if params.get_str('ImageLocation'):
        raise exception.UnsupportedOperation(
            'Only EBS-backed images can be registered: give RootDeviceName '
            'and a BlockDeviceMapping with the root snapshot instead of '
            'ImageLocation.')
    for name in ('BillingProduct', 'TpmSupport', 'UefiData', 'ImdsSupport'):
        if name in params:
            raise exception.UnsupportedOperation(
                'The parameter %s is not supported.' % name)
    virtualization = params.get_str('VirtualizationType')
    if virtualization not in (None, 'hvm'):
        raise exception.InvalidParameterValue(
            'Only hvm images are supported, not VirtualizationType %s.'
            % virtualization)
    params.get_bool('EnaSupport')
    name = params.get_str('Name', required=True)
    cloud_images.check_name(name)
    root_device_name = params.get_str('RootDeviceName')
    tags = ec2_tags.tag_specifications(params, ('image',))
    bdms = bdm_utils.from_ec2_params(
        params.get_dict_list('BlockDeviceMapping'), context,
        root_device_name=root_device_name or None)
    image = cloud_images.register_image(
        context, name, root_device_name, bdms,
        description=params.get_str('Description'),
        architecture=params.get_str('Architecture'),
        kernel_id=params.get_str('KernelId'),
        ramdisk_id=params.get_str('RamdiskId'),
        boot_mode=params.get_str('BootMode'),
        tags=tags.get('image'))
    return {'imageId': cloud_images.image_ec2_id(image)}


def copy_image(context, params, request):
    params.check_unknown((
        'SourceRegion', 'SourceImageId', 'Name', 'Description',
        'ClientToken', 'Encrypted', 'KmsKeyId', 'DestinationOutpostArn',
        'CopyImageTags', 'TagSpecification',
        'SnapshotCopyCompletionDurationMinutes',
        'DestinationAvailabilityZone', 'DestinationAvailabilityZoneId',
        'DryRun'))
    region = CONF.api.region_name
    source_region = params.get_str('SourceRegion', required=True)
    if source_region != region:
        raise exception.UnsupportedOperation(
            'Images are copied within the region %s only, not from %s.'
            % (region, source_region))
    for name in ('DestinationOutpostArn', 'DestinationAvailabilityZone',
                 'DestinationAvailabilityZoneId', 'KmsKeyId'):
        if name in params:
            raise exception.UnsupportedOperation(
                'The parameter %s is not supported.' % name)
    if params.get_bool('Encrypted'):
        raise exception.UnsupportedOperation(
            'Encrypted snapshots are not supported.')
    # Time-based copies: every copy here is as fast as it can be.
    params.get_int('SnapshotCopyCompletionDurationMinutes', min=15,
                   max=2880)
    source_id = params.get_str('SourceImageId', required=True)
    name = params.get_str('Name', required=True)
    tags = ec2_tags.tag_specifications(params, ('image', 'snapshot'))
    image = image_copies.copy_image(
        context, source_id, name,
        description=params.get_str('Description'),
        client_token=params.get_str('ClientToken'),
        tags=tags, copy_image_tags=params.get_bool('CopyImageTags'))
    return {'imageId': cloud_images.image_ec2_id(image)}


def deregister_image(context, params, request):
    params.check_unknown(('ImageId', 'DeleteAssociatedSnapshots', 'DryRun'))
    delete_snapshots = params.get_bool('DeleteAssociatedSnapshots')
    results = cloud_images.deregister_image(
        context, params.get_str('ImageId', required=True),
        delete_associated_snapshots=delete_snapshots)
    data = {'return': True}
    if delete_snapshots:
        data['deleteSnapshotResultSet'] = [
            {'snapshotId': snapshot_id, 'returnCode': code}
            for snapshot_id, code in results]
    return data


def describe_images(context, params, request):
    params.check_unknown(('ImageId', 'Owner', 'ExecutableBy', 'Filter',
                          'IncludeDeprecated', 'IncludeDisabled',
                          'MaxResults', 'NextToken', 'DryRun'))
    ids = params.get_list('ImageId')
    pager = ec2_filters.Pager(params, ids_given=bool(ids), maximum=1000)
    params.get_bool('IncludeDeprecated')
    include_disabled = params.get_bool('IncludeDisabled')
    filters = params.get_filters()
    images = cloud_images.list_images(
        context, ids, owners=params.get_list('Owner'),
        executable_by=params.get_list('ExecutableBy'))
    views = _views(images)
    if not include_disabled:
        views = [v for v in views if v.state != 'disabled']
    tags = ec2_tags.TagIndex(context, 'image', views)
    views = ec2_filters.apply(views, filters, IMAGE_FILTERS, tags=tags.of)
    page, token = pager.page(views)
    tags = tags.for_page(page)
    return {'imagesSet': [view.format(tags.of(view)) for view in page],
            'nextToken': token}


def _value(value):
    return {'value': value} if value else {}


def describe_image_attribute(context, params, request):
    params.check_unknown(('ImageId', 'Attribute', 'DryRun'))
    attribute = params.get_str('Attribute', required=True)
    if attribute not in DESCRIBE_ATTRIBUTES:
        # AWS's code for an attribute it does not know.
        raise exception.InvalidRequest(
            'The attribute %s is not valid. Expected one of: %s.'
            % (attribute, ', '.join(DESCRIBE_ATTRIBUTES)))
    ec2_id = params.get_str('ImageId', required=True)
    kinds = cloud_images.IMAGE_TYPES
    if attribute == 'launchPermission':
        image = cloud_images.get_own_image(context, ec2_id, kinds)
        public, members = cloud_images.launch_permissions(image)
        value = ([{'group': 'all'}] if public else []) + [
            {'userId': member} for member in members]
        return {'imageId': ec2_id, 'launchPermission': value}
    [view] = _views([cloud_images.get_image(context, ec2_id, kinds)])
    value = {
        'description': lambda: _value(view.description),
        'kernel': lambda: _value(view.kernel_id),
        'ramdisk': lambda: _value(view.ramdisk_id),
        'productCodes': lambda: [],
        'blockDeviceMapping': lambda: view.mappings,
        'bootMode': lambda: _value(view.boot_mode),
        'sriovNetSupport': lambda: {},
    }[attribute]()
    if attribute in ('kernel', 'ramdisk') and not value:
        # AWS leaves the element out, not empty, for an image without one.
        return {'imageId': ec2_id}
    return {'imageId': ec2_id, attribute: value}


def modify_image_attribute(context, params, request):
    params.check_unknown((
        'ImageId', 'Attribute', 'Value', 'Description', 'LaunchPermission',
        'OperationType', 'UserId', 'UserGroup', 'ProductCode',
        'OrganizationArn', 'OrganizationalUnitArn', 'ImdsSupport', 'DryRun'))
    ec2_id = params.get_str('ImageId', required=True)
    for name in ('ProductCode', 'OrganizationArn', 'OrganizationalUnitArn',
                 'ImdsSupport'):
        if name in params:
            raise exception.UnsupportedOperation(
                'The parameter %s is not supported.' % name)
    attribute = params.get_str('Attribute')
    given = set()
    if 'Description' in params:
        given.add('description')
    if any(name in params for name in _LAUNCH_PERMISSION_PARAMS):
        given.add('launchPermission')
    if attribute is not None:
        if attribute == 'productCodes':
            raise exception.UnsupportedOperation(
                'Product codes are not supported.')
        if attribute not in ('description', 'launchPermission'):
            raise exception.InvalidParameterValue(
                'Value (%s) for parameter Attribute is invalid. Expected '
                'one of: description, launchPermission.' % attribute)
        given.add(attribute)
    if not given:
        raise exception.MissingParameter(param='Attribute')
    if len(given) > 1:
        raise exception.InvalidParameterCombination(
            'Only one attribute can be modified at a time.')
    if given == {'description'}:
        if 'Description' in params:
            description = params.get_str('Description.Value', default='')
        else:
            description = params.get_str('Value', default='')
        cloud_images.modify_description(context, ec2_id, description)
        return {'return': True}
    changes = ec2_permissions.changes(params, 'LaunchPermission',
                                      'launch')
    cloud_images.modify_launch_permission(
        context, ec2_id, add_users=changes[0], remove_users=changes[1],
        add_public=changes[2], remove_public=changes[3])
    return {'return': True}


def reset_image_attribute(context, params, request):
    params.check_unknown(('ImageId', 'Attribute', 'DryRun'))
    ec2_id = params.get_str('ImageId', required=True)
    attribute = params.get_str('Attribute', required=True)
    if attribute != 'launchPermission':
        raise exception.InvalidParameterValue(
            'Value (%s) for parameter attribute is invalid. Only '
            'launchPermission can be reset.' % attribute)
    image = cloud_images.get_own_image(context, ec2_id,
                                       cloud_images.IMAGE_TYPES)
    public, members = cloud_images.launch_permissions(image)
    cloud_images.modify_launch_permission(
        context, ec2_id, remove_users=members, remove_public=True)
    return {'return': True}


ACTIONS = {
    'RegisterImage': register_image,
    'CopyImage': copy_image,
    'DeregisterImage': deregister_image,
    'DescribeImages': describe_images,
    'DescribeImageAttribute': describe_image_attribute,
    'ModifyImageAttribute': modify_image_attribute,
    'ResetImageAttribute': reset_image_attribute,
}
