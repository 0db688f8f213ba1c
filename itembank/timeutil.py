"""Time helpers shared by the domain packages.

All times are timezone-aware UTC; SQLModel's UTCDateTime stores them alike on SQLite
and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
