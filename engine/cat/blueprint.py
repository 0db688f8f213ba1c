"""Blueprints: item attributes, content bounds, enemies; the shadow test.

BLUEPRINT.json (documented in ``docs/cat.md``)::

    {"length": 30,
     "items": {"i1": {"element": "E1", "type": "single", "points": 1}, ...},
     "constraints": {"element": {"E1": {"min": 6, "max": 8}, "E2": 7, "E3": {"weight": 0.25}},
                     "type": {"single": {"min": 10}, "judgement": {"max": 10}}},
     "points": {"min": 30, "max": 40},
     "enemies": [["i3", "i17"], ["i5", "i6", "i40"]],
     "exclude": ["i9"],
     "pretest": ["p1", "p2"],
     "information": [{"theta": 0.0, "min": 8.0}],
     "max_overlap": 6,
     "reference_form": ["i1", "i2", ...], "cut_theta": 0.25}

A bound is an exact count (``7``), ``{"min": …, "max": …}`` (either may be omitted) or
``{"weight": w}``, meaning ``floor(w·L) ≤ count ≤ ceil(w·L)`` for a test of length L.

Shadow test (van der Linden): before every item, a full-length test is assembled by a
0-1 program that contains the items already answered, meets every bound and enemy
rule, and maximizes the selection criterion of the free items; the next item is taken
from its free part. Serving any item of a feasible shadow test keeps the next shadow
test feasible, so the finished test meets the blueprint.

To stay fast the program is solved over a *pool*: in each cell (one combination of
attribute values) only the best ``cap`` free items can ever be chosen, ``cap`` being
the smallest remaining upper bound of the cell's categories (and the remaining
length). Enemy-linked items of a cell are admitted down to rank ``2·cap``. The pool
is exact for count bounds; if it proves infeasible (points or enemies binding) the
program is solved again over every free item.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_matrix

from .errors import BlueprintError


@dataclass(frozen=True)
class CategoryBound:
    """Bounds on the number of items with ``attribute == value``."""

    attribute: str
    value: str
    min: int
    max: int

    @property
    def name(self) -> str:
        return f"{self.attribute}={self.value}"


@dataclass(frozen=True)
class Blueprint:
    """A parsed blueprint (item ids, not yet bound to a bank)."""

    item_attributes: dict = field(default_factory=dict)
    constraints: dict = field(default_factory=dict)
    length: int | None = None
    points: tuple[float, float] | None = None
    enemies: tuple[tuple[str, ...], ...] = ()
    exclude: frozenset = frozenset()
    pretest: tuple[str, ...] = ()
    information: tuple[tuple[float, float], ...] = ()
    max_overlap: int | None = None
    reference_form: tuple[str, ...] | None = None
    cut_theta: float | None = None

    @classmethod
    def load(cls, path: str | Path) -> Blueprint:
        try:
            doc = json.loads(Path(path).read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise BlueprintError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
        return cls.from_dict(doc)

    @classmethod
    def from_dict(cls, doc: dict) -> Blueprint:
        if not isinstance(doc, dict):
            raise BlueprintError("a blueprint is a JSON object")
        items = doc.get("items") or {}
        cons = doc.get("constraints") or {}
        if not isinstance(items, dict) or not isinstance(cons, dict):
            raise BlueprintError("'items' and 'constraints' must be objects")
        pts = doc.get("points")
        points = None
        if pts is not None:
            points = (float(pts.get("min", 0.0)), float(pts.get("max", math.inf)))
        info = tuple((float(t["theta"]), float(t["min"])) for t in doc.get("information", []))
        ref = doc.get("reference_form")
        return cls(item_attributes=items, constraints=cons, length=doc.get("length"),
                   points=points, enemies=tuple(tuple(s) for s in doc.get("enemies", [])),
                   exclude=frozenset(doc.get("exclude", [])),
                   pretest=tuple(doc.get("pretest", [])), information=info,
                   max_overlap=doc.get("max_overlap"),
                   reference_form=tuple(ref) if ref else None, cut_theta=doc.get("cut_theta"))

    def bounds(self, length: int) -> list[CategoryBound]:
        """Category bounds for a test of ``length`` items."""
        out = []
        for attr, values in self.constraints.items():
            for value, spec in values.items():
                lo, hi = _parse_bound(spec, length, f"{attr}={value}")
                out.append(CategoryBound(attr, str(value), lo, hi))
        return out

    def compile(self, ids: tuple[str, ...], length: int) -> CompiledBlueprint:
        """Bind to a bank's item order for tests of ``length`` items."""
        return CompiledBlueprint(self, ids, length)


