"""EC2 tags: AWS's rules for them and tagging resources by EC2 id.

A tag belongs to the project that set it (``project_id``) and names its
resource by EC2 id; the kind of resource is told by the id's prefix.
Tags of a resource go with it (the database deletes them with the row,
``deregister_image`` with the image).
"""

from ebsboot.cloud import ec2ids
from ebsboot.cloud import images as cloud_images
from ebsboot.cloud import instances as cloud_instances
from ebsboot.cloud import keypairs as cloud_keypairs
from ebsboot.cloud import volumes as cloud_volumes
from ebsboot.cloud import vpcs as cloud_vpcs
from ebsboot.db import api as db
from ebsboot import exception

#: AWS's limits: tags per resource, characters of a key and of a value.
MAX_TAGS = 50
MAX_KEY_LENGTH = 128
MAX_VALUE_LENGTH = 256
RESERVED_PREFIX = 'aws:'

#: Resource types of the resources that can be tagged, by id prefix.
KINDS = {'i': 'instance', 'vol': 'volume', 'snap': 'snapshot',
         'ami': 'image', 'aki': 'image', 'ari': 'image', 'key': 'key-pair',
         'vpc': 'vpc', 'subnet': 'subnet'}
RESOURCE_TYPES = tuple(sorted(set(KINDS.values())))


def _invalid(message):
    return exception.InvalidParameterValue(message)


def _check_text(text, what):
    # Databases other than SQLite refuse NUL; AWS has no use for it.
    if '\x00' in text:
        raise _invalid('The tag %s must not contain a NUL character.'
                       % what)


def check_key(key):
    """Refuse a key AWS refuses: empty, too long or ``aws:...``."""
    if not key:
        raise _invalid('Value ( ) for parameter key is invalid. Tag key '
                       'must have a value.')
    if len(key) > MAX_KEY_LENGTH:
        raise _invalid('Tag key exceeds the maximum length of %d '
                       'characters.' % MAX_KEY_LENGTH)
    _check_text(key, 'key')
    if key.lower().startswith(RESERVED_PREFIX):
        raise _invalid("Tag keys starting with '%s' are reserved for "
                       "internal use." % RESERVED_PREFIX)


def check_value(value):
    if len(value) > MAX_VALUE_LENGTH:
        raise _invalid('Tag value exceeds the maximum length of %d '
                       'characters.' % MAX_VALUE_LENGTH)
    _check_text(value, 'value')


def check_tags(pairs):
    """``{key: value}`` of checked ``(key, value)`` pairs.

    A key given twice is refused, as are more than ``MAX_TAGS``.
    """
    tags = {}
    for key, value in pairs:
        check_key(key)
        check_value(value)
        if key in tags:
            raise _invalid("Duplicate tag key '%s' specified." % key)
        tags[key] = value
    if len(tags) > MAX_TAGS:
        raise exception.TagLimitExceeded(
            'The maximum number of tags per resource is %d.' % MAX_TAGS)
    return tags


def check_specifications(specifications, allowed):
    """``{resource type: {key: value}}`` of TagSpecifications.

    :param specifications: ``(resource type, [(key, value)])`` pairs.
    :param allowed: the resource types the action makes.
    """
    tags = {}
    for resource_type, pairs in specifications:
        if resource_type not in allowed:
            raise _invalid(
                "'%s' is not a valid taggable resource type for this "
                "operation." % resource_type)
        if resource_type in tags:
            raise _invalid('The tag specification for resource type %s '
                           'is given more than once.' % resource_type)
        tags[resource_type] = check_tags(pairs)
    return {k: v for k, v in tags.items() if v}


def resource_type(ec2_id):
    """The resource type of an EC2 id; InvalidID if it is none of ours."""
    kind = (ec2_id or '').split('-', 1)[0]
    if kind not in KINDS or not ec2ids.is_valid(kind, ec2_id):
        raise exception.InvalidID(id=ec2_id)
    return KINDS[kind]


def _resources(context, ec2_ids):
    """``[(ec2 id, resource type)]`` of resources the project may tag.

    Every id is checked before any is looked up; then an unknown one
    (or another project's) is the NotFound of its kind.
    """
    ec2_ids = list(dict.fromkeys(ec2_ids))
    types = {ec2_id: resource_type(ec2_id) for ec2_id in ec2_ids}
    by_type = {}
    for ec2_id, kind in types.items():
        by_type.setdefault(kind, []).append(ec2_id)
    if 'instance' in by_type:
        cloud_instances.instance_rows(context, ('ec2_id',),
                                      by_type['instance'])
    if 'volume' in by_type:
        cloud_volumes.list_volumes(context, by_type['volume'])
    if 'snapshot' in by_type:
        cloud_volumes.list_snapshots(context, by_type['snapshot'])
    if 'vpc' in by_type:
        cloud_vpcs.list_vpcs(context, by_type['vpc'])
    if 'subnet' in by_type:
        cloud_vpcs.list_subnets(context, by_type['subnet'])
    if 'key-pair' in by_type:
        cloud_keypairs.list_key_pairs(context, ec2_ids=by_type['key-pair'])
    for ec2_id in by_type.get('image', ()):
        # Images others share are tagged too; the tags are the project's.
        cloud_images.get_image(context, ec2_id, cloud_images.IMAGE_TYPES)
    return [(ec2_id, types[ec2_id]) for ec2_id in ec2_ids]


def create_tags(context, ec2_ids, pairs):
    """Add or overwrite tags of resources.

    All of them or, if one is refused, none.
    """
    tags = check_tags(pairs)
    resources = _resources(context, ec2_ids)
    try:
        db.tags_set(context, resources, tags, MAX_TAGS)
    except db.TagLimitError as e:
        raise exception.TagLimitExceeded(
            "The maximum number of tags per resource (%d) would be "
            "exceeded for %s." % (MAX_TAGS, e.args[0]))


def delete_tags(context, ec2_ids, pairs=None):
    """Delete tags of resources.

    ``pairs``: ``(key, value or None)``; a value deletes the tag only if
    it has that value (``''`` too), None whatever it has. No pairs at all:
    every tag of the resources.
    """
    if pairs is not None:
        for key, value in pairs:
            check_key(key)
            if value is not None:
                check_value(value)
    resources = _resources(context, ec2_ids)
    db.tags_delete(context, [r[0] for r in resources], pairs)


def list_tags(context, resource_ids=None, resource_types=None, keys=None):
    """The project's tags (rows of ``db.tag_rows``)."""
    return db.tag_rows(context, resource_ids, resource_types, keys)


def tags_of(context, resource_type, ec2_ids):
    """``{ec2 id: [(key, value)]}``: the project's tags of resources."""
    return db.tags_by_resource(context, resource_type, ec2_ids)
