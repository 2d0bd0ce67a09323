"""Options of the [credentials] group: EC2 secret keys at rest."""

from oslo_config import cfg

credentials_group = cfg.OptGroup('credentials',
                                 title='EC2 credential options')

credentials_opts = [
    cfg.StrOpt('key_file', default='$state_path/credential.key',
               help='Fernet key that encrypts the secret keys of the EC2 '
                    'credentials in the database. ``ebsboot-manage db '
                    'sync`` and ``credentials create`` make it (0600) when '
                    'it is missing; every API host needs the same file. '
                    'Back it up apart from the database: without it the '
                    'stored secret keys are lost.'),
]


def register_opts(conf):
    conf.register_group(credentials_group)
    conf.register_opts(credentials_opts, group=credentials_group)


def list_opts():
    return {credentials_group: credentials_opts}
