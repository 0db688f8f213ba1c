"""Alembic environment: one metadata (SQLModel) for every domain package."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import engine.schema  # noqa: F401  (registers every table on the shared metadata)
from web.db import make_engine
from web.settings import get_settings

config = context.config


def _url() -> str:
    return config.attributes.get("database_url") or get_settings().resolved_database_url


def run_offline() -> None:
    context.configure(url=_url(), target_metadata=SQLModel.metadata, literal_binds=True,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is not None:
        _run(connectable)
        return
    db = make_engine(_url())
    with db.connect() as connection:
        _run(connection)
    db.dispose()


def _run(connection) -> None:
    # Batch mode lets ALTER-style changes work on SQLite (copy-and-move tables).
    context.configure(connection=connection, target_metadata=SQLModel.metadata, render_as_batch=True,
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
