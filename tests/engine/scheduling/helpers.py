"""Set-up shared by scheduling, results and lifecycle tests: the demo data plus a scheduled batch."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select

from engine import administration
from engine.accounts import create_user
from engine.models import ExamDefinition, Institution, Role, User
from engine.scheduling import service as scheduling
from web.demo.seed import seed

ACTOR = "test-admin"


@dataclass
class Setup:
    institution: Institution
    other: Institution  # a second body, whose supervisors are cross-dispatched
    definition: ExamDefinition
    rooms: list[int]
    supervisor: User
    rater: User


def setup(session: Session, rooms: int = 1, rows: int = 6, columns: int = 6) -> Setup:
    """Demo data, the demo body's scope set, rooms with seat maps, an outside supervisor and rater."""
    seed(session)
    institution = session.exec(select(Institution)).one()
    definition = session.exec(select(ExamDefinition)).one()
    scheduling.set_scope(session, institution.id, [(definition.occupation_id, definition.level.value)], ACTOR)
    center = administration.create_test_center(session, institution.id, "标准化考点", "", ACTOR)
    room_ids = []
    for index in range(rooms):
        room = administration.create_room(session, center.id, f"第{index + 11}考场", rows * columns, ACTOR)
        scheduling.set_room_layout(session, room.id, rows, columns, [], "每座一台计算机", True, ACTOR)
        room_ids.append(room.id)
    other = administration.create_institution(session, "Y370200002", "青岛某企业评价中心", "enterprise", ACTOR)
    supervisor = create_user(session, "cross-supervisor", "外派督考员", Role.supervisor, "password-1234", ACTOR)
    rater = create_user(session, "cross-rater", "外派考评员", Role.examiner, "password-1234", ACTOR)
    session.flush()
    return Setup(institution, other, definition, room_ids, supervisor, rater)


def batch(session: Session, s: Setup, starts_at: datetime, code: str = "B2026-01", rooms: list[int] | None = None,
          now: datetime | None = None):
    return scheduling.schedule_batch(session, s.institution.id, s.definition.id, code, "电工四级认定", starts_at,
                                     rooms or s.rooms, ACTOR, now or starts_at - timedelta(days=7))
