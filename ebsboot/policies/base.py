from oslo_policy import policy

PROJECT_MEMBER = 'rule:project_member'
PROJECT_READER = 'rule:project_reader'

rules = [
    policy.RuleDefault(
        'project_member', 'role:member and project_id:%(project_id)s',
        description='A member of the project that owns the resource.'),
    policy.RuleDefault(
        'project_reader', 'role:reader and project_id:%(project_id)s',
        description='A reader of the project that owns the resource.'),
]


def list_rules():
    return rules
