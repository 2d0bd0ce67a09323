"""The default rules follow OpenStack's secure RBAC personas.

The roles are those of a Keystone token, implied roles expanded as
Keystone does (member -> member, reader; admin -> admin, manager, member,
reader).
"""

from ebsboot.api.ec2 import app
from ebsboot import context as ebs_context
from ebsboot import exception
from ebsboot import policy
from ebsboot.tests.unit import base

PROJECT = 'a' * 32
OTHER = 'b' * 32
ROLES = {
    'reader': ['reader'],
    'member': ['member', 'reader'],
    'admin': ['admin', 'manager', 'member', 'reader'],
}


def allowed(roles, action, project=PROJECT):
    context = ebs_context.RequestContext(project_id=project, roles=roles)
    try:
        policy.authorize(context, action, {'project_id': PROJECT})
    except exception.UnauthorizedOperation:
        return False
    return True


class TestPersonas(base.TestCase):

    def test_every_action(self):
        for action in app.ACTIONS:
            reads = action.startswith(('Describe', 'Get'))
            self.assertEqual(reads, allowed(ROLES['reader'], action), action)
            self.assertTrue(allowed(ROLES['member'], action), action)
            # An admin acts as a member of its own project only.
            self.assertTrue(allowed(ROLES['admin'], action), action)
            for persona in ROLES.values():
                self.assertFalse(allowed(persona, action, OTHER), action)

    def test_no_role_no_access(self):
        self.assertFalse(allowed([], 'DescribeVolumes'))
        self.assertFalse(allowed(['service'], 'DescribeVolumes'))
