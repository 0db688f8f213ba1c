"""Admin pages through HTTP: users, institutions, test centers, rooms, exam sessions, enrolment."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from sqlmodel import Session, func, select

from engine.identity import check_character
from engine.models import (
    AuditEntry,
    Candidate,
    CandidateSession,
    ExamDefinition,
    ExamSession,
    Institution,
    Room,
    TestCenter,
    User,
)
from engine.scheduling import service as scheduling


@pytest.fixture(autouse=True)
def _english(client):
    """Assertions read English text; the default locale's catalog is filled elsewhere."""
    client.cookies.set("skillcert_locale", "en")


@pytest.fixture
def admin(visitor, demo):
    return visitor.login("admin")


def _count(db_engine, model, *where) -> int:
    with Session(db_engine) as session:
        return session.exec(select(func.count()).select_from(model).where(*where)).one()


def _first(db_engine, model, *where):
    with Session(db_engine) as session:
        return session.exec(select(model).where(*where).order_by(model.id)).first()


def _valid_id(first17: str = "11010519850704123") -> str:
    return first17 + check_character(first17)


def _wrong_check_character(number: str) -> str:
    return number[:17] + ("0" if number[17] != "0" else "1")


class TestDashboard:
    def test_links_to_every_admin_page(self, admin):
        page = admin.get("/admin").text
        for path in ("/admin/users", "/admin/institutions", "/admin/sessions"):
            assert f'href="{path}"' in page


class TestUsers:
    def test_lists_demo_accounts(self, admin):
        page = admin.get("/admin/users").text
        assert page.count('data-testid="user-row"') == 7
        assert 'data-username="supervisor"' in page and "supervisor-demo" not in page

    def test_create_user_with_role_who_can_then_sign_in(self, admin, db_engine, app):
        response = admin.post("/admin/users", {"username": "examiner2", "display_name": "命题专家 孙",
                                               "role": "examiner", "password": "long-enough-1"})
        assert response.status_code == 303
        user = _first(db_engine, User, User.username == "examiner2")
        assert user.role == "examiner" and user.password_hash != "long-enough-1"
        assert _count(db_engine, AuditEntry, AuditEntry.action == "user.created",
                      AuditEntry.entity_id == str(user.id)) == 1
        from fastapi.testclient import TestClient

        from tests.conftest import Visitor

        other = Visitor(TestClient(app, follow_redirects=False)).login("examiner2", "long-enough-1")
        assert other.get("/examiner/items").status_code == 200

    @pytest.mark.parametrize(("form", "field", "status"), [
        ({"username": "bad name!", "role": "examiner", "password": "long-enough-1"}, "username", 422),
        ({"username": "newbie", "role": "examiner", "password": "short"}, "password", 422),
        ({"username": "newbie", "role": "wizard", "password": "long-enough-1"}, "role", 422),
        ({"username": "examiner", "role": "examiner", "password": "long-enough-1"}, "username", 409),
    ])
    def test_refused_user_shows_the_field_and_writes_nothing(self, admin, db_engine, form, field, status):
        before = (_count(db_engine, User), _count(db_engine, AuditEntry))
        response = admin.post("/admin/users", {"display_name": "X", **form})
        assert response.status_code == status
        assert f'data-field-error="{field}"' in response.text
        assert f'value="{form["username"]}"' in response.text, "the entered user name comes back"
        assert form["password"] not in re.findall(r'value="([^"]*)"', response.text), "passwords are not echoed"
        assert (_count(db_engine, User), _count(db_engine, AuditEntry)) == before


