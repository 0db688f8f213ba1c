"""Every route declares the roles it admits, and every role gets exactly that.

``EXPECTED`` pins the matrix by hand: adding a route or changing a declaration fails
here until the table says so too. Each role then walks every route with real path
parameters from the demo data (and, for forms, a valid CSRF token): a denied role gets
403, an anonymous visitor is sent to /login, and an admitted role is never refused.
It is quick (about a second per role), so it runs on both databases like the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.routing import APIRoute, APIWebSocketRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlmodel import Session, select
from starlette.routing import Mount

from engine.identity import check_character
from engine.models import (
    Candidate,
    CandidateSession,
    ExamDefinition,
    ExamSession,
    Institution,
    Room,
    TestCenter,
    User,
)
from itembank.models import AppraisalNode, Item, ItemVersion, NodeKind
from tests.conftest import Visitor
from web.auth import PUBLIC, declared_roles

ANONYMOUS = "anonymous"
ROLES = (ANONYMOUS, "candidate", "examiner", "supervisor", "admin")
EVERYONE = "public"
CANDIDATE = frozenset({"candidate"})
AUTHORS = frozenset({"examiner", "admin"})
SUPERVISORS = frozenset({"supervisor", "admin"})
ADMIN = frozenset({"admin"})

# (method, path) → roles admitted; in the order each role walks them (sign-in and
# sign-out last, because they change who the visitor is).
EXPECTED: dict[tuple[str, str], frozenset[str] | str] = {
    ("GET", "/"): EVERYONE,
    ("GET", "/login"): EVERYONE,
    ("GET", "/healthz"): EVERYONE,
    ("POST", "/locale"): EVERYONE,
    ("GET", "/candidate"): CANDIDATE,
    ("POST", "/candidate/sessions/{sitting_id}/start"): CANDIDATE,
    ("GET", "/candidate/sessions/{sitting_id}"): CANDIDATE,
    ("GET", "/candidate/sessions/{sitting_id}/items/{position}"): CANDIDATE,
    ("POST", "/candidate/sessions/{sitting_id}/items/{position}/answer"): CANDIDATE,
    ("POST", "/candidate/sessions/{sitting_id}/items/{position}/flag"): CANDIDATE,
    ("GET", "/candidate/sessions/{sitting_id}/review"): CANDIDATE,
    ("POST", "/candidate/sessions/{sitting_id}/submit"): CANDIDATE,
    ("GET", "/candidate/sessions/{sitting_id}/result"): CANDIDATE,
    ("GET", "/candidate/sessions/{sitting_id}/adaptive"): CANDIDATE,
    ("POST", "/candidate/sessions/{sitting_id}/adaptive/{position}/answer"): CANDIDATE,
    ("POST", "/candidate/sessions/{sitting_id}/adaptive/{position}/next"): CANDIDATE,
    ("GET", "/examiner/items"): AUTHORS,
    ("GET", "/examiner/items/new"): AUTHORS,
    ("POST", "/examiner/items"): AUTHORS,
    ("GET", "/examiner/items/{item_id}"): AUTHORS,
    ("POST", "/examiner/items/{item_id}"): AUTHORS,
    ("GET", "/examiner/quality"): AUTHORS,
    ("POST", "/examiner/export"): ADMIN,
    ("POST", "/examiner/items/{item_id}/workflow"): AUTHORS,
    ("POST", "/examiner/bulk"): AUTHORS,
    ("GET", "/examiner/review"): AUTHORS,
    ("GET", "/examiner/exams"): AUTHORS,
    ("GET", "/examiner/exams/{definition_id}"): AUTHORS,
    ("POST", "/examiner/exams/{definition_id}/settings"): AUTHORS,
    ("GET", "/examiner/exams/{definition_id}/preview"): AUTHORS,
    ("POST", "/examiner/exams/{definition_id}/assemble"): AUTHORS,
    ("POST", "/examiner/exams/{definition_id}/form"): AUTHORS,
    ("GET", "/examiner/sittings/{sitting_id}/adaptive"): AUTHORS,
    ("POST", "/examiner/images"): AUTHORS,
    ("GET", "/examiner/images/{sha256}"): AUTHORS,
    ("POST", "/examiner/items/{item_id}/labels"): AUTHORS,
    ("GET", "/examiner/marking"): AUTHORS,
    ("GET", "/examiner/marking/{mark_id}"): AUTHORS,
    ("POST", "/examiner/marking/{mark_id}"): AUTHORS,
    ("GET", "/supervisor"): SUPERVISORS,
    ("GET", "/supervisor/sessions/{exam_session_id}"): SUPERVISORS,
    ("POST", "/supervisor/sessions/{exam_session_id}/commands"): SUPERVISORS,
    ("GET", "/supervisor/sittings/{sitting_id}"): SUPERVISORS,
    ("POST", "/supervisor/sittings/{sitting_id}/commands"): SUPERVISORS,
    ("GET", "/supervisor/sessions/{exam_session_id}/accommodations"): SUPERVISORS,
    ("POST", "/supervisor/sessions/{exam_session_id}/accommodations"): SUPERVISORS,
    ("GET", "/supervisor/sittings/{sitting_id}/report.pdf"): SUPERVISORS,
    ("POST", "/supervisor/sittings/{sitting_id}/check-in"): SUPERVISORS,
    ("POST", "/supervisor/sittings/{sitting_id}/workstation"): SUPERVISORS,
    ("GET", "/supervisor/sittings/{sitting_id}/adaptive"): SUPERVISORS,
    ("GET", "/admin"): ADMIN,
    ("GET", "/admin/users"): ADMIN,
    ("POST", "/admin/users"): ADMIN,
    ("GET", "/admin/institutions"): ADMIN,
    ("POST", "/admin/institutions"): ADMIN,
    ("POST", "/admin/institutions/{institution_id}/centers"): ADMIN,
    ("POST", "/admin/centers/{center_id}/rooms"): ADMIN,
    ("GET", "/admin/sessions"): ADMIN,
    ("POST", "/admin/sessions"): ADMIN,
    ("GET", "/admin/sessions/{exam_session_id}"): ADMIN,
    ("POST", "/admin/sessions/{exam_session_id}/enrol"): ADMIN,
    ("GET", "/admin/certificates"): ADMIN,
    ("POST", "/admin/certificates/numbering/{institution_id}"): ADMIN,
    ("GET", "/admin/certificates/sessions/{exam_session_id}"): ADMIN,
    ("POST", "/admin/certificates/sessions/{exam_session_id}/scores"): ADMIN,
    ("POST", "/admin/certificates/sessions/{exam_session_id}/issue"): ADMIN,
    ("POST", "/admin/certificates/sessions/{exam_session_id}/registrations"): ADMIN,
    ("POST", "/admin/certificates/sittings/{sitting_id}/issue"): ADMIN,
    ("GET", "/admin/certificates/{certificate_id}"): ADMIN,
    ("POST", "/admin/certificates/{certificate_id}/revoke"): ADMIN,
    ("GET", "/admin/certificates/{certificate_id}/pdf"): ADMIN,
    ("GET", "/admin/scheduling"): ADMIN,
    ("POST", "/admin/scheduling/batches"): ADMIN,
    ("POST", "/admin/scheduling/scope/{institution_id}"): ADMIN,
    ("POST", "/admin/scheduling/rooms/{room_id}/layout"): ADMIN,
    ("POST", "/admin/scheduling/policy"): ADMIN,
    ("POST", "/admin/scheduling/relations"): ADMIN,
    ("GET", "/admin/scheduling/sessions/{exam_session_id}"): ADMIN,
    ("POST", "/admin/scheduling/sessions/{exam_session_id}/seats"): ADMIN,
    ("POST", "/admin/scheduling/sessions/{exam_session_id}/duties"): ADMIN,
    ("POST", "/admin/scheduling/sessions/{exam_session_id}/publish"): ADMIN,
    ("GET", "/admin/scheduling/sessions/{exam_session_id}/tickets.pdf"): ADMIN,
    ("GET", "/admin/scheduling/sittings/{sitting_id}/ticket.pdf"): ADMIN,
    ("GET", "/admin/scheduling/sessions/{exam_session_id}/results.{kind}"): ADMIN,
    ("GET", "/candidate/results"): CANDIDATE,
    ("POST", "/candidate/results/{sitting_id}/appeal"): CANDIDATE,
    ("GET", "/candidate/results/{sitting_id}/ticket.pdf"): CANDIDATE,
    ("GET", "/admin/appeals"): ADMIN,
    ("POST", "/admin/appeals/window"): ADMIN,
    ("GET", "/admin/appeals/{appeal_id}"): ADMIN,
    ("POST", "/admin/appeals/{appeal_id}/decide"): ADMIN,
    ("GET", "/candidate/survey/{sitting_id}"): CANDIDATE,
    ("POST", "/candidate/survey/{sitting_id}"): CANDIDATE,
    ("GET", "/admin/surveys"): ADMIN,
    ("GET", "/candidate/practical"): CANDIDATE,
    ("POST", "/candidate/practical/sittings/{sitting_id}/tasks/{task_id}/start"): CANDIDATE,
    ("GET", "/candidate/practical/{attempt_id}"): CANDIDATE,
    ("POST", "/candidate/practical/{attempt_id}/actions"): CANDIDATE,
    ("GET", "/candidate/practical/{attempt_id}/state"): CANDIDATE,
    ("GET", "/practical/monitor"): SUPERVISORS,
    ("GET", "/practical/monitor/{exam_session_id}"): SUPERVISORS,
    ("GET", "/practical/monitor/attempts/{attempt_id}"): SUPERVISORS,
    ("GET", "/examiner/scenarios"): AUTHORS,
    ("POST", "/examiner/scenarios"): AUTHORS,
    ("GET", "/examiner/scenarios/{scenario_id}"): AUTHORS,
    ("GET", "/examiner/scenarios/{scenario_id}/versions/{version_no}/source"): AUTHORS,
    ("POST", "/examiner/scenarios/{scenario_id}/dry-run"): AUTHORS,
    ("GET", "/examiner/practical"): AUTHORS,
    ("GET", "/examiner/practical/definitions/{definition_id}"): AUTHORS,
    ("POST", "/examiner/practical/definitions/{definition_id}"): AUTHORS,
    ("GET", "/examiner/practical/attempts/{attempt_id}"): AUTHORS,
    ("GET", "/rating"): frozenset({"examiner"}),
    ("GET", "/rating/forms/{assignment_id}"): frozenset({"examiner"}),
    ("POST", "/rating/forms/{assignment_id}"): frozenset({"examiner"}),
    ("POST", "/rating/attempts/{attempt_id}/adjudicate"): frozenset({"examiner"}),
    ("GET", "/rating/tasks/{task_id}"): ADMIN,
    ("POST", "/rating/tasks/{task_id}/assign"): ADMIN,
    ("GET", "/verify"): EVERYONE,
    ("POST", "/verify"): EVERYONE,
    ("GET", "/verify/{number}"): EVERYONE,
    ("GET", "/complaints"): EVERYONE,
    ("POST", "/complaints"): EVERYONE,
    ("GET", "/quality"): SUPERVISORS,
    ("GET", "/quality/institutions/{institution_id}"): SUPERVISORS,
    ("GET", "/quality/institutions/{institution_id}/report.pdf"): SUPERVISORS,
    ("POST", "/quality/institutions/{institution_id}/suspend"): ADMIN,
    ("POST", "/quality/institutions/{institution_id}/lift"): ADMIN,
    ("GET", "/quality/statistics"): SUPERVISORS,
    ("GET", "/quality/archive"): SUPERVISORS,
    ("GET", "/quality/archive/sessions/{exam_session_id}"): SUPERVISORS,
    ("GET", "/quality/archive/sittings/{sitting_id}/export"): SUPERVISORS,
    ("GET", "/quality/complaints"): SUPERVISORS,
    ("GET", "/quality/complaints/{complaint_id}"): SUPERVISORS,
    ("POST", "/quality/complaints/{complaint_id}/triage"): SUPERVISORS,
    ("POST", "/quality/complaints/{complaint_id}/assign"): SUPERVISORS,
    ("POST", "/quality/complaints/{complaint_id}/resolve"): SUPERVISORS,
    ("POST", "/login"): EVERYONE,
    ("POST", "/logout"): EVERYONE,
}

# WebSocket routes authorize themselves (web/ws.py): same cookie, declared roles, origin.
WS_EXPECTED: dict[str, frozenset[str]] = {
    "/ws/candidate/{sitting_id}": CANDIDATE,
    "/ws/supervisor/sessions/{exam_session_id}": SUPERVISORS,
    "/ws/practical/{attempt_id}": frozenset({"candidate", "supervisor", "admin"}),
    "/ws/practical/monitor/{exam_session_id}": SUPERVISORS,
}


def _routes(app) -> list:
    """Every route as served, with included routers' prefixes applied."""
    return list(iter_route_contexts(app.routes))


