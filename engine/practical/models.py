"""Practical-part tables (names chosen for export by the evidence archive):

- ``Scenario`` / ``ScenarioVersion``: uploaded scenario files, one immutable version per
  upload; a version used by an attempt is ``frozen`` (like an administered item version).
- ``PracticalTask``: a task of an exam definition's practical part — a scenario or a
  rated task (rubric form) — with its weight.
- ``PracticalAttempt``: one candidate sitting's work on one task: seed, server deadline,
  stored score sheet (评分记录表), final score and veto.
- ``PracticalAction``: the append-only action log of an attempt (``{t, action, args}``
  with a sequence number); with the seed it reproduces the run bit for bit.
- ``RaterAssignment`` / ``RaterScore`` / ``Adjudication``: who rates which attempt,
  each rater's independent rubric form, and the chief rater's decision on a spread.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from itembank.columns import enum_type
from itembank.timeutil import utcnow


class TaskKind(StrEnum):
    scenario = "scenario"  # a simulation scored automatically by its rubric
    rated = "rated"  # scored by raters on a rubric form


class AttemptStatus(StrEnum):
    running = "running"  # a simulation on the server clock
    rating = "rating"  # waiting for the raters' forms
    adjudication = "adjudication"  # raters disagree beyond the threshold: the chief decides
    scored = "scored"  # final score and veto are set


class RaterRole(StrEnum):
    rater = "rater"
    chief = "chief"


class Scenario(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=80)  # the file's ``id``
    title_zh: str = Field(max_length=200)
    title_en: str = Field(max_length=200)
    current_version: int = 1
    created_by: str = Field(max_length=80)
    created_at: datetime = Field(default_factory=utcnow)


class ScenarioVersion(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("scenario_id", "version_no"),)

    id: int | None = Field(default=None, primary_key=True)
    scenario_id: int = Field(foreign_key="scenario.id", index=True)
    version_no: int
    declared_version: int  # the ``version`` written in the file
    filename: str = Field(max_length=200)
    source: str = Field(sa_column=Column(Text, nullable=False))
    sha256: str = Field(max_length=64, index=True)
    frozen: bool = False  # set when an attempt uses it; the source never changes anyway
    uploaded_by: str = Field(max_length=80)
    uploaded_at: datetime = Field(default_factory=utcnow)


class PracticalTask(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("exam_definition_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    exam_definition_id: int = Field(foreign_key="examdefinition.id", index=True)
    position: int
    kind: TaskKind = Field(sa_type=enum_type(TaskKind))
    title: str = Field(max_length=200)
    weight: float = 1.0
    scenario_id: int | None = Field(default=None, foreign_key="scenario.id")
    # rated tasks: {"criteria": [{"id", "text", "points"}], "vetoes": [{"id", "text"}]}
    rubric: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    raters_required: int = 3
    spread_threshold: float = 10.0  # points on 0–100 between the highest and lowest rater
    created_by: str = Field(max_length=80)


class PracticalAttempt(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("candidate_session_id", "task_id"),)

    id: int | None = Field(default=None, primary_key=True)
    candidate_session_id: int = Field(foreign_key="candidatesession.id", index=True)
    task_id: int = Field(foreign_key="practicaltask.id", index=True)
    status: AttemptStatus = Field(sa_type=enum_type(AttemptStatus), index=True)
    scenario_version_id: int | None = Field(default=None, foreign_key="scenarioversion.id")
    seed: int | None = Field(default=None, sa_type=BigInteger)
    started_at: datetime = Field(default_factory=utcnow)
    deadline: datetime | None = Field(default=None, index=True)
    ended_at: datetime | None = None
    ended_by: str | None = Field(default=None, max_length=32)
    action_count: int = 0
    score: float | None = None  # 0–100
    veto: bool = False
    score_sheet: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    fingerprint: str | None = Field(default=None, max_length=64)  # Trace.fingerprint() of the scored run


class PracticalAction(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("attempt_id", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    attempt_id: int = Field(foreign_key="practicalattempt.id", index=True)
    seq: int
    t: float  # seconds since the attempt started, on the server clock
    action: str = Field(max_length=80)
    args: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    actor: str = Field(max_length=80)
    received_at: datetime = Field(default_factory=utcnow)


class RaterAssignment(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("attempt_id", "rater_user_id", "role"),)

    id: int | None = Field(default=None, primary_key=True)
    attempt_id: int = Field(foreign_key="practicalattempt.id", index=True)
    rater_user_id: int = Field(foreign_key="user.id", index=True)
    role: RaterRole = Field(sa_type=enum_type(RaterRole))
    assigned_by: str = Field(max_length=80)
    assigned_at: datetime = Field(default_factory=utcnow)


class RaterScore(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    assignment_id: int = Field(foreign_key="raterassignment.id", unique=True)
    scores: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  # criterion id -> points
    vetoes: list[str] = Field(sa_column=Column(JSON, nullable=False))  # veto ids the rater saw
    total: float  # 0–100
    comment: str = Field(default="", max_length=1000)
    submitted_at: datetime = Field(default_factory=utcnow)


class Adjudication(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    attempt_id: int = Field(foreign_key="practicalattempt.id", unique=True)
    chief_user_id: int = Field(foreign_key="user.id")
    score: float
    veto: bool = False
    note: str = Field(max_length=1000)
    decided_at: datetime = Field(default_factory=utcnow)
