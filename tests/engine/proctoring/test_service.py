"""Proctoring services on both databases: pauses move deadlines, commands are queued and
acknowledged, integrity events are evidence, the timeline hides answer content."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from engine import audit, delivery
from engine.errors import IllegalTransitionError, InvalidInputError, NotFoundError
from engine.models import AuditEntry, Candidate, CandidateSessionStatus, ProctoringEvent
from engine.proctoring import service
from engine.proctoring.commands import parse_command
from engine.proctoring.events import EventKind
from itembank.timeutil import utcnow
from tests.engine.proctoring.conftest import sitting_of


def _events(db, sitting, kind: EventKind) -> list[ProctoringEvent]:
    return list(db.exec(select(ProctoringEvent).where(ProctoringEvent.candidate_session_id == sitting.id,
                                                      ProctoringEvent.kind == kind.value)).all())


class TestPauseAndResume:
    def test_pause_freezes_time_and_resume_moves_the_deadline(self, db, started):
        sitting, t0 = started
        deadline = sitting.deadline
        service.issue(db, sitting, parse_command("pause", "fire alarm"), "supervisor", t0 + timedelta(minutes=10))
        assert sitting.status == CandidateSessionStatus.paused
        left = delivery.seconds_left(sitting, t0 + timedelta(minutes=10))
        assert delivery.seconds_left(sitting, t0 + timedelta(minutes=40)) == left
        service.issue(db, sitting, parse_command("resume", "all clear"), "supervisor", t0 + timedelta(minutes=25))
        db.commit()
        assert sitting.status == CandidateSessionStatus.in_progress
        assert sitting.deadline == deadline + timedelta(minutes=15)
        assert delivery.seconds_left(sitting, t0 + timedelta(minutes=25)) == left

    def test_a_paused_sitting_is_not_expired_by_the_sweeper(self, db, started):
        sitting, t0 = started
        service.issue(db, sitting, parse_command("pause", "power cut"), "supervisor", t0 + timedelta(minutes=1))
        db.commit()
        after_deadline = sitting.deadline + timedelta(minutes=5)
        assert delivery.expire_overdue(db, after_deadline) == 0
        assert delivery.settle_if_overdue(db, sitting, after_deadline) is False
        assert sitting.status == CandidateSessionStatus.paused

    def test_answers_are_refused_while_paused(self, db, started):
        sitting, t0 = started
        service.issue(db, sitting, parse_command("pause", "noise"), "supervisor", t0)
        with pytest.raises(IllegalTransitionError, match="cannot answer a session that is paused"):
            delivery.record_answer(db, sitting, 1, ["A"], 1, "candidate", t0 + timedelta(seconds=5))

    def test_resume_of_a_running_sitting_is_illegal(self, db, started):
        sitting, t0 = started
        with pytest.raises(IllegalTransitionError, match="cannot resume"):
            service.issue(db, sitting, parse_command("resume", "?"), "supervisor", t0)

    def test_pause_after_the_deadline_submits_instead(self, db, started):
        sitting, _t0 = started
        with pytest.raises(IllegalTransitionError, match="cannot pause a session that is submitted"):
            service.issue(db, sitting, parse_command("pause", "late"), "supervisor",
                          sitting.deadline + timedelta(seconds=1))


class TestExtendAndTerminate:
    def test_extension_moves_the_deadline_and_is_audited(self, db, started):
        sitting, t0 = started
        deadline = sitting.deadline
        service.issue(db, sitting, parse_command("update", "screen froze", "10"), "supervisor", t0)
        db.commit()
        assert sitting.deadline == deadline + timedelta(minutes=10) and sitting.extension_minutes == 10
        actions = db.exec(select(AuditEntry.action).where(AuditEntry.entity_id == str(sitting.id))).all()
        assert "session.extended" in actions and "proctoring.time_extended" in actions
        assert audit.verify(db).ok

    def test_terminate_submits_and_scores(self, db, started):
        sitting, t0 = started
        service.issue(db, sitting, parse_command("terminate", "caught with notes"), "supervisor", t0)
        db.commit()
        assert sitting.status == CandidateSessionStatus.submitted and sitting.submit_reason == "terminated"
        assert delivery.result_of(db, sitting).score == 0.0

    def test_terminate_of_a_pausedsitting_of(self, db, started):
        sitting, t0 = started
        service.issue(db, sitting, parse_command("pause", "check"), "supervisor", t0)
        service.issue(db, sitting, parse_command("terminate", "impersonation"), "supervisor", t0)
        assert sitting.status == CandidateSessionStatus.submitted and sitting.paused_at is None

    def test_accommodation_flows_into_the_deadline(self, db, demo):
        sitting = sitting_of(db, "candidate2")
        candidate = db.get(Candidate, sitting.candidate_id)
        candidate.extra_time_minutes = 30
        db.add(candidate)
        now = utcnow()
        delivery.start(db, sitting, "candidate2", now)
        duration = delivery.definition_of(db, sitting).duration_minutes
        assert sitting.deadline == now + timedelta(minutes=duration + 30)
        assert sitting.accommodation_minutes == 30

    def test_warn_and_flag_change_nothing_but_are_recorded(self, db, started):
        sitting, t0 = started
        deadline = sitting.deadline
        service.issue(db, sitting, parse_command("warn", "eyes on your screen"), "supervisor", t0)
        service.issue(db, sitting, parse_command("flag", "phone", severity="high", category="device_misuse"),
                      "supervisor", t0)
        assert sitting.deadline == deadline and sitting.status == CandidateSessionStatus.in_progress
        flagged = _events(db, sitting, EventKind.incident_flagged)[0]
        assert flagged.data["severity"] == "high" and flagged.data["reason"] == "phone"
        assert service.incident_count(db, sitting.id) == 1

    def test_warning_a_scheduled_sitting_is_illegal(self, db, demo):
        with pytest.raises(IllegalTransitionError):
            service.issue(db, sitting_of(db, "candidate3"), parse_command("warn", "x"), "supervisor", utcnow())


class TestCommandDelivery:
    def test_queued_until_delivered_then_applied(self, db, started):
        sitting, t0 = started
        warned = service.issue(db, sitting, parse_command("warn", "quiet please"), "supervisor", t0)
        service.issue(db, sitting, parse_command("flag", "x", severity="low", category="other"), "supervisor", t0)
        assert [e.id for e in service.pending_commands(db, sitting.id)] == [warned.id]
        assert service.last_command_state(db, sitting.id).state == "issued"
        service.acknowledge(db, sitting.id, warned.id, EventKind.command_delivered, "system", t0)
        assert service.pending_commands(db, sitting.id) == []
        assert service.last_command_state(db, sitting.id).state == "delivered"
        service.acknowledge(db, sitting.id, warned.id, EventKind.command_applied, "candidate", t0)
        assert service.acknowledge(db, sitting.id, warned.id, EventKind.command_applied, "candidate", t0) is None
        assert service.last_command_state(db, sitting.id).state == "applied"
        assert len(_events(db, sitting, EventKind.command_applied)) == 1

    def test_acknowledging_another_sittings_command_is_refused(self, db, started):
        sitting, t0 = started
        warned = service.issue(db, sitting, parse_command("warn", "quiet"), "supervisor", t0)
        other = sitting_of(db, "candidate2")
        with pytest.raises(NotFoundError):
            service.acknowledge(db, other.id, warned.id, EventKind.command_applied, "candidate2", t0)


class TestClientEventsAndPresence:
    def test_integrity_event_is_stored_and_audited(self, db, started):
        sitting, t0 = started
        service.record_client_event(db, sitting, "page_hidden", {"hidden_ms": 1200}, "candidate", t0)
        assert _events(db, sitting, EventKind.page_hidden)[0].data == {"hidden_ms": 1200}
        assert db.exec(select(AuditEntry).where(AuditEntry.action == "proctoring.page_hidden")).first()

    @pytest.mark.parametrize("kind, detail", [("paused", None), ("connected", None), ("nonsense", None),
                                              ("page_hidden", "text"), ("page_hidden", {"k": "x" * 201}),
                                              ("page_hidden", {str(i): i for i in range(9)}),
                                              ("page_hidden", {"nested": {"a": 1}})])
    def test_bad_client_events_are_refused_and_write_nothing(self, db, started, kind, detail):
        sitting, t0 = started
        with pytest.raises(InvalidInputError):
            service.record_client_event(db, sitting, kind, detail, "candidate", t0)
        assert service.events_of(db, sitting.id) == []

    def test_second_live_connection_is_recorded_and_supersedes(self, db, started):
        sitting, t0 = started
        first = service.connect(db, sitting, "conn-a", "candidate", t0, ip="10.0.0.5")
        assert first.superseded is None and service.presence(sitting, t0) == "online"
        second = service.connect(db, sitting, "conn-b", "candidate", t0 + timedelta(seconds=3), ip="10.0.0.6")
        assert second.superseded == "conn-a"
        assert len(_events(db, sitting, EventKind.second_connection_opened)) == 1
        codes = {a.code for a in service.anomalies_of(db, sitting)}
        assert "second_connection" in codes

    def test_the_same_tab_moving_to_the_next_question_is_not_a_second_connection(self, db, started):
        sitting, t0 = started
        service.connect(db, sitting, "tab1.aaaa", "candidate", t0)
        assert service.connect(db, sitting, "tab1.bbbb", "candidate", t0).superseded is None
        assert _events(db, sitting, EventKind.second_connection_opened) == []

    def test_reconnect_after_the_old_page_went_silent_is_not_a_second_connection(self, db, started):
        sitting, t0 = started
        service.connect(db, sitting, "conn-a", "candidate", t0)
        later = t0 + service.PRESENCE_TIMEOUT + timedelta(seconds=1)
        assert service.presence(sitting, later) == "offline"
        assert service.connect(db, sitting, "conn-b", "candidate", later).superseded is None

    def test_disconnect_clears_only_the_current_connection(self, db, started):
        sitting, t0 = started
        service.connect(db, sitting, "conn-a", "candidate", t0)
        service.connect(db, sitting, "conn-b", "candidate", t0)
        service.disconnect(db, sitting, "conn-a", "candidate", t0)
        assert sitting.connection_id == "conn-b"
        service.disconnect(db, sitting, "conn-b", "candidate", t0)
        assert sitting.connection_id is None

    def test_heartbeat_writes_only_now_and_then(self, db, started):
        sitting, t0 = started
        service.connect(db, sitting, "conn-a", "candidate", t0)
        assert service.heartbeat(db, sitting, t0 + timedelta(seconds=5)) is False
        assert service.heartbeat(db, sitting, t0 + timedelta(seconds=16)) is True


class TestTimeline:
    def test_answers_by_position_and_time_never_content(self, db, started):
        sitting, t0 = started
        delivery.record_answer(db, sitting, 1, ["B"], 5, "candidate", t0 + timedelta(seconds=20))
        service.record_client_event(db, sitting, "window_blurred", {}, "candidate", t0 + timedelta(seconds=30))
        service.issue(db, sitting, parse_command("warn", "focus"), "supervisor", t0 + timedelta(seconds=40))
        entries = service.timeline(db, sitting)
        kinds = [e.kind for e in entries]
        assert kinds.index("session.started") < kinds.index("response.recorded") < kinds.index("window_blurred")
        assert kinds[-1] == "warned"
        answered = next(e for e in entries if e.kind == "response.recorded")
        assert answered.detail == {"position": 1}
        assert "B" not in str([e.detail for e in entries if e.kind != "warned"])
