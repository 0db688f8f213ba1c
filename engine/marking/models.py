"""Rubric marks: one row per written answer that needs an examiner's points."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from itembank.timeutil import utcnow


class RubricMark(SQLModel, table=True):
    """A rubric answer waiting for (``points`` is None) or holding an examiner's mark."""

    __table_args__ = (UniqueConstraint("candidate_session_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    candidate_session_id: int = Field(foreign_key="candidatesession.id", index=True)
    position: int
    item_version_id: int = Field(foreign_key="itemversion.id")
    max_points: int
    points: int | None = Field(default=None, index=True)
    marked_by: str | None = Field(default=None, max_length=80)
    marked_at: datetime | None = None
    comment: str = Field(default="", max_length=2000)
    queued_at: datetime = Field(default_factory=utcnow)
