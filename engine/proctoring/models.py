"""Proctoring tables beyond the event stream: the accommodation recorded on a candidate's profile.

``Candidate.extra_time_minutes`` stays the one number delivery adds to the deadline at
start; this record keeps how it is made up (extra time and break allowance), why, and
who set it. Check-ins and workstation moves are events of the sitting's stream
(``ProctoringEvent``), not tables of their own.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from itembank.timeutil import utcnow


class Accommodation(SQLModel, table=True):
    """Extra time and break allowance of one candidate, with the reason they were granted."""

    id: int | None = Field(default=None, primary_key=True)
    candidate_id: int = Field(foreign_key="candidate.id", unique=True)
    extra_minutes: int = 0
    break_minutes: int = 0
    reason: str = Field(max_length=500)
    set_by: str = Field(max_length=80)
    set_at: datetime = Field(default_factory=utcnow)