def _declared(app) -> dict[tuple[str, str], frozenset[str] | str | None]:
    matrix: dict[tuple[str, str], frozenset[str] | str | None] = {}
    for route in _routes(app):
        if not isinstance(route.original_route, APIRoute):
            continue
        roles = declared_roles(route.endpoint)
        admitted = None if roles is None else EVERYONE if roles is PUBLIC else frozenset(r.value for r in roles)
        for method in route.methods:
            matrix[(method, route.path)] = admitted
    return matrix


@dataclass
class DemoIds:
    sitting_id: int
    item_id: int
    exam_session_id: int
    institution_id: int
    center_id: int
    point_id: int
    definition_id: int
    room_id: int
    item_form: dict

    def path_params(self) -> dict[str, int]:
        return {"sitting_id": self.sitting_id, "position": 1, "item_id": self.item_id,
                "exam_session_id": self.exam_session_id, "institution_id": self.institution_id,
                "center_id": self.center_id, "sha256": "0" * 64, "mark_id": 1, "certificate_id": 1, "complaint_id": 1,
                "number": "S370137000001264000001", "room_id": self.room_id, "appeal_id": 1, "kind": "csv",
                "task_id": 1, "attempt_id": 1, "scenario_id": 1, "version_no": 1, "assignment_id": 1,
                "definition_id": self.definition_id}


