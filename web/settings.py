"""Runtime configuration: environment variables prefixed ``SKILLCERT_``.

Defaults serve one machine with zero set-up (SQLite in WAL mode under the data
directory, in-process event broker). Outside demo mode a real secret key is required.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Strings people paste from tutorials; refusing them stops a public deployment from
# signing cookies with a value an attacker can guess.
PLACEHOLDER_SECRETS = {"changeme", "change-me", "secret", "dev", "development", "test", "password"}
MIN_SECRET_LENGTH = 32
SUPPORTED_LOCALES = ("zh_CN", "en")


class SettingsError(RuntimeError):
    """The configuration cannot start a safe service."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SKILLCERT_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="Holds the SQLite file, uploads, demo secret.")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default: SQLite in data_dir.")
    redis_url: str | None = Field(default=None, description="Redis for cross-worker state; unset = in-process.")
    secret_key: str | None = Field(default=None, description="Signs session cookies and CSRF tokens (>= 32 chars).")
    default_locale: str = Field(default="zh_CN", description="UI locale when the user has not chosen one.")
    demo: bool = Field(default=False, description="Demo mode: generates and keeps a local secret key if none is set.")
    secure_cookies: bool = Field(default=False, description="Mark cookies Secure (set when served over HTTPS).")
    login_rate_limit: str = Field(default="5/minute", description="Failed sign-ins per user name and address.")
    expiry_sweep_seconds: float = Field(default=5.0, description="Seconds between overdue-sitting sweeps.")
    host: str = "127.0.0.1"
    port: int = 8000

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.default_locale not in SUPPORTED_LOCALES:
            raise SettingsError(
                f"SKILLCERT_DEFAULT_LOCALE={self.default_locale!r} is not supported; use one of {SUPPORTED_LOCALES}"
            )
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'skillcert.sqlite3').resolve()}"

    def resolved_secret_key(self) -> str:
        """The signing key; in demo mode one is generated once and kept in data_dir."""
        if self.secret_key:
            _refuse_weak_secret(self.secret_key)
            return self.secret_key
        if not self.demo:
            raise SettingsError(
                "SKILLCERT_SECRET_KEY is not set. Set it to a random string of at least "
                f"{MIN_SECRET_LENGTH} characters (python -c 'import secrets; print(secrets.token_urlsafe(48))'), "
                "or set SKILLCERT_DEMO=true for a local demo."
            )
        return _demo_secret(self.data_dir)


def _refuse_weak_secret(secret: str) -> None:
    if secret.strip().lower() in PLACEHOLDER_SECRETS or len(secret) < MIN_SECRET_LENGTH:
        raise SettingsError(
            f"SKILLCERT_SECRET_KEY is too weak: it must be at least {MIN_SECRET_LENGTH} characters "
            "and not a placeholder such as 'changeme'."
        )


def _demo_secret(data_dir: Path) -> str:
    path = data_dir / ".demo-secret"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.write_text(secret)
    path.chmod(0o600)
    return secret


@lru_cache
def get_settings() -> Settings:
    return Settings()
