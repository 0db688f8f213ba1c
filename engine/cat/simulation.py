"""Simulated adaptive tests with known abilities, and Sympson–Hetter calibration.

:func:`simulate` runs the engine's own step functions for many simulees in lockstep
(cohorts of ``cohort`` persons): estimate → stop? → select → draw the response from
the true θ with the IRT core's kernels → record. :func:`summarize` turns the outcome
into the report of ``skillcert simulate-cat``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from .engine import AdaptiveEngine
from .errors import CATOptionsError
from .exposure import SympsonHetter
from .scores import rudner_accuracy_consistency
from .stopping import SPRT


@dataclass
class SimulationResult:
    """Outcome of a simulation.

    Attributes
    ----------
    true_theta, theta, se : (n,) truth, final estimates, final SEs
    length : (n,) items administered
    items : (n, max_length) administered item positions, −1 after the end
    exposure_counts : (n_items,) administrations per item
    selection_counts : (n_items,) times an item reached the exposure lottery
    blueprint_violations : (n,) broken blueprint rules per simulee
    wall_seconds : time of the run
    decision : (n,) SPRT decisions (+1 pass, −1 fail, 0 undecided) if an SPRT is used
    """

    true_theta: np.ndarray
    theta: np.ndarray
    se: np.ndarray
    length: np.ndarray
    items: np.ndarray
    exposure_counts: np.ndarray
    selection_counts: np.ndarray
    blueprint_violations: np.ndarray
    wall_seconds: float
    decision: np.ndarray | None = None

    @property
    def n_steps(self) -> int:
        return int(self.length.sum())

    @property
    def exposure_rates(self) -> np.ndarray:
        return self.exposure_counts / self.true_theta.size


def draw_responses(engine: AdaptiveEngine, theta: np.ndarray, items: np.ndarray,
                   rng: np.random.Generator) -> np.ndarray:
    """Category indices drawn for persons with abilities ``theta`` (m,) on ``items`` (m,)."""
    p, _ = engine.bank.kernel_terms(theta, items[:, None])
    p = p[:, 0, :]
    p = np.where(np.arange(p.shape[1]) < engine.bank.bank.n_categories[items][:, None], p, 0.0)
    cum = np.cumsum(p, axis=1)
    u = rng.random(items.size)[:, None] * cum[:, -1:]
    return np.minimum((u > cum).sum(axis=1), engine.bank.top_category[items])


def simulate(engine: AdaptiveEngine, true_theta: np.ndarray, rng: np.random.Generator,
             cohort: int = 2000, seconds_per_item: float = 0.0) -> SimulationResult:
    """Run adaptive tests for simulees with abilities ``true_theta`` (n,).

    With a hard exposure ceiling the ledger is updated after each cohort, so use
    small cohorts (e.g. 50) to let the ceiling act as it would in live operation.
    """
    start = time.perf_counter()
    n, n_items = true_theta.size, engine.bank.n_items
    theta, se = np.zeros(n), np.zeros(n)
    length = np.zeros(n, dtype=np.int64)
    items = np.full((n, engine.stopping.max_length), -1, dtype=np.int64)
    exposure, selected = np.zeros(n_items), np.zeros(n_items)
    sprt = [r for r in engine.stopping.rules if isinstance(r, SPRT)]
    decision = np.zeros(n, dtype=np.int64) if sprt else None
    for lo in range(0, n, cohort):
        part = slice(lo, min(n, lo + cohort))
        state = _run_cohort(engine, true_theta[part], rng, selected, seconds_per_item)
        est = engine.estimate(state)
        theta[part], se[part], length[part] = est.theta, est.se, state.length
        items[part] = state.items
        if sprt:
            decision[part] = sprt[0].decision(engine.bank, state)
        counts = np.bincount(state.items[state.items >= 0], minlength=n_items)
        exposure += counts
        if engine.ceiling is not None:
            engine.ceiling.counts = engine.ceiling.counts + counts
            engine.ceiling.n_tests += state.n
    violations = np.zeros(n, dtype=np.int64)
    if engine.blueprint is not None:
        violations = np.array([len(engine.blueprint.violations(row[row >= 0])) for row in items])
    return SimulationResult(true_theta, theta, se, length, items, exposure, selected, violations,
                            time.perf_counter() - start, decision)


def _run_cohort(engine, truth, rng, selected, seconds_per_item):
    state = engine.start(truth.size)
    active = np.arange(truth.size)
    while active.size:
        est = engine.estimate(state)
        stop = engine.should_stop(state, est)
        active = np.flatnonzero(~stop)
        if not active.size:
            break
        choice = engine.select(state, est, rng, active)
        ok = choice.items >= 0
        if choice.considered_items is not None:
            np.add.at(selected, choice.considered_items, 1.0)
        else:
            np.add.at(selected, choice.items[ok], 1.0)
        if not ok.all():  # bank exhausted for these persons
            state.length[active[~ok]] = engine.stopping.max_length
        rows, chosen = active[ok], choice.items[ok]
        engine.record(state, rows, chosen, draw_responses(engine, truth[rows], chosen, rng),
                      seconds_per_item)
    return state


def calibrate_sympson_hetter(engine: AdaptiveEngine, r_max: float, theta: np.ndarray,
                             rng: np.random.Generator, n_iterations: int = 15,
                             safety: float = 2.0) -> tuple[np.ndarray, list[float]]:
    """Sympson–Hetter exposure parameters by iterative simulation.

    Each round simulates the simulees ``theta`` with the current parameters ``K`` and
    sets ``K_j = r* / P(S_j)`` where the selection rate ``P(S_j) > r*``, else 1. The
    working target ``r* = r_max − safety·√(r_max(1 − r_max)/n)`` sits one sampling SD
    (for ``safety = 1``) below ``r_max``, because rates estimated from ``n`` simulees
    are noisy and an item calibrated exactly to r_max exceeds it half of the time.
    Parameters only decrease from round to round (a monotone, conservative iteration);
    it stops after the first round (from the fourth on) whose largest exposure rate is
    at most ``r*``, or after ``n_iterations`` rounds.

    Returns
    -------
    k : (n_items,) exposure parameters (those of the last simulated round)
    history : largest exposure rate of each round
    """
    if not 0 < r_max <= 1:
        raise CATOptionsError("r_max must lie in (0, 1]")
    target = r_max - safety * np.sqrt(r_max * (1.0 - r_max) / theta.size)
    k = np.ones(engine.bank.n_items)
    history: list[float] = []
    for round_ in range(n_iterations):
        trial = replace(engine, exposure=SympsonHetter(k))
        result = simulate(trial, theta, rng)
        history.append(float(result.exposure_rates.max()))
        if round_ >= 3 and history[-1] <= target:
            break
        p_select = result.selection_counts / theta.size
        # Parameters only ever decrease: restricting the leaders pushes selections to
        # the next items, and letting a parameter rise again makes the rates oscillate.
        k = np.minimum(k, np.where(p_select > target, target / np.maximum(p_select, 1e-12), 1.0))
    return k, history


def summarize(result: SimulationResult, cut: float | None = None, n_bins: int = 8) -> dict:
    """The simulation report: accuracy, length, exposure, overlap, classification.

    The pass/fail decision is the SPRT's where it decided, else ``θ̂ ≥ cut``.
    """
    err = result.theta - result.true_theta
    n = result.true_theta.size
    rates = result.exposure_rates
    shared = np.sum(result.exposure_counts * (result.exposure_counts - 1)) / max(n * (n - 1), 1)
    report = {
        "n_examinees": n,
        "bias": float(err.mean()),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "mean_se": float(result.se.mean()),
        "length": {"mean": float(result.length.mean()), "sd": float(result.length.std()),
                   "min": int(result.length.min()), "max": int(result.length.max())},
        "by_theta": _by_bins(result, n_bins),
        "exposure": {"max": float(rates.max()), "mean": float(rates.mean()),
                     "unused_fraction": float(np.mean(result.exposure_counts == 0)),
                     "histogram": _histogram(rates)},
        "mean_overlap": float(shared / max(result.length.mean(), 1e-12)),
        "mean_shared_items": float(shared),
        "blueprint_violations": int(result.blueprint_violations.sum()),
        "wall_seconds": result.wall_seconds,
        "seconds_per_item_step": result.wall_seconds / max(result.n_steps, 1),
    }
    if cut is not None:
        passed = result.theta >= cut
        if result.decision is not None:
            passed = np.where(result.decision != 0, result.decision > 0, passed)
        truth = result.true_theta >= cut
        acc, cons = rudner_accuracy_consistency(result.theta, result.se, cut)
        report["classification"] = {"cut": cut, "correct": float(np.mean(passed == truth)),
                                    "false_pass": float(np.mean(passed & ~truth)),
                                    "false_fail": float(np.mean(~passed & truth)),
                                    "rudner_accuracy": acc, "rudner_consistency": cons}
    return report


def _by_bins(result: SimulationResult, n_bins: int) -> list[dict]:
    edges = np.linspace(-3.0, 3.0, n_bins + 1)
    edges[0], edges[-1] = -np.inf, np.inf
    out = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=False):
        m = (result.true_theta >= lo) & (result.true_theta < hi)
        if not m.any():
            continue
        err = result.theta[m] - result.true_theta[m]
        out.append({"low": None if np.isinf(lo) else float(lo),
                    "high": None if np.isinf(hi) else float(hi), "n": int(m.sum()),
                    "bias": float(err.mean()), "rmse": float(np.sqrt(np.mean(err**2))),
                    "mean_se": float(result.se[m].mean()),
                    "mean_length": float(result.length[m].mean())})
    return out


def _histogram(rates: np.ndarray) -> list[dict]:
    edges = [0.0, 1e-12, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.5, 1.0 + 1e-9]
    counts, _ = np.histogram(rates, bins=edges)
    return [{"low": lo, "high": min(hi, 1.0), "n_items": int(c)}
            for lo, hi, c in zip(edges[:-1], edges[1:], counts, strict=False)]
