"""The pure proctoring core: commands, deadline arithmetic, anomaly rules."""

from __future__ import annotations

import ast
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from engine.errors import InvalidInputError
from engine.proctoring import anomalies, timing
from engine.proctoring.anomalies import AnswerTiming
from engine.proctoring.commands import CommandKind, IncidentCategory, Severity, parse_command
from engine.proctoring.events import CLIENT_EVENTS, EventKind, ProctorEvent

T0 = datetime(2026, 11, 24, 8, 0, 0)
PURE = ("events", "commands", "timing", "anomalies")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


class TestPurity:
    @pytest.mark.parametrize("module", PURE)
    def test_core_module_imports_no_database_or_web(self, module):
        source = (Path(__file__).parents[3] / "engine" / "proctoring" / f"{module}.py").read_text()
        imported = set()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
        forbidden = {"sqlmodel", "sqlalchemy", "fastapi", "starlette", "web", "engine.models", "engine.delivery"}
        assert not imported & forbidden


class TestEventNames:
    def test_every_event_is_named_in_the_past_tense(self):
        assert all(kind.value.endswith(("ed", "hidden", "shown", "opened", "online", "offline"))
                   for kind in EventKind)

    def test_server_observations_cannot_be_reported_by_a_page(self):
        assert EventKind.connected not in CLIENT_EVENTS
        assert EventKind.paused not in CLIENT_EVENTS
        assert EventKind.command_applied not in CLIENT_EVENTS


class TestParseCommand:
    def test_pause_with_reason(self):
        command = parse_command("pause", "  fire alarm  ")
        assert command.kind == CommandKind.pause and command.reason == "fire alarm"
        assert command.event_kind == EventKind.paused

    @pytest.mark.parametrize("reason", ["", "   ", None])
    def test_a_reason_is_required(self, reason):
        with pytest.raises(InvalidInputError, match="reason is required") as caught:
            parse_command("warn", reason)
        assert caught.value.field == "reason"

    def test_an_overlong_reason_is_refused(self):
        with pytest.raises(InvalidInputError, match="longer than 500"):
            parse_command("warn", "x" * 501)

    def test_unknown_kind_is_refused(self):
        with pytest.raises(InvalidInputError, match="unknown command 'explode'"):
            parse_command("explode", "because")

    @pytest.mark.parametrize("minutes", ["0", "-5", "241", "ten", None, "1.5"])
    def test_update_minutes_must_be_in_range(self, minutes):
        with pytest.raises(InvalidInputError) as caught:
            parse_command("update", "power cut", minutes)
        assert caught.value.field == "minutes"

    def test_update_carries_minutes(self):
        assert parse_command("update", "power cut", "15").as_data() == {"command": "update", "reason": "power cut",
                                                                         "minutes": 15}

    def test_flag_needs_severity_and_category(self):
        command = parse_command("flag", "phone on desk", severity="high", category="device_misuse")
        assert (command.severity, command.category) == (Severity.high, IncidentCategory.device_misuse)
        with pytest.raises(InvalidInputError, match="severity"):
            parse_command("flag", "phone on desk", severity="extreme", category="device_misuse")
        with pytest.raises(InvalidInputError, match="category"):
            parse_command("flag", "phone on desk", severity="low", category=None)


class TestTiming:
    def test_initial_deadline_adds_accommodation(self):
        assert timing.initial_deadline(T0, 90, 20) == T0 + timedelta(minutes=110)
        assert timing.initial_deadline(T0, 90, -5) == T0 + timedelta(minutes=90)

    def test_pause_moves_the_deadline_by_its_length(self):
        deadline = T0 + timedelta(minutes=60)
        assert timing.deadline_after_pause(deadline, at(600), at(900)) == deadline + timedelta(seconds=300)

    def test_a_resume_before_the_pause_never_moves_the_deadline_back(self):
        deadline = T0 + timedelta(minutes=60)
        assert timing.deadline_after_pause(deadline, at(900), at(600)) == deadline

    def test_time_left_stands_still_while_paused(self):
        deadline = T0 + timedelta(minutes=60)
        assert timing.seconds_left(deadline, at(600), paused_at=at(600)) == 3000
        assert timing.seconds_left(deadline, at(1800), paused_at=at(600)) == 3000
        assert timing.seconds_left(deadline, at(1800)) == 1800

    def test_time_left_never_negative_and_none_without_deadline(self):
        assert timing.seconds_left(T0, at(10)) == 0
        assert timing.seconds_left(None, at(10)) == 0

    def test_effective_deadline_while_paused(self):
        deadline = T0 + timedelta(minutes=60)
        assert timing.effective_deadline(deadline, at(700), at(600)) == deadline + timedelta(seconds=100)
        assert timing.effective_deadline(deadline, at(700), None) == deadline

    def test_extension(self):
        assert timing.extended(T0, 15) == T0 + timedelta(minutes=15)


