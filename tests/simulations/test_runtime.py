"""Runtime semantics (clock, actions, events, alarms) and rubric checks on a small scenario."""

from __future__ import annotations

import json

import pytest

from simulations.errors import ActionLogError, ActionRejectedError
from simulations.runtime import Simulation, parse_action_log, replay, score
from simulations.runtime.trace import LoggedAction
from simulations.scenario import load_scenario_text

LAMP = """
id: lamp
version: 2
title: {zh: 灯, en: Lamp}
occupation: {name: {zh: 测试, en: Test}}
time_limit: 30
instructions: {zh: 无, en: none}
state:
  power: {type: bool, initial: false}
  heat: {type: real, range: [0, 100], initial: 0}
  count: {type: int, range: [0, 10], initial: 0}
  a: {type: int, initial: 1}
  b: {type: int, initial: 2}
dynamics:
  heat: "2.0 if power else -1.0"
actions:
  switch_on: {label: {zh: 开, en: "On"}, requires: "not power", effects: {power: true}}
  switch_off: {label: {zh: 关, en: "Off"}, requires: "power", effects: {power: false}}
  bump:
    label: {zh: 加, en: Bump}
    args: {amount: {type: int, range: [1, 3]}}
    effects: {count: "count + amount"}
  swap: {label: {zh: 换, en: Swap}, effects: {a: b, b: a}}
controls:
  - {id: s, kind: switch, label: {zh: 开关, en: Switch}, actions: [switch_on, switch_off, swap]}
  - {id: n, kind: numeric_input, label: {zh: 数, en: Number}, actions: [bump]}
events:
  - {id: ping, at: 5, effects: {count: "count + 1"}}
  - {id: overheat, when: "heat >= 19", effects: {power: false}}
alarms:
  - {id: HI, when: "heat >= 9", text: {zh: 高, en: High}}
rubric:
  lines:
    - {id: L1, text: {zh: 开灯, en: "on"}, points: 10, check: {did: switch_on, by: 5}}
    - {id: L2, text: {zh: 确认, en: ack}, points: 10, check: {respond: acknowledge, after: {alarm: HI}, within: 3}}
    - {id: L3, text: {zh: 保持, en: hold}, points: 10, check: {hold: "heat <= 15", share: 0.8}}
    - {id: L4, text: {zh: 不大加, en: no big bump}, points: 10, check: {never: bump, where: "amount > 2"}}
    - {id: L5, text: {zh: 持续, en: duration}, points: 10, check: {duration: "power", seconds: 5}}
  deductions:
    - {id: D1, text: {zh: 高, en: high}, deduct: 3, max: 5, check: {ever: "heat >= 9"}}
  vetoes:
    - {id: V1, text: {zh: 过热, en: overheat}, check: {event: overheat}}
"""


@pytest.fixture(scope="module")
def lamp():
    return load_scenario_text(LAMP, "lamp.yaml")


def log(*steps):
    return [LoggedAction(s[0], s[1], s[2] if len(s) > 2 else {}) for s in steps]


class TestClockAndActions:
    def test_action_applies_at_the_next_tick_boundary(self, lamp):
        trace = replay(lamp, log((2.3, "switch_on"), (30, "finish")), 0)
        record = trace.actions[0]
        assert (record.requested_t, record.t, record.accepted) == (2.3, 3.0, True)
        power = trace.column("power")
        assert power[2] == 0 and power[3] == 1

    def test_refused_precondition_is_recorded_and_changes_nothing(self, lamp):
        trace = replay(lamp, log((1, "switch_off")), 0)
        record = trace.actions[0]
        assert not record.accepted and record.reason == "precondition not met: power"
        assert trace.column("power").max() == 0

    def test_effects_are_simultaneous(self, lamp):
        trace = replay(lamp, log((1, "swap")), 0)
        assert (trace.column("a")[1], trace.column("b")[1]) == (2, 1)

    def test_arguments_are_checked_on_submission(self, lamp):
        simulation = Simulation.from_seed(lamp, 0)
        for args, message in [
            ({}, "missing argument"),
            ({"amount": 7}, r"in \[1, 3\]"),
            ({"amount": 1.5}, "whole number"),
            ({"amount": 1, "x": 1}, "unknown argument"),
        ]:
            with pytest.raises(ActionRejectedError, match=message):
                simulation.act("bump", args)
        with pytest.raises(ActionRejectedError, match="unknown action 'jump'"):
            simulation.act("jump")

    def test_int_range_clamps_effects(self, lamp):
        trace = replay(lamp, log(*[(1, "bump", {"amount": 3})] * 5), 0)
        assert trace.column("count").max() == 10

    def test_finish_ends_the_session_and_refuses_later_actions(self, lamp):
        simulation = Simulation.from_seed(lamp, 0)
        simulation.act("finish", t=4)
        with pytest.raises(ActionRejectedError, match="ended"):
            simulation.act("switch_on")
        trace = simulation.run_to_end()
        assert (trace.ended_by, trace.end_time, len(trace.times)) == ("finish", 4.0, 5)

    def test_replay_refuses_actions_after_the_end(self, lamp):
        with pytest.raises(ActionLogError, match="after the session ended"):
            replay(lamp, log((3, "finish"), (5, "switch_on")), 0)

    def test_replay_refuses_unknown_actions(self, lamp):
        with pytest.raises(ActionLogError, match="unknown action 'jump'"):
            replay(lamp, log((3, "jump")), 0)


