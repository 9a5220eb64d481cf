"""Alembic environment: migrations run programmatically on the connection ectocalc opened
(:func:`ectocalc.record.open_store`); importing this module outside Alembic does nothing."""

from __future__ import annotations

from alembic import context

from ectocalc.record._schema import Base


def _run() -> None:
    connection = context.config.attributes["connection"]
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


if getattr(context, "config", None) is not None:  # executed by Alembic
    _run()
