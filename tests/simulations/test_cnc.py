"""Built-in scenario 3: CNC lathe start-up, touch-off, dry run, machining."""

from __future__ import annotations

from simulations.runtime import replay, score
from tests.simulations.conftest import awarded, drive


def operator(*, skip=(), door_open_spindle=False, offset_error=0.0, open_door_at=260, extra=None):
    """A scripted operator that reads the touch-off values off the screen."""
    plan = {
        5: ("main_power_on", None),
        10: ("release_estop", None),
        15: ("nc_power_on", None),
        20: ("close_door", None),
        25: ("home_X", None),
        35: ("home_Z", None),
        45: ("start_spindle", {"speed": 600}),
        115: ("touch_off_Z", None),
        120: ("touch_off_X", None),
        125: ("stop_spindle", None),
        130: ("enter_offset_Z", "Z"),
        135: ("enter_offset_X", "X"),
        140: ("load_program", None),
        145: ("dry_run", None),
        150: ("cycle_start", None),
        open_door_at: ("open_door", None),
        265: ("finish", None),
    }
    if door_open_spindle:
        plan[20], plan[44] = ("home_X", None), ("close_door", None)
        plan[25] = ("home_Z", None)
        del plan[35]
        plan[40] = ("start_spindle", {"speed": 600})
        plan[45] = ("stop_spindle", None)
        plan[46] = ("start_spindle", {"speed": 600})
    plan.update(extra or {})

    def react(sim) -> None:
        step = plan.get(int(sim.time))
        if step is None or step[0] in skip:
            return
        name, args = step
        if args in ("Z", "X"):
            args = {"value": sim.values()[f"measured_{args}"] + offset_error}
        sim.act(name, args)

    return react


class TestModelRun:
    def test_model_run_scores_100(self, cnc):
        trace, sheet, _ = drive(cnc, 5, operator())
        assert sheet.total == 100.0 and not sheet.vetoed
        assert trace.occurrences_of("event", "part_finished")

    def test_offsets_differ_per_seed_and_model_still_scores_100(self, cnc):
        readings = set()
        for seed in (1, 2):
            trace, sheet, _ = drive(cnc, seed, operator())
            assert sheet.total == 100.0
            readings.add(float(trace.column("offset_Z")[-1]))
        assert len(readings) == 2

    def test_spindle_reaches_speed_with_first_order_lag(self, cnc):
        trace, _, _ = drive(cnc, 5, operator())
        rpm = trace.column("spindle_rpm")
        # started at 45 s towards 600 rpm with tau = 1.2 s: 600 * (1 - exp(-t / 1.2))
        import math

        for dt in (1, 2, 3):
            assert abs(rpm[45 + dt] - 600 * (1 - math.exp(-dt / 1.2))) < 0.01  # RK4, h = 0.25 s

    def test_replay_is_bit_for_bit(self, cnc):
        trace, sheet, log = drive(cnc, 8, operator())
        again = replay(cnc, log, 8)
        assert again.fingerprint() == trace.fingerprint()
        assert score(cnc, again).to_json() == sheet.to_json()


class TestVetoes:
    def test_spindle_started_with_door_open_is_vetoed(self, cnc):
        _, sheet, _ = drive(cnc, 5, operator(door_open_spindle=True))
        assert "V1" in sheet.triggered_vetoes and sheet.total == 0.0

    def test_door_opened_while_spindle_turns_is_vetoed(self, cnc):
        _, sheet, _ = drive(
            cnc, 5, operator(extra={60: ("open_door", None), 61: ("close_door", None)})
        )
        assert sheet.triggered_vetoes == ["V2"]

    def test_automatic_run_without_dry_run_is_vetoed(self, cnc):
        _, sheet, _ = drive(cnc, 5, operator(skip=("dry_run",)))
        assert "V3" in sheet.triggered_vetoes
        assert awarded(sheet)["L6"] == 0

    def test_wrong_offset_crashes_and_is_vetoed(self, cnc):
        # a 0.5 mm typo: the dry run flags it, the candidate runs anyway
        trace, sheet, _ = drive(cnc, 5, operator(offset_error=0.5))
        assert {"V3", "V4"} <= set(sheet.triggered_vetoes)
        assert trace.column("crashed")[-1] == 1.0

    def test_not_finishing_in_time_is_vetoed(self, cnc):
        _, sheet, _ = drive(cnc, 5, operator(skip=("finish",)))
        assert sheet.triggered_vetoes == ["V5"]


class TestOrderAndTolerance:
    def test_homing_z_before_x_loses_the_order_line(self, cnc):
        _, sheet, _ = drive(cnc, 5, operator(extra={25: ("home_Z", None), 35: ("home_X", None)}))
        assert awarded(sheet)["L2"] == 0 and sheet.total == 90.0

    def test_offset_error_within_the_veto_margin_but_outside_tolerance(self, cnc):
        _, sheet, _ = drive(cnc, 5, operator(offset_error=0.03))
        lines = awarded(sheet)
        assert lines["L4"] == 0 and lines["L5"] == 0 and lines["L7"] == 15
        assert not sheet.vetoed and sheet.total == 70.0

    def test_short_warm_up_loses_the_warm_up_line(self, cnc):
        _, sheet, _ = drive(
            cnc,
            5,
            operator(extra={95: ("stop_spindle", None), 96: ("start_spindle", {"speed": 600})}),
        )
        assert awarded(sheet)["L3"] == 0
        warm = next(line for line in sheet.lines if line.id == "L3")
        assert warm.evidence["longest_s"] < 60

    def test_each_started_minute_beyond_ten_is_deducted(self, cnc):
        # finish at 725 s: 125 s over 600 s -> 3 started minutes -> 3 points
        _, sheet, _ = drive(
            cnc, 5, operator(extra={265: ("load_program", None), 725: ("finish", None)})
        )
        overtime = next(d for d in sheet.deductions if d.id == "D2")
        assert overtime.evidence["periods"] == 3 and overtime.awarded == 3
        assert sheet.total == 97.0 and not sheet.vetoed
