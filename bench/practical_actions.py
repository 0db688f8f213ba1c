"""Latency of one practical action late in a CSTR run: kept live run vs cold replay.

The server answers an action with the state after it. With the attempt's run kept in
this worker (engine.practical.simulation.RUNS) that is a sync of the log, the ticks
since the last request, and a one-tick look-ahead; after a miss (another worker, a
restart) it is a replay of the whole log from the seed. Also: the CPU of a 1 Hz state
push per kept run. No database: the service's DB work is the same either way.

    .venv/bin/python bench/practical_actions.py [--actions 40] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

# bench/simulations.py shadows the package when run from bench/: drop bench/ from the path.
_BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH]
sys.path.insert(0, str(_BENCH.parent))

import numpy as np  # noqa: E402

from engine.practical.simulation import RunCache, state_at  # noqa: E402
from simulations.runtime import LoggedAction  # noqa: E402
from simulations.scenarios import load_builtin  # noqa: E402


def operator_log(n: int, rng: np.random.Generator) -> list[LoggedAction]:
    times = np.sort(rng.uniform(1.0, 550.0, n))
    names = [("set_LIC_sp", 30, 70), ("set_TIC_sp", 50, 80), ("set_TIC_output", 10, 90)]
    log = []
    for t in times:
        name, low, high = names[int(rng.integers(len(names)))]
        log.append(LoggedAction(float(t), name, {"value": float(rng.uniform(low, high))}))
    return log


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actions", type=int, default=40, help="actions before the late one")
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    program = load_builtin("chemical-cstr-control")
    rng = np.random.default_rng(1)
    log = operator_log(options.actions, rng)
    late = LoggedAction(575.3, "set_LIC_sp", {"value": 55.0})
    full = log + [late]
    at = program.tick_of(late.t) * program.tick
    seed = 20260101

    hit, cold, pushes = [], [], []
    for r in range(options.repeat):
        cache = RunCache(8)
        key = (r, "bench", seed)
        cache.view(key, program, log, late.t - 0.4)  # the page's last push, just before the click
        started = time.perf_counter()
        hot_view = cache.view(key, program, full, at)
        hit.append(time.perf_counter() - started)
        for second in range(int(at) + 1, int(at) + 11):  # ten 1 Hz pushes after the action
            started = time.process_time()
            cache.view(key, program, full, float(second) + 0.5)
            pushes.append(time.process_time() - started)
        cache.clear()
        started = time.perf_counter()
        cold_view = cache.view(key, program, full, at)
        cold.append(time.perf_counter() - started)
        assert hot_view == cold_view == state_at(program, full, seed, at)

    def ms(values: list[float]) -> str:
        return f"median {1000 * statistics.median(values):8.2f} ms   max {1000 * max(values):8.2f} ms"

    print(f"CSTR ({program.n_ticks} ticks of {program.tick:g} s), action #{len(full)} at t = {late.t} s, "
          f"{options.repeat} repeats")
    print(f"  kept run (cache hit): {ms(hit)}")
    print(f"  cold replay (miss):   {ms(cold)}")
    print(f"  speed-up: x{statistics.median(cold) / statistics.median(hit):.0f}")
    push = statistics.median(pushes)
    print(f"  1 Hz push per kept run: {1000 * push:.2f} ms CPU -> {push * 1000:.2f} cores for 1,000 sessions "
          f"(each ticked alone; bench/simulations.py measures the batched runtime)")


if __name__ == "__main__":
    main()
