"""CreateKeyPair, ImportKeyPair, DescribeKeyPairs, DeleteKeyPair."""

import base64
import binascii

from ebsboot.api.ec2 import filters as ec2_filters
from ebsboot.api.ec2 import tags as ec2_tags
from ebsboot.cloud import keypairs as cloud_keypairs


def _tags(params):
    return ec2_tags.tag_specifications(params, ('key-pair',)).get(
        'key-pair', {})


def _created(row, tags):
    return {'keyName': row.name,
            'keyFingerprint': row.fingerprint,
            'keyPairId': row.ec2_id,
            'tagSet': ec2_tags.tag_set(sorted(tags.items()))}


def create_key_pair(context, params, request):
    params.check_unknown(('KeyName', 'KeyType', 'KeyFormat',
                          'TagSpecification', 'DryRun'))
    tags = _tags(params)
    row, material = cloud_keypairs.create_key_pair(
        context, params.get_str('KeyName', required=True),
        key_type=params.get_str('KeyType', default='rsa'),
        key_format=params.get_str('KeyFormat', default='pem'),
        tags=tags)
    answer = _created(row, tags)
    answer['keyMaterial'] = material
    return answer


def _material(value):
    """The bytes of PublicKeyMaterial.

    SDKs send the blob in base64; a client sending the key's text itself
    is understood too.
    """
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return value.encode('utf-8')


def import_key_pair(context, params, request):
    params.check_unknown(('KeyName', 'PublicKeyMaterial',
                          'TagSpecification', 'DryRun'))
    tags = _tags(params)
    name = params.get_str('KeyName', required=True)
    material = _material(params.get_str('PublicKeyMaterial', required=True))
    row = cloud_keypairs.import_key_pair(context, name, material, tags)
    return _created(row, tags)


KEY_PAIR_FILTERS = {
    'key-name': lambda k: k.name,
    'key-pair-id': lambda k: k.ec2_id,
    'fingerprint': lambda k: k.fingerprint,
    'key-type': lambda k: k.key_type,
}


def describe_key_pairs(context, params, request):
    params.check_unknown(('KeyName', 'KeyPairId', 'Filter',
                          'IncludePublicKey', 'DryRun'))
    include_public_key = params.get_bool('IncludePublicKey')
    rows = cloud_keypairs.list_key_pairs(
        context, names=params.get_list('KeyName'),
        ec2_ids=params.get_list('KeyPairId'))
    tags = ec2_tags.TagIndex(context, 'key-pair', rows)
    rows = ec2_filters.apply(rows, params.get_filters(), KEY_PAIR_FILTERS,
                             tags=tags.of)
    return {'keySet': [
        {'keyPairId': row.ec2_id,
         'keyType': row.key_type,
         'tagSet': ec2_tags.tag_set(tags.of(row)),
         'publicKey': ('%s %s\n' % (row.public_key, row.name)
                       if include_public_key else None),
         'keyName': row.name,
         'keyFingerprint': row.fingerprint,
         'createTime': row.created_at} for row in rows]}


def delete_key_pair(context, params, request):
    params.check_unknown(('KeyName', 'KeyPairId', 'DryRun'))
    row = cloud_keypairs.delete_key_pair(
        context, name=params.get_str('KeyName'),
        ec2_id=params.get_str('KeyPairId'))
    return {'return': True, 'keyPairId': row.ec2_id if row else None}


ACTIONS = {
    'CreateKeyPair': create_key_pair,
    'ImportKeyPair': import_key_pair,
    'DescribeKeyPairs': describe_key_pairs,
    'DeleteKeyPair': delete_key_pair,
}