class TestInstitutions:
    def test_create_institution_center_and_room(self, admin, db_engine):
        response = admin.post("/admin/institutions", {"code": "E320500007", "name": "苏州某电气有限公司",
                                                      "kind": "enterprise"})
        assert response.status_code == 303
        institution = _first(db_engine, Institution, Institution.code == "E320500007")
        assert institution.kind == "enterprise"
        response = admin.post(f"/admin/institutions/{institution.id}/centers",
                              {"name": "园区考点", "address": "苏州工业园区"})
        assert response.status_code == 303
        center = _first(db_engine, TestCenter, TestCenter.institution_id == institution.id)
        response = admin.post(f"/admin/centers/{center.id}/rooms", {"name": "机房A", "capacity": "40"})
        assert response.status_code == 303 and response.headers["location"].endswith(f"#center-{center.id}")
        room = _first(db_engine, Room, Room.test_center_id == center.id)
        assert (room.name, room.capacity) == ("机房A", 40)
        page = admin.get("/admin/institutions").text
        assert 'data-code="E320500007"' in page and "园区考点" in page and "机房A" in page
        assert "Enterprise" in page and "Social training-evaluation organization" in page

    def test_every_kind_is_offered(self, admin):
        page = admin.get("/admin/institutions").text
        for kind in ("enterprise", "social_org", "school"):
            assert f'<option value="{kind}"' in page

    def test_duplicate_code_is_409_beside_the_code(self, admin, db_engine):
        code = _first(db_engine, Institution).code
        before = _count(db_engine, Institution)
        response = admin.post("/admin/institutions", {"code": code, "name": "重复", "kind": "school"})
        assert response.status_code == 409 and 'data-field-error="code"' in response.text
        assert _count(db_engine, Institution) == before

    def test_unknown_kind_is_422(self, admin, db_engine):
        before = _count(db_engine, Institution)
        response = admin.post("/admin/institutions", {"code": "X1", "name": "某机构", "kind": "guild"})
        assert response.status_code == 422 and 'data-field-error="kind"' in response.text
        assert _count(db_engine, Institution) == before

    def test_bad_room_capacity_is_shown_in_that_rooms_form(self, admin, db_engine):
        center = _first(db_engine, TestCenter)
        before = _count(db_engine, Room)
        for capacity in ("many", "0"):
            response = admin.post(f"/admin/centers/{center.id}/rooms", {"name": "小考场", "capacity": capacity})
            assert response.status_code == 422, capacity
            assert f'id="room-{center.id}-capacity-error"' in response.text
            assert 'value="小考场"' in response.text
        assert _count(db_engine, Room) == before

    def test_center_without_a_name_is_422(self, admin, db_engine):
        institution = _first(db_engine, Institution)
        before = _count(db_engine, TestCenter)
        response = admin.post(f"/admin/institutions/{institution.id}/centers", {"name": "  ", "address": "某地"})
        assert response.status_code == 422
        assert f'id="center-form-{institution.id}-name-error"' in response.text
        assert _count(db_engine, TestCenter) == before

    def test_unknown_parent_is_404(self, admin):
        assert admin.post("/admin/institutions/9999/centers", {"name": "x"}).status_code == 404
        assert admin.post("/admin/centers/9999/rooms", {"name": "x", "capacity": "3"}).status_code == 404


class TestExamSessions:
    def test_schedule_an_exam_session(self, admin, db_engine):
        definition = _first(db_engine, ExamDefinition)
        room = _first(db_engine, Room)
        before = _count(db_engine, ExamSession)
        response = admin.post("/admin/sessions", {"exam_definition_id": str(definition.id), "room_id": str(room.id),
                                                  "title": "电工四级 第2场", "starts_at": "2030-05-20T09:30"})
        assert response.status_code == 303
        created = _first(db_engine, ExamSession, ExamSession.title == "电工四级 第2场")
        assert response.headers["location"] == f"/admin/sessions/{created.id}"
        assert _count(db_engine, ExamSession) == before + 1
        assert (created.starts_at.year, created.starts_at.month, created.starts_at.day,
                created.starts_at.hour, created.starts_at.minute) == (2030, 5, 20, 9, 30)
        listed = admin.get("/admin/sessions").text
        assert "电工四级 第2场" in listed and "2030-05-20 09:30 UTC" in listed

    def test_the_scheduling_rules_apply_to_a_single_sitting_too(self, admin, db_engine):
        definition, room = _first(db_engine, ExamDefinition), _first(db_engine, Room)
        form = {"exam_definition_id": str(definition.id), "room_id": str(room.id), "title": "第3场",
                "starts_at": "2031-03-01T09:00"}
        assert admin.post("/admin/sessions", form).status_code == 303
        before = _count(db_engine, ExamSession)
        clash = admin.post("/admin/sessions", {**form, "title": "第4场", "starts_at": "2031-03-01T09:20"})
        assert clash.status_code == 409 and "第3场" in clash.text  # the room is booked by that sitting
        with Session(db_engine) as session:
            institution = session.exec(select(Institution)).first()
            scheduling.set_scope(session, institution.id, [], "test")
            session.commit()
        outside = admin.post("/admin/sessions", {**form, "title": "第5场", "starts_at": "2031-04-01T09:00"})
        assert outside.status_code == 409 and "scope" in outside.text
        assert _count(db_engine, ExamSession) == before

    def test_missing_fields_are_shown_beside_each(self, admin, db_engine):
        before = _count(db_engine, ExamSession)
        response = admin.post("/admin/sessions", {"exam_definition_id": "", "room_id": "", "title": "t",
                                                  "starts_at": "soon"})
        assert response.status_code == 422 and 'data-field-error="exam_definition_id"' in response.text
        definition, room = _first(db_engine, ExamDefinition), _first(db_engine, Room)
        response = admin.post("/admin/sessions", {"exam_definition_id": str(definition.id), "room_id": str(room.id),
                                                  "title": "t", "starts_at": "soon"})
        assert response.status_code == 422 and 'data-field-error="starts_at"' in response.text
        assert 'value="soon"' in response.text
        response = admin.post("/admin/sessions", {"exam_definition_id": str(definition.id), "room_id": str(room.id),
                                                  "title": " ", "starts_at": "2030-01-01T08:00"})
        assert response.status_code == 422 and 'data-field-error="title"' in response.text
        assert _count(db_engine, ExamSession) == before


