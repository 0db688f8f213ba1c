"""Built-in scenario 2: CSTR level/temperature control with alarms and trips."""

from __future__ import annotations

from simulations.runtime import replay, score
from tests.simulations.conftest import awarded, drive


def model_operator(ack_delay: float = 1.0, pump_delay: float = 1.0):
    """A good operator: LIC to AUTO at 20 s, handles the pump trip promptly."""
    seen: dict[str, float] = {}

    def react(sim) -> None:
        t = sim.time
        if t == 20:
            sim.act("set_LIC_mode", {"mode": "AUTO"})
        active = sim.batch.active_alarms(0)
        if "P101_TRIP" in active and "trip" not in seen:
            seen["trip"] = t
        if "trip" in seen:
            if "ack" not in seen and t >= seen["trip"] + ack_delay:
                seen["ack"] = t
                sim.act("acknowledge", {"alarm": "P101_TRIP"})
            if "pump" not in seen and t >= seen["trip"] + pump_delay:
                seen["pump"] = t
                sim.act("start_P102")

    return react


class TestModelRun:
    def test_model_run_scores_100(self, cstr):
        trace, sheet, _ = drive(cstr, 3, model_operator())
        assert sheet.total == 100.0 and not sheet.vetoed
        kinds = {(o.kind, o.id) for o in trace.occurrences}
        assert ("event", "feed_disturbance") in kinds and ("alarm_raised", "P101_TRIP") in kinds

    def test_disturbance_time_comes_from_the_seed(self, cstr):
        times = set()
        for seed in (1, 2, 3, 4):
            trace, sheet, _ = drive(cstr, seed, model_operator())
            assert sheet.total == 100.0
            times.add(next(o.t for o in trace.occurrences if o.id == "feed_disturbance"))
        assert len(times) > 1

    def test_replay_of_the_action_log_is_bit_for_bit(self, cstr):
        trace, sheet, log = drive(cstr, 11, model_operator())
        again = replay(cstr, log, 11)
        assert again.fingerprint() == trace.fingerprint()
        assert score(cstr, again).to_json() == sheet.to_json()

    def test_a_different_seed_gives_a_different_trace(self, cstr):
        trace, _, log = drive(cstr, 11, model_operator())
        assert replay(cstr, log, 12).fingerprint() != trace.fingerprint()


class TestVetoes:
    def test_level_high_high_trip_is_vetoed(self, cstr):
        def react(sim):
            if sim.time == 10:
                sim.act("set_LIC_output", {"value": 30})  # throttles the outlet: level rises
            if "P101_TRIP" in sim.batch.active_alarms(0) and not sim.values()["P102_running"]:
                sim.act("start_P102")

        trace, sheet, _ = drive(cstr, 3, react)
        assert "V1" in sheet.triggered_vetoes and sheet.total == 0.0
        assert trace.column("L").max() >= 90
        assert trace.column("F_in")[-1] == 0.0  # the interlock cut the feed

    def test_temperature_high_high_trip_is_vetoed(self, cstr):
        _, sheet, _ = drive(cstr, 3, model_operator(pump_delay=10_000))
        assert sheet.triggered_vetoes == ["V2"]
        assert sheet.total == 0.0 and sheet.total_before_veto > 0


class TestTimingRules:
    def test_late_acknowledgement_loses_only_the_ack_line(self, cstr):
        _, sheet, _ = drive(cstr, 3, model_operator(ack_delay=45))
        lines = awarded(sheet)
        assert lines["L4"] == 0 and lines["L5"] == 15
        assert sheet.total == 90.0

    def test_slow_pump_start_loses_the_response_line_and_raises_tah(self, cstr):
        trace, sheet, _ = drive(cstr, 3, model_operator(ack_delay=1, pump_delay=75))
        lines = awarded(sheet)
        assert lines["L5"] == 0
        assert trace.occurrences_of("alarm_raised", "TAH")
        assert lines["L6"] == 0  # nobody acknowledged TAH
        assert not sheet.vetoed

    def test_late_switch_to_auto_loses_the_deadline_line(self, cstr):
        def react(sim):
            if sim.time == 100:
                sim.act("set_LIC_mode", {"mode": "AUTO"})
            if "P101_TRIP" in sim.batch.active_alarms(0) and not sim.values()["P102_running"]:
                sim.act("acknowledge", {"alarm": "P101_TRIP"})
                sim.act("start_P102")

        _, sheet, _ = drive(cstr, 3, react)
        assert awarded(sheet)["L1"] == 0 and sheet.total == 90.0

    def test_holding_the_band_is_measured_as_a_share_of_time(self, cstr):
        def react(sim):
            if sim.time == 20:
                sim.act("set_LIC_mode", {"mode": "AUTO"})
            if sim.time == 200:
                sim.act("set_LIC_sp", {"value": 70})  # drives the level out of the band
            if "P101_TRIP" in sim.batch.active_alarms(0) and not sim.values()["P102_running"]:
                sim.act("acknowledge", {"alarm": "P101_TRIP"})
                sim.act("start_P102")

        trace, sheet, _ = drive(cstr, 3, react)
        band = next(line for line in sheet.lines if line.id == "L2")
        level = trace.column("L")[trace.times >= 60]
        expected = float(((level >= 40) & (level <= 60)).mean())
        assert band.evidence["share"] == round(expected, 4) and expected < 0.95
        assert band.awarded == 0
