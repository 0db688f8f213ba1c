"""Control-room actions on both databases: identity check-in, workstation failover,
accommodations; each audited, each refusing bad input without writing anything."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, func, select

from engine import audit, delivery
from engine.errors import IllegalTransitionError, InvalidInputError
from engine.models import AuditEntry, Candidate, ProctoringEvent
from engine.proctoring import actions, roster, service
from engine.proctoring.models import Accommodation
from itembank.timeutil import utcnow
from tests.engine.proctoring.conftest import sitting_of


def _counts(db: Session) -> tuple[int, int, int]:
    return (db.exec(select(func.count()).select_from(AuditEntry)).one(),
            db.exec(select(func.count()).select_from(ProctoringEvent)).one(),
            db.exec(select(func.count()).select_from(Accommodation)).one())


class TestCheckIn:
    def test_a_verified_check_in_is_an_audited_action_of_thesitting_of(self, db, demo):
        sitting = sitting_of(db, "candidate3")  # not started yet: check-in happens at the door
        event = actions.check_in(db, sitting.id, "supervisor", utcnow(), id_checked=True, photo_match="yes",
                                 notes="身份证核对无误")
        db.commit()
        assert event.kind == "identity_checked" and event.data["verified"] is True
        assert event.data["notes"] == "身份证核对无误"
        entry = db.exec(select(AuditEntry).where(AuditEntry.action == "proctoring.identity_checked")).one()
        assert entry.entity_id == str(sitting.id) and audit.verify(db).ok
        line = roster.line(db, sitting.id, utcnow())
        assert line.checked_in == "verified"
        assert any(e.kind == "identity_checked" for e in service.timeline(db, sitting))

    def test_a_photo_mismatch_is_recorded_and_shown(self, db, started):
        sitting, now = started
        actions.check_in(db, sitting.id, "supervisor", now, id_checked="yes", photo_match="no", notes="发型不同")
        db.commit()
        assert roster.line(db, sitting.id, now).checked_in == "mismatch"

    @pytest.mark.parametrize("kwargs, field", [
        ({"id_checked": "maybe", "photo_match": "yes"}, "id_checked"),
        ({"id_checked": "yes", "photo_match": ""}, "photo_match"),
        ({"id_checked": "yes", "photo_match": "yes", "document": "library card"}, "document"),
        ({"id_checked": "yes", "photo_match": "yes", "notes": "x" * 1001}, "notes"),
    ])
    def test_bad_input_names_the_field_and_writes_nothing(self, db, started, kwargs, field):
        sitting, now = started
        before = _counts(db)
        with pytest.raises(InvalidInputError) as refused:
            actions.check_in(db, sitting.id, "supervisor", now, **kwargs)
        assert refused.value.field == field
        db.rollback()
        assert _counts(db) == before

    def test_no_check_in_after_hand_in(self, db, started):
        sitting, now = started
        delivery.submit(db, sitting, "candidate", now)
        with pytest.raises(IllegalTransitionError):
            actions.check_in(db, sitting.id, "supervisor", now, id_checked=True, photo_match=True)


class TestWorkstationFailover:
    def test_authorization_cuts_the_old_page_and_the_new_one_takes_over(self, db, started):
        sitting, now = started
        service.connect(db, sitting, "oldtab.1", "candidate", now)
        delivery.record_answer(db, sitting, 1, ["A"], 1, "candidate", now)
        event = actions.authorize_workstation(db, sitting.id, "电脑蓝屏", "supervisor", now, "B-12")
        db.commit()
        assert sitting.connection_id is None and event.data["revoked_tab"] == "oldtab"
        assert actions.barred_tabs(db, sitting.id) == {"oldtab"}
        later = now + timedelta(seconds=30)
        connected = service.connect(db, sitting, "newtab.1", "candidate", later)
        switched = actions.take_over(db, sitting.id, "newtab.1", "candidate", later)
        db.commit()
        assert connected.superseded is None, "an authorized move is not a second connection"
        assert switched.ref_id == event.id and actions.open_authorization(db, sitting.id) is None
        assert delivery.presented_items(db, sitting)[0].answer == ["A"], "nothing lost"
        assert db.exec(select(AuditEntry).where(AuditEntry.action == "proctoring.workstation_authorized")).one()
        assert roster.line(db, sitting.id, later).workstation_moves == 1

    def test_a_reason_is_required_and_nothing_is_written(self, db, started):
        sitting, now = started
        before = _counts(db)
        with pytest.raises(InvalidInputError) as refused:
            actions.authorize_workstation(db, sitting.id, "   ", "supervisor", now)
        assert refused.value.field == "reason"
        db.rollback()
        assert _counts(db) == before

    def test_only_a_running_sitting_moves(self, db, demo):
        with pytest.raises(IllegalTransitionError):
            actions.authorize_workstation(db, sitting_of(db, "candidate3").id, "dead PC", "supervisor", utcnow())


class TestAccommodations:
    def test_extra_time_and_breaks_join_the_deadline_of_a_later_start(self, db, demo):
        sitting = sitting_of(db, "candidate2")
        now = utcnow()
        change = actions.set_accommodation(db, sitting.candidate_id, "20", 10, "低视力，需放大", "admin", now)
        assert change.candidate.extra_time_minutes == 30 and change.adjusted == []
        delivery.start(db, sitting, "candidate2", now)
        duration = delivery.definition_of(db, sitting).duration_minutes
        assert sitting.deadline == now + timedelta(minutes=duration + 30)
        line = roster.line(db, sitting.id, now)
        assert line.accommodation_minutes == 30 and line.break_minutes == 10
        entry = db.exec(select(AuditEntry).where(AuditEntry.action == "candidate.accommodation_set")).one()
        assert entry.data["reason"] == "低视力，需放大" and entry.data["break_minutes"] == 10

    def test_a_running_sitting_moves_by_the_difference_and_its_page_is_told(self, db, started):
        sitting, now = started
        deadline = sitting.deadline
        change = actions.set_accommodation(db, sitting.candidate_id, 15, 0, "证明材料补交", "supervisor", now)
        db.commit()
        assert sitting.deadline == deadline + timedelta(minutes=15) and sitting.accommodation_minutes == 15
        assert [e.kind for e in change.adjusted] == ["accommodation_changed"]
        assert [e.id for e in service.pending_commands(db, sitting.id)] == [change.adjusted[0].id]
        actions.set_accommodation(db, sitting.candidate_id, 5, 0, "更正", "supervisor", now)
        assert sitting.deadline == deadline + timedelta(minutes=5)

    @pytest.mark.parametrize("extra, breaks, reason, field", [
        ("-1", "0", "r", "extra_minutes"), ("ten", "0", "r", "extra_minutes"), ("0", "241", "r", "break_minutes"),
        ("200", "100", "r", "extra_minutes"), ("10", "0", " ", "reason")])
    def test_bad_input_is_refused_and_nothing_is_written(self, db, demo, extra, breaks, reason, field):
        sitting = sitting_of(db, "candidate2")
        before = _counts(db)
        with pytest.raises(InvalidInputError) as refused:
            actions.set_accommodation(db, sitting.candidate_id, extra, breaks, reason, "admin", utcnow())
        assert refused.value.field == field
        db.rollback()
        assert _counts(db) == before and db.get(Candidate, sitting.candidate_id).extra_time_minutes == 0
