"""Practical attempts on both databases: actions on the server clock → score sheet → part score;
vetoes fail the part; replay reproduces the stored sheet bit for bit; refusals write nothing."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import Session, func, select

from engine import audit
from engine.certification.models import PartScoreRecord
from engine.errors import DeadlinePassedError, DuplicateError, IllegalTransitionError, InvalidInputError
from engine.models import AuditEntry, ProctoringEvent
from engine.practical import service
from engine.practical.models import AttemptStatus, PracticalAction, ScenarioVersion
from simulations.runtime import parse_action_log, replay, score
from simulations.scenarios import builtin_path
from tests.engine.practical.helpers import ACTOR, model_ticket, perform, started


@pytest.fixture
def session(db_engine, demo):
    with Session(db_engine, expire_on_commit=False) as session:
        yield session


def rows(session: Session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def part_score(session: Session, sitting_id: int) -> PartScoreRecord | None:
    return session.exec(select(PartScoreRecord).where(PartScoreRecord.candidate_session_id == sitting_id)).first()


class TestAttempt:
    def test_model_ticket_scores_100_and_becomes_the_practical_part_score(self, session):
        attempt, start = started(session)
        perform(session, attempt, model_ticket(), start)
        assert attempt.status == AttemptStatus.scored and attempt.ended_by == "finish"
        assert attempt.score == 100.0 and attempt.veto is False
        sheet = attempt.score_sheet
        assert sheet["total"] == 100 and sheet["passed"] and [v["holds"] for v in sheet["vetoes"]] == [False] * 5
        record = part_score(session, attempt.candidate_session_id)
        assert (record.part.value, record.score, record.veto) == ("practical", 100.0, False)
        assert audit.verify(session).ok
        steps = [e.data["step"] for e in session.exec(select(ProctoringEvent).where(
            ProctoringEvent.kind == "practical_progressed").order_by(ProctoringEvent.id)).all()]
        assert steps == ["started"] + ["operation"] * len(model_ticket()) + ["scored"]

    def test_the_stored_run_equals_the_offline_run_of_the_same_log(self, session):
        attempt, start = started(session)
        perform(session, attempt, model_ticket(), start)
        program = service.program_of(session.get(ScenarioVersion, attempt.scenario_version_id))
        offline = replay(program, parse_action_log(model_ticket()), attempt.seed)
        assert offline.fingerprint() == attempt.fingerprint
        assert json.loads(score(program, offline).to_json()) == attempt.score_sheet

    def test_disconnector_under_load_is_a_veto_that_fails_the_part(self, session):
        attempt, start = started(session)
        ticket = [{"t": 5, "action": "don_ppe"}, {"t": 10, "action": "open_QS2"},  # breaker still closed
                  {"t": 20, "action": "finish"}]
        perform(session, attempt, ticket, start)
        assert attempt.veto is True and attempt.score == 0
        v1 = next(v for v in attempt.score_sheet["vetoes"] if v["id"] == "V1")
        assert v1["holds"] and v1["evidence"]
        record = part_score(session, attempt.candidate_session_id)
        assert record.veto is True and record.score == 0
        assert service.practical_result(session, attempt.candidate_session_id).passed is False

    def test_actions_are_stamped_with_the_server_time_since_start(self, session):
        attempt, start = started(session)
        receipt = service.submit_action(session, attempt, "don_ppe", {}, ACTOR, start + timedelta(seconds=7.25))
        assert (receipt.seq, receipt.t) == (1, 7.25)
        assert receipt.view.values["ppe_worn"] is True and receipt.view.last_action["accepted"] is True
        refused = service.submit_action(session, attempt, "don_ppe", {}, ACTOR, start + timedelta(seconds=9))
        assert refused.view.last_action == {"action": "don_ppe", "t": 9.0, "accepted": False}
        stored = session.exec(select(PracticalAction).where(PracticalAction.attempt_id == attempt.id)).all()
        assert [(a.seq, a.t, a.action) for a in stored] == [(1, 7.25, "don_ppe"), (2, 9.0, "don_ppe")]

    def test_starting_twice_resumes_the_same_attempt_and_freezes_the_version(self, session):
        attempt, start = started(session)
        again, _ = started(session)
        assert again.id == attempt.id
        assert session.get(ScenarioVersion, attempt.scenario_version_id).frozen is True

    def test_deadline_settles_the_attempt_with_the_time_limit_veto(self, session):
        attempt, start = started(session)
        perform(session, attempt, [{"t": 5, "action": "don_ppe"}], start)
        assert service.settle_if_overdue(session, attempt, start + timedelta(seconds=1199)) is False
        assert service.settle_if_overdue(session, attempt, start + timedelta(seconds=1200)) is True
        assert attempt.ended_by == "time_limit" and attempt.veto is True
        assert "V5" in [v["id"] for v in attempt.score_sheet["vetoes"] if v["holds"]]


class TestRefusals:
    @pytest.mark.parametrize("action, args, message", [
        ("fly_to_moon", {}, "unknown action 'fly_to_moon'"),
        (None, {}, "unknown action 'None'"),
        ("acknowledge", {"alarm": "nope"}, "acknowledge"),
        ("don_ppe", ["not", "an", "object"], "small JSON object"),
    ])
    def test_bad_actions_are_refused_and_nothing_is_written(self, session, action, args, message):
        attempt, start = started(session)
        session.commit()
        before = (rows(session, PracticalAction), rows(session, AuditEntry))
        with pytest.raises(InvalidInputError) as refused:
            service.submit_action(session, attempt, action, args, ACTOR, start + timedelta(seconds=3))
        session.rollback()
        assert message in str(refused.value)
        assert (rows(session, PracticalAction), rows(session, AuditEntry)) == before

    def test_an_action_after_the_deadline_is_refused(self, session):
        attempt, start = started(session)
        session.commit()
        with pytest.raises(DeadlinePassedError):
            service.submit_action(session, attempt, "don_ppe", {}, ACTOR, start + timedelta(seconds=1201))
        session.rollback()
        assert rows(session, PracticalAction) == 0

    def test_an_action_after_finish_is_refused(self, session):
        attempt, start = started(session)
        perform(session, attempt, [{"t": 1, "action": "finish"}], start)
        with pytest.raises(IllegalTransitionError):
            service.submit_action(session, attempt, "don_ppe", {}, ACTOR, start + timedelta(seconds=3))


class TestReplay:
    def test_replay_of_a_stored_attempt_matches_bit_for_bit(self, session):
        attempt, start = started(session)
        perform(session, attempt, model_ticket()[:6] + [{"t": 300, "action": "finish"}], start)
        session.commit()
        report = service.replay_attempt(session, attempt.id)
        assert report.matches and report.sheet.total == attempt.score

    def test_a_tampered_log_no_longer_matches(self, session):
        attempt, start = started(session)
        perform(session, attempt, model_ticket(), start)
        first = session.exec(select(PracticalAction).where(PracticalAction.attempt_id == attempt.id,
                                                           PracticalAction.seq == 2)).one()
        first.t += 5  # the breaker opened later than recorded
        session.add(first)
        session.flush()
        report = service.replay_attempt(session, attempt.id)
        assert not report.same_fingerprint


class TestScenarioStorage:
    def test_uploads_are_versions_and_an_identical_upload_is_refused(self, session):
        text = builtin_path("chemical-cstr-control").read_text("utf-8")
        first = service.upload_scenario(session, text, "cstr.yaml", ACTOR)
        second = service.upload_scenario(session, text.replace("version: 1", "version: 2", 1), "cstr.yaml", ACTOR)
        assert (first.version_no, second.version_no, second.declared_version) == (1, 2, 2)
        assert service.get_scenario(session, first.scenario_id).current_version == 2
        with pytest.raises(DuplicateError):
            service.upload_scenario(session, text.replace("version: 1", "version: 2", 1), "cstr.yaml", ACTOR)

    def test_a_bad_file_is_refused_with_file_line_and_field(self, session):
        text = builtin_path("chemical-cstr-control").read_text("utf-8").replace('"L >= 75"', '"L >= 75 + nope"')
        before = rows(session, ScenarioVersion)
        with pytest.raises(InvalidInputError) as refused:
            service.upload_scenario(session, text, "broken.yaml", ACTOR)
        assert "broken.yaml:" in str(refused.value) and "unknown name 'nope'" in str(refused.value)
        assert rows(session, ScenarioVersion) == before

    def test_dry_run_scores_a_scripted_list(self, session):
        version = session.exec(select(ScenarioVersion)).first()
        actions = service.parse_actions_text(json.dumps(model_ticket()))
        sheet, _trace = service.dry_run(service.program_of(version), actions, 0)
        assert sheet.total == 100
        with pytest.raises(InvalidInputError, match="not valid JSON"):
            service.parse_actions_text("[{")


def test_combine_weights_scores_and_any_veto_fails():
    assert service.combine([(1, 80, False), (3, 60, False)]) == (65.0, False)
    assert service.combine([(2, 100, False), (1, 90, True)])[1] is True
