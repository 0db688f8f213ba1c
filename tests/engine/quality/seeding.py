"""Seeded supervision data with known answers: two institutions examining the demo's
electrician level 4, each sitting's theory result and practical score written directly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from engine import administration
from engine.certification.models import PartScoreRecord
from engine.certification.rules import Part
from engine.identity import check_character
from engine.models import (
    CandidateSession,
    CandidateSessionStatus,
    ExamDefinition,
    ProctoringEvent,
    Result,
)

SAT = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)


def resident_id(serial: int) -> str:
    first17 = f"370102199001{serial % 28 + 1:02d}{serial:03d}"
    return first17 + check_character(first17)


def institution_with_room(db: Session, code: str, name: str, kind: str = "social_org") -> tuple[int, int]:
    institution = administration.create_institution(db, code, name, kind, "seed")
    center = administration.create_test_center(db, institution.id, f"{name}考点", "", "seed")
    room = administration.create_room(db, center.id, "第1考场", 100, "seed")
    return institution.id, room.id


def seat(db: Session, room_id: int, outcomes: list[tuple[float, float]], serial_from: int,
         starts_at: datetime = SAT, incidents: int = 0) -> list[int]:
    """An exam session in the room with one sitting per (theory, practical) pair, finished and scored."""
    definition = db.exec(select(ExamDefinition)).first()
    exam_session = administration.create_exam_session(db, definition.id, room_id, "督导测试场次", starts_at, "seed")
    ids = []
    for index, (theory, practical) in enumerate(outcomes):
        sitting = administration.enrol(db, exam_session.id, f"考生{serial_from + index}",
                                       resident_id(serial_from + index), "seed")
        sitting.status, sitting.started_at, sitting.submitted_at = (CandidateSessionStatus.submitted, starts_at,
                                                                    starts_at)
        db.add(sitting)
        db.add(Result(candidate_session_id=sitting.id, raw_points=theory, max_points=100, score=theory,
                      passed=theory >= 60))
        db.add(PartScoreRecord(candidate_session_id=sitting.id, part=Part.practical, score=practical,
                               recorded_by="rater"))
        ids.append(sitting.id)
    for sitting_id in ids[:incidents]:
        db.add(ProctoringEvent(candidate_session_id=sitting_id, at=starts_at, kind="incident_flagged",
                               actor="supervisor", data={"reason": "seeded"}))
    db.flush()
    return ids


def two_institutions(db: Session, when: datetime = SAT) -> dict[str, int]:
    """A: 18 of 20 pass, 3 incidents; B: 10 of 20 pass, 1 incident; plus one sitting of A 400 days earlier."""
    a_id, a_room = institution_with_room(db, "QA001", "甲评价中心")
    b_id, b_room = institution_with_room(db, "QB002", "乙职业学校", "school")
    a = seat(db, a_room, [(80.0, 70.0)] * 18 + [(40.0, 70.0)] * 2, 100, starts_at=when, incidents=3)
    b = seat(db, b_room, [(65.0, 90.0)] * 10 + [(50.0, 55.0)] * 10, 200, starts_at=when, incidents=1)
    seat(db, a_room, [(10.0, 10.0)], 300, starts_at=when - timedelta(days=400))
    return {"a": a_id, "b": b_id, "a_first": a[0], "b_first": b[0],
            "sittings": len(db.exec(select(CandidateSession)).all())}
