"""A finished, certified sitting from the demo data: started, answered, proctored, submitted,
practical score recorded, certificate issued."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session, select

from engine import delivery
from engine.certification import service as certification
from engine.models import Candidate, CandidateSession, Institution, ProctoringEvent, SessionItem, User
from engine.practical import service as practical_service
from engine.proctoring import service as proctoring
from engine.proctoring.commands import CommandKind, SupervisorCommand
from engine.proctoring.events import EventKind
from itembank.models import ItemVersion
from itembank.timeutil import utcnow


def finish_sitting(session: Session, username: str = "candidate", practical: float = 75.0,
                   right: bool = True) -> int:
    """Run the demo candidate's sitting to a certificate (when it passes); return the sitting id."""
    sitting = session.exec(select(CandidateSession).join(Candidate, Candidate.id == CandidateSession.candidate_id)
                           .join(User, User.id == Candidate.user_id).where(User.username == username)).one()
    now = utcnow()
    delivery.start(session, sitting, username, now)
    session.add(ProctoringEvent(candidate_session_id=sitting.id, at=now, kind="identity_checked", actor="supervisor",
                                data={"id_checked": True, "photo_match": True, "verified": True}))
    for presented in session.exec(select(SessionItem).where(SessionItem.candidate_session_id == sitting.id)
                                  .order_by(SessionItem.position)).all():
        version = session.get(ItemVersion, presented.item_version_id)
        wrong = [o["id"] for o in version.options if o["id"] not in version.key][:1]
        answer = list(version.key) if right else wrong
        delivery.record_answer(session, sitting, presented.position, answer, presented.position, username, now)
    proctoring.record_client_event(session, sitting, EventKind.page_hidden.value, {}, username, now)
    proctoring.issue(session, sitting, SupervisorCommand(CommandKind.warn, "looked away"), "supervisor", now)
    delivery.submit(session, sitting, username, now)
    for task in practical_service.tasks_of(session, delivery.definition_of(session, sitting).id):
        attempt = practical_service.start_attempt(session, sitting, task.id, username, now)
        practical_service.finish(session, attempt, username, now)
    certification.record_part_score(session, sitting.id, "practical", practical, False, "rater")
    institution = session.exec(select(Institution)).first()
    if not session.exec(select(certification.NumberingProfile)).first():
        certification.set_numbering_profile(session, institution.id, "0137", "37", "000001", None, "admin")
    if certification.outcome_of(session, sitting.id).outcome.passed:
        certification.issue(session, sitting.id, "admin", date(2026, 11, 24))
    session.flush()
    return sitting.id


@pytest.fixture
def finished(db_engine, demo) -> int:
    with Session(db_engine, expire_on_commit=False) as session:
        sitting_id = finish_sitting(session)
        session.commit()
    return sitting_id
