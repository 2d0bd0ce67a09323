"""ebsboot-manage: database and credential administration.

::

    ebsboot-manage --config-file F db sync
    ebsboot-manage --config-file F db version
    ebsboot-manage --config-file F credentials create --project P [--format F]
    ebsboot-manage --config-file F credentials list [--project P] [--format F]
    ebsboot-manage --config-file F credentials delete ACCESS_KEY
"""

import json
import os
import secrets
import string
import sys

from oslo_config import cfg

from ebsboot import conf
from ebsboot.conf import CONF
from ebsboot import context as ebs_context
from ebsboot.db import api as db
from ebsboot.db import migration

_KEY_ALPHABET = string.ascii_uppercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits + '+/'


def _print(rows, fmt, columns):
    if fmt == 'json':
        print(json.dumps(rows, indent=None if isinstance(rows, dict) else 1))
        return
    rows = rows if isinstance(rows, list) else [rows]
    widths = [max([len(c)] + [len(str(r[c])) for r in rows])
              for c in columns]
    print('  '.join(c.ljust(w) for c, w in zip(columns, widths)))
    for row in rows:
        print('  '.join(str(row[c]).ljust(w) for c, w in zip(columns, widths)))


class DbCommands:

    def sync(self):
        migration.db_sync()
        print('Database is at version %s' % migration.db_version())

    def version(self):
        print(migration.db_version() or 'none')


class CredentialCommands:

    def create(self):
        project = CONF.category.project
        if not project:
            sys.exit('--project is required')
        access_key = 'AKIA' + ''.join(secrets.choice(_KEY_ALPHABET)
                                      for _ in range(16))
        secret_key = ''.join(secrets.choice(_SECRET_ALPHABET)
                             for _ in range(40))
        db.credential_create(ebs_context.get_admin_context(), access_key,
                             secret_key, project)
        _print({'project': project, 'access_key': access_key,
                'secret_key': secret_key}, CONF.category.format,
               ('project', 'access_key', 'secret_key'))

    def list(self):
        rows = [{'project': c.project_id, 'access_key': c.access_key,
                 'created_at': c.created_at.isoformat()}
                for c in db.credential_list(ebs_context.get_admin_context(),
                                            CONF.category.project)]
        _print(rows, CONF.category.format,
               ('project', 'access_key', 'created_at'))

    def delete(self):
        if not db.credential_delete(ebs_context.get_admin_context(),
                                    CONF.category.access_key):
            sys.exit('No credentials with access key %s'
                     % CONF.category.access_key)


def _format_arg(parser):
    parser.add_argument('--format', choices=('table', 'json'),
                        default='table')


def add_command_parsers(subparsers):
    db_parser = subparsers.add_parser('db', help='Database schema')
    db_sub = db_parser.add_subparsers(dest='action')
    db_sub.required = True
    db_sub.add_parser('sync', help='Create or upgrade the schema').\
        set_defaults(func=lambda: DbCommands().sync())
    db_sub.add_parser('version', help='Print the schema version').\
        set_defaults(func=lambda: DbCommands().version())

    cred = subparsers.add_parser('credentials', help='EC2 access keys')
    cred_sub = cred.add_subparsers(dest='action')
    cred_sub.required = True
    create = cred_sub.add_parser('create', help='New key pair of a project')
    create.add_argument('--project', required=True)
    _format_arg(create)
    create.set_defaults(func=lambda: CredentialCommands().create())
    listing = cred_sub.add_parser('list', help='List key pairs')
    listing.add_argument('--project')
    _format_arg(listing)
    listing.set_defaults(func=lambda: CredentialCommands().list())
    delete = cred_sub.add_parser('delete', help='Delete a key pair')
    delete.add_argument('access_key')
    delete.set_defaults(func=lambda: CredentialCommands().delete())


category_opt = cfg.SubCommandOpt('category', title='Commands',
                                 handler=add_command_parsers)


def main(argv=None):
    argv = argv if argv is not None else sys.argv
    CONF.register_cli_opt(category_opt)
    conf.parse_args(argv)
    os.makedirs(CONF.state_path, exist_ok=True)
    CONF.category.func()
