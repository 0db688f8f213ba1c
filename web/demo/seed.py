"""The demo data set: 电工 (electrician) level 4, a short exam today, one account per role."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from sqlmodel import Session, select

from engine import administration, audit
from engine.accounts import create_user
from engine.identity import check_character
from engine.models import ExamDefinition, ExamFormItem, Role
from engine.scheduling import service as scheduling
from itembank import service as items
from itembank.levels import Level
from itembank.models import Occupation
from itembank.taxonomy import get_or_create_occupation, import_tree
from itembank.timeutil import utcnow

CONTENT = Path(__file__).parent / "electrician_level4.json"
ACTOR = "demo-seed"
# Demo-only passwords, printed by the seed and listed in the README; never use them live.
ACCOUNTS = [
    ("admin", "系统管理员 Admin", Role.admin, "admin-demo"),
    ("examiner", "命题专家 王芳", Role.examiner, "examiner-demo"),
    ("reviewer", "审题专家 李强", Role.examiner, "reviewer-demo"),
    ("supervisor", "督导员 陈静", Role.supervisor, "supervisor-demo"),
]
CANDIDATES = [  # (user name, name, address code, birth date, sequence)
    ("candidate", "张伟", "370102", "19900315", "011"),
    ("candidate2", "刘洋", "370203", "19951108", "024"),
    ("candidate3", "赵敏", "440305", "19880622", "046"),
]
FORM = {"single": (12, 1.0), "multiple": (4, 2.0), "truefalse": (4, 0.5)}  # count, points each
EXAM_MINUTES = 30


def resident_id(address: str, born: str, sequence: str) -> str:
    first17 = address + born + sequence
    return first17 + check_character(first17)


def seed(session: Session, adaptive: bool = False) -> str:
    content = json.loads(CONTENT.read_text(encoding="utf-8"))
    if session.exec(select(Occupation).where(Occupation.code == content["occupation"]["code"])).first():
        return "demo data already present — nothing to do"
    occupation = get_or_create_occupation(session, **content["occupation"])
    level = Level(content["level"])
    nodes = import_tree(session, occupation, level, content["appraisal_tree"])
    record = lambda action, kind, entity, data: audit.record(session, ACTOR, action, kind, entity, data)  # noqa: E731
    created = []
    for spec in content["items"]:
        draft = items.ItemDraft(occupation_id=occupation.id, level=level, item_type=spec["type"],
                                appraisal_point_id=nodes[spec["point"]].id, stem=spec["stem"],
                                options=spec["options"], key=spec["key"], difficulty=spec.get("difficulty"),
                                explanation=spec.get("explanation", ""), status="active")
        created.append((spec["type"], items.create_item(session, draft, "examiner", record)))
    definition = _exam_definition(session, occupation, level, created)
    lines = _accounts_and_sitting(session, definition)
    if adaptive:  # the adaptive exam of web/demo/adaptive.py (`skillcert demo seed` adds it)
        from web.demo.adaptive import seed_adaptive
        lines.append(seed_adaptive(session, definition, created, EXAM_MINUTES))
    lines.append(_practical_part(session, definition))
    return "\n".join([f"seeded {occupation.name} ({occupation.code}) {level.value}: {len(nodes)} appraisal nodes, "
                      f"{len(created)} items, exam {definition.code} ({EXAM_MINUTES} min)", *lines])


def _exam_definition(session: Session, occupation: Occupation, level: Level, created: list) -> ExamDefinition:
    definition = ExamDefinition(code="DG-4-THEORY-DEMO", title="电工（四级/中级工）理论知识考试（演示）",
                                occupation_id=occupation.id, level=level, duration_minutes=EXAM_MINUTES)
    session.add(definition)
    session.flush()
    position = 1
    for item_type, (count, points) in FORM.items():
        for _type, item in [c for c in created if c[0] == item_type][:count]:
            session.add(ExamFormItem(exam_definition_id=definition.id, position=position, item_id=item.id,
                                     points=points))
            position += 1
    session.flush()
    return definition


def _accounts_and_sitting(session: Session, definition: ExamDefinition) -> list[str]:
    lines = ["accounts (demo passwords — change them for any real use):"]
    for username, name, role, password in ACCOUNTS:
        create_user(session, username, name, role, password, ACTOR)
        lines.append(f"  {role.value:<10} {username:<12} {password}")
    institution = administration.create_institution(session, "S370100001", "济南市职业技能评价中心（演示）",
                                                    "social_org", ACTOR)
    # Its recorded scope (the occupation and level of the demo exam) lets admins schedule more sittings.
    scheduling.set_scope(session, institution.id, [(definition.occupation_id, definition.level.value)], ACTOR)
    center = administration.create_test_center(session, institution.id, "历下考点", "济南市历下区（演示地址）", ACTOR)
    room = administration.create_room(session, center.id, "第1考场", 30, ACTOR)
    starts = utcnow().replace(second=0, microsecond=0) - timedelta(minutes=5)
    exam_session = administration.create_exam_session(session, definition.id, room.id,
                                                      "电工四级理论考试 第1场（演示）", starts, ACTOR)
    for username, name, address, born, sequence in CANDIDATES:
        password = f"{username}-demo"
        administration.enrol(session, exam_session.id, name, resident_id(address, born, sequence), ACTOR,
                             username=username, password=password)
        lines.append(f"  {'candidate':<10} {username:<12} {password}")
    return lines


def _practical_part(session: Session, definition: ExamDefinition) -> str:
    """The demo exam's practical part: the built-in electrician switching scenario."""
    from engine.practical import service as practical
    from simulations.scenarios import builtin_path

    path = builtin_path("electrician-feeder-switching")
    version = practical.upload_scenario(session, path.read_text("utf-8"), path.name, "examiner")
    practical.add_task(session, definition.id, "scenario", "倒闸操作：馈线停电检修与恢复送电", 1.0, ACTOR,
                       scenario_id=version.scenario_id)
    return "practical part: electrician feeder switching (scenario task, weight 1)"
