"""Database engine and sessions, the same code on SQLite and PostgreSQL.

The request owns the transaction: services flush, the caller commits once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

import engine.schema  # noqa: F401  (registers every table on the shared metadata)

SQLITE_POOL_SIZE = 48


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # Connections are kept: one beyond the pool would be opened (and its pragmas run) and
        # closed per request, and the request threads (40) plus the writer all read at once.
        db = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                           pool_size=SQLITE_POOL_SIZE, max_overflow=8)
        event.listen(db, "connect", _sqlite_pragmas)
        event.listen(db, "begin", _sqlite_begin_immediate)
        return db
    # Near the request thread pool (40 threads): connections beyond pool_size are closed
    # on return, so a small pool makes a start storm open and close a connection per request.
    return create_engine(url, pool_pre_ping=True, pool_size=20, max_overflow=10)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # Let SQLAlchemy, not the driver, open transactions (see _sqlite_begin_immediate).
    dbapi_connection.isolation_level = None
    # WAL lets readers run beside the writer; synchronous=FULL makes every committed
    # (acknowledged) answer durable across a crash; foreign keys are off by default.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


READ_ONLY = "skillcert_read_only"


def read_only(db: Engine) -> Engine:
    """The same engine and pool for work that only reads (live rosters, reports).

    On SQLite its transactions begin DEFERRED: with WAL they read a snapshot beside the
    writer and never take, or wait for, the write lock. PostgreSQL is unaffected.
    """
    return db.execution_options(**{READ_ONLY: True})


def _sqlite_begin_immediate(connection) -> None:
    # Take the write lock at BEGIN: a deferred transaction that reads, then writes after
    # another writer committed fails with SQLITE_BUSY instead of waiting its turn.
    # Work declared read-only (``read_only``) needs no lock at all.
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("BEGIN")
        return
    connection.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def session_scope(db: Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with Session(db, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
