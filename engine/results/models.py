"""Results tables: publication per sitting, the appeal window, appeals, anonymous survey answers."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from engine.certification.rules import Part
from itembank.columns import enum_type
from itembank.timeutil import utcnow


class AppealStatus(StrEnum):
    open = "open"
    upheld = "upheld"  # the score stands
    corrected = "corrected"  # the score was changed


class ResultPublication(SQLModel, table=True):
    """Results of a sitting (exam session) shown to its candidates from ``published_at``."""

    exam_session_id: int = Field(foreign_key="examsession.id", primary_key=True)
    published_at: datetime
    published_by: str = Field(max_length=80)


class ResultsPolicy(SQLModel, table=True):
    """The configurable settings (one row): days after publication within which a review may be asked."""

    id: int = Field(default=1, primary_key=True)
    appeal_window_days: int = 15


class Appeal(SQLModel, table=True):
    """A candidate's request to re-check one part's score, and the reviewer's outcome."""

    id: int | None = Field(default=None, primary_key=True)
    candidate_session_id: int = Field(foreign_key="candidatesession.id", index=True)
    part: Part = Field(sa_type=enum_type(Part))
    reason: str = Field(max_length=1000)
    requested_at: datetime = Field(default_factory=utcnow)
    status: AppealStatus = Field(default=AppealStatus.open, sa_type=enum_type(AppealStatus), index=True)
    original_score: float
    new_score: float | None = None
    reviewer: str | None = Field(default=None, max_length=80)
    decided_at: datetime | None = None
    finding: str | None = Field(default=None, max_length=2000)


class SurveyReceipt(SQLModel, table=True):
    """That a sitting's candidate answered the survey (no link to the answer: see SurveyAnswer)."""

    candidate_session_id: int = Field(foreign_key="candidatesession.id", primary_key=True)


class SurveyAnswer(SQLModel, table=True):
    """One anonymous answer: a random key (no order to match receipts by), no candidate, no time."""

    id: str = Field(default_factory=lambda: uuid.uuid4().hex, primary_key=True, max_length=32)
    exam_session_id: int = Field(foreign_key="examsession.id", index=True)
    institution_id: int = Field(foreign_key="institution.id", index=True)
    ratings: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    comment: str = Field(default="", max_length=1000)
