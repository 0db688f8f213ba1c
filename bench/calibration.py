"""Calibration benchmark: skillcert against the Python IRT packages girth and mirt.

Every (tool, data set) pair runs in its own worker process on the same seeded
simulated data, so wall time and peak memory are measured per fit. Reported per fit:
wall time of the estimation call (data preparation excluded), the marginal
log-likelihood of the returned estimates evaluated by one common function (61-node
grid on [−6, 6], N(0, 1)), RMSE of slopes and difficulties against the truth, and the
worker's peak resident memory.

    .venv/bin/python bench/calibration.py            # the full sets of issue 3
    .venv/bin/python bench/calibration.py --quick    # smaller sets, a minute or two
    .venv/bin/python bench/calibration.py --sets 2pl-20k grm-5k --tools skillcert mirt
    .venv/bin/python bench/calibration.py --only sparse-2pl-20k --tools skillcert mirt --repeat 7

Peers are skipped where they cannot run: girth and mirt need a dense persons × items
array, which is not built for the 200,000 × 2,000 sparse set.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from itembank.irt.estimation import calibrate  # noqa: E402
from itembank.irt.likelihood import Quadrature, grid_log_likelihood  # noqa: E402
from itembank.irt.models import ItemBank  # noqa: E402
from itembank.irt.simulate import random_bank, simulate_responses  # noqa: E402

SETS = {
    "2pl-20k": dict(model="2pl", persons=20_000, items=100),
    "2pl-100k": dict(model="2pl", persons=100_000, items=200),
    "3pl-20k": dict(model="3pl", persons=20_000, items=100),
    "grm-5k": dict(model="grm", persons=5_000, items=20, categories=4),
    "sparse-2pl-20k": dict(model="2pl", persons=20_000, items=100, per_person=30),
    "sparse-2pl-200k": dict(model="2pl", persons=200_000, items=2_000, per_person=30,
                            dense_peers=False),
}
QUICK = {
    "2pl-20k": dict(model="2pl", persons=5_000, items=50),
    "2pl-100k": dict(model="2pl", persons=20_000, items=100),
    "3pl-20k": dict(model="3pl", persons=5_000, items=50),
    "grm-5k": dict(model="grm", persons=2_000, items=10, categories=4),
    "sparse-2pl-20k": dict(model="2pl", persons=5_000, items=100, per_person=30),
    "sparse-2pl-200k": dict(model="2pl", persons=40_000, items=1_000, per_person=30,
                            dense_peers=False),
}
TOOLS = ("skillcert", "girth", "mirt")
PEER_MAX_CELLS = 50_000_000


def make_data(spec: dict, seed: int = 2026):
    rng = np.random.default_rng(seed)
    bank = random_bank(spec["items"], spec["model"], rng, spec.get("categories", 2))
    data = simulate_responses(bank, rng.normal(size=spec["persons"]), rng,
                              spec.get("per_person"))
    return bank, data


def marginal_loglik(data, bank: ItemBank) -> float:
    quad = Quadrature.grid(61, 6.0)
    ll = grid_log_likelihood(data, bank, quad.nodes)
    top = ll.max(axis=1, keepdims=True)
    return float(np.sum(top[:, 0] + np.log(np.exp(ll - top) @ np.exp(quad.log_weights()))))


def _bank_from_irt(template: ItemBank, a, b, c=None) -> ItemBank:
    a = np.asarray(a, float).ravel()
    b = np.asarray(b, float).reshape(template.n_items, -1)
    c = np.zeros(template.n_items) if c is None else np.asarray(c, float).ravel()
    return ItemBank(template.ids, template.models, a, -a[:, None] * b, c, template.categories)


# ---------------------------------------------------------------------------------------
# One fit per tool
# ---------------------------------------------------------------------------------------


def fit_skillcert(spec, data, truth):
    start = time.perf_counter()
    res = calibrate(data, spec["model"])
    return time.perf_counter() - start, res.bank


def _dense(data, missing=np.nan):
    x = data.to_dense()
    x[np.isnan(x)] = missing
    return x


def _check_dense(spec, data):
    if not spec.get("dense_peers", True) or data.n_persons * data.n_items > PEER_MAX_CELLS:
        raise RuntimeError("not run: needs a dense persons × items array "
                           f"({data.n_persons} × {data.n_items})")


def fit_girth(spec, data, truth):
    import girth

    _check_dense(spec, data)
    x = _dense(data, -1).astype(int).T
    if np.any(x < 0):
        x = girth.tag_missing_data(x, list(range(truth.max_categories)))
    fun = {"2pl": girth.twopl_mml, "3pl": girth.threepl_mml, "grm": girth.grm_mml}[spec["model"]]
    start = time.perf_counter()
    out = fun(x)
    elapsed = time.perf_counter() - start
    return elapsed, _bank_from_irt(truth, out["Discrimination"], out["Difficulty"],
                                   out.get("Guessing"))


def fit_mirt(spec, data, truth):
    import mirt

    _check_dense(spec, data)
    x = _dense(data)
    start = time.perf_counter()
    res = mirt.fit_mirt(x, model=spec["model"].upper(), compute_standard_errors=False)
    elapsed = time.perf_counter() - start
    p = res.model.parameters
    b = p.get("difficulty", p.get("thresholds"))
    return elapsed, _bank_from_irt(truth, p["discrimination"], b, p.get("guessing"))


FITTERS = {"skillcert": fit_skillcert, "girth": fit_girth, "mirt": fit_mirt}


def worker(tool: str, name: str, quick: bool) -> dict:
    spec = (QUICK if quick else SETS)[name]
    truth, data = make_data(spec)
    row = {"tool": tool, "set": name, "persons": spec["persons"], "items": spec["items"],
           "responses": data.n_observed}
    try:
        elapsed, est = FITTERS[tool](spec, data, truth)
    except Exception as exc:  # a peer failing is a result, not a crash of the bench
        row["error"] = f"{type(exc).__name__}: {exc}"[:160]
    else:
        row.update(seconds=round(elapsed, 3), loglik=round(marginal_loglik(data, est), 1),
                   rmse_a=round(_rmse(est.a, truth.a), 4), rmse_b=round(_rmse(est.b, truth.b), 4))
    row["peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return row


def _rmse(x, y) -> float:
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = ~(np.isnan(x) | np.isnan(y))
    return float(np.sqrt(np.mean((x[ok] - y[ok]) ** 2)))


# ---------------------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------------------


def run_one(tool: str, name: str, quick: bool, timeout: float) -> dict:
    cmd = [sys.executable, __file__, "--worker", tool, name]
    cmd += ["--quick"] if quick else []
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if out.stdout.strip():
            return json.loads(out.stdout.strip().splitlines()[-1])
        tail = (out.stderr.strip().splitlines() or [f"exit code {out.returncode}"])[-1]
        return {"tool": tool, "set": name, "error": tail[:160]}
    except subprocess.TimeoutExpired:
        return {"tool": tool, "set": name, "error": f"timeout after {timeout:.0f} s"}


def run_all(sets, tools, quick: bool, timeout: float, repeat: int = 1) -> list[dict]:
    """Fit every (set, tool); with ``repeat`` > 1 the tools alternate within each round
    (ours, peer, ours, peer, …) so that a loaded machine slows all of them alike, and
    the row reported per pair is the one with the median wall time."""
    rows = []
    for name in sets:
        runs: dict[str, list[dict]] = {tool: [] for tool in tools}
        for rep in range(repeat):
            for tool in tools:
                row = run_one(tool, name, quick, timeout)
                runs[tool].append(row)
                if repeat > 1:
                    print(f"  round {rep + 1}/{repeat}: " + _format(row), flush=True)
        for tool in tools:
            row = _median_row(runs[tool])
            rows.append(row)
            print(_format(row), flush=True)
    return rows


def _median_row(runs: list[dict]) -> dict:
    ok = sorted((r for r in runs if "error" not in r), key=lambda r: r["seconds"])
    if not ok:
        return runs[-1]
    row = dict(ok[(len(ok) - 1) // 2])  # lower median: an actual run's row
    if len(runs) > 1:
        row["runs"] = len(ok)
        row["all_seconds"] = [r["seconds"] for r in runs if "error" not in r]
        row["seconds"] = round(float(np.median([r["seconds"] for r in ok])), 3)
    return row


def _format(row: dict) -> str:
    head = f"{row['set']:<16} {row['tool']:<10}"
    if "error" in row:
        return f"{head} {row['error']}"
    text = (f"{head} {row['seconds']:>8.3f} s  loglik {row['loglik']:>14.1f}  "
            f"RMSE a {row['rmse_a']:.4f}  b {row['rmse_b']:.4f}  peak {row['peak_mb']:>6} MB")
    if "runs" in row:
        text += f"  (median of {row['runs']})"
    return text


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller data sets")
    ap.add_argument("--sets", nargs="*", default=list(SETS))
    ap.add_argument("--tools", nargs="*", default=list(TOOLS))
    ap.add_argument("--only", metavar="SET", help="shorthand for --sets SET")
    ap.add_argument("--repeat", type=int, default=1,
                    help="fits per (set, tool), tools interleaved; the median is reported")
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds per fit")
    ap.add_argument("--json", type=Path, help="also write the rows to this file")
    ap.add_argument("--worker", nargs=2, metavar=("TOOL", "SET"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker[0], args.worker[1], args.quick)))
        return
    print(f"{'set':<16} {'tool':<10} {'wall':>10}   (loglik at the estimates, same grid)")
    sets = [args.only] if args.only else args.sets
    unknown = [s for s in sets if s not in SETS]
    if unknown:
        ap.error(f"unknown set {unknown[0]!r}; choose from {', '.join(SETS)}")
    rows = run_all(sets, args.tools, args.quick, args.timeout, max(args.repeat, 1))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
