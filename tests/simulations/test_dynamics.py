"""Continuous dynamics: fixed-step RK4 against analytic solutions; batches vs singles."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulations.runtime import Simulation, SimulationBatch, replay, score
from simulations.runtime.trace import LoggedAction
from simulations.scenario import load_scenario_text


def ode_scenario(
    state: str, dynamics: str, *, substeps: int = 10, tick: float = 1.0, limit: float = 60
) -> str:
    return f"""
id: ode
version: 1
title: {{zh: 微分方程, en: ODE}}
occupation: {{name: {{zh: 测试, en: Test}}}}
time_limit: {limit}
clock: {{tick: {tick}, substeps: {substeps}}}
instructions: {{zh: 无, en: none}}
state:
{state}
  done: {{type: bool, initial: false}}
dynamics:
{dynamics}
actions:
  press: {{label: {{zh: 按, en: Press}}, effects: {{done: true}}}}
controls:
  - {{id: b, kind: button, label: {{zh: 按钮, en: Button}}, actions: [press]}}
rubric:
  lines:
    - {{id: L1, text: {{zh: 按, en: press}}, points: 1, check: {{did: press}}}}
"""


def run(text: str, seed: int = 0):
    program = load_scenario_text(text)
    return program, Simulation.from_seed(program, seed).run_to_end()


class TestAgainstAnalyticSolutions:
    def test_exponential_decay(self):
        _, trace = run(ode_scenario("  x: {type: real, initial: 1.0}", '  x: "-0.5 * x"'))
        exact = np.exp(-0.5 * trace.times)
        relative = np.abs(trace.column("x") - exact) / exact
        # RK4's relative error grows like t * k * (h k)**4 / 120 (h = 0.1 s, k = 0.5)
        assert relative[-1] == pytest.approx(60 * 0.5 * 0.05**4 / 120, rel=0.05)
        assert np.all(relative[1:] <= trace.times[1:] * 0.5 * 0.05**4 / 120 * 1.05)

    def test_harmonic_oscillator(self):
        state = "  x: {type: real, initial: 1.0}\n  v: {type: real, initial: 0.0}"
        _, trace = run(ode_scenario(state, '  x: "v"\n  v: "-4.0 * x"', substeps=20))
        # phase error of RK4 ~ t * w * (w h)**4 / 120 with w = 2, h = 0.05: 1e-4 at 60 s
        assert np.max(np.abs(trace.column("x") - np.cos(2 * trace.times))) < 1.1e-4
        energy = trace.column("v") ** 2 + 4 * trace.column("x") ** 2
        assert np.max(np.abs(energy - 4.0)) < 1e-4

    def test_time_dependent_forcing(self):
        _, trace = run(ode_scenario("  x: {type: real, initial: 0.0}", '  x: "cos(t)"'))
        assert np.max(np.abs(trace.column("x") - np.sin(trace.times))) < 1e-7

    def test_logistic_growth(self):
        _, trace = run(ode_scenario("  p: {type: real, initial: 0.1}", '  p: "0.3 * p * (1 - p)"'))
        exact = 1 / (1 + 9 * np.exp(-0.3 * trace.times))
        assert np.max(np.abs(trace.column("p") - exact)) < 1e-8

    def test_fourth_order_convergence(self):
        state = "  x: {type: real, initial: 1.0}\n  v: {type: real, initial: 0.0}"
        errors = []
        for substeps in (2, 4, 8):
            _, trace = run(
                ode_scenario(state, '  x: "v"\n  v: "-4.0 * x"', substeps=substeps, limit=20)
            )
            errors.append(abs(trace.column("x")[-1] - math.cos(40)))
        ratios = [errors[0] / errors[1], errors[1] / errors[2]]
        assert all(12 < r < 20 for r in ratios), ratios  # 2**4 = 16

    def test_range_clamps_the_state(self):
        _, trace = run(ode_scenario("  x: {type: real, range: [0, 5], initial: 1.0}", '  x: "1.0"'))
        assert trace.column("x").max() == 5.0
        assert trace.column("x")[3] == pytest.approx(4.0)

    @settings(max_examples=25, deadline=None)
    @given(k=st.floats(0.01, 2.0), x0=st.floats(-100, 100).filter(lambda v: abs(v) > 1e-3))
    def test_linear_decay_for_any_rate(self, k, x0):
        text = ode_scenario(f"  x: {{type: real, initial: {x0!r}}}", f'  x: "-{k!r} * x"', limit=10)
        _, trace = run(text)
        exact = x0 * np.exp(-k * trace.times)
        bound = abs(x0) * math.exp(-1) * (0.1 * k) ** 4 / 120  # max over t of the RK4 error
        assert np.max(np.abs(trace.column("x") - exact)) <= 1.1 * bound + 1e-12


class TestBatches:
    TEXT = ode_scenario(
        "  x: {type: real, initial: {between: [0.5, 2.0]}}\n  y: {type: real, initial: 0.0}",
        '  x: "-0.2 * x + sin(y)"\n  y: "exp(-x) - 0.1 * y if not done else 0.0"',
        limit=30,
    )

    def test_each_session_of_a_batch_equals_its_replay_bit_for_bit(self):
        program = load_scenario_text(self.TEXT)
        seeds = list(range(40))
        batch = SimulationBatch.from_seeds(program, seeds)
        logs: dict[int, list[LoggedAction]] = {i: [] for i in seeds}
        rng = np.random.default_rng(123)
        press_at = {i: int(rng.integers(1, 25)) for i in seeds}
        while not batch.done:
            for i in seeds:
                if batch.tick_index == press_at[i]:
                    batch.submit(i, "press")
                    logs[i].append(LoggedAction(batch.time, "press"))
                if batch.tick_index == 28 and i % 2:
                    batch.submit(i, "finish")
                    logs[i].append(LoggedAction(batch.time, "finish"))
            batch.advance()
        traces = batch.traces()
        for i in seeds:
            again = replay(program, logs[i], i)
            assert again.fingerprint() == traces[i].fingerprint()
            assert score(program, again) == score(program, traces[i])
        assert len({t.fingerprint() for t in traces}) == len(seeds)
        assert traces[1].ended_by == "finish" and traces[0].ended_by == "time_limit"

    def test_seeded_initial_values_are_reproducible_and_within_bounds(self):
        program = load_scenario_text(self.TEXT)
        first = SimulationBatch.from_seeds(program, [5, 6])
        second = SimulationBatch.from_seeds(program, [5, 6])
        assert np.array_equal(first.state, second.state)
        x = first.state[:, program.column["x"]]
        assert ((x >= 0.5) & (x <= 2.0)).all() and x[0] != x[1]


class TestRecordingOnlyScoredVariables:
    def test_sheets_are_identical_and_traces_smaller(self, cstr):
        full = SimulationBatch.from_seeds(cstr, [3, 4])
        lean = SimulationBatch.from_seeds(cstr, [3, 4], record_all=False)
        for batch in (full, lean):
            batch.submit(0, "set_LIC_mode", {"mode": "AUTO"}, t=20)
            batch.run()
        for a, b in zip(full.traces(), lean.traces(), strict=True):
            assert b.states.shape[1] < a.states.shape[1] / 2
            assert set(b.names) == {"L", "T", "LIC_mode", "TIC_mode"}
            assert score(cstr, a) == score(cstr, b)

    def test_other_builtins_score_the_same_from_lean_traces(self, electrician, cnc):
        for program, actions in (
            (electrician, ["don_ppe", "open_QF1", "open_QS2"]),
            (cnc, ["main_power_on", "release_estop"]),
        ):
            full = SimulationBatch.from_seeds(program, [1])
            lean = SimulationBatch.from_seeds(program, [1], record_all=False)
            for batch in (full, lean):
                for k, name in enumerate(actions):
                    batch.submit(0, name, t=5 * (k + 1))
                batch.run()
            assert score(program, full.traces()[0]) == score(program, lean.traces()[0])
