"""Database engine and sessions, the same code on SQLite and PostgreSQL.

The request owns the transaction: services flush, the caller commits once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

import engine.schema  # noqa: F401  (registers every table on the shared metadata)


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        db = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(db, "connect", _sqlite_pragmas)
        event.listen(db, "begin", _sqlite_begin_immediate)
        _queue_sqlite_writers(db)
        return db
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


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


WRITER_WAIT_SECONDS = 30.0  # as SQLite's busy timeout; past it, SQLite's own locking decides


def _queue_sqlite_writers(db: Engine) -> None:
    """Let this process's writers queue on a Python lock instead of SQLite's busy handler.

    SQLite has one writer; the others poll with sleeps that grow to 100 ms, so under a
    few hundred answers a second most of a waiter's latency is sleeping while the lock is
    already free. Here a write transaction takes a process-wide lock before BEGIN IMMEDIATE
    and gives it back right after COMMIT or ROLLBACK (also the pool's rollback on return),
    so the next writer starts at once. Read-only work (``read_only``) never queues. Other
    processes still meet SQLite's own lock, as before.
    """
    lock = threading.Lock()
    holders: set[int] = set()  # DBAPI connections that hold the lock
    dialect = db.dialect
    commit, rollback = dialect.do_commit, dialect.do_rollback

    def acquire(connection) -> None:
        if lock.acquire(timeout=WRITER_WAIT_SECONDS):
            holders.add(id(connection.connection.dbapi_connection))

    def release(dbapi_connection) -> None:
        key = id(getattr(dbapi_connection, "dbapi_connection", dbapi_connection))  # a pool proxy or the raw one
        if key in holders:
            holders.discard(key)
            lock.release()

    def do_commit(dbapi_connection) -> None:
        try:
            commit(dbapi_connection)
        finally:
            release(dbapi_connection)

    def do_rollback(dbapi_connection) -> None:
        try:
            rollback(dbapi_connection)
        finally:
            release(dbapi_connection)

    dialect.do_commit, dialect.do_rollback = do_commit, do_rollback  # type: ignore[method-assign]
    dialect.skillcert_writer_queue = (acquire, release)  # type: ignore[attr-defined]


def _sqlite_begin_immediate(connection) -> None:
    # Take the write lock at BEGIN: a deferred transaction that reads, then writes after
    # another writer committed fails with SQLITE_BUSY instead of waiting its turn.
    # Work declared read-only (``read_only``) needs no lock at all.
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("BEGIN")
        return
    queue = getattr(connection.dialect, "skillcert_writer_queue", None)
    if queue is None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        return
    acquire, release = queue
    acquire(connection)
    try:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        release(connection.connection)
        raise


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
