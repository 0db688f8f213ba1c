"""Exam delivery tables: institutions and rooms, accounts, exam definitions and sittings,
candidates, candidate sessions with their responses and results, and the audit log."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from itembank.columns import enum_type
from itembank.levels import Level
from itembank.timeutil import utcnow


class InstitutionKind(StrEnum):
    enterprise = "enterprise"  # 用人单位/企业自主评价
    social_org = "social_org"  # 社会培训评价组织
    school = "school"  # 技工院校


class Role(StrEnum):
    candidate = "candidate"
    examiner = "examiner"
    supervisor = "supervisor"
    admin = "admin"


class CandidateSessionStatus(StrEnum):
    scheduled = "scheduled"
    in_progress = "in_progress"
    paused = "paused"  # by a supervisor; the deadline moves by the pause on resume
    submitted = "submitted"


class Institution(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=32)
    name: str = Field(max_length=200)
    kind: InstitutionKind = Field(sa_type=enum_type(InstitutionKind))


class TestCenter(SQLModel, table=True):
    __test__ = False  # not a pytest class despite the name

    id: int | None = Field(default=None, primary_key=True)
    institution_id: int = Field(foreign_key="institution.id", index=True)
    name: str = Field(max_length=200)
    address: str = Field(default="", max_length=300)


class Room(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    test_center_id: int = Field(foreign_key="testcenter.id", index=True)
    name: str = Field(max_length=100)
    capacity: int = 30


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, index=True, max_length=80)
    display_name: str = Field(max_length=120)
    role: Role = Field(sa_type=enum_type(Role))
    password_hash: str = Field(max_length=255)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow)


class Candidate(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    user_id: int | None = Field(default=None, foreign_key="user.id", unique=True)
    name: str = Field(max_length=120)
    resident_id: str = Field(unique=True, max_length=18)
    sex: str = Field(max_length=1)  # "M"/"F", derived from the resident ID
    birth_date: date
    photo_path: str | None = Field(default=None, max_length=300)
    extra_time_minutes: int = 0  # accommodation recorded on the profile; added to every deadline
    created_at: datetime = Field(default_factory=utcnow)


class ExamDefinition(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=40)
    title: str = Field(max_length=200)
    occupation_id: int = Field(foreign_key="occupation.id")
    level: Level = Field(sa_type=enum_type(Level))
    duration_minutes: int
    pass_mark: float = 60.0
    theory_mode: str = Field(default="fixed", max_length=16)


class ExamFormItem(SQLModel, table=True):
    """The fixed theory form: which item sits at which position, worth how many points."""

    __table_args__ = (UniqueConstraint("exam_definition_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    exam_definition_id: int = Field(foreign_key="examdefinition.id", index=True)
    position: int
    item_id: int = Field(foreign_key="item.id")
    points: float = 1.0


class ExamSession(SQLModel, table=True):
    """A sitting: one exam definition scheduled in one room."""

    id: int | None = Field(default=None, primary_key=True)
    exam_definition_id: int = Field(foreign_key="examdefinition.id", index=True)
    room_id: int = Field(foreign_key="room.id")
    title: str = Field(max_length=200)
    starts_at: datetime
    created_at: datetime = Field(default_factory=utcnow)


class CandidateSession(SQLModel, table=True):
    """One candidate's sitting of one exam session; the server owns its deadline."""

    __table_args__ = (UniqueConstraint("exam_session_id", "candidate_id"),)

    id: int | None = Field(default=None, primary_key=True)
    exam_session_id: int = Field(foreign_key="examsession.id", index=True)
    candidate_id: int = Field(foreign_key="candidate.id", index=True)
    status: CandidateSessionStatus = Field(default=CandidateSessionStatus.scheduled, index=True,
                                           sa_type=enum_type(CandidateSessionStatus))
    started_at: datetime | None = None
    deadline: datetime | None = Field(default=None, index=True)
    submitted_at: datetime | None = None
    submit_reason: str | None = Field(default=None, max_length=32)
    current_position: int = 1
    paused_at: datetime | None = None  # set while a supervisor holds the sitting
    extension_minutes: int = 0  # supervisor extensions so far (the deadline already includes them)
    accommodation_minutes: int = 0  # the candidate's extra time, fixed at start
    connection_id: str | None = Field(default=None, max_length=40)  # the page that may act; newest wins
    last_seen_at: datetime | None = None  # last heartbeat of any connection


class ProctoringEvent(SQLModel, table=True):
    """Append-only proctoring stream of one sitting (engine/proctoring/events.py names the kinds).

    ``ref_id`` points a delivery/applied acknowledgement at the command event it confirms.
    """

    id: int | None = Field(default=None, primary_key=True)
    candidate_session_id: int = Field(foreign_key="candidatesession.id", index=True)
    at: datetime = Field(default_factory=utcnow)
    kind: str = Field(max_length=40, index=True)
    actor: str = Field(max_length=80)
    ref_id: int | None = Field(default=None, index=True)
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class SessionItem(SQLModel, table=True):
    """An item version as presented to one candidate at one position."""

    __table_args__ = (UniqueConstraint("candidate_session_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    candidate_session_id: int = Field(foreign_key="candidatesession.id", index=True)
    position: int
    item_version_id: int = Field(foreign_key="itemversion.id")
    points: float = 1.0
    flagged: bool = False


class Response(SQLModel, table=True):
    """The latest answer at one position; ``client_seq`` makes re-sends idempotent."""

    __table_args__ = (UniqueConstraint("candidate_session_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    candidate_session_id: int = Field(foreign_key="candidatesession.id", index=True)
    position: int
    answer: list[str] = Field(sa_column=Column(JSON, nullable=False))
    client_seq: int = Field(sa_type=BigInteger)  # browsers send Date.now()-based numbers
    answered_at: datetime = Field(default_factory=utcnow)


class Result(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    candidate_session_id: int = Field(foreign_key="candidatesession.id", unique=True)
    raw_points: float
    max_points: float
    score: float  # 0–100
    passed: bool
    # True while rubric answers await an examiner's marks (engine/marking): the score
    # counts them as 0 and ``passed`` stays False until the last mark finalizes it.
    provisional: bool = False
    scored_at: datetime = Field(default_factory=utcnow)


class AuditEntry(SQLModel, table=True):
    """Append-only, hash-chained record of every state change."""

    # An entity's entries of one kind (the live roster's answer times, timelines).
    __table_args__ = (Index("ix_auditentry_entity_action", "entity_type", "entity_id", "action"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow)
    actor: str = Field(max_length=80)
    action: str = Field(max_length=60, index=True)
    entity_type: str = Field(max_length=40)
    entity_id: str = Field(max_length=40, index=True)
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)


class AuditHead(SQLModel, table=True):
    """A single row locked while appending, so concurrent writers chain in order."""

    id: int = Field(default=1, primary_key=True)
    last_hash: str = Field(max_length=64)
    count: int = 0
