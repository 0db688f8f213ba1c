"""Benchmarks of the simulation engine (not part of the test suite).

1. Scoring throughput: simulate 10,000 candidate runs of the three built-in scenarios
   (varied, partly faulty operators), then time rubric scoring of all recorded traces.
   Target: >= 2,000 traces/s.
2. Ticking cost: 1,000 concurrent CSTR sessions in one batch, advanced tick by tick
   with candidates acting at random; CPU seconds per simulated second = cores needed
   to keep them at 1 Hz. Target: under one core.

Run: ``.venv/bin/python bench/simulations.py`` (``--help`` for sizes).
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

# This file is named like the package it measures: drop bench/ from the import path so
# ``import simulations`` finds the package, and make the repository importable.
_BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH]
sys.path.insert(0, str(_BENCH.parent))

import numpy as np

from simulations.runtime import SimulationBatch, score
from simulations.runtime.program import Program
from simulations.runtime.trace import Trace
from simulations.scenarios import load_builtin

# The correct operation ticket, shared with the tests and the CLI example.
ELECTRICIAN_TICKET = [(step["t"], step["action"]) for step in json.loads(
    (_BENCH.parent / "tests" / "simulations" / "actions" / "electrician_model.json").read_text())]


def electrician_plans(n: int, rng: np.random.Generator) -> list[dict[int, list[tuple[str, dict]]]]:
    """Per session, tick -> actions: the ticket with random slips (skips, swaps, delays)."""
    plans = []
    for _ in range(n):
        steps = list(ELECTRICIAN_TICKET)
        if rng.random() < 0.2:  # skip one step
            del steps[int(rng.integers(0, len(steps) - 1))]
        if rng.random() < 0.2:  # swap two neighbouring steps
            i = int(rng.integers(0, len(steps) - 2))
            steps[i], steps[i + 1] = (steps[i][0], steps[i + 1][1]), (steps[i + 1][0], steps[i][1])
        delay = int(rng.integers(0, 120))
        plan: dict[int, list[tuple[str, dict]]] = {}
        for t, name in steps:
            plan.setdefault(t + delay, []).append((name, {}))
        plans.append(plan)
    return plans


def run_scripted(
    program: Program, seeds: list[int], plans: list[dict[int, list[tuple[str, dict]]]]
) -> list[Trace]:
    batch = SimulationBatch.from_seeds(program, seeds, record_all=False)
    while not batch.done:
        k = batch.tick_index
        for i, plan in enumerate(plans):
            for name, args in plan.get(k, ()):
                if batch.sessions[i].end_tick is None and not batch.sessions[i].finishing:
                    batch.submit(i, name, args)
        batch.advance()
    return batch.traces()


def run_cstr(program: Program, seeds: list[int], rng: np.random.Generator) -> list[Trace]:
    """CSTR operators with random reaction times; some never start the standby pump."""
    n = len(seeds)
    batch = SimulationBatch.from_seeds(program, seeds, record_all=False)
    auto_at = rng.integers(5, 150, n)
    ack_delay = rng.integers(1, 60, n)
    pump_delay = np.where(rng.random(n) < 0.15, 10_000, rng.integers(1, 90, n))
    trip_col = [a.id for a in program.alarms].index("P101_TRIP")
    trip_seen = np.full(n, -1)
    while not batch.done:
        k = batch.tick_index
        newly = (trip_seen < 0) & batch.alarm_active[:, trip_col]
        trip_seen[newly] = k
        for i in range(n):
            if batch.sessions[i].end_tick is not None:
                continue
            if k == auto_at[i]:
                batch.submit(i, "set_LIC_mode", {"mode": "AUTO"})
            if trip_seen[i] >= 0 and k == trip_seen[i] + ack_delay[i]:
                batch.submit(i, "acknowledge", {"alarm": "P101_TRIP"})
            if trip_seen[i] >= 0 and k == trip_seen[i] + pump_delay[i]:
                batch.submit(i, "start_P102")
        batch.advance()
    return batch.traces()


def run_cnc(program: Program, seeds: list[int], rng: np.random.Generator) -> list[Trace]:
    """CNC operators reading their touch-off values; some mistype or skip the dry run."""
    n = len(seeds)
    batch = SimulationBatch.from_seeds(program, seeds, record_all=False)
    typo = np.where(rng.random(n) < 0.1, rng.choice([0.03, 0.5], n), 0.0)
    skip_dry = rng.random(n) < 0.1
    plan = {
        5: "main_power_on",
        10: "release_estop",
        15: "nc_power_on",
        20: "close_door",
        25: "home_X",
        35: "home_Z",
        45: "start_spindle",
        115: "touch_off_Z",
        120: "touch_off_X",
        125: "stop_spindle",
        130: "enter_offset_Z",
        135: "enter_offset_X",
        140: "load_program",
        145: "dry_run",
        150: "cycle_start",
        260: "open_door",
        265: "finish",
    }
    col = program.column
    while not batch.done:
        name = plan.get(batch.tick_index)
        for i in range(n):
            if (
                name is None
                or batch.sessions[i].end_tick is not None
                or (name == "dry_run" and skip_dry[i])
            ):
                continue
            args: dict = {}
            if name == "start_spindle":
                args = {"speed": 600.0}
            elif name.startswith("enter_offset_"):
                args = {
                    "value": float(batch.state[i, col["measured_" + name[-1]]]) + float(typo[i])
                }
            batch.submit(i, name, args)
        batch.advance()
    return batch.traces()


def record_traces(total: int, rng: np.random.Generator) -> list[tuple[Program, Trace]]:
    programs = {
        sid: load_builtin(sid)
        for sid in ("electrician-feeder-switching", "chemical-cstr-control", "cnc-lathe-startup")
    }
    shares = {
        "electrician-feeder-switching": 0.4,
        "chemical-cstr-control": 0.3,
        "cnc-lathe-startup": 0.3,
    }
    runners: dict[str, Callable[[Program, list[int]], list[Trace]]] = {
        "electrician-feeder-switching": lambda p, s: run_scripted(
            p, s, electrician_plans(len(s), rng)
        ),
        "chemical-cstr-control": lambda p, s: run_cstr(p, s, rng),
        "cnc-lathe-startup": lambda p, s: run_cnc(p, s, rng),
    }
    recorded: list[tuple[Program, Trace]] = []
    seed = 0
    for sid, share in shares.items():
        count = round(total * share) if sid != "cnc-lathe-startup" else total - len(recorded)
        for start in range(0, count, 1000):
            seeds = list(range(seed, seed + min(1000, count - start)))
            seed += len(seeds)
            recorded.extend((programs[sid], t) for t in runners[sid](programs[sid], seeds))
    return recorded


def bench_scoring(n_traces: int, rng: np.random.Generator) -> None:
    started = time.perf_counter()
    recorded = record_traces(n_traces, rng)
    simulated = time.perf_counter() - started
    # the recorded traces are millions of long-lived objects; keep the cyclic GC from
    # rescanning them during the timed loop (a server scores one trace at a time)
    gc.collect()
    gc.freeze()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    sheets = [score(program, trace) for program, trace in recorded]
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    totals = np.array([s.total for s in sheets])
    vetoed = sum(s.vetoed for s in sheets)
    print(f"scoring: {len(sheets)} traces recorded in {simulated:.1f} s (3 scenarios)")
    print(
        f"scoring: {len(sheets) / wall:,.0f} traces/s wall, {len(sheets) / cpu:,.0f} traces per CPU-second "
        f"on one core ({cpu * 1e6 / len(sheets):.0f} us CPU/trace)  [target >= 2,000 traces/s]"
    )
    print(
        f"scoring: mean total {totals.mean():.1f}, {np.mean(totals == 100) * 100:.0f}% at 100, {vetoed} vetoed"
    )


def bench_ticking(n_sims: int, n_ticks: int, rng: np.random.Generator) -> None:
    program = load_builtin("chemical-cstr-control")
    batch = SimulationBatch.from_seeds(program, range(n_sims), record_all=False)
    modes = ["MAN", "AUTO"]
    tick_cpu = []
    for _ in range(min(n_ticks, program.n_ticks)):
        cpu0 = time.process_time()
        # about 1 in 50 candidates acts each second, like people at a screen
        for i in np.flatnonzero(rng.random(n_sims) < 0.02):
            choice = rng.integers(0, 3)
            if choice == 0:
                batch.submit(int(i), "set_LIC_sp", {"value": float(rng.uniform(45, 55))})
            elif choice == 1:
                batch.submit(int(i), "set_TIC_sp", {"value": float(rng.uniform(68, 72))})
            else:
                mode = modes[int(batch.state[i, program.column["LIC_mode"]])]
                batch.submit(int(i), "set_LIC_mode", {"mode": "AUTO" if mode == "MAN" else "MAN"})
        batch.advance()
        tick_cpu.append(time.process_time() - cpu0)
    per_tick = np.array(tick_cpu)
    print(
        f"ticking: {n_sims} concurrent CSTR sessions, {len(per_tick)} ticks of {program.tick:g} s, "
        f"RK4 x {program.substeps} substeps, {len(program.ode)} ODEs + {len(program.derived)} derived"
    )
    print(
        f"ticking: CPU per tick mean {per_tick.mean() * 1e3:.1f} ms, p99 {np.percentile(per_tick, 99) * 1e3:.1f} ms"
        f" -> {per_tick.mean() / program.tick:.3f} cores at 1 Hz  [target < 1 core]"
    )
    per_hour = n_sims * len(batch.recorded_names) * 8 * 3600 / program.tick / 2**20
    print(
        f"ticking: trace memory {per_hour:.0f} MiB per hour for all {n_sims} sessions "
        f"({len(batch.recorded_names)} of {len(program.variables)} variables recorded: the rubric's)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=10_000)
    parser.add_argument("--sims", type=int, default=1_000)
    parser.add_argument("--ticks", type=int, default=300)
    parser.add_argument("--seed", type=int, default=20261124)
    options = parser.parse_args()
    rng = np.random.default_rng(options.seed)
    bench_ticking(options.sims, options.ticks, rng)
    bench_scoring(options.traces, rng)


if __name__ == "__main__":
    main()
