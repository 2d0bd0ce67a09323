"""Hostile EC2 Query requests built from botocore's service model.

A case is a list of ``(name, value)`` pairs of bytes, the form body of one
signed POST: a plausible request for an action's input shape (names as
botocore's EC2 serializer writes them) with one or more mutations that a
careless or hostile client could send. Seeded, so a failing case is
reproduced by its seed alone.
"""

import random
import urllib.parse

import botocore.session

MODEL = botocore.session.get_session().get_service_model('ec2')

#: Values any member may get: empty, blank, numbers at and past every
#: bound, booleans in odd spellings, control characters, NUL, unicode that
#: XML or a database may choke on, patterns, format strings, paths.
HOSTILE = [
    '', ' ', 'x', '-1', '0', '1', '-0', '+1', '1.5', '1e3', '0x10',
    '2147483648', '-2147483649', '9223372036854775808', '9' * 40,
    '-' + '9' * 40, 'NaN', 'inf', 'true', 'false', 'TRUE', 'yes', 'null',
    '\x00', 'a\x00b', '\x01\x02\x7f', '\r\n', '\t', '\u202e', '\u00fc',
    '\U0001f600', '\ufffe', '\u0661', '*', '?', '[', '[!a-', '\\', '%s',
    '%(x)s', '{0}', '{}', '../../etc/passwd', '/dev/sda1', '/dev/',
    'vol-', 'vol-zzzzzzzz', 'snap-1', 'ami-', 'i-', 'i-' + 'f' * 17,
    'ami-' + '0' * 17, 'vol-' + 'f' * 40, 'aki-00000001', 'ari-00000001',
    'ephemeral99', 'nova', 'RegionOne', 'gp9', 'io1', 't2.nano',
    'x' * 256, 'x' * 4097,
]

#: Raw (already %-encoded) values that are not UTF-8 once decoded.
RAW_VALUES = [b'%FF', b'%C0%80', b'%ED%A0%80', b'a%80b']

_ID_KINDS = (('InstanceId', 'instance'), ('VolumeId', 'volume'),
             ('SnapshotId', 'snapshot'), ('ImageId', 'image'),
             ('KernelId', 'kernel'), ('RamdiskId', 'ramdisk'),
             ('Kernel', 'kernel'), ('Ramdisk', 'ramdisk'))


def _serialized_name(shape, default):
    """The Query name botocore's EC2 serializer gives a member."""
    name = shape.serialization.get('queryName')
    if name:
        return name
    name = shape.serialization.get('name')
    if name:
        return name[0].upper() + name[1:]
    return default


