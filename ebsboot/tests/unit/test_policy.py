"""Policy decisions: kept per (rule, credentials, target), never past a
change of the rules."""

import os

import fixtures
from oslo_policy import policy as oslo_policy

from ebsboot import context as ebs_context
from ebsboot import exception
from ebsboot import policy
from ebsboot.tests.unit import base


class PolicyCacheTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.checks = self.useFixture(fixtures.MockPatchObject(
            policy, '_check', side_effect=policy._check)).mock

    def ctx(self, project='alpha', roles=('reader', 'member')):
        return ebs_context.RequestContext(project_id=project,
                                          roles=list(roles))

    def test_a_decision_is_kept_by_rule_credentials_and_target(self):
        policy.authorize(self.ctx(), 'DescribeVolumes')
        policy.authorize(self.ctx(), 'DescribeVolumes')
        self.assertEqual(1, self.checks.call_count)
        policy.authorize(self.ctx(), 'CreateVolume')
        policy.authorize(self.ctx('beta'), 'DescribeVolumes')
        self.assertEqual(3, self.checks.call_count)
        # Other roles, another target: decided again.
        self.assertRaises(exception.UnauthorizedOperation, policy.authorize,
                          self.ctx(roles=['reader']), 'CreateVolume')
        self.assertRaises(exception.UnauthorizedOperation, policy.authorize,
                          self.ctx(), 'DescribeVolumes',
                          {'project_id': 'beta'})
        self.assertEqual(5, self.checks.call_count)

    def test_refusals_are_kept_too(self):
        for _ in range(2):
            self.assertRaises(exception.UnauthorizedOperation,
                              policy.authorize, self.ctx(roles=[]),
                              'DescribeVolumes')
            self.assertRaises(exception.InvalidAction, policy.authorize,
                              self.ctx(), 'NoSuchAction')
        self.assertEqual(2, self.checks.call_count)

    def test_rules_set_in_code_apply_at_once(self):
        policy.authorize(self.ctx(), 'DescribeVolumes')
        enforcer = policy.get_enforcer()
        enforcer.set_rules(oslo_policy.Rules.from_dict(
            {'ec2:DescribeVolumes': '!'}), overwrite=False, use_conf=False)
        self.assertRaises(exception.UnauthorizedOperation, policy.authorize,
                          self.ctx(), 'DescribeVolumes')
        # Changed in place this time (no new Rules object).
        enforcer.set_rules(oslo_policy.Rules.from_dict(
            {'ec2:DescribeVolumes': '@'}), overwrite=False, use_conf=False)
        policy.authorize(self.ctx(), 'DescribeVolumes')

    def test_policy_file_changes_apply_at_once(self):
        path = os.path.join(self.state, 'policy.yaml')
        self.config.config(policy_file=path, group='oslo_policy')
        policy.reset()
        policy.authorize(self.ctx(), 'DescribeVolumes')
        with open(path, 'w') as f:
            f.write('"ec2:DescribeVolumes": "role:admin"\n')
        self.assertRaises(exception.UnauthorizedOperation, policy.authorize,
                          self.ctx(), 'DescribeVolumes')
        policy.authorize(self.ctx(roles=['admin']), 'DescribeVolumes')
        with open(path, 'w') as f:
            f.write('"ec2:DescribeVolumes": "rule:project_reader"\n')
        stat = os.stat(path)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
        policy.authorize(self.ctx(), 'DescribeVolumes')
        os.unlink(path)

    def test_policy_dir_changes_apply_at_once(self):
        folder = os.path.join(self.state, 'policy.d')
        os.mkdir(folder)
        self.config.config(policy_dirs=[folder], group='oslo_policy')
        policy.reset()
        policy.authorize(self.ctx(), 'DescribeVolumes')
        with open(os.path.join(folder, 'deny.yaml'), 'w') as f:
            f.write('"ec2:DescribeVolumes": "!"\n')
        stat = os.stat(folder)
        os.utime(folder, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
        self.assertRaises(exception.UnauthorizedOperation, policy.authorize,
                          self.ctx(), 'DescribeVolumes')

    def test_only_the_latest_decisions_are_kept(self):
        self.useFixture(fixtures.MockPatchObject(
            policy._DECISIONS, 'size', 2))
        for project in ('a', 'b', 'c'):
            policy.authorize(self.ctx(project), 'DescribeVolumes')
        self.assertEqual(2, len(policy._DECISIONS))
        policy.authorize(self.ctx('a'), 'DescribeVolumes')
        self.assertEqual(4, self.checks.call_count)