class TestEnrolment:
    def _exam_session_id(self, db_engine) -> int:
        return _first(db_engine, ExamSession).id

    def test_enrol_with_login_creates_candidate_who_sees_the_exam(self, admin, db_engine, app):
        exam_session_id = self._exam_session_id(db_engine)
        number = _valid_id()
        response = admin.post(f"/admin/sessions/{exam_session_id}/enrol",
                              {"name": "王小明", "resident_id": number.lower(), "username": "wangxm",
                               "password": "wangxm-pass"})
        assert response.status_code == 303, response.text
        candidate = _first(db_engine, Candidate, Candidate.resident_id == number)
        assert candidate.name == "王小明" and candidate.sex == "M" and str(candidate.birth_date) == "1985-07-04"
        assert _count(db_engine, CandidateSession, CandidateSession.candidate_id == candidate.id) == 1
        page = admin.get(response.headers["location"]).text
        assert page.count('data-testid="enrolled-row"') == 4 and "王小明" in page
        assert number not in page, "the full resident ID is never shown"
        from fastapi.testclient import TestClient

        from tests.conftest import Visitor

        newcomer = Visitor(TestClient(app, follow_redirects=False)).login("wangxm", "wangxm-pass")
        assert re.search(r"/candidate/sessions/\d+/start", newcomer.get("/candidate").text)

    def test_enrol_without_login(self, admin, db_engine):
        exam_session_id = self._exam_session_id(db_engine)
        users = _count(db_engine, User)
        response = admin.post(f"/admin/sessions/{exam_session_id}/enrol",
                              {"name": "李娜", "resident_id": _valid_id("44030519920211004")})
        assert response.status_code == 303
        assert _first(db_engine, Candidate, Candidate.name == "李娜").user_id is None
        assert _count(db_engine, User) == users

    @pytest.mark.parametrize("bad_id", [
        _wrong_check_character(_valid_id()),  # GB 11643 check character does not match
        "11010519850704123",  # 17 characters
        "110105198502301234",  # 30 February
        "1101051985070412A4",  # a letter in the digits
    ])
    def test_invalid_resident_id_is_422_beside_the_field_and_writes_nothing(self, admin, db_engine, bad_id):
        exam_session_id = self._exam_session_id(db_engine)
        before = (_count(db_engine, Candidate), _count(db_engine, CandidateSession), _count(db_engine, User),
                  _count(db_engine, AuditEntry))
        response = admin.post(f"/admin/sessions/{exam_session_id}/enrol",
                              {"name": "王小明", "resident_id": bad_id, "username": "wangxm",
                               "password": "wangxm-pass"})
        assert response.status_code == 422
        error = re.search(r'<small class="field-error" id="enrol-resident_id-error" '
                          r'data-field-error="resident_id">([^<]+)<', response.text)
        assert error and "resident ID" in error.group(1)
        assert 'aria-describedby="enrol-resident_id-error"' in response.text
        assert f'value="{bad_id}"' in response.text and 'value="王小明"' in response.text
        after = (_count(db_engine, Candidate), _count(db_engine, CandidateSession), _count(db_engine, User),
                 _count(db_engine, AuditEntry))
        assert after == before

    def test_check_character_message_names_the_expected_character(self, admin, db_engine):
        number = _valid_id()
        response = admin.post(f"/admin/sessions/{self._exam_session_id(db_engine)}/enrol",
                              {"name": "王小明", "resident_id": _wrong_check_character(number)})
        assert f"expected {number[17]}" in response.text

    def test_second_enrolment_is_409_and_writes_nothing(self, admin, db_engine):
        exam_session_id = self._exam_session_id(db_engine)
        existing = _first(db_engine, Candidate)
        before = (_count(db_engine, CandidateSession), _count(db_engine, AuditEntry))
        response = admin.post(f"/admin/sessions/{exam_session_id}/enrol",
                              {"name": existing.name, "resident_id": existing.resident_id})
        assert response.status_code == 409 and "already enrolled" in response.text
        assert (_count(db_engine, CandidateSession), _count(db_engine, AuditEntry)) == before

    def test_taken_user_name_leaves_no_candidate_behind(self, admin, db_engine):
        before = (_count(db_engine, Candidate), _count(db_engine, User))
        response = admin.post(f"/admin/sessions/{self._exam_session_id(db_engine)}/enrol",
                              {"name": "王小明", "resident_id": _valid_id(), "username": "candidate",
                               "password": "long-enough-1"})
        assert response.status_code == 409
        assert (_count(db_engine, Candidate), _count(db_engine, User)) == before

    def test_unknown_exam_session_is_404(self, admin):
        assert admin.get("/admin/sessions/9999").status_code == 404
        assert admin.post("/admin/sessions/9999/enrol", {"name": "x", "resident_id": _valid_id()}).status_code == 404

    def test_forged_csrf_token_is_403_and_writes_nothing(self, admin, db_engine):
        exam_session_id = self._exam_session_id(db_engine)
        before = (_count(db_engine, Candidate), _count(db_engine, User), _count(db_engine, Institution))
        admin.csrf = "x" * len(admin.csrf)
        assert admin.post(f"/admin/sessions/{exam_session_id}/enrol",
                          {"name": "王小明", "resident_id": _valid_id()}).status_code == 403
        assert admin.post("/admin/users", {"username": "mallory", "role": "admin",
                                           "password": "long-enough-1"}).status_code == 403
        assert admin.post("/admin/institutions", {"code": "M1", "name": "m", "kind": "school"}).status_code == 403
        assert (_count(db_engine, Candidate), _count(db_engine, User), _count(db_engine, Institution)) == before


