"""Suspension blocks scheduling; the complaint workflow; both audited, refusals write nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlmodel import Session, select

from engine import administration, audit
from engine.errors import IllegalTransitionError, InvalidInputError, NotFoundError
from engine.models import AuditEntry, ExamDefinition, ExamSession, Institution, Room
from engine.quality import complaints, suspension
from engine.quality.models import Complaint, ComplaintStatus

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)  # a Friday


def _actions(db: Session, prefix: str) -> list[str]:
    return [e.action for e in db.exec(select(AuditEntry).where(AuditEntry.action.startswith(prefix))
                                      .order_by(AuditEntry.id)).all()]


class TestSuspension:
    def test_suspension_blocks_scheduling_until_lifted(self, db_engine, demo):
        with Session(db_engine, expire_on_commit=False) as db:
            institution = db.exec(select(Institution)).one()
            definition, room = db.exec(select(ExamDefinition)).first(), db.exec(select(Room)).first()
            assert not suspension.is_suspended(db, institution.id)
            suspension.suspend(db, institution.id, "评估不合格：档案缺失", "admin", NOW)
            db.commit()
            assert suspension.is_suspended(db, institution.id)
            before = len(db.exec(select(ExamSession)).all())
            with pytest.raises(suspension.InstitutionSuspendedError) as refused:
                administration.create_exam_session(db, definition.id, room.id, "新场次", NOW, "admin")
            assert f"institution {institution.code} is suspended from certifying (评估不合格：档案缺失)" in str(
                refused.value)
            db.rollback()
            assert len(db.exec(select(ExamSession)).all()) == before
            suspension.lift(db, institution.id, "整改完成", "admin", NOW)
            administration.create_exam_session(db, definition.id, room.id, "新场次", NOW, "admin")
            db.commit()
            assert not suspension.is_suspended(db, institution.id)
            assert _actions(db, "institution.su") == ["institution.suspended", "institution.suspension_lifted"]
            assert [s.lift_reason for s in suspension.history(db, institution.id)] == ["整改完成"]
            assert audit.verify(db).ok

    def test_refusals(self, db_engine, demo):
        with Session(db_engine) as db:
            institution = db.exec(select(Institution)).one()
            with pytest.raises(InvalidInputError, match="give the reason"):
                suspension.suspend(db, institution.id, "  ", "admin", NOW)
            with pytest.raises(NotFoundError):
                suspension.suspend(db, 9999, "x", "admin", NOW)
            with pytest.raises(IllegalTransitionError, match="is not suspended"):
                suspension.lift(db, institution.id, "x", "admin", NOW)
            suspension.suspend(db, institution.id, "x", "admin", NOW)
            with pytest.raises(IllegalTransitionError, match="already suspended"):
                suspension.suspend(db, institution.id, "y", "admin", NOW)


class TestComplaints:
    def test_workflow_from_intake_to_resolution(self, db_engine, demo):
        with Session(db_engine, expire_on_commit=False) as db:
            institution = db.exec(select(Institution)).one()
            filed = complaints.submit(db, None, "proxy", "疑似替考", "第1考场有人替考", "", NOW)
            assert filed.status == ComplaintStatus.received and filed.reference.startswith("TS")
            complaints.triage(db, filed.id, "high", "proxy", institution.id, "supervisor", NOW)
            complaints.assign(db, filed.id, "supervisor", "admin")
            with pytest.raises(IllegalTransitionError, match="'triage' is not possible now"):
                complaints.triage(db, filed.id, "low", "proxy", None, "supervisor", NOW)
            done = complaints.resolve(db, filed.id, "经核查属实，已取消该考生成绩。", "supervisor", NOW)
            db.commit()
            assert (done.status, done.assignee, done.institution_id) == (ComplaintStatus.resolved, "supervisor",
                                                                         institution.id)
            assert _actions(db, "complaint.") == ["complaint.received", "complaint.triaged", "complaint.assigned",
                                                  "complaint.resolved"]
            intake = db.exec(select(AuditEntry).where(AuditEntry.action == "complaint.received")).one()
            assert intake.actor == "public"

    def test_refusals_write_nothing(self, db_engine, demo):
        with Session(db_engine, expire_on_commit=False) as db:
            for args, problem in [(("bribery", "s", "b"), "unknown complaint category"),
                                  (("fees", "", "b"), "subject is required"),
                                  (("fees", "s", "x" * 5001), "body is longer than 5000")]:
                with pytest.raises(InvalidInputError, match=problem):
                    complaints.submit(db, None, *args, "", NOW)
            with pytest.raises(InvalidInputError, match="institution 9999 not found"):
                complaints.submit(db, 9999, "fees", "s", "b", "", NOW)
            assert db.exec(select(Complaint)).all() == []
            filed = complaints.submit(db, None, "fees", "s", "b", "", NOW)
            with pytest.raises(IllegalTransitionError):
                complaints.resolve(db, filed.id, "done", "admin", NOW)  # not assigned yet
            complaints.triage(db, filed.id, "low", "fees", None, "admin", NOW)
            with pytest.raises(InvalidInputError, match="not an active supervisor or administrator"):
                complaints.assign(db, filed.id, "candidate", "admin")
            dismissed = complaints.resolve(db, filed.id, "不属于受理范围", "admin", NOW, dismiss=True)
            assert dismissed.status == ComplaintStatus.dismissed

    def test_due_dates_count_working_days(self, db_engine, demo):
        assert complaints.add_working_days(date(2026, 11, 20), 3) == date(2026, 11, 25)
        assert complaints.add_working_days(date(2026, 11, 20), 7) == date(2026, 12, 1)
        with Session(db_engine) as db:
            filed = complaints.submit(db, None, "fees", "s", "b", "", NOW)
            assert not complaints.line_of(db, filed, date(2026, 11, 25)).overdue
            assert complaints.line_of(db, filed, date(2026, 11, 26)).overdue  # not triaged in 3 working days
