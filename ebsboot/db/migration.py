"""Schema migrations with alembic; the URL comes from ``[database]``."""

import os

from alembic import command as alembic_command
from alembic import config as alembic_config
from alembic import migration as alembic_migration
from alembic import script as alembic_script

from ebsboot.db import api as db_api


def _alembic_config():
    path = os.path.join(os.path.dirname(__file__), 'alembic.ini')
    config = alembic_config.Config(path)
    config.set_main_option('script_location',
                           os.path.join(os.path.dirname(__file__),
                                        'migrations'))
    return config


def db_sync(version='head', engine=None):
    """Upgrade the database to ``version`` (the newest by default)."""
    engine = engine or db_api.get_engine()
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes['connection'] = connection
        alembic_command.upgrade(config, version)


def db_version(engine=None):
    engine = engine or db_api.get_engine()
    with engine.connect() as connection:
        context = alembic_migration.MigrationContext.configure(connection)
        return context.get_current_revision()


def head_revision():
    """The newest revision the migrations define."""
    return alembic_script.ScriptDirectory.from_config(
        _alembic_config()).get_current_head()
