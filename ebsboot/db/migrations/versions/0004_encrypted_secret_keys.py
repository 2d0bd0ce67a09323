"""Secret keys of credentials encrypted at rest.

The column holds a Fernet token of the secret key (``ebsboot.secret_keys``,
key in ``[credentials] key_file``, made here when missing), longer than the
secret itself. Rows that are tokens of the key file already are left alone,
so the upgrade can run again after a failure. The downgrade decrypts the
rows with the same key file.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from alembic import op
import sqlalchemy as sa

from ebsboot import secret_keys

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

_credentials = sa.table('credentials',
                        sa.column('id', sa.Integer),
                        sa.column('access_key', sa.String),
                        sa.column('secret_key', sa.String))


def _rewrite(convert):
    connection = op.get_bind()
    rows = connection.execute(sa.select(
        _credentials.c.id, _credentials.c.access_key,
        _credentials.c.secret_key)).all()
    for row in rows:
        value = convert(row)
        if value is not None:
            connection.execute(_credentials.update().where(
                _credentials.c.id == row.id).values(secret_key=value))


def upgrade():
    with op.batch_alter_table('credentials') as batch:
        batch.alter_column('secret_key', existing_type=sa.String(128),
                           type_=sa.String(255), existing_nullable=False)
    # The key file is made even without rows: the API hosts need it.
    secret_keys.get_fernet(create=True)
    _rewrite(lambda row: None if secret_keys.is_token(row.secret_key)
             else secret_keys.encrypt(row.secret_key))


def downgrade():
    _rewrite(lambda row: secret_keys.decrypt(row.secret_key,
                                             access_key=row.access_key))
    with op.batch_alter_table('credentials') as batch:
        batch.alter_column('secret_key', existing_type=sa.String(255),
                           type_=sa.String(128), existing_nullable=False)
