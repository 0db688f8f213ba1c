"""Certification tables: numbering profiles, part scores, certificates, registrations,
eligibility rules per occupation and level."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from engine.certification.rules import Part
from itembank.columns import enum_type
from itembank.levels import Level
from itembank.timeutil import utcnow


class CertificateStatus(StrEnum):
    issued = "issued"
    revoked = "revoked"


class NumberingProfile(SQLModel, table=True):
    """How one institution's certificates are numbered (its filed codes)."""

    id: int | None = Field(default=None, primary_key=True)
    institution_id: int = Field(foreign_key="institution.id", unique=True)
    body_code: str = Field(max_length=4)
    province_code: str = Field(max_length=2)
    site_serial: str = Field(max_length=6)
    kind_letter: str | None = Field(default=None, max_length=1)  # overrides the kind's letter (schools)


class CertificateSerial(SQLModel, table=True):
    """The last serial used per number prefix; the row is locked while a number is drawn."""

    prefix: str = Field(primary_key=True, max_length=16)
    last: int = 0


class PartScoreRecord(SQLModel, table=True):
    """A practical or comprehensive-review score of one sitting (theory comes from its Result)."""

    __tablename__ = "partscore"
    __table_args__ = (UniqueConstraint("candidate_session_id", "part"),)

    id: int | None = Field(default=None, primary_key=True)
    candidate_session_id: int = Field(foreign_key="candidatesession.id", index=True)
    part: Part = Field(sa_type=enum_type(Part))
    score: float
    veto: bool = False
    recorded_by: str = Field(max_length=80)
    recorded_at: datetime = Field(default_factory=utcnow)


class Certificate(SQLModel, table=True):
    """An issued certificate; holder and occupation are copied as they were at issue."""

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(unique=True, max_length=22)
    candidate_id: int = Field(foreign_key="candidate.id", index=True)
    candidate_session_id: int = Field(foreign_key="candidatesession.id", unique=True)
    institution_id: int = Field(foreign_key="institution.id", index=True)
    holder_name: str = Field(max_length=120, index=True)
    resident_id: str = Field(max_length=18, index=True)
    occupation_code: str = Field(max_length=32)
    occupation_name: str = Field(max_length=120)
    level: Level = Field(sa_type=enum_type(Level))
    issued_on: date
    status: CertificateStatus = Field(default=CertificateStatus.issued, sa_type=enum_type(CertificateStatus))
    issued_by: str = Field(max_length=80)
    revoked_at: datetime | None = None
    revoked_by: str | None = Field(default=None, max_length=80)
    revoke_reason: str | None = Field(default=None, max_length=500)


class EligibilityRuleSet(SQLModel, table=True):
    """An occupation's own conditions for a level, replacing the defaults of ``eligibility``."""

    __table_args__ = (UniqueConstraint("occupation_id", "level"),)

    id: int | None = Field(default=None, primary_key=True)
    occupation_id: int = Field(foreign_key="occupation.id")
    level: Level = Field(sa_type=enum_type(Level))
    conditions: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))


class Registration(SQLModel, table=True):
    """What a candidate declared when registering for a sitting (报名), and the condition met."""

    id: int | None = Field(default=None, primary_key=True)
    candidate_session_id: int = Field(foreign_key="candidatesession.id", unique=True)
    phone: str = Field(default="", max_length=30)
    employer: str = Field(default="", max_length=200)
    years_in_occupation: float = 0.0
    prior_level: Level | None = Field(default=None, sa_type=enum_type(Level))
    prior_certificate: str = Field(default="", max_length=22)
    school_graduate: bool = False
    apprenticeship: bool = False
    condition_met: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    source_file: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow)
