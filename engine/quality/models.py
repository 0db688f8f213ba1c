"""Quality supervision tables: complaints and reports (投诉举报), institution suspensions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from itembank.columns import enum_type
from itembank.timeutil import utcnow


class ComplaintStatus(StrEnum):
    received = "received"  # filed through the public form, nobody has looked yet
    triaged = "triaged"  # preliminary look done: category, severity, institution confirmed
    assigned = "assigned"  # a handler (never the person complained about) investigates
    resolved = "resolved"  # decided, with the written answer
    dismissed = "dismissed"  # out of scope or unfounded, with the reason


class ComplaintSeverity(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"


class Complaint(SQLModel, table=True):
    """One complaint or report; every change of it is also in the audit log."""

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(unique=True, max_length=16)  # shown to the complainant to quote later
    institution_id: int | None = Field(default=None, foreign_key="institution.id", index=True)
    category: str = Field(max_length=40)
    subject: str = Field(max_length=200)
    body: str = Field(max_length=5000)
    contact: str = Field(default="", max_length=200)  # optional; anonymous reports are accepted
    status: ComplaintStatus = Field(default=ComplaintStatus.received, index=True,
                                    sa_type=enum_type(ComplaintStatus))
    severity: ComplaintSeverity | None = Field(default=None, sa_type=enum_type(ComplaintSeverity))
    assignee: str | None = Field(default=None, max_length=80)
    resolution: str = Field(default="", max_length=5000)
    received_at: datetime = Field(default_factory=utcnow, index=True)
    triaged_at: datetime | None = None
    resolved_at: datetime | None = None


class InstitutionSuspension(SQLModel, table=True):
    """A suspension from certifying (exit mechanism); active while ``lifted_at`` is empty."""

    id: int | None = Field(default=None, primary_key=True)
    institution_id: int = Field(foreign_key="institution.id", index=True)
    reason: str = Field(max_length=1000)
    suspended_by: str = Field(max_length=80)
    suspended_at: datetime = Field(default_factory=utcnow)
    lifted_at: datetime | None = None
    lifted_by: str | None = Field(default=None, max_length=80)
    lift_reason: str | None = Field(default=None, max_length=1000)
