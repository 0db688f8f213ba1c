"""Adaptive-testing commands of the ``skillcert`` CLI: simulate-cat and assemble.

``register(app)`` adds the commands to a Typer application. Malformed inputs (bad
JSON, unknown items, bad option values) and blueprints the bank cannot meet end with
a one-line ``error: …`` on stderr and exit code 2; for ``assemble`` the message names
each constraint group that cannot be met and by how much.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np
import typer

from engine.assembly import AssemblyError, AssemblyOptions, assemble_forms
from engine.cat import (
    Blueprint,
    CATBank,
    CATError,
    CATSettings,
    calibrate_sympson_hetter,
    fixed_form_decision_quality,
    simulate,
    summarize,
)
from itembank.irt.errors import IRTError
from itembank.irt.params_io import read_params


@contextmanager
def _clear_errors():
    try:
        yield
    except (CATError, IRTError, AssemblyError, OSError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None


def _abilities(spec: str, n: int, rng: np.random.Generator, mean: float, sd: float) -> np.ndarray:
    if spec == "normal":
        return rng.normal(mean, sd, n)
    if spec == "uniform":
        return rng.uniform(-3.0, 3.0, n)
    path = Path(spec)
    if not path.exists():
        raise ValueError(f"--theta {spec!r}: use normal, uniform or an existing file")
    values = []
    for k, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        cell = line.split(",")[-1].strip()
        if not cell or (k == 1 and cell.lower() == "theta"):
            continue
        try:
            values.append(float(cell))
        except ValueError:
            raise ValueError(f"{path}: line {k}: {cell!r} is not a number") from None
    if not values:
        raise ValueError(f"{path}: no abilities")
    return np.array(values)


def simulate_cat(
    bank: Path = typer.Option(..., "--bank", help="PARAMS.json"),
    blueprint: Path | None = typer.Option(None, "--blueprint", help="BLUEPRINT.json"),
    examinees: int = typer.Option(1000, "--examinees", min=1),
    theta: str = typer.Option("normal", "--theta", help="normal | uniform | FILE"),
    min_length: int = typer.Option(30, "--min-length", min=1),
    max_length: int = typer.Option(30, "--max-length", min=1),
    se_stop: float | None = typer.Option(None, "--se-stop"),
    selection: str = typer.Option("mfi", "--selection", help="mfi | kl | astrat"),
    exposure: str = typer.Option("none", "--exposure",
                                 help="none | randomesque:K | sympson-hetter:RMAX"),
    estimator: str = typer.Option("eap", "--estimator", help="eap | map | ml | wle"),
    random_start: int = typer.Option(0, "--random-start", min=0),
    cut: float | None = typer.Option(None, "--cut", help="cut θ for classification"),
    classification: str = typer.Option("none", "--classification",
                                       help="none | sprt | ci (needs --cut)"),
    alpha: float = typer.Option(0.05, "--alpha", help="SPRT/CI error rate (false pass)"),
    beta: float = typer.Option(0.05, "--beta", help="SPRT error rate (false fail)"),
    delta: float = typer.Option(0.3, "--delta", help="SPRT indifference half-width"),
    sh_simulees: int = typer.Option(1000, "--sh-simulees", min=100,
                                    help="simulees per Sympson–Hetter calibration round"),
    sh_rounds: int = typer.Option(15, "--sh-rounds", min=1,
                                  help="maximum Sympson–Hetter calibration rounds"),
    seed: int = typer.Option(0, "--seed"),
    out: Path = typer.Option(..., "--out", help="REPORT.json"),
) -> None:
    """Simulate adaptive tests with known abilities and write a report.

    With sympson-hetter the exposure parameters are first calibrated by iterative
    simulation (at most --sh-rounds rounds of --sh-simulees simulees, drawn like
    --theta); with a blueprint every simulated step solves a shadow test, so budget
    about 2 ms per simulated item for that calibration.
    """
    with _clear_errors():
        items, population = read_params(bank)
        rng = np.random.default_rng(seed)
        settings = CATSettings(min_length=min_length, max_length=max_length, se_stop=se_stop,
                               estimator=estimator, selection=selection,
                               random_start=random_start, exposure=exposure, cut_theta=cut,
                               classification=classification, alpha=alpha, beta=beta,
                               delta=delta)
        cbank = CATBank(items)
        bp = Blueprint.load(blueprint) if blueprint is not None else None
        true_theta = _abilities(theta, examinees, rng, population.mean, population.sd)
        extra, k = {}, None
        r_max = settings.sympson_hetter_r_max
        if r_max is not None:
            plain = replace(settings, exposure="none").build(cbank, bp)
            calib = _abilities(theta, sh_simulees, rng, population.mean, population.sd)
            if calib.size != sh_simulees:  # a FILE of abilities: resample it
                calib = rng.choice(calib, sh_simulees)
            k, history = calibrate_sympson_hetter(plain, r_max, calib, rng, n_iterations=sh_rounds)
            extra["sympson_hetter"] = {"r_max": r_max, "calibration_max_rates": history,
                                       "n_restricted": int(np.sum(k < 1))}
        engine = settings.build(cbank, bp, sympson_hetter=k)
        result = simulate(engine, true_theta, rng)
        report = summarize(result, cut=cut)
        report["settings"] = dict(settings.to_dict(), bank=str(bank), theta=theta, seed=seed,
                                  blueprint=str(blueprint) if blueprint else None)
        report.update(extra)
        out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    typer.echo(f"{examinees} simulees: RMSE {report['rmse']:.3f}, bias {report['bias']:+.3f}, "
               f"mean length {report['length']['mean']:.1f}, max exposure "
               f"{report['exposure']['max']:.3f}, blueprint violations "
               f"{report['blueprint_violations']}, "
               f"{1e3 * report['seconds_per_item_step']:.3f} ms per item step → {out}")


def assemble(
    bank: Path = typer.Option(..., "--bank", help="PARAMS.json"),
    blueprint: Path = typer.Option(..., "--blueprint", help="BLUEPRINT.json"),
    forms: int = typer.Option(2, "--forms", min=1),
    length: int | None = typer.Option(None, "--length", help="default: blueprint length"),
    max_overlap: int | None = typer.Option(None, "--max-overlap"),
    cut: float | None = typer.Option(None, "--cut", help="default: blueprint cut_theta or 0"),
    time_limit: float = typer.Option(60.0, "--time-limit"),
    out: Path = typer.Option(..., "--out", help="FORMS.json"),
) -> None:
    """Assemble parallel fixed forms from the bank that meet the blueprint."""
    with _clear_errors():
        items, population = read_params(bank)
        bp = Blueprint.load(blueprint)
        result = assemble_forms(items, bp, AssemblyOptions(
            n_forms=forms, length=length, max_overlap=max_overlap, cut_theta=cut,
            time_limit=time_limit))
        thetas = [t for t, _ in bp.information]
        doc = {"cut_theta": result.cut_theta, "n_forms": forms,
               "forms": [{"id": f"F{k + 1}", "items": ids,
                          "information_at_cut": float(result.information[k]),
                          "points": float(result.points[k]),
                          "decision_quality": _quality(items, ids, result.cut_theta, population),
                          "information": {f"{t:g}": float(v) for t, v in
                                          zip(thetas, result.target_information[k], strict=False)}}
                         for k, ids in enumerate(result.forms)],
               "overlap": result.overlap.tolist(), "solve_seconds": result.solve_seconds}
        out.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    typer.echo(f"{forms} forms of {len(result.forms[0])} items, information at cut "
               f"{result.information.min():.2f}–{result.information.max():.2f} → {out}")


def _quality(items, ids, cut, population) -> dict:
    """Rudner accuracy and consistency of a fixed form at the cut for the population."""
    acc, cons = fixed_form_decision_quality(items.subset(items.index(ids)), cut,
                                            population.mean, population.sd)
    return {"rudner_accuracy": acc, "rudner_consistency": cons}


def register(app: typer.Typer) -> None:
    """Add ``simulate-cat`` and ``assemble`` to ``app``."""
    app.command("simulate-cat")(simulate_cat)
    app.command("assemble")(assemble)
