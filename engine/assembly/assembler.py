"""N parallel fixed forms from an item bank by mixed-integer programming.

Variables: ``x[f, j] = 1`` when item j is on form f; ``y`` the smallest information of
any form at the cut; for a partial overlap limit ``z[f, g, j] ≥ x[f, j] + x[g, j] − 1``.

Constraints, one *group* per rule (the names used in diagnoses):

``length``             Σ_j x[f, j] = L                                      per form
``<attr>=<value>``     lo ≤ Σ_{j in category} x[f, j] ≤ hi (blueprint counts) per form
``points``             lo ≤ Σ_j points_j x[f, j] ≤ hi                         per form
``information@θ``      Σ_j I_j(θ) x[f, j] ≥ target                            per form
``enemies``            Σ_{j in set} x[f, j] ≤ 1                               per form and set
``overlap``            Σ_j z[f, g, j] ≤ max_overlap (or Σ_f x[f, j] ≤ 1 when it is 0)
Excluded (retired) items have ``x = 0``.

Objective: maximize ``y`` with ``y ≤ Σ_j I_j(θ_cut) x[f, j]`` for every form, which makes
the forms both informative at the cut and parallel there.

Diagnosis. When the program is infeasible, every constraint row gets elastic slack
variables (``row − s⁺ + s⁻`` within its bounds) and the total slack is minimized, with
``length`` slack weighted ×10 so that a missing category is blamed before a short form.
The groups with positive slack, per form, are reported with their shortfall in the
group's unit (items, points, information).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from engine.cat.blueprint import Blueprint
from itembank.irt.models import ItemBank


class AssemblyError(Exception):
    """Base class of form-assembly errors (bad options, unsolvable programs)."""


@dataclass(frozen=True)
class ConstraintShortfall:
    """A rule that cannot be met: the group, the form (None if across forms), by how much."""

    group: str
    form: int | None
    side: str
    shortfall: float

    def __str__(self) -> str:
        where = "" if self.form is None else f" on form {self.form + 1}"
        word = "short by" if self.side == "min" else "over by"
        return f"{self.group}{where}: {word} {self.shortfall:g}"


class InfeasibleAssemblyError(AssemblyError):
    """No set of forms meets every rule; ``shortfalls`` says which rules and by how much."""

    def __init__(self, shortfalls: list[ConstraintShortfall]):
        self.shortfalls = shortfalls
        groups = sorted({s.group for s in shortfalls})
        detail = "; ".join(str(s) for s in shortfalls[:12])
        super().__init__(f"infeasible: cannot meet {', '.join(groups)} ({detail})")


@dataclass(frozen=True)
class AssemblyOptions:
    """Options of :func:`assemble_forms`.

    Attributes
    ----------
    n_forms : number of parallel forms
    length : items per form (default: the blueprint's ``length``)
    max_overlap : items any two forms may share (default: the blueprint's, else 0)
    cut_theta : where information is maximized (default: blueprint ``cut_theta`` or 0)
    time_limit : seconds for the solver
    mip_rel_gap : relative optimality gap accepted
    """

    n_forms: int = 2
    length: int | None = None
    max_overlap: int | None = None
    cut_theta: float | None = None
    time_limit: float = 60.0
    mip_rel_gap: float = 1e-3

    def __post_init__(self) -> None:
        if self.n_forms < 1:
            raise AssemblyError("n_forms must be at least 1")
        if self.length is not None and self.length < 1:
            raise AssemblyError("length must be at least 1")
        if self.max_overlap is not None and self.max_overlap < 0:
            raise AssemblyError("max_overlap must be >= 0")


@dataclass
class AssembledForms:
    """Assembled forms.

    Attributes
    ----------
    forms : item ids per form
    information : (n_forms,) test information of each form at the cut
    target_information : (n_forms, n_targets) information at each blueprint target θ
    overlap : (n_forms, n_forms) shared items between forms
    points : (n_forms,) total points per form
    gap : solver's relative optimality gap
    """

    forms: list[list[str]]
    information: np.ndarray
    target_information: np.ndarray
    overlap: np.ndarray
    points: np.ndarray
    cut_theta: float
    gap: float | None = None
    solve_seconds: float = 0.0
    meta: dict = field(default_factory=dict)


@dataclass
class _Rows:
    """Constraint rows grouped by name, built as COO triplets."""

    rows: list = field(default_factory=list)
    cols: list = field(default_factory=list)
    vals: list = field(default_factory=list)
    lo: list = field(default_factory=list)
    hi: list = field(default_factory=list)
    group: list = field(default_factory=list)
    form: list = field(default_factory=list)

    def add(self, cols, vals, lo, hi, group, form=None):
        r = len(self.lo)
        cols = np.asarray(cols, dtype=np.int64)
        self.rows.append(np.full(cols.size, r))
        self.cols.append(cols)
        self.vals.append(np.broadcast_to(np.asarray(vals, dtype=float), cols.shape))
        self.lo.append(lo)
        self.hi.append(hi)
        self.group.append(group)
        self.form.append(form)

    def add_many(self, cols: np.ndarray, vals: np.ndarray, lo, hi, group: str) -> None:
        """One row per row of ``cols`` (m, k), all with coefficients ``vals`` (k,)."""
        m, k = cols.shape
        first = len(self.lo)
        self.rows.append(np.repeat(np.arange(first, first + m), k))
        self.cols.append(cols.ravel().astype(np.int64))
        self.vals.append(np.tile(vals, m))
        self.lo.extend([lo] * m)
        self.hi.extend([hi] * m)
        self.group.extend([group] * m)
        self.form.extend([None] * m)

    def matrix(self, n_vars: int) -> sp.csr_matrix:
        rows = np.concatenate(self.rows) if self.rows else np.zeros(0, dtype=np.int64)
        cols = np.concatenate(self.cols) if self.cols else np.zeros(0, dtype=np.int64)
        vals = np.concatenate(self.vals) if self.vals else np.zeros(0)
        return sp.csr_matrix((vals, (rows, cols)), shape=(len(self.lo), n_vars))


def assemble_forms(bank: ItemBank, blueprint: Blueprint,
                   options: AssemblyOptions | None = None) -> AssembledForms:
    """Assemble ``options.n_forms`` parallel forms meeting ``blueprint`` (see module doc).

    Raises :class:`InfeasibleAssemblyError` with the shortfall per constraint group.
    """
    import time

    opts = options or AssemblyOptions()
    length = opts.length or blueprint.length
    if not length:
        raise AssemblyError("the form length is neither in the options nor in the blueprint")
    overlap = opts.max_overlap if opts.max_overlap is not None else (blueprint.max_overlap or 0)
    cut = opts.cut_theta if opts.cut_theta is not None else (blueprint.cut_theta or 0.0)
    compiled = blueprint.compile(bank.ids, length)
    model = _Model(bank, compiled, blueprint, opts.n_forms, length, overlap, cut)
    start = time.perf_counter()
    res = model.solve(opts)
    if res.x is None:
        if res.status == 2:  # infeasible
            raise InfeasibleAssemblyError(model.diagnose(opts))
        raise AssemblyError(f"the solver stopped without a solution: {res.message}")
    out = model.forms(res.x)
    out.gap = getattr(res, "mip_gap", None)
    out.solve_seconds = time.perf_counter() - start
    return out


class _Model:
    def __init__(self, bank, compiled, blueprint, n_forms, length, overlap, cut):
        self.bank, self.bp, self.F, self.L = bank, compiled, n_forms, length
        self.N = bank.n_items
        self.overlap, self.cut = overlap, cut
        self.targets = blueprint.information
        self.info_cut = bank.item_information(np.array([cut]))[0]
        thetas = np.array([t for t, _ in self.targets]) if self.targets else np.zeros(0)
        self.info_targets = bank.item_information(thetas) if thetas.size else np.zeros((0, self.N))
        self.pairs = list(itertools.combinations(range(n_forms), 2))
        self.use_z = 0 < overlap < length and len(self.pairs) > 0
        self.n_x = n_forms * self.N
        self.n_z = len(self.pairs) * self.N if self.use_z else 0
        self.y = self.n_x + self.n_z
        self.n_vars = self.y + 1
        self.rows = self._build()

    def x(self, f: int) -> np.ndarray:
        return f * self.N + np.arange(self.N)

    def _build(self) -> _Rows:
        r = _Rows()
        bp = self.bp
        for f in range(self.F):
            xs = self.x(f)
            r.add(xs, 1.0, self.L, self.L, "length", f)
            for c, b in enumerate(bp.bounds):
                members = np.flatnonzero(bp.matrix[c] > 0)
                r.add(xs[members], 1.0, b.min, b.max, b.name, f)
            if bp.points_bounds is not None:
                r.add(xs, bp.points, bp.points_bounds[0], bp.points_bounds[1], "points", f)
            for (theta, target), info in zip(self.targets, self.info_targets, strict=False):
                r.add(xs, info, target, np.inf, f"information@{theta:g}", f)
            for s in bp.enemy_sets:
                r.add(xs[s], 1.0, 0.0, 1.0, "enemies", f)
            # y ≤ information at the cut (objective row, never relaxed)
            r.add(np.r_[xs, self.y], np.r_[self.info_cut, -1.0], 0.0, np.inf, "_objective", f)
        if self.overlap == 0 and self.F > 1:
            cols = np.arange(self.F)[None, :] * self.N + np.arange(self.N)[:, None]
            r.add_many(cols, np.ones(self.F), 0.0, 1.0, "overlap")
        elif self.use_z:
            for p, (f, g) in enumerate(self.pairs):
                items = np.arange(self.N)
                zs = self.n_x + p * self.N + items
                link = np.c_[zs, f * self.N + items, g * self.N + items]  # z ≥ x_f + x_g − 1
                r.add_many(link, np.array([1.0, -1.0, -1.0]), -1.0, np.inf, "_link")
                r.add(zs, 1.0, 0.0, self.overlap, "overlap", None)
        return r

    def _bounds(self) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = np.zeros(self.n_vars), np.ones(self.n_vars)
        hi[: self.n_x] = np.tile(~self.bp.excluded, self.F).astype(float)
        hi[self.y] = np.inf
        return lo, hi

    def solve(self, opts: AssemblyOptions):
        a = self.rows.matrix(self.n_vars)
        c = np.zeros(self.n_vars)
        c[self.y] = -1.0
        integrality = np.r_[np.ones(self.n_x), np.zeros(self.n_z + 1)]
        lo, hi = self._bounds()
        return milp(c, constraints=LinearConstraint(a, np.array(self.rows.lo, float),
                                                    np.array(self.rows.hi, float)),
                    integrality=integrality, bounds=Bounds(lo, hi),
                    options={"time_limit": opts.time_limit, "mip_rel_gap": opts.mip_rel_gap})

    def diagnose(self, opts: AssemblyOptions) -> list[ConstraintShortfall]:
        """Minimize weighted elastic slack; report the groups that need it."""
        rows = self.rows
        soft = [k for k, g in enumerate(rows.group) if not g.startswith("_")]
        m = len(soft)
        a = rows.matrix(self.n_vars)
        # columns: original vars, then s⁺ (m) and s⁻ (m) for the soft rows
        sel = sp.csr_matrix((np.r_[np.ones(m), -np.ones(m)],
                             (np.r_[soft, soft], np.arange(2 * m))), shape=(a.shape[0], 2 * m))
        big = sp.hstack([a, sel]).tocsr()
        weight = np.array([10.0 if rows.group[k] == "length" else 1.0 for k in soft])
        c = np.r_[np.zeros(self.n_vars), weight, weight]
        lo, hi = self._bounds()
        lo = np.r_[lo, np.zeros(2 * m)]
        hi = np.r_[hi, np.full(2 * m, np.inf)]
        integrality = np.r_[np.ones(self.n_x), np.zeros(self.n_z + 1 + 2 * m)]
        res = milp(c, constraints=LinearConstraint(big, np.array(rows.lo, float),
                                                   np.array(rows.hi, float)),
                   integrality=integrality, bounds=Bounds(lo, hi),
                   options={"time_limit": opts.time_limit})
        if res.x is None:
            return [ConstraintShortfall("unknown", None, "min", float("nan"))]
        plus, minus = res.x[self.n_vars : self.n_vars + m], res.x[self.n_vars + m :]
        total: dict[tuple, float] = {}
        for i, k in enumerate(soft):
            # row + s⁺ − s⁻ ∈ [lo, hi]: s⁺ > 0 means the row fell short of its minimum
            for side, value in (("min", plus[i]), ("max", minus[i])):
                if value > 1e-6:
                    key = (rows.group[k], rows.form[k], side)
                    total[key] = total.get(key, 0.0) + float(value)
        return [ConstraintShortfall(g, f, side, round(v, 6))
                for (g, f, side), v in sorted(total.items(), key=lambda kv: (kv[0][0],
                                                                               kv[0][1] or -1))]

    def forms(self, x: np.ndarray) -> AssembledForms:
        chosen = [np.flatnonzero(x[self.x(f)] > 0.5) for f in range(self.F)]
        ids = [[self.bank.ids[j] for j in c] for c in chosen]
        info = np.array([self.info_cut[c].sum() for c in chosen])
        tinfo = np.array([[row[c].sum() for row in self.info_targets] for c in chosen])
        shared = np.array([[np.intersect1d(a, b).size for b in chosen] for a in chosen])
        points = np.array([self.bp.points[c].sum() for c in chosen])
        return AssembledForms(ids, info, tinfo.reshape(self.F, -1), shared, points, self.cut)
