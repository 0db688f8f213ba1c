"""Shared set-up of practical-part tests: the demo sitting, its electrician task, a clock."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from sqlmodel import Session, select

from engine.models import Candidate, CandidateSession, ExamSession, User
from engine.practical import service
from engine.practical.models import PracticalAttempt, PracticalTask, TaskKind
from itembank.timeutil import utcnow

ACTOR = "test"
MODEL_TICKET = Path(__file__).parents[2] / "simulations" / "actions" / "electrician_model.json"


def model_ticket() -> list[dict]:
    return json.loads(MODEL_TICKET.read_text("utf-8"))


def sitting_of(session: Session, username: str) -> CandidateSession:
    return session.exec(select(CandidateSession).join(Candidate, Candidate.id == CandidateSession.candidate_id)
                        .join(User, User.id == Candidate.user_id).where(User.username == username)).one()


def scenario_task(session: Session, sitting: CandidateSession) -> PracticalTask:
    definition_id = session.get(ExamSession, sitting.exam_session_id).exam_definition_id
    return session.exec(select(PracticalTask).where(PracticalTask.exam_definition_id == definition_id,
                                                    PracticalTask.kind == TaskKind.scenario)).one()


def perform(session: Session, attempt: PracticalAttempt, actions: list[dict], start: datetime) -> None:
    """Submit each action at its ``t`` after ``start`` on the server clock."""
    for entry in actions:
        service.submit_action(session, attempt, entry["action"], entry.get("args", {}), ACTOR,
                              start + timedelta(seconds=entry["t"]))


def started(session: Session, username: str = "candidate") -> tuple[PracticalAttempt, datetime]:
    sitting = sitting_of(session, username)
    start = utcnow()
    attempt = service.start_attempt(session, sitting, scenario_task(session, sitting).id, ACTOR, start)
    return attempt, start