def _demo_ids(db_engine) -> DemoIds:
    with Session(db_engine) as session:
        sitting_id = session.exec(
            select(CandidateSession.id).join(Candidate, Candidate.id == CandidateSession.candidate_id)
            .join(User, User.id == Candidate.user_id).where(User.username == "candidate")).one()
        return DemoIds(
            sitting_id=sitting_id, item_id=session.exec(select(Item.id).order_by(Item.id)).first(),
            exam_session_id=session.exec(select(ExamSession.id)).first(),
            institution_id=session.exec(select(Institution.id)).first(),
            center_id=session.exec(select(TestCenter.id)).first(),
            point_id=session.exec(select(AppraisalNode.id).where(AppraisalNode.kind == NodeKind.point)).first(),
            definition_id=session.exec(select(ExamDefinition.id)).first(),
            room_id=session.exec(select(Room.id)).first(),
            item_form=_edit_form(session))


def _edit_form(session: Session) -> dict:
    item = session.exec(select(Item).order_by(Item.id)).first()
    version = session.exec(select(ItemVersion).where(ItemVersion.item_id == item.id,
                                                     ItemVersion.version_no == item.current_version)).one()
    form = {"item_type": item.item_type.value, "appraisal_point_id": str(item.appraisal_point_id),
            "status": item.status.value, "stem": version.stem + "（矩阵）", "key": version.key,
            "tf_key": version.key[0]}
    form.update({f"option_{option['id']}": option["text"] for option in version.options})
    return form


