"""Scheduling tables: what an institution may certify, room seat maps, batches of
sittings with their bookings, seats, staff on duty and their relations to institutions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from itembank.columns import enum_type
from itembank.levels import Level
from itembank.timeutil import utcnow


class DutyRole(StrEnum):
    supervisor = "supervisor"  # 监考/督考
    rater = "rater"  # 考评员


class InstitutionScope(SQLModel, table=True):
    """One occupation and level an institution may certify (its filed scope, 备案范围)."""

    __table_args__ = (UniqueConstraint("institution_id", "occupation_id", "level"),)

    id: int | None = Field(default=None, primary_key=True)
    institution_id: int = Field(foreign_key="institution.id", index=True)
    occupation_id: int = Field(foreign_key="occupation.id")
    level: Level = Field(sa_type=enum_type(Level))


class RoomLayout(SQLModel, table=True):
    """A standardized room's seat map: rows × columns, minus seats that do not exist."""

    room_id: int = Field(foreign_key="room.id", primary_key=True)
    rows: int
    columns: int
    missing_seats: list[str] = Field(sa_column=Column(JSON, nullable=False))  # labels such as "03-05"
    equipment: str = Field(default="", max_length=1000)
    standardized: bool = False  # 标准化考场: recorded, shown on tickets


class ExamBatch(SQLModel, table=True):
    """A batch (批次): one exam definition run by one institution, in one or more rooms at once."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=40)
    institution_id: int = Field(foreign_key="institution.id", index=True)
    exam_definition_id: int = Field(foreign_key="examdefinition.id")
    starts_at: datetime
    ends_at: datetime
    created_by: str = Field(max_length=80)
    created_at: datetime = Field(default_factory=utcnow)


class RoomBooking(SQLModel, table=True):
    """A sitting (场次, an ExamSession) booked in its room for a time span; overlaps are refused."""

    exam_session_id: int = Field(foreign_key="examsession.id", primary_key=True)
    batch_id: int = Field(foreign_key="exambatch.id", index=True)
    room_id: int = Field(foreign_key="room.id", index=True)
    starts_at: datetime
    ends_at: datetime


class SeatAssignment(SQLModel, table=True):
    """A candidate's seat and admission ticket number (准考证号) in one sitting."""

    __table_args__ = (UniqueConstraint("exam_session_id", "seat"),)

    candidate_session_id: int = Field(foreign_key="candidatesession.id", primary_key=True)
    exam_session_id: int = Field(foreign_key="examsession.id", index=True)
    seat: str = Field(max_length=8)  # "row-column", both two digits
    ticket_number: str = Field(unique=True, max_length=24)


class DutyAssignment(SQLModel, table=True):
    """A supervisor or rater on duty at a sitting (may belong to another institution: cross-dispatch)."""

    __table_args__ = (UniqueConstraint("exam_session_id", "user_id", "role"),)

    id: int | None = Field(default=None, primary_key=True)
    exam_session_id: int = Field(foreign_key="examsession.id", index=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    role: DutyRole = Field(sa_type=enum_type(DutyRole))
    assigned_by: str = Field(max_length=80)


class StaffRelation(SQLModel, table=True):
    """A declared relation of a supervisor or rater to an institution (employee, trainer, relative…)."""

    __table_args__ = (UniqueConstraint("user_id", "institution_id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    institution_id: int = Field(foreign_key="institution.id")
    note: str = Field(default="", max_length=200)


class SchedulingPolicy(SQLModel, table=True):
    """The configurable rules (one row): whether related staff are refused."""

    id: int = Field(default=1, primary_key=True)
    forbid_related_staff: bool = True
