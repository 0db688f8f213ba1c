"""Shared by the proctoring service and action tests: the demo candidate's sitting, started."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from engine import delivery
from engine.models import Candidate, CandidateSession, User
from itembank.timeutil import utcnow


def sitting_of(db: Session, username: str = "candidate") -> CandidateSession:
    return db.exec(select(CandidateSession).join(Candidate, Candidate.id == CandidateSession.candidate_id)
                   .join(User, User.id == Candidate.user_id).where(User.username == username)).one()


@pytest.fixture
def started(db, demo):
    sitting = sitting_of(db)
    now = utcnow()
    delivery.start(db, sitting, "candidate", now)
    db.commit()
    return sitting, now
