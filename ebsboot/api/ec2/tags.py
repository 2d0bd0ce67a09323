"""CreateTags, DeleteTags, DescribeTags, and tags in the other actions.

``tag_specifications`` reads the ``TagSpecification.N`` of the actions
that make resources; ``TagIndex`` gives Describe calls the tags of what
they list (for ``tagSet`` and the tag filters) with one query.
"""

from ebsboot.api.ec2 import filters as ec2_filters
from ebsboot.cloud import tags as cloud_tags
from ebsboot import exception


def _pairs(entries, value_default=''):
    """``[(key, value)]`` of ``Tag.N`` entries (Params)."""
    pairs = []
    for entry in entries:
        entry.check_unknown(('Key', 'Value'))
        pairs.append((entry.get_str('Key', default=''),
                      entry.get_str('Value', default=value_default)))
    return pairs


def tag_specifications(params, allowed):
    """``{resource type: {key: value}}`` of the request's TagSpecification.

    ``allowed``: the resource types the action makes; another is an
    InvalidParameterValue, as in AWS.
    """
    specifications = []
    for entry in params.get_params_list('TagSpecification'):
        entry.check_unknown(('ResourceType', 'Tag'))
        specifications.append((
            entry.get_str('ResourceType', required=True),
            _pairs(entry.get_params_list('Tag'))))
    return cloud_tags.check_specifications(specifications, allowed)


def tag_set(pairs):
    """The ``tagSet`` of ``(key, value)`` pairs.

    None (no element) if there are none, as AWS answers.
    """
    return [{'key': key, 'value': value} for key, value in pairs] or None


class TagIndex:
    """The project's tags of the resources of a Describe call.

    Read on first use, for all of ``items`` at once.
    """

    def __init__(self, context, resource_type, items,
                 ec2_id=lambda item: item.ec2_id):
        self._context = context
        self._type = resource_type
        self._items = items
        self._ec2_id = ec2_id
        self._tags = None

    @property
    def read(self):
        return self._tags is not None

    def of(self, item):
        """``[(key, value)]`` of an item, by key."""
        if self._tags is None:
            self._tags = cloud_tags.tags_of(
                self._context, self._type,
                [self._ec2_id(i) for i in self._items])
        return self._tags.get(self._ec2_id(item), [])

    def for_page(self, page):
        """This index, or one of ``page`` only if nothing was read yet."""
        if self.read or len(page) == len(self._items):
            return self
        return TagIndex(self._context, self._type, page, self._ec2_id)


def create_tags(context, params, request):
    params.check_unknown(('ResourceId', 'Tag', 'DryRun'))
    resources = params.get_list('ResourceId', required=True)
    pairs = _pairs(params.get_params_list('Tag'))
    if not pairs:
        raise exception.MissingParameter(param='Tag')
    cloud_tags.create_tags(context, resources, pairs)
    return {'return': True}


def delete_tags(context, params, request):
    params.check_unknown(('ResourceId', 'Tag', 'DryRun'))
    resources = params.get_list('ResourceId', required=True)
    pairs = None
    if 'Tag' in params:
        # No Value: the tag whatever its value; Value '' only if empty.
        pairs = _pairs(params.get_params_list('Tag'), value_default=None)
    cloud_tags.delete_tags(context, resources, pairs)
    return {'return': True}


TAG_FILTERS = {
    'key': lambda t: t.key,
    'value': lambda t: t.value,
    'resource-id': lambda t: t.resource_id,
    'resource-type': lambda t: t.resource_type,
}


def describe_tags(context, params, request):
    params.check_unknown(('Filter', 'MaxResults', 'NextToken', 'DryRun'))
    pager = ec2_filters.Pager(params, maximum=1000)
    filters = params.get_filters()
    narrow = {name: ec2_filters.exact_values(filters, name)
              for name in ('resource-id', 'resource-type', 'key')}
    rows = cloud_tags.list_tags(context, narrow['resource-id'],
                                narrow['resource-type'], narrow['key'])
    by_resource = {}
    if any(ec2_filters.is_tag_filter(name) for name in filters):
        # tag:<key> and the like: the tags of resources having that tag.
        for row in cloud_tags.list_tags(context, narrow['resource-id'],
                                        narrow['resource-type']):
            by_resource.setdefault(row.resource_id, []).append(
                (row.key, row.value))
    rows = ec2_filters.apply(rows, filters, TAG_FILTERS,
                             tags=lambda t: by_resource.get(t.resource_id, []))
    page, token = pager.page(rows)
    return {'tagSet': [{'resourceId': t.resource_id,
                        'resourceType': t.resource_type,
                        'key': t.key, 'value': t.value} for t in page],
            'nextToken': token}


ACTIONS = {
    'CreateTags': create_tags,
    'DeleteTags': delete_tags,
    'DescribeTags': describe_tags,
}