class TestActionLogParsing:
    @pytest.mark.parametrize(
        "raw, message",
        [
            ({"t": 1}, "JSON array"),
            ([{"t": -1, "action": "x"}], "'t' must be a number"),
            ([{"t": "1", "action": "x"}], "'t' must be a number"),
            ([{"t": 2, "action": "x"}, {"t": 1, "action": "x"}], "must not decrease"),
            ([{"t": 1}], "'action' must be an action name"),
            ([{"t": 1, "action": "x", "args": [1]}], "'args' must be an object"),
            ([{"t": 1, "action": "x", "when": 3}], "unknown field"),
            (["x"], "expected an object"),
        ],
    )
    def test_malformed_logs_are_refused(self, raw, message):
        with pytest.raises(ActionLogError, match=message):
            parse_action_log(raw)

    def test_valid_log(self):
        parsed = parse_action_log(
            [{"t": 0, "action": "a"}, {"t": 1.5, "action": "b", "args": {"v": 1}}]
        )
        assert parsed[1] == LoggedAction(1.5, "b", {"v": 1})


class TestEventsAndAlarms:
    def test_scheduled_event_fires_once_at_its_time(self, lamp):
        trace = replay(lamp, [], 0)
        assert [(o.t, o.id) for o in trace.occurrences if o.kind == "event"] == [(5.0, "ping")]
        assert trace.column("count")[4] == 0 and trace.column("count")[5] == 1

    def test_conditional_event_fires_on_the_rising_edge(self, lamp):
        trace = replay(lamp, log((1, "switch_on"), (12, "switch_on"), (20, "switch_on")), 0)
        fired = [o.t for o in trace.occurrences if o.id == "overheat"]
        assert fired[0] == 11.0  # heat 2/s from t=1 reaches 19 at t=10.5
        assert trace.column("power")[11] == 0  # the event switched the lamp off
        assert len(fired) >= 2  # heat fell below 20 and rose again

    def test_alarm_raised_cleared_and_acknowledged(self, lamp):
        trace = replay(
            lamp, log((1, "switch_on"), (7, "acknowledge", {"alarm": "HI"}), (8, "switch_off")), 0
        )
        kinds = [(o.kind, o.t) for o in trace.occurrences if o.id == "HI"]
        assert kinds[0] == ("alarm_raised", 6.0)
        assert ("alarm_acknowledged", 7.0) in kinds
        assert any(kind == "alarm_cleared" for kind, _ in kinds)

    def test_acknowledging_a_quiet_alarm_is_refused(self, lamp):
        trace = replay(lamp, log((1, "acknowledge", {"alarm": "HI"})), 0)
        assert not trace.actions[0].accepted


