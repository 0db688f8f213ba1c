"""The skillcert command: users, demo seed, migrations on a fresh file."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from engine.models import User
from web import cli


@pytest.fixture
def runner(db_engine, monkeypatch) -> CliRunner:
    monkeypatch.setattr(cli, "make_engine", lambda _url: db_engine)
    return CliRunner()


class TestUsersCreate:
    def test_creates_an_account_with_an_argon2_hash(self, runner, db_engine):
        result = runner.invoke(cli.app, ["users", "create", "li.na", "--role", "supervisor",
                                         "--display-name", "李娜", "--password", "a-long-password"])
        assert result.exit_code == 0, result.output
        with Session(db_engine) as session:
            user = session.exec(select(User).where(User.username == "li.na")).one()
        assert user.role == "supervisor" and user.password_hash.startswith("$argon2id$")

    def test_short_password_is_refused_with_exit_code_2(self, runner, db_engine):
        result = runner.invoke(cli.app, ["users", "create", "li.na", "--role", "admin", "--password", "short"])
        assert result.exit_code == 2 and "at least 8 characters" in result.output
        with Session(db_engine) as session:
            assert session.exec(select(User)).all() == []

    def test_unknown_role_is_refused(self, runner):
        result = runner.invoke(cli.app, ["users", "create", "x", "--role", "king", "--password", "a-long-password"])
        assert result.exit_code == 2


class TestDemoSeed:
    def test_second_seed_changes_nothing(self, runner, db_engine):
        first = runner.invoke(cli.app, ["demo", "seed"])
        assert first.exit_code == 0 and "60 items" in first.output and "candidate-demo" in first.output
        with Session(db_engine) as session:
            users = len(session.exec(select(User)).all())
        second = runner.invoke(cli.app, ["demo", "seed"])
        assert second.exit_code == 0 and "already present" in second.output
        with Session(db_engine) as session:
            assert len(session.exec(select(User)).all()) == users == 7


class TestDbUpgrade:
    def test_fresh_sqlite_file_is_migrated_twice_without_error(self, tmp_path, monkeypatch):
        from sqlalchemy import inspect

        from web.db import make_engine
        from web.settings import get_settings

        monkeypatch.setenv("SKILLCERT_DATA_DIR", str(tmp_path))
        monkeypatch.delenv("SKILLCERT_DATABASE_URL", raising=False)
        get_settings.cache_clear()
        try:
            for _ in range(2):
                result = CliRunner().invoke(cli.app, ["db", "upgrade"])
                assert result.exit_code == 0, result.output
        finally:
            get_settings.cache_clear()
        engine = make_engine(f"sqlite:///{tmp_path / 'skillcert.sqlite3'}")
        assert {"candidatesession", "itemversion", "auditentry"} <= set(inspect(engine).get_table_names())