class CaseBuilder:
    """Random requests for one action.

    :param action: the EC2 action name.
    :param ids: dict of resource kind (``instance``, ``volume``,
        ``snapshot``, ``image``, ...) to real ids the requests may name,
        so that mutations reach past id validation into the actions.
    :param seed: the seed of this builder's random numbers.
    """

    def __init__(self, action, ids, seed):
        self.action = action
        self.shape = MODEL.operation_model(action).input_shape
        self.ids = ids
        self.random = random.Random(seed)

    # Plausible requests -----------------------------------------------

    def _id_kind(self, name):
        for suffix, kind in _ID_KINDS:
            if name.endswith(suffix) or name.endswith(suffix + 's'):
                return kind
        return None

    def _plausible_scalar(self, shape, name):
        kind = self._id_kind(name)
        if kind and self.ids.get(kind) and self.random.random() < 0.8:
            return self.random.choice(self.ids[kind])
        if shape.type_name == 'boolean':
            return self.random.choice(['true', 'false'])
        if shape.type_name in ('integer', 'long'):
            return str(self.random.choice([1, 2, 8, 100]))
        enum = getattr(shape, 'enum', None)
        if enum:
            return self.random.choice(enum)
        if name == 'Name':
            return self.random.choice(['fuzz-%d' % self.random.randint(
                0, 10 ** 6), 'instance-state-name', 'status'])
        if name in ('DeviceName', 'Device', 'RootDeviceName'):
            return self.random.choice(['/dev/sda1', '/dev/sdb', '/dev/vdc'])
        if name in ('AvailabilityZone', 'ZoneName'):
            return 'nova'
        return self.random.choice(['fuzz', 'x', '1'])

    def _walk(self, shape, name, depth, out):
        """Append the pairs of a value of ``shape`` serialized as ``name``."""
        kind = shape.type_name
        if depth > 8:
            return
        if kind == 'structure':
            before = len(out)
            for member, member_shape in shape.members.items():
                if (member not in shape.required_members and
                        self.random.random() > 0.3):
                    continue
                self._walk(member_shape, '%s.%s' % (
                    name, _serialized_name(member_shape, member)),
                    depth + 1, out)
            if len(out) == before:
                member = self.random.choice(list(shape.members) or ['X'])
                out.append(('%s.%s' % (name, member), 'x'))
        elif kind == 'list':
            # Entries are numbered under the list's own name.
            for index in range(1, self.random.choice([1, 1, 2, 3]) + 1):
                self._walk(shape.member, '%s.%d' % (name, index), depth + 1,
                           out)
        elif kind == 'map':
            out.append((name + '.1.Key', 'k'))
            out.append((name + '.1.Value', 'v'))
        else:
            leaf = name.rsplit('.', 1)[-1]
            out.append((name, self._plausible_scalar(shape, leaf)))

    def plausible(self):
        """``(name, value)`` str pairs of a request that may well be valid."""
        out = []
        for member, member_shape in self.shape.members.items():
            required = member in self.shape.required_members
            if member == 'DryRun' or (not required and
                                      self.random.random() > 0.5):
                continue
            self._walk(member_shape, _serialized_name(member_shape, member),
                       1, out)
        return out

    # Mutations -----------------------------------------------------------

    def _mutate_value(self, pairs):
        if not pairs:
            return
        index = self.random.randrange(len(pairs))
        name = pairs[index][0]
        if self.random.random() < 0.15:
            value = self.random.choice(RAW_VALUES)
        else:
            value = self.random.choice(HOSTILE)
        pairs[index] = (name, value)

    def _renumber(self, pairs):
        numbered = [i for i, (name, _v) in enumerate(pairs)
                    if isinstance(name, str) and
                    any(p.isdigit() for p in name.split('.'))]
        if not numbered:
            return self._add_list(pairs)
        index = self.random.choice(numbered)
        name, value = pairs[index]
        parts = name.split('.')
        position = self.random.choice(
            [i for i, part in enumerate(parts) if part.isdigit()])
        parts[position] = self.random.choice(
            ['0', '01', '3', '-1', '1.5', '99999999999999999999', '\u0661',
             ''])
        pairs[index] = ('.'.join(parts), value)

    def _names(self, pairs):
        return [name for name, _value in pairs if isinstance(name, str)]

    def _duplicate(self, pairs):
        names = self._names(pairs)
        if names:
            pairs.append((self.random.choice(names),
                          self.random.choice(HOSTILE)))

    def _scalar_and_structure(self, pairs):
        names = self._names(pairs)
        if names:
            name = self.random.choice(names).split('.')[0]
            pairs.append((name, 'x'))
            pairs.append((name + '.1', 'y'))

    def _nest(self, pairs):
        depth = self.random.choice([13, 100, 1000])
        base = self.random.choice(['Filter.1', 'BlockDeviceMapping.1', 'X'])
        pairs.append((base + '.a' * depth, 'x'))

    def _add_list(self, pairs):
        name = self.random.choice(['InstanceId', 'VolumeId', 'SnapshotId',
                                   'ImageId', 'Filter.1.Value', 'Owner'])
        count = self.random.choice([200, 201, 1001])
        value = self.random.choice(['*', 'x', 'i-' + 'f' * 17])
        pairs.extend(('%s.%d' % (name, n), value)
                     for n in range(1, count + 1))

    def _many_filters(self, pairs):
        for n in range(1, self.random.choice([50, 51, 300]) + 1):
            pairs.append(('Filter.%d.Name' % n, 'status'))
            pairs.append(('Filter.%d.Value.1' % n, '*%d*' % n))

    def _unknown(self, pairs):
        pairs.append((self.random.choice(['Foo', 'Filter.1.Foo', 'Ebs',
                                          'BlockDeviceMapping.1.Ebs.Foo',
                                          '\u00fc', 'a..b', '.', 'x.']),
                      'x'))

    def _huge(self, pairs):
        size = self.random.choice([70000, 300000])
        if pairs and self.random.random() < 0.7:
            index = self.random.randrange(len(pairs))
            pairs[index] = (pairs[index][0], 'x' * size)
        else:
            pairs.append(('Description', 'x' * size))

    def _raw_name(self, pairs):
        pairs.append((self.random.choice(RAW_VALUES), 'x'))

    def _target_member(self, pairs):
        """A hostile value in one member of the action, present or not."""
        member = self.random.choice(list(self.shape.members))
        member_shape = self.shape.members[member]
        name = _serialized_name(member_shape, member)
        pairs[:] = [pair for pair in pairs if not (
            isinstance(pair[0], str) and
            (pair[0] == name or pair[0].startswith(name + '.')))]
        added = []
        self._walk(member_shape, name, 1, added)
        self._mutate_value(added)
        pairs.extend(added)

    MUTATIONS = ('_target_member', '_target_member', '_target_member',
                 '_target_member', '_mutate_value', '_mutate_value',
                 '_renumber', '_duplicate',
                 '_scalar_and_structure', '_nest', '_add_list',
                 '_many_filters', '_unknown', '_huge', '_raw_name')

    def transport(self):
        """How to send a case: a signed ``POST`` or ``GET``, or unsigned."""
        return self.random.choice(['POST'] * 6 + ['GET'] * 3 + ['unsigned'])

    def case(self):
        """One hostile request: ``(pairs, mutation names)``."""
        pairs = self.plausible()
        applied = []
        for _ in range(self.random.choice([1, 1, 1, 2, 3])):
            mutation = self.random.choice(self.MUTATIONS)
            getattr(self, mutation)(pairs)
            applied.append(mutation.lstrip('_'))
        return pairs, applied


def encode(action, pairs, version='2016-11-15'):
    """The form body of ``pairs``: str values are %-encoded, bytes raw."""
    items = [b'Action=' + action.encode(), b'Version=' + version.encode()]
    for name, value in pairs:
        items.append(_quote(name) + b'=' + _quote(value))
    return b'&'.join(items)


def _quote(value):
    if isinstance(value, bytes):
        return value
    return urllib.parse.quote(value.encode('utf-8', 'surrogatepass'),
                              safe='').encode('ascii')