class TestScoring:
    def test_good_run(self, lamp):
        steps = log(
            (1, "switch_on"),
            (7, "acknowledge", {"alarm": "HI"}),
            (8, "switch_off"),
            (9, "bump", {"amount": 2}),
            (20, "finish"),
        )
        sheet = score(lamp, replay(lamp, steps, 0))
        assert [line.holds for line in sheet.lines] == [True] * 5
        assert sheet.deductions[0].awarded == 3  # heat crossed 9 once
        assert sheet.total == pytest.approx(100 * (50 - 3) / 50)
        assert not sheet.vetoed and sheet.passed

    def test_respond_too_late_and_forbidden_argument(self, lamp):
        steps = log(
            (1, "switch_on"),
            (8, "bump", {"amount": 3}),
            (10, "acknowledge", {"alarm": "HI"}),
            (11, "switch_off"),
            (20, "finish"),
        )
        sheet = score(lamp, replay(lamp, steps, 0))
        holds = {line.id: line.holds for line in sheet.lines}
        assert holds["L2"] is False and holds["L4"] is False
        respond = next(line for line in sheet.lines if line.id == "L2")
        assert respond.evidence["responses"] == [{"trigger_t": 6.0, "response_t": None}]

    def test_veto_zeroes_the_total_but_keeps_the_line_scores(self, lamp):
        sheet = score(lamp, replay(lamp, log((1, "switch_on"), (25, "finish")), 0))
        assert sheet.triggered_vetoes == ["V1"]
        assert sheet.total == 0.0 and sheet.total_before_veto > 0 and not sheet.passed

    def test_deduction_is_capped(self, lamp):
        steps = log(
            (1, "switch_on"),
            (6, "switch_off"),
            (12, "switch_on"),
            (16, "switch_off"),
            (22, "switch_on"),
            (26, "switch_off"),
        )
        sheet = score(lamp, replay(lamp, steps, 0))
        assert sheet.deductions[0].evidence["count"] == 3 and sheet.deductions[0].awarded == 5

    def test_sheet_serializes_to_json_and_prints(self, lamp):
        sheet = score(lamp, replay(lamp, log((1, "switch_on"), (20, "finish")), 0))
        data = json.loads(sheet.to_json())
        assert data["scenario_id"] == "lamp" and data["scenario_version"] == 2
        assert {line["id"] for line in data["lines"]} == {"L1", "L2", "L3", "L4", "L5"}
        assert data["vetoes"][0]["text"] == {"zh": "过热", "en": "overheat"}
        assert "总分" in sheet.render_text("zh") and "Total" in sheet.render_text("en")


class TestCandidateView:
    def test_view_hides_hidden_variables_and_tracks_alarms(self, lamp):
        program = load_scenario_text(
            LAMP.replace(
                "count: {type: int, range: [0, 10], initial: 0}",
                "count: {type: int, range: [0, 10], initial: 0, hidden: true}",
            )
        )
        simulation = Simulation.from_seed(program, 0)
        simulation.act("switch_on")
        simulation.advance(8)
        view = simulation.view()
        assert "count" not in view.values and view.values["power"] is True
        assert view.time == 8.0 and view.remaining == 22.0
        assert view.active_alarms == ("HI",) and view.unacknowledged_alarms == ("HI",)
        simulation.act("acknowledge", {"alarm": "HI"})
        simulation.advance()
        assert simulation.view().unacknowledged_alarms == ()


class TestTimeline:
    def test_timeline_interleaves_actions_events_and_alarms_in_order(self, lamp):
        trace = replay(
            lamp, log((1, "switch_on"), (7, "acknowledge", {"alarm": "HI"}), (8, "switch_off")), 0
        )
        timeline = trace.timeline()
        kinds = [(item["kind"], item.get("action") or item.get("id")) for item in timeline]
        assert kinds[:4] == [
            ("action", "switch_on"),
            ("event", "ping"),
            ("alarm_raised", "HI"),
            ("action", "acknowledge"),
        ]
        assert [item["seq"] for item in timeline] == sorted(item["seq"] for item in timeline)
        series = trace.series(["heat"])
        assert len(series["t"]) == len(series["heat"]) == len(trace.times)


class TestScenarioIdentity:
    def test_sheet_names_the_exact_scenario_text(self, lamp):
        sheet = score(lamp, replay(lamp, [], 0))
        assert len(sheet.scenario_sha256) == 64
        edited = load_scenario_text(LAMP.replace("version: 2", "version: 3"), "lamp.yaml")
        assert edited.source_sha256 != lamp.source_sha256


class TestRunawayClients:
    def test_action_count_is_capped(self, lamp):
        from simulations.runtime.engine import MAX_ACTIONS_PER_SESSION

        simulation = Simulation.from_seed(lamp, 0)
        for _ in range(MAX_ACTIONS_PER_SESSION):
            simulation.act("swap")
        with pytest.raises(ActionRejectedError, match="more than"):
            simulation.act("swap")

    def test_huge_action_list_is_refused(self):
        with pytest.raises(ActionLogError, match="at most"):
            parse_action_log([{"t": 0, "action": "x"}] * 5_001)