def _parse_bound(spec, length: int, name: str) -> tuple[int, int]:
    if isinstance(spec, bool):
        raise BlueprintError(f"{name}: a bound is a count or an object")
    if isinstance(spec, (int, float)):
        return int(spec), int(spec)
    if not isinstance(spec, dict):
        raise BlueprintError(f"{name}: a bound is a count or an object")
    if "weight" in spec:
        w = float(spec["weight"])
        return math.floor(w * length + 1e-9), math.ceil(w * length - 1e-9)
    lo, hi = int(spec.get("min", 0)), int(spec.get("max", length))
    if lo > hi:
        raise BlueprintError(f"{name}: min {lo} exceeds max {hi}")
    return lo, hi


class CompiledBlueprint:
    """A blueprint as matrices over a bank's items.

    Attributes
    ----------
    bounds : category bounds, one per row of ``matrix``
    matrix : (n_constraints, n_items) 0/1 membership
    lo, hi : (n_constraints,) count bounds
    points : (n_items,) points per item (default 1)
    cell : (n_items,) cell index (combination of attribute values)
    cell_rows : (n_constraints, n_cells) membership of cells in categories
    excluded : (n_items,) items that may not be used
    enemy_sets : lists of item positions
    """

    def __init__(self, blueprint: Blueprint, ids: tuple[str, ...], length: int) -> None:
        self.blueprint = blueprint
        self.length = length
        pos = {item_id: j for j, item_id in enumerate(ids)}
        unknown = [i for i in blueprint.item_attributes if i not in pos]
        if unknown:
            raise BlueprintError(f"blueprint lists items not in the bank: {unknown[:5]}")
        n = len(ids)
        self.bounds = blueprint.bounds(length)
        self.matrix = np.zeros((len(self.bounds), n), dtype=float)
        self.points = np.ones(n)
        for item_id, attrs in blueprint.item_attributes.items():
            j = pos[item_id]
            self.points[j] = float(attrs.get("points", 1.0))
            for c, b in enumerate(self.bounds):
                if str(attrs.get(b.attribute)) == b.value:
                    self.matrix[c, j] = 1.0
        self.lo = np.array([b.min for b in self.bounds], dtype=float)
        self.hi = np.array([b.max for b in self.bounds], dtype=float)
        keys = [tuple(self.matrix[:, j]) for j in range(n)]
        uniq = {k: i for i, k in enumerate(dict.fromkeys(keys))}
        self.cell = np.array([uniq[k] for k in keys], dtype=np.int64)
        self.cell_rows = np.array(list(uniq), dtype=float).reshape(len(uniq), -1).T
        self.excluded = np.zeros(n, dtype=bool)
        for item_id in blueprint.exclude:
            if item_id in pos:
                self.excluded[pos[item_id]] = True
        self.enemy_sets = [sorted(pos[i] for i in s if i in pos) for s in blueprint.enemies]
        self.enemy_sets = [s for s in self.enemy_sets if len(s) > 1]
        self.enemy_linked = np.zeros(n, dtype=bool)
        for s in self.enemy_sets:
            self.enemy_linked[s] = True
        self.points_bounds = blueprint.points
        self.n_branch_and_bound = 0  # how often the LP vertex was fractional (diagnostics)
        self.n_greedy = 0  # how often the best free items already met every rule
        self.cell_members = [np.flatnonzero(self.cell == c) for c in range(len(uniq))]
        self.enemy_matrix = None
        if self.enemy_sets:
            r = np.concatenate([np.full(len(s), k) for k, s in enumerate(self.enemy_sets)])
            c = np.concatenate([np.asarray(s) for s in self.enemy_sets])
            self.enemy_matrix = csr_matrix((np.ones(r.size), (r, c)),
                                           shape=(len(self.enemy_sets), n))

    def counts(self, items: np.ndarray) -> np.ndarray:
        """(n_constraints,) counts of the given items per category."""
        return self.matrix[:, items].sum(axis=1)

    def lower_bounds_met(self, items: np.ndarray) -> bool:
        """True when the answered items already satisfy every lower bound."""
        if np.any(self.counts(items) < self.lo - 1e-9):
            return False
        if self.points_bounds is None:
            return True
        return bool(self.points[items].sum() >= self.points_bounds[0] - 1e-9)

    def violations(self, items: np.ndarray) -> list[str]:
        """Names of the rules a finished test breaks (empty when it meets the blueprint)."""
        items = np.asarray(items, dtype=np.int64)
        out = [b.name for b, c in zip(self.bounds, self.counts(items), strict=False)
               if not b.min - 1e-9 <= c <= b.max + 1e-9]
        if self.points_bounds is not None:
            total = self.points[items].sum()
            if not self.points_bounds[0] - 1e-9 <= total <= self.points_bounds[1] + 1e-9:
                out.append("points")
        chosen = set(items.tolist())
        out += [f"enemies {s}" for s in self.enemy_sets if len(chosen.intersection(s)) > 1]
        if self.excluded[items].any():
            out.append("excluded item")
        return out

    # -- shadow test -----------------------------------------------------------------

    def shadow_test(self, criterion: np.ndarray, answered: np.ndarray,
                    length: int | None = None) -> np.ndarray | None:
        """Free items of the best full-length test containing ``answered``.

        Parameters
        ----------
        criterion : (n_items,) selection criterion, −inf for items that may not be used
        answered : (t,) item positions already in the test
        length : full test length (default: the compiled length)

        Returns
        -------
        (length − t,) item positions, or None when no feasible completion exists
        """
        remaining = (length or self.length) - answered.size
        if remaining <= 0:
            return np.zeros(0, dtype=np.int64)
        rem_lo = self.lo - self.counts(answered)
        rem_hi = self.hi - self.counts(answered)
        pool = self._pool(criterion, rem_hi, remaining)
        result = self._unconstrained_best(criterion, pool, answered, remaining, rem_lo, rem_hi)
        if result is not None:
            self.n_greedy += 1
            return result
        result = self._solve(criterion, pool, answered, remaining, rem_lo, rem_hi)
        if result is None:
            full = np.flatnonzero(np.isfinite(criterion))
            if full.size > pool.size:
                result = self._solve(criterion, full, answered, remaining, rem_lo, rem_hi)
        return result

    def _pool(self, criterion: np.ndarray, rem_hi: np.ndarray, remaining: int) -> np.ndarray:
        caps = np.full(len(self.cell_members), float(remaining))
        if self.cell_rows.size:
            member_hi = np.where(self.cell_rows > 0, rem_hi[:, None], np.inf)
            caps = np.minimum(caps, member_hi.min(axis=0))
        parts = []
        for members, cap in zip(self.cell_members, caps.astype(np.int64), strict=False):
            if cap <= 0:
                continue
            vals = criterion[members]
            wide = min(2 * cap, members.size)
            top = np.argpartition(-vals, wide - 1)[:wide] if wide < members.size \
                else np.arange(members.size)
            top = top[np.argsort(-vals[top], kind="stable")]
            keep = (np.arange(top.size) < cap) | self.enemy_linked[members[top]]
            chosen = members[top[keep]]
            parts.append(chosen[np.isfinite(criterion[chosen])])
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def _unconstrained_best(self, criterion, pool, answered, remaining, rem_lo, rem_hi):
        """The ``remaining`` best pool items if they happen to meet every rule — then they
        are optimal, since no feasible completion can have a larger criterion sum."""
        if pool.size < remaining:
            return None
        top = pool[np.argpartition(-criterion[pool], remaining - 1)[:remaining]] \
            if pool.size > remaining else pool
        counts = self.counts(top)
        if np.any(counts < rem_lo - 1e-9) or np.any(counts > rem_hi + 1e-9):
            return None
        if self.points_bounds is not None:
            total = self.points[answered].sum() + self.points[top].sum()
            if not self.points_bounds[0] - 1e-9 <= total <= self.points_bounds[1] + 1e-9:
                return None
        if self.enemy_matrix is not None and np.any(self.enemy_matrix[:, top].sum(axis=1) > 1):
            return None
        return top

    def _solve(self, criterion, pool, answered, remaining, rem_lo, rem_hi):
        if pool.size < remaining:
            return None
        rows, lo, hi = [np.ones((1, pool.size))], [remaining], [remaining]
        if self.bounds:
            rows.append(self.matrix[:, pool])
            lo.extend(rem_lo)
            hi.extend(rem_hi)
        if self.points_bounds is not None:
            done = self.points[answered].sum()
            rows.append(self.points[pool][None, :])
            lo.append(self.points_bounds[0] - done)
            hi.append(self.points_bounds[1] - done)
        if self.enemy_matrix is not None:
            sub = self.enemy_matrix[:, pool]
            binding = np.flatnonzero(np.diff(sub.indptr) > 1)
            if binding.size:
                rows.append(sub[binding].toarray())
                lo.extend([0.0] * binding.size)
                hi.extend([1.0] * binding.size)
        a = csr_matrix(np.vstack(rows))
        c = -criterion[pool]
        c = c - c.min() + 1.0 if c.size else c  # positive costs; same argmin under sum = R
        cons = LinearConstraint(a, np.array(lo, float), np.array(hi, float))
        # The LP relaxation first: count bounds over two partitions (element, type) form
        # a totally unimodular system, so the simplex vertex is usually integral and then
        # it is the optimum of the 0-1 program; only a fractional vertex (enemies, points)
        # needs branch and bound, whose fixed cost in HiGHS is several milliseconds.
        res = milp(c, constraints=cons, integrality=np.zeros(pool.size), bounds=Bounds(0, 1))
        if res.x is None or res.status != 0:
            return None
        if np.any(np.abs(res.x - np.round(res.x)) > 1e-6):
            self.n_branch_and_bound += 1
            res = milp(c, constraints=cons, integrality=np.ones(pool.size), bounds=Bounds(0, 1))
            if res.x is None or res.status != 0:
                return None
        return pool[res.x > 0.5]