class TestOnlyAdmins:
    @pytest.mark.parametrize("username", ["examiner", "supervisor", "candidate"])
    def test_others_are_refused(self, visitor, demo, username):
        visitor.login(username)
        assert visitor.get("/admin").status_code == 403
        assert visitor.post("/admin/users", {"username": "x", "role": "admin", "password": "long-enough-1"}
                            ).status_code == 403


class _FormControls(HTMLParser):
    """Collects form controls that have no label, by id or by an enclosing <label>."""

    def __init__(self) -> None:
        super().__init__()
        self.open_labels = 0
        self.label_targets: set[str] = set()
        self.controls: list[tuple[str | None, bool, str]] = []  # (id, inside a label, description)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "label":
            self.open_labels += 1
            if attributes.get("for"):
                self.label_targets.add(attributes["for"])
        elif (tag in ("input", "select", "textarea") and attributes.get("type") not in ("hidden", "submit")
              and "aria-label" not in attributes):
            self.controls.append((attributes.get("id"), self.open_labels > 0,
                                  f"<{tag} name={attributes.get('name')!r}>"))

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.open_labels -= 1

    def unlabelled(self) -> list[str]:
        return [what for control_id, inside, what in self.controls
                if not inside and control_id not in self.label_targets]


class TestPagesAreLabelled:
    def test_every_input_of_every_staff_page_has_a_label_in_the_default_locale(self, admin, db_engine, client):
        client.cookies.set("skillcert_locale", "zh_CN")
        exam_session_id = _first(db_engine, ExamSession).id
        checked = 0
        for path in ("/admin", "/admin/users", "/admin/institutions", "/admin/sessions",
                     f"/admin/sessions/{exam_session_id}", "/examiner/items", "/examiner/items/new",
                     "/examiner/items/1", "/supervisor", f"/supervisor/sessions/{exam_session_id}"):
            page = admin.get(path)
            assert page.status_code == 200, path
            assert 'lang="zh-CN"' in page.text
            controls = _FormControls()
            controls.feed(page.text)
            assert controls.unlabelled() == [], path
            checked += len(controls.controls)
        assert checked > 40, "the pages' form controls were found"
