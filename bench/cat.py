"""Adaptive-testing benchmark: skillcert against catsim, throughput and step latency.

    .venv/bin/python bench/cat.py              # everything (about two minutes on 2 cores)
    .venv/bin/python bench/cat.py --quick      # smaller runs
    .venv/bin/python bench/cat.py --json out.json

1. Peer comparison on one seeded simulation: a 1,000-item 2PL bank
   (a ~ U(0.5, 2), b ~ N(0, 1)), 1,000 simulees θ ~ N(0, 1), fixed length 30,
   maximum-information selection, first item at θ = 0. skillcert runs with EAP (its
   default) and with ML (the estimator closest to catsim's); catsim runs with
   ``MaxInfoSelector``, ``NumericalSearchEstimator`` (bounded search, Dodd's rule for
   extreme patterns) and ``FixedPointInitializer(0)``; the PyPI package ``mirt`` runs
   its ``CATEngine`` (MFI, EAP on 61 Gauss–Hermite nodes, which sends this
   configuration to its Rust lock-step path). mirt's CAT engine refuses unfitted
   models, so the known parameters are set with ``set_parameters`` and the model is
   marked fitted through its private ``_is_fitted`` flag.
   The same comparison with randomesque exposure control (k = 5) on fewer simulees,
   where mirt falls back to its per-examinee Python path (catsim is not run there).
2. Throughput: 10,000 simulees × 30 items on the same bank.
3. Step latency of one live sitting (``SessionRunner.answer``: fold the response,
   estimate, stopping check, selection) over a 5,000-item bank with Sympson–Hetter
   exposure control and the shadow test (5 elements × 3 item types, 500 enemy pairs).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.cat import (  # noqa: E402
    AdaptiveEngine,
    Blueprint,
    CATBank,
    MLEstimator,
    Randomesque,
    Response,
    SessionRunner,
    StoppingPolicy,
    SympsonHetter,
    calibrate_sympson_hetter,
    simulate,
)
from engine.cat.simulation import draw_responses  # noqa: E402
from itembank.irt.models import ItemBank  # noqa: E402


def make_bank(n_items: int, seed: int) -> tuple[ItemBank, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(0.5, 2.0, n_items), rng.normal(0.0, 1.0, n_items)
    bank = ItemBank(ids=tuple(f"i{j}" for j in range(n_items)), models=("2pl",) * n_items,
                    a=a, d=(-a * b)[:, None], c=np.zeros(n_items))
    return bank, a, b


def rmse(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(x) - np.asarray(y)) ** 2)))


def run_skillcert(bank: ItemBank, theta: np.ndarray, estimator=None) -> dict:
    start = time.perf_counter()
    cbank = CATBank(bank)
    setup = time.perf_counter() - start
    engine = AdaptiveEngine(cbank, stopping=StoppingPolicy(30, 30))
    if estimator is not None:
        engine = replace(engine, estimator=estimator)
    out = simulate(engine, theta, np.random.default_rng(2))
    wall = out.wall_seconds + setup
    return {"wall_seconds": wall, "setup_seconds": setup,
            "ms_per_item_step": 1e3 * wall / out.n_steps, "rmse": rmse(out.theta, theta),
            "bias": float(np.mean(out.theta - theta))}


def run_catsim(a: np.ndarray, b: np.ndarray, theta: np.ndarray) -> dict:
    from catsim.estimation import NumericalSearchEstimator
    from catsim.initialization import FixedPointInitializer
    from catsim.item_bank import ItemBank as CatsimBank
    from catsim.selection import MaxInfoSelector
    from catsim.simulation import Simulator
    from catsim.stopping import MinErrorStopper

    items = np.c_[a, b, np.zeros(a.size), np.ones(a.size)]
    start = time.perf_counter()
    sim = Simulator(CatsimBank(items), theta, seed=2)
    sim.simulate(FixedPointInitializer(0.0), MaxInfoSelector(), NumericalSearchEstimator(),
                 MinErrorStopper(1e-12, min_items=30, max_items=30))
    wall = time.perf_counter() - start
    steps = sum(len(x) for x in sim.administered_items)
    est = np.array(sim.latest_estimations)
    return {"wall_seconds": wall, "ms_per_item_step": 1e3 * wall / steps,
            "rmse": rmse(est, theta), "bias": float(np.mean(est - theta))}


def run_mirt(a: np.ndarray, b: np.ndarray, theta: np.ndarray, exposure=None) -> dict:
    from mirt.cat import CATEngine
    from mirt.models import TwoParameterLogistic

    start = time.perf_counter()
    model = TwoParameterLogistic(n_items=a.size)
    model.set_parameters(discrimination=a, difficulty=b)
    model._is_fitted = True  # known parameters, no fit (see the module docstring)
    engine = CATEngine(model, item_selection="MFI", stopping_rule="SE", scoring_method="EAP",
                       se_threshold=1e-9, min_items=30, max_items=30, n_quadpts=61, seed=2,
                       exposure_control=exposure)
    results = engine.run_batch_simulation(theta)
    wall = time.perf_counter() - start
    est = np.array([r.theta for r in results])
    steps = sum(r.n_items_administered for r in results)
    return {"wall_seconds": wall, "ms_per_item_step": 1e3 * wall / steps,
            "rmse": rmse(est, theta), "bias": float(np.mean(est - theta))}


def peer_comparison(n_simulees: int) -> dict:
    bank, a, b = make_bank(1000, seed=1)
    theta = np.random.default_rng(3).normal(size=n_simulees)
    out = {"skillcert_eap": run_skillcert(bank, theta),
           "skillcert_ml": run_skillcert(bank, theta, MLEstimator()),
           "mirt_eap": run_mirt(a, b, theta),
           "catsim": run_catsim(a, b, theta)}
    for name in ("eap", "ml"):
        out[f"speedup_{name}_vs_catsim"] = (out["catsim"]["wall_seconds"]
                                            / out[f"skillcert_{name}"]["wall_seconds"])
    out["speedup_eap_vs_mirt"] = (out["mirt_eap"]["wall_seconds"]
                                  / out["skillcert_eap"]["wall_seconds"])
    return out


def peer_randomesque(n_simulees: int) -> dict:
    from mirt.cat.exposure import Randomesque as MirtRandomesque

    bank, a, b = make_bank(1000, seed=1)
    theta = np.random.default_rng(9).normal(size=n_simulees)
    start = time.perf_counter()
    engine = AdaptiveEngine(CATBank(bank), exposure=Randomesque(5),
                            stopping=StoppingPolicy(30, 30))
    res = simulate(engine, theta, np.random.default_rng(2))
    wall = time.perf_counter() - start
    out = {"skillcert_eap": {"wall_seconds": wall, "ms_per_item_step": 1e3 * wall / res.n_steps,
                             "rmse": rmse(res.theta, theta),
                             "bias": float(np.mean(res.theta - theta))},
           "mirt_eap": run_mirt(a, b, theta, MirtRandomesque(5, seed=4))}
    out["speedup_eap_vs_mirt"] = (out["mirt_eap"]["wall_seconds"]
                                  / out["skillcert_eap"]["wall_seconds"])
    return out


def throughput(n_simulees: int) -> dict:
    bank, _, _ = make_bank(1000, seed=1)
    theta = np.random.default_rng(4).normal(size=n_simulees)
    res = run_skillcert(bank, theta)
    res["n_simulees"] = n_simulees
    return res


def latency_blueprint(ids: tuple[str, ...]) -> Blueprint:
    elements, types = ("E1", "E2", "E3", "E4", "E5"), ("single", "multiple", "judgement")
    items = {i: {"element": elements[j % 5], "type": types[j % 3]} for j, i in enumerate(ids)}
    return Blueprint.from_dict({
        "length": 30, "items": items,
        "constraints": {"element": {e: 6 for e in elements},
                        "type": {"single": {"min": 8, "max": 15}, "judgement": {"max": 7}}},
        "enemies": [[ids[2 * j], ids[2 * j + 1]] for j in range(500)]})


def step_latency(n_sittings: int, n_calibration: int) -> dict:
    bank, _, _ = make_bank(5000, seed=5)
    start = time.perf_counter()
    cbank = CATBank(bank)
    setup = time.perf_counter() - start
    plain = AdaptiveEngine(cbank, stopping=StoppingPolicy(30, 30))
    start = time.perf_counter()
    k, history = calibrate_sympson_hetter(plain, 0.2,
                                          np.random.default_rng(6).normal(size=n_calibration),
                                          np.random.default_rng(7), n_iterations=8)
    calibration = time.perf_counter() - start
    compiled = latency_blueprint(cbank.ids).compile(cbank.ids, 30)
    engine = replace(plain, exposure=SympsonHetter(k), blueprint=compiled)
    runner = SessionRunner(engine)
    rng = np.random.default_rng(8)
    times, violations = [], 0
    for seed in range(n_sittings):
        true = rng.normal()
        state = runner.start(seed)
        while not state.finished:
            j = cbank.index_of(state.pending.item_id)
            x = int(draw_responses(engine, np.array([true]), np.array([j]), rng)[0])
            t0 = time.perf_counter()
            state = runner.answer(state, Response(state.pending.item_id, x))
            times.append(time.perf_counter() - t0)
        violations += len(compiled.violations(state.trail.answered(0)[0]))
    ms = 1e3 * np.array(times)
    return {"bank_items": 5000, "bank_setup_seconds": setup,
            "sympson_hetter_calibration_seconds": calibration,
            "sympson_hetter_max_rates": history, "n_steps": int(ms.size),
            "median_ms": float(np.median(ms)), "p90_ms": float(np.percentile(ms, 90)),
            "p99_ms": float(np.percentile(ms, 99)), "blueprint_violations": violations,
            "branch_and_bound_steps": compiled.n_branch_and_bound}


def _line(name: str, r: dict) -> None:
    print(f"  {name:14s} wall {r['wall_seconds']:7.2f} s  {r['ms_per_item_step']:7.4f} ms/step"
          f"  RMSE {r['rmse']:.3f}  bias {r['bias']:+.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    quick = args.quick
    report = {"peer": peer_comparison(200 if quick else 1000),
              "peer_randomesque": peer_randomesque(50 if quick else 300),
              "throughput": throughput(2000 if quick else 10_000),
              "latency": step_latency(20 if quick else 100, 500 if quick else 1000)}
    peer = report["peer"]
    print("1,000-item 2PL bank, 30 items, max information:")
    for name in ("skillcert_eap", "skillcert_ml", "mirt_eap", "catsim"):
        _line(name, peer[name])
    print(f"  speed-up vs catsim: EAP {peer['speedup_eap_vs_catsim']:.0f}×, "
          f"ML {peer['speedup_ml_vs_catsim']:.0f}×; vs mirt (EAP) "
          f"{peer['speedup_eap_vs_mirt']:.1f}×")
    rq = report["peer_randomesque"]
    print("same with randomesque (k = 5) exposure control:")
    for name in ("skillcert_eap", "mirt_eap"):
        _line(name, rq[name])
    print(f"  speed-up vs mirt: {rq['speedup_eap_vs_mirt']:.0f}×")
    t = report["throughput"]
    print(f"{t['n_simulees']:,} simulees × 30 items: {t['wall_seconds']:.2f} s "
          f"(RMSE {t['rmse']:.3f})")
    lat = report["latency"]
    print(f"one live step, 5,000-item bank, Sympson–Hetter + shadow test: median "
          f"{lat['median_ms']:.2f} ms, p90 {lat['p90_ms']:.2f} ms, p99 {lat['p99_ms']:.2f} ms "
          f"over {lat['n_steps']} steps; blueprint violations {lat['blueprint_violations']}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
