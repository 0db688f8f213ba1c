"""Configuration: defaults for one machine, refusal of missing or weak secrets."""

from __future__ import annotations

import pytest

from web.settings import Settings, SettingsError


class TestSecretKey:
    def test_missing_secret_outside_demo_is_a_start_up_error(self, tmp_path):
        with pytest.raises(SettingsError, match="SKILLCERT_SECRET_KEY is not set"):
            Settings(data_dir=tmp_path, demo=False).resolved_secret_key()

    @pytest.mark.parametrize("secret", ["changeme", "short-secret", "x" * 31])
    def test_weak_secret_is_refused(self, tmp_path, secret):
        with pytest.raises(SettingsError, match="too weak"):
            Settings(data_dir=tmp_path, secret_key=secret).resolved_secret_key()

    def test_demo_generates_one_secret_and_keeps_it(self, tmp_path):
        first = Settings(data_dir=tmp_path, demo=True).resolved_secret_key()
        again = Settings(data_dir=tmp_path, demo=True).resolved_secret_key()
        assert first == again and len(first) >= 32
        assert (tmp_path / ".demo-secret").stat().st_mode & 0o077 == 0

    def test_app_refuses_to_start_without_a_secret(self, tmp_path):
        from web.app import create_app

        with pytest.raises(SettingsError):
            create_app(Settings(data_dir=tmp_path, demo=False))


class TestDefaults:
    def test_sqlite_file_under_the_data_dir(self, tmp_path):
        url = Settings(data_dir=tmp_path).resolved_database_url
        assert url == f"sqlite:///{(tmp_path / 'skillcert.sqlite3').resolve()}"

    def test_environment_variables_are_prefixed(self, tmp_path, monkeypatch):
        monkeypatch.setenv("SKILLCERT_DATABASE_URL", "postgresql+psycopg://u@db/x")
        monkeypatch.setenv("SKILLCERT_DEFAULT_LOCALE", "en")
        settings = Settings(data_dir=tmp_path)
        assert settings.resolved_database_url == "postgresql+psycopg://u@db/x" and settings.default_locale == "en"

    def test_unknown_locale_is_refused(self, tmp_path):
        with pytest.raises(SettingsError, match="not supported"):
            Settings(data_dir=tmp_path, default_locale="fr")

    def test_sqlite_runs_in_wal_mode(self, tmp_path):
        from sqlalchemy import text

        from web.db import make_engine

        engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
