"""Quality supervision pages: dashboard with highlighted outliers, institution page and PDF report,
suspension (admins) blocking scheduling, archive completeness and export, complaint handling."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select

from engine.archive.verify import verify_archive
from engine.models import AuditEntry, CandidateSession, ExamDefinition, ExamSession, Institution, Room
from engine.quality import complaints
from engine.quality.models import Complaint, ComplaintStatus
from engine.scheduling import service as scheduling
from tests.conftest import Visitor
from tests.engine.archive.conftest import finish_sitting
from tests.engine.quality.seeding import two_institutions

PERIOD = "start=2026-01-01&end=2026-07-01"


@pytest.fixture
def seeded(db_engine, demo) -> dict:
    with Session(db_engine, expire_on_commit=False) as db:
        ids = two_institutions(db)
        db.commit()
    return ids


@pytest.fixture
def supervisor(client, demo) -> Visitor:
    return Visitor(client).login("supervisor")


@pytest.fixture
def admin(client, demo) -> Visitor:
    return Visitor(client).login("admin")


class TestDashboard:
    def test_outliers_are_highlighted(self, supervisor, seeded):
        page = supervisor.get(f"/quality?{PERIOD}")
        assert page.status_code == 200
        html = page.text
        row_a = html.split('data-code="QA001"')[1].split("</tr>")[0]
        assert 'data-outlier="true"' in html.split('data-code="QA001"')[1][:40]
        assert "90.0%" in row_a and "50.0%" in row_a and "3.58" in row_a  # 18/20 against the others' 10/20
        assert 'class="outlier" data-cell="incidents">15.0' in row_a
        row_b = html.split('data-code="QB002"')[1].split("</tr>")[0]  # 10/20 against the others' 18/20
        assert 'data-direction="above"' in row_a and 'data-direction="below"' in row_b
        assert "/static/vendor/chartjs/chart.umd.min.js" in html and 'id="pass-rate-chart"' in html

    def test_bad_period_is_refused(self, supervisor, seeded):
        assert supervisor.get("/quality?start=2026-13-01").status_code == 422
        response = supervisor.get("/quality?start=2026-06-01&end=2026-01-01")
        assert response.status_code == 422 and "the period must end after it starts" in response.text

    def test_institution_page_and_report(self, supervisor, seeded):
        page = supervisor.get(f"/quality/institutions/{seeded['a']}?{PERIOD}")
        assert page.status_code == 200
        assert "Outliers: pass rate, pass rate 电工 level4, incidents" in page.text
        assert 'id="score-chart"' in page.text and "Item bank health" in page.text
        assert "suspension-form" not in page.text  # supervisors see, administrators decide
        pdf = supervisor.get(f"/quality/institutions/{seeded['a']}/report.pdf?{PERIOD}")
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF")
        assert supervisor.get("/quality/institutions/9999").status_code == 404

    def test_statistics_page(self, supervisor, seeded):
        page = supervisor.get(f"/quality/statistics?{PERIOD}")
        assert page.status_code == 200 and "0 certificates issued in the period" in page.text
        assert 'id="month-chart"' in page.text and "2026-06" in page.text


class TestSuspension:
    def test_admin_suspends_and_scheduling_is_refused(self, admin, db_engine, seeded):
        with Session(db_engine) as db:  # in scope, so only the suspension can refuse the sitting
            definition = db.exec(select(ExamDefinition)).first()
            scheduling.set_scope(db, seeded["a"], [(definition.occupation_id, definition.level.value)], "test")
            db.commit()
        refused = admin.post(f"/quality/institutions/{seeded['a']}/suspend", {"reason": ""})
        assert refused.status_code == 422 and "give the reason" in refused.text
        done = admin.post(f"/quality/institutions/{seeded['a']}/suspend", {"reason": "评估不合格"})
        assert done.status_code == 303
        assert 'data-testid="suspended"' in admin.get(f"/quality?{PERIOD}").text
        with Session(db_engine) as db:
            room = db.exec(select(Room).join(Institution, Institution.id == seeded["a"])
                           .where(Room.name == "第1考场")).all()
            room_id = next(r.id for r in room if r.test_center_id == _center_of(db, seeded["a"]))
            definition_id = db.exec(select(ExamDefinition.id)).first()
            before = len(db.exec(select(ExamSession)).all())
        response = admin.post("/admin/sessions", {"exam_definition_id": str(definition_id), "room_id": str(room_id),
                                                  "title": "暂停后的场次", "starts_at": "2030-01-01T08:00"})
        assert response.status_code == 409 and "is suspended from certifying" in response.text
        with Session(db_engine) as db:
            assert len(db.exec(select(ExamSession)).all()) == before
        assert admin.post(f"/quality/institutions/{seeded['a']}/lift", {"reason": "整改完成"}).status_code == 303
        response = admin.post("/admin/sessions", {"exam_definition_id": str(definition_id), "room_id": str(room_id),
                                                  "title": "恢复后的场次", "starts_at": "2030-01-01T08:00"})
        assert response.status_code == 303
        with Session(db_engine) as db:
            actions = [e.action for e in db.exec(select(AuditEntry).where(
                AuditEntry.entity_type == "institution", AuditEntry.entity_id == str(seeded["a"]))
                .order_by(AuditEntry.id)).all()]
        assert actions[-2:] == ["institution.suspended", "institution.suspension_lifted"]

    def test_supervisors_cannot_suspend(self, supervisor, seeded):
        assert supervisor.post(f"/quality/institutions/{seeded['a']}/suspend", {"reason": "x"}).status_code == 403


def _center_of(db: Session, institution_id: int) -> int:
    from engine.models import TestCenter

    return db.exec(select(TestCenter.id).where(TestCenter.institution_id == institution_id)).one()


class TestArchivePages:
    def test_completeness_and_export(self, supervisor, db_engine, demo):
        with Session(db_engine, expire_on_commit=False) as db:
            sitting_id = finish_sitting(db)
            db.commit()
            exam_session_id = db.get(CandidateSession, sitting_id).exam_session_id
        page = supervisor.get(f"/quality/archive/sessions/{exam_session_id}")
        assert page.status_code == 200 and "3 of 3 archives complete." in page.text
        row = page.text.split(f'data-sitting="{sitting_id}"')[1].split("</tr>")[0]
        assert 'data-part="certificate" data-status="present"' in row
        download = supervisor.get(f"/quality/archive/sittings/{sitting_id}/export")
        assert download.status_code == 200 and download.headers["content-type"] == "application/zip"
        report = verify_archive(download.content)
        assert report.ok and report.manifest_sha256 == download.headers["x-manifest-sha256"]
        assert "certificate/certificate.pdf" in zipfile.ZipFile(io.BytesIO(download.content)).namelist()
        with Session(db_engine) as db:
            logged = db.exec(select(AuditEntry).where(AuditEntry.action == "archive.exported")).one()
        assert logged.actor == "supervisor" and logged.entity_id == str(sitting_id)
        assert supervisor.get("/quality/archive/sittings/9999/export").status_code == 404


class TestComplaintHandling:
    def test_triage_assign_resolve_through_the_pages(self, supervisor, db_engine, demo):
        with Session(db_engine, expire_on_commit=False) as db:
            filed = complaints.submit(db, None, "fees", "乱收费", "收取额外费用", "",
                                      datetime(2026, 11, 2, tzinfo=UTC))  # long before today: overdue
            db.commit()
            institution_id = db.exec(select(Institution.id)).first()
        listing = supervisor.get("/quality/complaints")
        assert filed.reference in listing.text and 'data-overdue="true"' in listing.text
        refused = supervisor.post(f"/quality/complaints/{filed.id}/resolve", {"resolution": "", "outcome": "dismissed"})
        assert refused.status_code == 422 and "resolution is required" in refused.text
        assert supervisor.post(f"/quality/complaints/{filed.id}/triage", {
            "severity": "medium", "category": "fees", "institution_id": str(institution_id)}).status_code == 303
        assert supervisor.post(f"/quality/complaints/{filed.id}/assign", {"assignee": "supervisor"}).status_code == 303
        wrong = supervisor.post(f"/quality/complaints/{filed.id}/triage", {"severity": "low", "category": "fees"})
        assert wrong.status_code == 409
        assert supervisor.post(f"/quality/complaints/{filed.id}/resolve", {
            "resolution": "已责令退还。", "outcome": "resolved"}).status_code == 303
        with Session(db_engine) as db:
            done = db.get(Complaint, filed.id)
            assert (done.status, done.severity.value, done.assignee) == (ComplaintStatus.resolved, "medium",
                                                                          "supervisor")
            assert done.institution_id == institution_id
            assert [e.actor for e in db.exec(select(AuditEntry).where(AuditEntry.entity_type == "complaint")
                                            .order_by(AuditEntry.id)).all()] == [
                "public", "supervisor", "supervisor", "supervisor"]
        assert "resolved" in supervisor.get(f"/quality/complaints/{filed.id}").text
