"""EC2 filter matching."""

from ebsboot.api.ec2 import filters
from ebsboot import exception
from ebsboot.tests.unit import base


class Item:
    def __init__(self, name, tags=(), flag=None):
        self.name, self.tags, self.flag = name, list(tags), flag


EXTRACTORS = {'name': lambda i: i.name, 'tag': lambda i: i.tags,
              'flag': lambda i: i.flag}
ITEMS = [Item('web-1', ['a'], True), Item('web-2', ['b'], False),
         Item('db.1', [], None), Item('web-10', ['a', 'c'])]


def names(filter_dict):
    return [i.name for i in filters.apply(ITEMS, filter_dict, EXTRACTORS)]


class ApplyTest(base.TestCase):

    def test_plain_values(self):
        self.assertEqual(['web-1', 'db.1'],
                         names({'name': ['db.1', 'web-1']}))
        # Case-sensitive, and no partial matches.
        self.assertEqual([], names({'name': ['WEB-1', 'web']}))

    def test_wildcards(self):
        self.assertEqual(['web-1', 'web-2', 'web-10'],
                         names({'name': ['web-*']}))
        self.assertEqual(['web-1', 'web-2'], names({'name': ['web-?']}))
        self.assertEqual(['web-2', 'web-10'],
                         names({'name': ['web-[2]', '*0']}))
        # Plain and wildcard values together are OR-ed.
        self.assertEqual(['web-2', 'db.1'],
                         names({'name': ['db.1', '?eb-2']}))

    def test_regex_characters_are_literal(self):
        self.assertEqual(['db.1'], names({'name': ['db.1']}))
        self.assertEqual([], names({'name': ['db.+', 'db|web-1']}))
        self.assertEqual(['db.1'], names({'name': ['db.*']}))

    def test_lists_booleans_and_none(self):
        self.assertEqual(['web-1', 'web-10'], names({'tag': ['a']}))
        self.assertEqual(['web-10'], names({'tag': ['c'], 'name': ['w*']}))
        self.assertEqual(['web-1'], names({'flag': ['true']}))
        self.assertEqual(['web-2'], names({'flag': ['false']}))
        self.assertEqual(['web-1', 'web-2'], names({'flag': ['*']}))

    def test_unknown_filter(self):
        self.assertRaises(exception.InvalidParameterValue, names,
                          {'bogus': ['x']})


class ExactValuesTest(base.TestCase):

    def test_exact_values(self):
        self.assertEqual(['a', 'b'], filters.exact_values(
            {'name': ['a', 'b']}, 'name'))
        self.assertIsNone(filters.exact_values({}, 'name'))
        for wild in ('a*', 'a?', '[ab]'):
            self.assertIsNone(filters.exact_values(
                {'name': ['b', wild]}, 'name'))
