"""IRT commands of the ``skillcert`` CLI: calibrate, score, itemfit, dif, link.

``register(app)`` adds the commands to a Typer application. Every malformed input
(non-integer cell, constant column, unanswered item, ragged row, unknown model, bad
JSON) ends with a one-line ``error: …`` message on stderr naming the row/column, and
exit code 2.
"""

from __future__ import annotations

import contextlib
import csv
import json
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import typer

from itembank.irt.classical import classical_stats
from itembank.irt.data import read_responses_csv
from itembank.irt.dif import mantel_haenszel
from itembank.irt.errors import ConvergenceWarning, IRTError
from itembank.irt.estimation import CalibrationOptions, Prior, PriorSet, calibrate
from itembank.irt.fit import s_x2
from itembank.irt.linking import link, transform_bank
from itembank.irt.params_io import bank_to_dict, read_params, result_to_dict, write_params
from itembank.irt.report import calibration_report
from itembank.irt.scoring import ScoringOptions, score_persons, sum_score_table


@contextmanager
def _clear_errors():
    """Turn domain and file errors into ``error: …`` on stderr and exit code 2."""
    try:
        yield
    except (IRTError, OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None


def _parse_model(model: str):
    """A model name, or a JSON map item → model (inline or as a file path)."""
    text = model.strip()
    if text.endswith(".json") and Path(text).exists():
        text = Path(text).read_text(encoding="utf-8")
    if text.startswith("{"):
        try:
            mapping = json.loads(text)
        except json.JSONDecodeError as exc:
            raise IRTError(f"--model: not valid JSON ({exc.msg})") from None
        return {str(k): str(v) for k, v in mapping.items()}
    return text.lower()


def _parse_priors(priors: list[str]) -> PriorSet | None:
    """``--prior a=lognormal(0,0.5) --prior c=beta(5,17)``; ``--prior none`` disables all."""
    if not priors:
        return None
    if [p.lower() for p in priors] == ["none"]:
        return PriorSet()
    kwargs = {}
    for text in priors:
        name, _, spec = text.partition("=")
        if name.strip() not in ("a", "d", "c") or not spec:
            raise IRTError(f"--prior {text!r}: expected a=lognormal(m,s), d=normal(m,s) "
                           "or c=beta(α,β)")
        kwargs[name.strip()] = Prior.parse(spec)
    try:
        return PriorSet(**kwargs)
    except IRTError as exc:
        raise IRTError(f"--prior: {exc}") from None


def _write_csv(rows: list[list], header: list[str], out: Path | None) -> None:
    with open(out, "w", newline="", encoding="utf-8") if out else contextlib.nullcontext(sys.stdout) as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _num(v: float) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    if np.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{v:.6f}"


def calibrate_cmd(
    responses: Path = typer.Argument(..., help="RESPONSES.csv"),
    model: str = typer.Option("2pl", help="rasch|1pl|2pl|3pl|grm|gpcm or a JSON map item → model"),
    out: Path = typer.Option(..., "--out", help="PARAMS.json to write"),
    se: bool = typer.Option(False, "--se", help="standard errors (Oakes observed information)"),
    se_method: str = typer.Option("oakes", "--se-method", help="oakes or xpd (cross-product, "
                                  "for very large banks)"),
    fixed: Path | None = typer.Option(None, "--fixed", help="ANCHORS.json: items held fixed"),
    prior: list[str] = typer.Option([], "--prior", help="a=lognormal(0,0.5), d=normal(0,2), "
                                    "c=beta(5,17) or none"),
    report: Path | None = typer.Option(None, "--report", help="REPORT.html to write"),
    max_cycles: int = typer.Option(2000, help="cap on EM cycles"),
    tol: float = typer.Option(1e-4, help="convergence threshold on parameter change"),
) -> None:
    """Calibrate item parameters by marginal maximum likelihood (EM)."""
    with _clear_errors():
        data = read_responses_csv(responses)
        priors = _parse_priors(prior)
        opts = CalibrationOptions(se=se, se_method=se_method, priors=priors,
                                  default_priors=priors is None,
                                  max_cycles=max_cycles, tol=tol)
        anchors = read_params(fixed)[0] if fixed else None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            result = calibrate(data, _parse_model(model), opts, anchors=anchors)
        write_params(result_to_dict(result), out)
        if report:
            fit = _try_fit(data, result)
            report.write_text(calibration_report(result, fit), encoding="utf-8")
    state = "converged" if result.converged else "NOT converged"
    typer.echo(f"{result.n_items} items, {result.n_persons} persons: loglik "
               f"{result.loglik:.3f}, {state} in {result.n_cycles} cycles -> {out}")


def _try_fit(data, result):
    try:
        return s_x2(data, result.bank, result.population)
    except IRTError:
        return None


def score_cmd(
    responses: Path = typer.Argument(..., help="RESPONSES.csv"),
    params: Path = typer.Option(..., "--params", help="PARAMS.json"),
    method: str = typer.Option("eap", help="eap|map|ml|wle|eapsum"),
    out: Path | None = typer.Option(None, "--out", help="SCORES.csv (stdout if omitted)"),
) -> None:
    """Score persons (person_id,theta,se) or write the summed-score table (sum,theta,se)."""
    with _clear_errors():
        if method not in ("eap", "map", "ml", "wle", "eapsum"):
            raise IRTError(f"--method {method!r}: use eap, map, ml, wle or eapsum")
        bank, pop = read_params(params)
        data = read_responses_csv(responses)
        if method == "eapsum":
            table = sum_score_table(bank.subset(bank.index(data.item_ids)), pop)
            rows = [[int(s), _num(t), _num(e)]
                    for s, t, e in zip(table.sums, table.theta, table.se, strict=False)]
            _write_csv(rows, ["sum", "theta", "se"], out)
            return
        res = score_persons(data, bank, pop, ScoringOptions(method=method))
        rows = [[p, _num(t), _num(e)] for p, t, e in zip(res.person_ids, res.theta, res.se, strict=False)]
        _write_csv(rows, ["person_id", "theta", "se"], out)


def itemfit_cmd(
    responses: Path = typer.Argument(..., help="RESPONSES.csv"),
    params: Path = typer.Option(..., "--params", help="PARAMS.json"),
    out: Path | None = typer.Option(None, "--out", help="FIT.csv (stdout if omitted)"),
) -> None:
    """Orlando–Thissen S-X² item fit: CSV item,s_x2,df,p."""
    with _clear_errors():
        bank, pop = read_params(params)
        data = read_responses_csv(responses)
        fit = s_x2(data, bank, pop)
        rows = [[i, _num(s), int(d), _num(p)] for i, s, d, p in
                zip(fit.item_ids, fit.s_x2, fit.df, fit.p, strict=False)]
        _write_csv(rows, ["item", "s_x2", "df", "p"], out)


def dif_cmd(
    responses: Path = typer.Argument(..., help="RESPONSES.csv with a group column"),
    group: str = typer.Option(..., "--group", help="column holding the two group labels"),
    reference: str | None = typer.Option(None, help="reference group label"),
    out: Path | None = typer.Option(None, "--out", help="DIF.csv (stdout if omitted)"),
) -> None:
    """Mantel–Haenszel DIF with ETS A/B/C classes: CSV item,alpha_mh,delta_mh,se,chi2,p,ets."""
    with _clear_errors():
        data, groups = read_responses_csv(responses, group_column=group)
        res = mantel_haenszel(data, groups, reference)
        rows = [[i, _num(a), _num(d), _num(s), _num(c), _num(p), e] for i, a, d, s, c, p, e in
                zip(res.item_ids, res.alpha, res.delta, res.se_delta, res.chi_square, res.p,
                    res.ets_class, strict=False)]
        _write_csv(rows, ["item", "alpha_mh", "delta_mh", "se", "chi2", "p", "ets"], out)


def link_cmd(
    old: Path = typer.Argument(..., help="PARAMS.json of the base scale"),
    new: Path = typer.Argument(..., help="PARAMS.json to put on the base scale"),
    method: str = typer.Option("stocking-lord", help="mean-mean|mean-sigma|haebara|stocking-lord"),
    out: Path | None = typer.Option(None, "--out", help="write NEW transformed to this file"),
) -> None:
    """Linking constants θ_old = A θ_new + B from the common items (JSON on stdout)."""
    with _clear_errors():
        old_bank, _ = read_params(old)
        new_bank, new_pop = read_params(new)
        res = link(old_bank, new_bank, method)
        if out:
            from itembank.irt.linking import transform_population

            moved = transform_bank(new_bank, res.A, res.B)
            write_params(bank_to_dict(moved, transform_population(new_pop, res.A, res.B)), out)
    typer.echo(json.dumps({"method": res.method, "A": res.A, "B": res.B,
                           "common_items": list(res.common_items)}))


def itemstats_cmd(
    responses: Path = typer.Argument(..., help="RESPONSES.csv"),
    out: Path | None = typer.Option(None, "--out", help="CSV (stdout if omitted)"),
) -> None:
    """Classical item statistics: item,n,p_value,point_biserial,alpha_if_deleted."""
    with _clear_errors():
        st = classical_stats(read_responses_csv(responses))
        rows = [[i, int(n), _num(p), _num(r), _num(a)] for i, n, p, r, a in
                zip(st.item_ids, st.n, st.p_value, st.point_biserial, st.alpha_if_deleted, strict=False)]
        _write_csv(rows, ["item", "n", "p_value", "point_biserial", "alpha_if_deleted"], out)


def register(app: typer.Typer) -> None:
    """Add the IRT commands to ``app``."""
    app.command("calibrate")(calibrate_cmd)
    app.command("score")(score_cmd)
    app.command("itemfit")(itemfit_cmd)
    app.command("dif")(dif_cmd)
    app.command("link")(link_cmd)
    app.command("itemstats")(itemstats_cmd)