def _form(method: str, path: str, role: str, ids: DemoIds) -> dict:
    """Valid form data, so that an admitted role reaches the handler's real work."""
    first17 = "11010519850704123"
    forms = {
        "/locale": {"locale": "en", "next": "/"},
        "/supervisor/sessions/{exam_session_id}/commands": {"kind": "warn", "reason": "matrix"},
        "/supervisor/sittings/{sitting_id}/commands": {"kind": "flag", "reason": "matrix", "severity": "low",
                                                       "category": "other"},
        "/candidate/sessions/{sitting_id}/items/{position}/answer": {"seq": "1", "answer": "A"},
        "/candidate/sessions/{sitting_id}/items/{position}/flag": {"flagged": "true"},
        "/examiner/items": {"item_type": "single", "appraisal_point_id": str(ids.point_id), "status": "draft",
                            "stem": "角色矩阵测试题", "option_A": "甲", "option_B": "乙", "option_C": "丙",
                            "option_D": "丁", "key": "A"},
        "/examiner/items/{item_id}": ids.item_form,
        "/examiner/items/{item_id}/workflow": {"command": "retire"},
        "/examiner/bulk": {"command": "retire", "item_ids": str(ids.item_id)},
        "/examiner/scenarios/{scenario_id}/dry-run": {"actions": "[]", "seed": "0"},
        "/examiner/practical/definitions/{definition_id}": {"kind": "scenario", "title": "矩阵任务",
                                                            "scenario_id": "1"},
        "/examiner/items/{item_id}/labels": {"tags": "矩阵", "enemy_sets": "矩阵组"},
        "/examiner/marking/{mark_id}": {"points": "0"},
        "/admin/sessions": {"exam_definition_id": str(ids.definition_id), "room_id": str(ids.room_id),
                            "title": "矩阵场次", "starts_at": "2030-01-01T08:00"},
        "/admin/users": {"username": "matrix-user", "display_name": "M", "role": "examiner",
                         "password": "matrix-password"},
        "/admin/institutions": {"code": "MATRIX1", "name": "矩阵机构", "kind": "school"},
        "/admin/institutions/{institution_id}/centers": {"name": "矩阵考点", "address": ""},
        "/admin/centers/{center_id}/rooms": {"name": "矩阵考场", "capacity": "10"},
        "/admin/certificates/numbering/{institution_id}": {"body_code": "3701", "province_code": "37",
                                                           "site_serial": "000001"},
        "/admin/certificates/sessions/{exam_session_id}/scores": {"candidate_session_id": str(ids.sitting_id),
                                                                  "part": "practical", "score": "70"},
        "/admin/certificates/{certificate_id}/revoke": {"reason": "matrix"},
        "/verify": {"name": "张伟", "resident_id": "370102199003150112"},
        "/complaints": {"category": "other", "subject": "矩阵", "body": "矩阵测试"},
        "/quality/institutions/{institution_id}/suspend": {"reason": "矩阵"},
        "/quality/institutions/{institution_id}/lift": {"reason": "矩阵"},
        "/quality/complaints/{complaint_id}/triage": {"severity": "low", "category": "other"},
        "/quality/complaints/{complaint_id}/assign": {"assignee": "supervisor"},
        "/quality/complaints/{complaint_id}/resolve": {"resolution": "矩阵", "outcome": "resolved"},
        "/admin/scheduling/rooms/{room_id}/layout": {"rows": "5", "columns": "6"},
        "/admin/scheduling/batches": {"institution_id": str(ids.institution_id),
                                      "exam_definition_id": str(ids.definition_id), "code": "MATRIX-B",
                                      "title": "矩阵批次", "starts_at": "2031-01-01T08:00",
                                      "room_ids": str(ids.room_id)},
        "/candidate/results/{sitting_id}/appeal": {"part": "theory", "reason": "matrix"},
        "/admin/appeals/window": {"appeal_window_days": "20"},
        "/admin/sessions/{exam_session_id}/enrol": {"name": "矩阵考生",
                                                    "resident_id": first17 + check_character(first17)},
        "/login": {"username": "candidate3" if role == ANONYMOUS else role,
                   "password": "candidate3-demo" if role == ANONYMOUS else f"{role}-demo"},
    }
    return forms.get(path, {}) if method == "POST" else {}


