"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL is the machine's server at 127.0.0.1:5432 (database ``test``); each test run
works in a schema of its own, dropped at the end. With CI=true an unreachable
PostgreSQL or Redis fails the run instead of skipping.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from itembank.timeutil import utcnow
from web.db import make_engine
from web.migrate import upgrade

IN_CI = os.environ.get("CI", "").lower() == "true"
PG_URL = os.environ.get("SKILLCERT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("SKILLCERT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
TEST_SECRET = "test-secret-" + "x" * 40
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashing():
    """Real argon2, cheapest parameters: hashing is exercised without costing seconds per test."""
    from argon2 import PasswordHasher
    from argon2.profiles import CHEAPEST

    from engine import accounts

    accounts.use_hasher(PasswordHasher.from_parameters(CHEAPEST))


def unavailable(what: str, why: object) -> None:
    """Fail under CI (the real component is required there); skip on a laptop without it."""
    message = f"{what} is unreachable: {why}"
    if IN_CI:
        pytest.fail(message + " (CI=true requires it)", pytrace=False)
    pytest.skip(message)


class FakeClock:
    """The server clock for tests: real time plus an offset tests can advance."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


def create_postgres_schema(schema: str) -> None:
    """Create an empty schema on the test server, or fail/skip when it is unreachable."""
    admin = make_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # noqa: BLE001 — any connection failure means "unreachable"
        unavailable("PostgreSQL at " + PG_URL.split("@")[-1], exc)
    finally:
        admin.dispose()


def drop_postgres_schema(schema: str) -> None:
    admin = make_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        admin.dispose()


def _postgres_engine(schema: str) -> Engine:
    create_postgres_schema(schema)
    from sqlmodel import create_engine

    return create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"}, pool_pre_ping=True)


@pytest.fixture(scope="session")
def _engines(tmp_path_factory) -> Iterator[dict[str, Engine]]:
    engines: dict[str, Engine] = {}
    yield engines
    for engine in engines.values():
        engine.dispose()


_SCHEMA = f"t_{uuid.uuid4().hex[:12]}"


def _migrated(backend: str, engines: dict[str, Engine], tmp_root: Path) -> Engine:
    if backend in engines:
        return engines[backend]
    if backend == "sqlite":
        url = f"sqlite:///{tmp_root / 'skillcert-test.sqlite3'}"
        engine = make_engine(url)
        upgrade(url)
    else:
        engine = _postgres_engine(_SCHEMA)
        from alembic import command

        from web.migrate import alembic_config

        with engine.begin() as conn:
            config = alembic_config(PG_URL)
            config.attributes["connection"] = conn
            command.upgrade(config, "heads")
    engines[backend] = engine
    return engine


def _wipe(engine: Engine) -> None:
    tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f'DELETE FROM "{table}"'))


@pytest.fixture(params=BACKENDS)
def db_engine(request, _engines, tmp_path_factory) -> Iterator[Engine]:
    """A migrated, empty database on each backend; emptied again after the test."""
    engine = _migrated(request.param, _engines, tmp_path_factory.getbasetemp())
    yield engine
    _wipe(engine)


@pytest.fixture(scope="session", autouse=True)
def _drop_postgres_schema(_engines):
    yield
    engine = _engines.get("postgresql")
    if engine is not None:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{_SCHEMA}" CASCADE'))


@pytest.fixture
def db(db_engine) -> Iterator[Session]:
    with Session(db_engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(tmp_path):
    from web.settings import Settings

    return Settings(data_dir=tmp_path, secret_key=TEST_SECRET, demo=False, login_rate_limit="5/minute",
                    expiry_sweep_seconds=0.2)


@pytest.fixture
def app(settings, db_engine, clock):
    from web.app import create_app

    return create_app(settings, db=db_engine, clock=clock)


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def demo(db_engine) -> str:
    """The demo data set (electrician level 4, an exam started 5 minutes ago, accounts)."""
    from web.demo.seed import seed

    with Session(db_engine, expire_on_commit=False) as session:
        report = seed(session)
        session.commit()
    return report


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


class Visitor:
    """A TestClient user who signs in and sends forms with the page's CSRF token."""

    def __init__(self, client, locale: str = "en") -> None:
        self.client = client
        self.csrf = ""
        client.cookies.set("skillcert_locale", locale)  # assertions read the English UI

    def login(self, username: str, password: str | None = None) -> Visitor:
        self.csrf = csrf_from(self.client.get("/login").text)
        response = self.client.post("/login", data={"username": username, "password": password or f"{username}-demo",
                                                    "csrf_token": self.csrf})
        assert response.status_code == 303, response.text
        self.refresh_csrf(response.headers["location"])
        return self

    def refresh_csrf(self, path: str = "/login") -> None:
        self.csrf = csrf_from(self.client.get(path, follow_redirects=True).text)

    def get(self, path: str, **kwargs):
        return self.client.get(path, **kwargs)

    def post(self, path: str, data: dict | None = None, htmx: bool = False, **kwargs):
        headers = {"HX-Request": "true"} if htmx else {}
        return self.client.post(path, data={**(data or {}), "csrf_token": self.csrf}, headers=headers, **kwargs)


@pytest.fixture
def visitor(client) -> Visitor:
    return Visitor(client)
