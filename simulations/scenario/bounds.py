"""Interval analysis of typed expressions: which values can an expression take?

Used by validation to reject rubric lines and conditions that can never hold (for
example ``level > 150`` when ``level`` is clamped to 0..100, or ``QF1 == 'open' and
QF1 == 'closed'``). The analysis is sound but coarse: numbers are intervals
``(low, high)``, booleans and enums are sets of possible values, and a variable that
appears twice is treated as two independent unknowns, so ``x > x`` is not caught.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from simulations.expressions import Binary, Call, Choice, Const, Logical, Node, Unary, Var

Interval = tuple[float, float]
Possible = Interval | frozenset
ANY_NUMBER: Interval = (-math.inf, math.inf)
ANY_BOOL = frozenset({False, True})


def possible_values(tree: Node, bounds: Mapping[str, Possible]) -> Possible:
    """The values ``tree`` can take when each variable ranges over ``bounds``."""
    if isinstance(tree, Const):
        if tree.type.kind in ("bool", "enum"):
            return frozenset({tree.value})
        return (float(tree.value), float(tree.value))
    if isinstance(tree, Var):
        return bounds.get(tree.name, ANY_BOOL if tree.type.kind == "bool" else ANY_NUMBER)
    if isinstance(tree, Unary):
        inner = possible_values(tree.operand, bounds)
        if tree.op == "not":
            return frozenset(not v for v in inner)  # type: ignore[union-attr]
        if tree.op == "-":
            lo, hi = inner  # type: ignore[misc]
            return (-hi, -lo)
        return inner
    if isinstance(tree, Logical):
        return _logical(tree, bounds)
    if isinstance(tree, Choice):
        return _choice(tree, bounds)
    if isinstance(tree, Binary):
        return _binary(tree, bounds)
    if isinstance(tree, Call):
        return _call(tree, bounds)
    return ANY_NUMBER


def can_be_true(tree: Node, bounds: Mapping[str, Possible]) -> bool:
    return True in possible_values(tree, bounds)  # type: ignore[operator]


def _logical(tree: Logical, bounds: Mapping[str, Possible]) -> frozenset:
    parts = [possible_values(p, bounds) for p in tree.operands]
    if tree.op == "and":
        can_true = all(True in p for p in parts)  # type: ignore[operator]
        can_false = any(False in p for p in parts)  # type: ignore[operator]
    else:
        can_true = any(True in p for p in parts)  # type: ignore[operator]
        can_false = all(False in p for p in parts)  # type: ignore[operator]
    return frozenset(v for v, ok in ((True, can_true), (False, can_false)) if ok)


def _choice(tree: Choice, bounds: Mapping[str, Possible]) -> Possible:
    test = possible_values(tree.test, bounds)
    branches = []
    if True in test:  # type: ignore[operator]
        branches.append(possible_values(tree.then, bounds))
    if False in test:  # type: ignore[operator]
        branches.append(possible_values(tree.orelse, bounds))
    if all(isinstance(b, frozenset) for b in branches):
        return frozenset().union(*branches)  # type: ignore[arg-type]
    los, his = zip(*branches)  # type: ignore[misc]
    return (min(los), max(his))


def _binary(tree: Binary, bounds: Mapping[str, Possible]) -> Possible:
    left = possible_values(tree.left, bounds)
    right = possible_values(tree.right, bounds)
    if isinstance(left, frozenset) or isinstance(right, frozenset):
        return _set_compare(tree.op, left, right)  # type: ignore[arg-type]
    op = tree.op
    if op in ("<", "<=", ">", ">=", "==", "!="):
        return _compare(op, left, right)
    if op == "+":
        return (left[0] + right[0], left[1] + right[1])
    if op == "-":
        return (left[0] - right[1], left[1] - right[0])
    if op == "*":
        return _hull([_mul(a, b) for a in left for b in right])
    if op == "/" and not right[0] <= 0 <= right[1]:
        return _hull([_div(a, b) for a in left for b in right])
    return ANY_NUMBER


def _mul(a: float, b: float) -> float:
    if a == 0 or b == 0:
        return 0.0
    return a * b


def _div(a: float, b: float) -> float:
    if math.isinf(a) and math.isinf(b):
        return math.nan
    return a / b


def _hull(values: list[float]) -> Interval:
    if any(math.isnan(v) for v in values):
        return ANY_NUMBER
    return (min(values), max(values))


def _set_compare(op: str, left: frozenset, right: frozenset) -> frozenset:
    results = set()
    for a in left:
        for b in right:
            results.add(a == b if op == "==" else a != b)
    return frozenset(results)


def _compare(op: str, left: Interval, right: Interval) -> frozenset:
    (a_lo, a_hi), (b_lo, b_hi) = left, right
    outcomes = {
        "<": (a_lo < b_hi, a_hi >= b_lo),
        "<=": (a_lo <= b_hi, a_hi > b_lo),
        ">": (a_hi > b_lo, a_lo <= b_hi),
        ">=": (a_hi >= b_lo, a_lo < b_hi),
        "==": (a_lo <= b_hi and b_lo <= a_hi, not (a_lo == a_hi == b_lo == b_hi)),
    }
    if op == "!=":
        can_true, can_false = outcomes["=="][1], outcomes["=="][0]
    else:
        can_true, can_false = outcomes[op]
    return frozenset(v for v, ok in ((True, can_true), (False, can_false)) if ok)


_MONOTONE = {
    "exp": math.exp,
    "sqrt": math.sqrt,
    "log": math.log,
    "floor": math.floor,
    "ceil": math.ceil,
}


def _call(tree: Call, bounds: Mapping[str, Possible]) -> Possible:
    args = [possible_values(a, bounds) for a in tree.args]
    name = tree.function
    if name in ("sin", "cos"):
        return (-1.0, 1.0)
    if name == "sign":
        return (-1.0, 1.0)
    if name == "abs":
        lo, hi = args[0]  # type: ignore[misc]
        if lo >= 0:
            return (lo, hi)
        if hi <= 0:
            return (-hi, -lo)
        return (0.0, max(-lo, hi))
    if name in ("min", "max"):
        pick = min if name == "min" else max
        return (pick(a[0] for a in args), pick(a[1] for a in args))  # type: ignore[index]
    if name == "clamp":
        (x_lo, x_hi), (l_lo, l_hi), (h_lo, h_hi) = args  # type: ignore[misc]
        return (min(max(x_lo, l_lo), h_lo), min(max(x_hi, l_hi), h_hi))
    if name in _MONOTONE:
        return _monotone(_MONOTONE[name], args[0])  # type: ignore[arg-type]
    return ANY_NUMBER


def _monotone(fn: object, arg: Interval) -> Interval:
    lo, hi = arg
    if fn in (math.sqrt, math.log):
        lo = max(lo, 0.0 if fn is math.sqrt else 1e-300)
        if hi < lo:
            return ANY_NUMBER
    try:
        return (
            fn(lo) if math.isfinite(lo) else -math.inf,
            fn(hi) if math.isfinite(hi) else math.inf,
        )  # type: ignore[operator]
    except (OverflowError, ValueError):
        return ANY_NUMBER
