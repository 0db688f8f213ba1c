"""Self-contained HTML calibration report with inline SVG curves (standard library only).

Curves are first computed as data (:func:`curves`), then drawn as SVG polylines, so the
same numbers can be plotted elsewhere.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from string import Template

import numpy as np

from .estimation import CalibrationResult
from .fit import ItemFitResult
from .models import ItemBank

_PAGE = Template("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>$title</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;font-size:.9rem}
td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:right}
th{background:#f3f3f3}td.id{text-align:left}.grid{display:flex;flex-wrap:wrap;gap:1rem}
figure{margin:0}figcaption{font-size:.85rem;text-align:center}
</style></head><body>
<h1>$title</h1>
<h2>Convergence</h2>$summary
<h2>Test information and standard error</h2>$test_plot
<h2>Item parameters</h2>$table
<h2>Item characteristic curves</h2><div class="grid">$icc</div>
<h2>Item information</h2><div class="grid">$info</div>
</body></html>
""")


@dataclass
class Curves:
    """Curves as data: theta (n,), icc/info (n, n_items), test information and SE (n,)."""

    theta: np.ndarray
    icc: np.ndarray
    item_information: np.ndarray
    test_information: np.ndarray
    se: np.ndarray


def curves(bank: ItemBank, theta: np.ndarray | None = None) -> Curves:
    """Expected-score ICCs, item and test information and SE on a θ grid."""
    th = np.linspace(-4, 4, 81) if theta is None else np.asarray(theta, dtype=float)
    info = bank.item_information(th)
    total = info.sum(axis=1)
    se = 1.0 / np.sqrt(np.maximum(total, 1e-12))
    return Curves(th, bank.expected_scores(th), info, total, se)


def svg_plot(x: np.ndarray, series: list[np.ndarray], width: int = 260, height: int = 170,
             y_max: float | None = None, labels: tuple[str, str] = ("θ", "")) -> str:
    """A minimal line chart as an inline SVG string."""
    pad = 28
    top = y_max if y_max is not None else max(float(np.max(s)) for s in series) or 1.0
    def sx(v):
        return pad + (v - x[0]) / (x[-1] - x[0]) * (width - pad - 6)
    def sy(v):
        return height - pad - (min(v, top) / top) * (height - pad - 8)
    colors = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")
    lines = []
    for k, s in enumerate(series):
        pts = " ".join(f"{sx(a):.1f},{sy(b):.1f}" for a, b in zip(x, s, strict=False))
        lines.append(f'<polyline fill="none" stroke="{colors[k % 4]}" stroke-width="1.5" '
                     f'points="{pts}"/>')
    axes = (f'<line x1="{pad}" y1="{height - pad}" x2="{width - 6}" y2="{height - pad}" '
            f'stroke="#888"/><line x1="{pad}" y1="8" x2="{pad}" y2="{height - pad}" stroke="#888"/>'
            f'<text x="{width / 2:.0f}" y="{height - 8}" font-size="11">{html.escape(labels[0])}'
            f'</text><text x="2" y="14" font-size="10">{top:.2g}</text>'
            f'<text x="{pad - 8}" y="{height - pad + 12}" font-size="10">{x[0]:g}</text>'
            f'<text x="{width - 20}" y="{height - pad + 12}" font-size="10">{x[-1]:g}</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'role="img" aria-label="{html.escape(labels[1])}">{axes}{"".join(lines)}</svg>')


def _fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, (list, tuple)):
        return ", ".join(_fmt(x) for x in v)
    return f"{v:.3f}" if np.isfinite(v) else str(v)


def _param_table(result: CalibrationResult, fit: ItemFitResult | None) -> str:
    head = ["item", "model", "a", "d", "b", "c", "SE a", "SE d"]
    if fit is not None:
        head += ["S-X²", "df", "p"]
    rows = ["<tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"]
    for j, it in enumerate(result.items):
        se = it.se or {}
        cells = [it.model, _fmt(it.a), _fmt(list(it.d)), _fmt(it.b), _fmt(it.c),
                 _fmt(se.get("a")), _fmt(se.get("d"))]
        if fit is not None:
            cells += [_fmt(fit.s_x2[j]), str(fit.df[j]), _fmt(fit.p[j])]
        rows.append(f'<tr><td class="id">{html.escape(it.id)}</td>'
                    + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    return "<table>" + "".join(rows) + "</table>"


def calibration_report(result: CalibrationResult, fit: ItemFitResult | None = None,
                       title: str = "Calibration report") -> str:
    """Render the HTML report of a calibration (optionally with S-X² item fit)."""
    cv = curves(result.bank)
    pop = result.population
    summary = (f"<p>{result.n_persons} persons, {result.n_items} items, {result.n_observed} "
               f"responses; log-likelihood {result.loglik:.3f}; "
               f"{'converged' if result.converged else 'NOT converged'} after "
               f"{result.n_cycles} cycles (last change {result.max_change:.2e}); "
               f"population N({pop.mean:.3f}, {pop.sd:.3f}²); SEs: "
               f"{result.se_method or 'not computed'}.</p>")
    test_plot = (svg_plot(cv.theta, [cv.test_information], 520, 240, labels=("θ", "information"))
                 + svg_plot(cv.theta, [cv.se], 520, 240, y_max=min(float(cv.se.max()), 3.0),
                            labels=("θ", "standard error")))
    icc, info = [], []
    for j, item_id in enumerate(result.bank.ids):
        name = html.escape(item_id)
        top = float(max(result.bank.categories[j]))
        icc_svg = svg_plot(cv.theta, [cv.icc[:, j]], y_max=top or 1.0, labels=("θ", name))
        icc.append(f"<figure>{icc_svg}"
                   f"<figcaption>{name}</figcaption></figure>")
        info.append(f"<figure>{svg_plot(cv.theta, [cv.item_information[:, j]], labels=('θ', name))}"
                    f"<figcaption>{name}</figcaption></figure>")
    return _PAGE.substitute(title=html.escape(title), summary=summary, test_plot=test_plot,
                            table=_param_table(result, fit), icc="".join(icc),
                            info="".join(info))