def ev(kind: EventKind, seconds: float, **data) -> ProctorEvent:
    return ProctorEvent(kind, at(seconds), data)


class TestConnectionGaps:
    def test_gaps_between_close_and_reopen(self):
        events = [ev(EventKind.connected, 0), ev(EventKind.disconnected, 10), ev(EventKind.connected, 25),
                  ev(EventKind.disconnected, 30), ev(EventKind.connected, 31)]
        assert anomalies.connection_gaps(events) == [(at(10), 15.0), (at(30), 1.0)]

    def test_overlapping_connections_leave_no_gap(self):
        events = [ev(EventKind.connected, 0), ev(EventKind.connected, 5), ev(EventKind.disconnected, 6),
                  ev(EventKind.disconnected, 20)]
        assert anomalies.connection_gaps(events) == []

    def test_unordered_input_is_sorted_by_time(self):
        events = [ev(EventKind.connected, 20), ev(EventKind.disconnected, 10), ev(EventKind.connected, 0)]
        assert anomalies.connection_gaps(events) == [(at(10), 10.0)]


class TestRules:
    def test_rapid_answering_needs_enough_fast_answers(self):
        rule = anomalies.RapidAnswering(min_seconds=3, min_count=3)
        fast = [AnswerTiming(p, at(p), 1.0) for p in (1, 2)]
        assert rule.evaluate([], fast) == []
        found = rule.evaluate([], fast + [AnswerTiming(3, at(3), 2.9), AnswerTiming(4, at(50), 47)])
        assert [(a.code, a.evidence["positions"]) for a in found] == [("rapid_answering", [1, 2, 3])]

    def test_answer_timings_from_start_and_previous_answer(self):
        timings = anomalies.answer_timings([(2, at(30)), (1, at(10))], T0)
        assert [(t.position, t.seconds) for t in timings] == [(1, 10.0), (2, 20.0)]

    def test_disconnections_by_count_and_by_length(self):
        rule = anomalies.Disconnections(max_count=3, long_gap_seconds=60, min_gap_seconds=5)
        short = [ev(EventKind.connected, 0)]
        for i in range(2):
            short += [ev(EventKind.disconnected, 10 + 20 * i), ev(EventKind.connected, 16 + 20 * i)]
        assert rule.evaluate(short, []) == []
        more = short + [ev(EventKind.disconnected, 60), ev(EventKind.connected, 66)]
        assert rule.evaluate(more, [])[0].evidence["count"] == 3
        long = [ev(EventKind.connected, 0), ev(EventKind.disconnected, 10), ev(EventKind.connected, 100)]
        assert rule.evaluate(long, [])[0].severity == "high"

    def test_page_changes_are_not_disconnections(self):
        """Moving to the next question reconnects within a moment: never flagged however often."""
        rule = anomalies.Disconnections(max_count=3, min_gap_seconds=5)
        events = [ev(EventKind.connected, 0)]
        for i in range(20):
            events += [ev(EventKind.disconnected, 10 * i + 9.8), ev(EventKind.connected, 10 * i + 10)]
        assert rule.evaluate(events, []) == []

    def test_focus_loss_counts_hidden_and_blurred(self):
        rule = anomalies.FocusLoss(max_count=3)
        events = [ev(EventKind.page_hidden, 1), ev(EventKind.window_blurred, 2), ev(EventKind.window_focused, 3)]
        assert rule.evaluate(events, []) == []
        assert rule.evaluate(events + [ev(EventKind.page_hidden, 4)], [])[0].evidence == {"count": 3}

    def test_second_connection_and_changed_address(self):
        rule = anomalies.SecondConnection()
        assert rule.evaluate([ev(EventKind.connected, 0, ip="10.0.0.5")], []) == []
        assert rule.evaluate([ev(EventKind.second_tab_opened, 5)], [])[0].severity == "high"
        moved = [ev(EventKind.connected, 0, ip="10.0.0.5"), ev(EventKind.connected, 60, ip="10.0.0.9")]
        assert rule.evaluate(moved, [])[0].evidence["addresses"] == ["10.0.0.5", "10.0.0.9"]

    def test_evaluate_runs_every_rule(self):
        events = [ev(EventKind.second_connection_opened, 1)] + [ev(EventKind.page_hidden, i) for i in range(5)]
        assert {a.code for a in anomalies.evaluate(events, [])} == {"second_connection", "focus_loss"}
