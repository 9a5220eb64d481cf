"""Users: a case-insensitive unique sign-in key, and disabled accounts

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-08 00:45:00

``Alice`` and ``alice`` become one name. A record that already holds two users whose names
differ only in case keeps the oldest as it is; each later one is disabled and keyed by
``name#id`` so that it can no longer sign in until an administrator removes it or re-creates it
under another name (``ectocalc user list`` shows it as disabled).
"""

from __future__ import annotations

import unicodedata

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('username_key', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('disabled', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    users = sa.table('users', sa.column('id', sa.Integer), sa.column('username', sa.String),
                     sa.column('username_key', sa.String), sa.column('disabled', sa.Boolean))
    connection = op.get_bind()
    seen: set[str] = set()
    for user_id, name in connection.execute(
            sa.select(users.c.id, users.c.username).order_by(users.c.id)).all():
        # the same rule as ectocalc.record._users.user_key, frozen here as a migration must be
        key = unicodedata.normalize("NFKC", name).strip().casefold()
        disabled = key in seen
        if disabled:
            key = f"{key}#{user_id}"
        seen.add(key)
        connection.execute(users.update().where(users.c.id == user_id)
                           .values(username_key=key[:100], disabled=disabled))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('username_key', existing_type=sa.String(length=100),
                              nullable=False)
        batch_op.create_unique_constraint('uq_users_username_key', ['username_key'])


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint('uq_users_username_key', type_='unique')
        batch_op.drop_column('disabled')
        batch_op.drop_column('username_key')
