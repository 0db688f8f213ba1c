"""Item bank health for the occupations and levels an institution examined, from the item
quality dashboard's statistics (``itembank.quality``) over every submitted sitting."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from engine.models import (
    Candidate,
    CandidateSession,
    CandidateSessionStatus,
    ExamDefinition,
    ExamSession,
    Response,
    Room,
    SessionItem,
    TestCenter,
)
from itembank import quality
from itembank.models import Item, ItemVersion, Occupation
from itembank.scoring import ResponseError, ScoringRule, score


@dataclass(frozen=True)
class BankHealth:
    occupation: str
    level: str
    items: int
    flagged: int
    thin_points: int
    sittings: int
    alpha: float | None

    @property
    def flagged_share(self) -> float | None:
        return self.flagged / self.items if self.items else None


def live_responses(db: Session, occupation_id: int, level: str
                   ) -> tuple[list[quality.LiveResponse], int, dict[int, int]]:
    """Scored responses of submitted sittings (right/wrong), sittings counted, each item's exposures."""
    rows = db.exec(select(SessionItem, ItemVersion, Item, CandidateSession, Candidate)
                   .join(ItemVersion, col(ItemVersion.id) == SessionItem.item_version_id)
                   .join(Item, col(Item.id) == ItemVersion.item_id)
                   .join(CandidateSession, col(CandidateSession.id) == SessionItem.candidate_session_id)
                   .join(Candidate, col(Candidate.id) == CandidateSession.candidate_id)
                   .where(Item.occupation_id == occupation_id, Item.level == level)).all()
    sitting_ids = {line.candidate_session_id for line, *_ in rows}
    answers = {(r.candidate_session_id, r.position): r.answer for r in db.exec(
        select(Response).where(col(Response.candidate_session_id).in_(sitting_ids))).all()} if sitting_ids else {}
    exposures: dict[int, int] = {}
    responses = []
    for line, version, item, sitting, candidate in rows:
        exposures[item.id] = exposures.get(item.id, 0) + 1
        if sitting.status != CandidateSessionStatus.submitted or item.item_type.value == "extended":
            continue
        rule = ScoringRule.of(item.item_type.value, version.key, version.options, version.scoring)
        answer = answers.get((line.candidate_session_id, line.position))
        try:
            points = score(rule, answer).points if answer else 0.0
        except ResponseError:
            points = 0.0
        responses.append(quality.LiveResponse(f"s{sitting.id}", item.id, int(points >= rule.max_points),
                                              candidate.sex))
    return responses, len(sitting_ids), exposures


def bank_health(db: Session, institution_id: int, period) -> list[BankHealth]:
    start, end = period.bounds
    pairs = db.exec(select(ExamDefinition.occupation_id, ExamDefinition.level).distinct()
                    .join(ExamSession, col(ExamSession.exam_definition_id) == ExamDefinition.id)
                    .join(Room, col(Room.id) == ExamSession.room_id)
                    .join(TestCenter, col(TestCenter.id) == Room.test_center_id)
                    .where(TestCenter.institution_id == institution_id, ExamSession.starts_at >= start,
                           ExamSession.starts_at < end)).all()
    health = []
    for occupation_id, level in sorted(pairs, key=lambda pair: (pair[0], str(pair[1]))):
        responses, sittings, exposures = live_responses(db, occupation_id, str(level))
        report = quality.quality_report(db, occupation_id, str(level), responses, sittings, exposures)
        occupation = db.get(Occupation, occupation_id)
        health.append(BankHealth(occupation.name if occupation else str(occupation_id), str(level),
                                 len(report.items), len(report.flagged), len(report.thin_points), sittings,
                                 report.alpha))
    return health