class TestDeclarations:
    def test_every_route_declares_its_roles(self, app):
        declared = _declared(app)
        assert len(declared) >= len(EXPECTED) - 2, "the walk found the application's routes"
        assert [route for route, roles in declared.items() if roles is None] == []

    def test_declarations_match_the_pinned_matrix(self, app):
        assert _declared(app) == EXPECTED

    def test_every_route_is_an_api_route_or_the_static_mount(self, app):
        others = [route.path for route in _routes(app) if not isinstance(route.original_route, APIRoute)
                  and not (isinstance(route.original_route, Mount) and route.path == "/static")
                  and not (isinstance(route.original_route, APIWebSocketRoute) and route.path in WS_EXPECTED)]
        assert others == []

    def test_websocket_declarations_match_the_pinned_matrix(self, app):
        sockets = {route.path: frozenset(r.value for r in declared_roles(route.endpoint) or ())
                   for route in _routes(app) if isinstance(route.original_route, APIWebSocketRoute)}
        assert sockets == WS_EXPECTED


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_exactly_its_routes(app, demo, db_engine, role):
    assert set(_declared(app)) == set(EXPECTED), "the walk covers every route the application serves"
    ids = _demo_ids(db_engine)
    visitor = Visitor(TestClient(app, follow_redirects=False))
    if role == ANONYMOUS:
        visitor.refresh_csrf("/login")
    else:
        visitor.login(role)
    mistakes = []
    for (method, path), admitted in EXPECTED.items():
        url = path.format(**ids.path_params())
        form = _form(method, path, role, ids)
        response = visitor.post(url, form) if method == "POST" else visitor.get(url)
        allowed = admitted == EVERYONE or role in admitted
        location = response.headers.get("location", "")
        if allowed:
            ok = response.status_code not in (401, 403) and not location.startswith("/login?")
        elif role == ANONYMOUS:
            ok = response.status_code == 303 and location.startswith("/login")
        else:
            ok = response.status_code == 403
        if not ok:
            mistakes.append(f"{method} {url} as {role}: {response.status_code} {location}".strip())
        if path == "/login" and method == "POST":
            visitor.refresh_csrf(location or "/login")  # signing in issues a fresh CSRF token
    assert mistakes == []


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_exactly_its_sockets(app, demo, db_engine, role):
    """Admitted roles get the socket's first frame; others are closed with 4401 or 4403."""
    from starlette.websockets import WebSocketDisconnect

    ids = _demo_ids(db_engine)
    visitor = Visitor(TestClient(app, follow_redirects=False))
    if role != ANONYMOUS:
        visitor.login(role)
    if role == "candidate":
        visitor.post(f"/candidate/sessions/{ids.sitting_id}/start")  # a socket needs a running sitting
    mistakes = []
    for path, admitted in WS_EXPECTED.items():
        url = path.format(**ids.path_params())
        with visitor.client.websocket_connect(url, headers={"origin": "http://testserver"}) as socket:
            try:
                first = socket.receive_text()
                code = None
            except WebSocketDisconnect as closed:
                first, code = None, closed.code
        expected = None if role in admitted else 4401 if role == ANONYMOUS else 4403
        if code != expected or (expected is None and not first):
            mistakes.append(f"{url} as {role}: closed with {code}, expected {expected}")
    assert mistakes == []
