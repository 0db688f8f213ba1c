"""Archive completeness per sitting: which sections a supervisor finds present or missing."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from engine.archive.bundle import collect, load_context
from engine.errors import N_, NotFoundError
from engine.models import CandidateSession, ExamSession


@dataclass(frozen=True)
class PartStatus:
    name: str
    title: str
    required: bool
    status: str  # present / missing / not_applicable
    records: int


@dataclass(frozen=True)
class Completeness:
    sitting_id: int
    parts: list[PartStatus]

    @property
    def missing(self) -> list[str]:
        return [p.name for p in self.parts if p.required and p.status == "missing"]

    @property
    def complete(self) -> bool:
        return not self.missing


def of_sitting(session: Session, sitting_id: int) -> Completeness:
    ctx = load_context(session, sitting_id, light=True)
    parts = [PartStatus(s.section.name, s.section.title, s.section.required, s.status, s.records)
             for s in collect(session, ctx)]
    return Completeness(sitting_id, parts)


def of_exam_session(session: Session, exam_session_id: int) -> list[Completeness]:
    if session.get(ExamSession, exam_session_id) is None:
        raise NotFoundError(N_("exam session %(id)s not found"), id=exam_session_id)
    ids = session.exec(select(CandidateSession.id).where(CandidateSession.exam_session_id == exam_session_id)
                       .order_by(CandidateSession.id)).all()
    return [of_sitting(session, sitting_id) for sitting_id in ids]
