"""Interval analysis of typed expressions: which values can an expression take?

Used by validation to reject rubric lines and conditions that can never hold (for
example ``level > 150`` when ``level`` is clamped to 0..100, or ``QF1 == 'open' and
QF1 == 'closed'``). The analysis is sound but coarse: numbers are intervals
``(low, high)``, booleans and enums are sets of possible values, and a variable that
appears twice is treated as two independent unknowns, so ``x > x`` is not caught.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from simulations.expressions import Binary, Call, Choice, Const, Logical, Node, Unary, Var

Interval = tuple[float, float]
ValueSet = frozenset[Any]
Possible = Interval | ValueSet
ANY_NUMBER: Interval = (-math.inf, math.inf)
ANY_BOOL: ValueSet = frozenset({False, True})


def possible_values(tree: Node, bounds: Mapping[str, Possible]) -> Possible:
    """The values ``tree`` can take when each variable ranges over ``bounds``."""
    if isinstance(tree, Const):
        if tree.type.kind in ("bool", "enum"):
            return frozenset({tree.value})
        return (float(tree.value), float(tree.value))
    if isinstance(tree, Var):
        return bounds.get(tree.name, ANY_BOOL if tree.type.kind == "bool" else ANY_NUMBER)
    if isinstance(tree, Unary):
        return _unary(tree, bounds)
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
    return True in _as_set(possible_values(tree, bounds))


def _as_set(value: Possible) -> ValueSet:
    return value if isinstance(value, frozenset) else ANY_BOOL


def _as_interval(value: Possible) -> Interval:
    return value if isinstance(value, tuple) else ANY_NUMBER


def _outcomes(can_true: bool, can_false: bool) -> ValueSet:
    return frozenset(v for v, ok in ((True, can_true), (False, can_false)) if ok)


def _unary(tree: Unary, bounds: Mapping[str, Possible]) -> Possible:
    inner = possible_values(tree.operand, bounds)
    if tree.op == "not":
        return frozenset(not v for v in _as_set(inner))
    if tree.op == "-":
        lo, hi = _as_interval(inner)
        return (-hi, -lo)
    return inner


def _logical(tree: Logical, bounds: Mapping[str, Possible]) -> ValueSet:
    parts = [_as_set(possible_values(p, bounds)) for p in tree.operands]
    if tree.op == "and":
        return _outcomes(all(True in p for p in parts), any(False in p for p in parts))
    return _outcomes(any(True in p for p in parts), all(False in p for p in parts))


def _choice(tree: Choice, bounds: Mapping[str, Possible]) -> Possible:
    test = _as_set(possible_values(tree.test, bounds))
    branches = []
    if True in test:
        branches.append(possible_values(tree.then, bounds))
    if False in test:
        branches.append(possible_values(tree.orelse, bounds))
    if all(isinstance(b, frozenset) for b in branches):
        return frozenset().union(*(_as_set(b) for b in branches))
    intervals = [_as_interval(b) for b in branches]
    return (min(i[0] for i in intervals), max(i[1] for i in intervals))


def _binary(tree: Binary, bounds: Mapping[str, Possible]) -> Possible:
    left = possible_values(tree.left, bounds)
    right = possible_values(tree.right, bounds)
    if isinstance(left, frozenset) or isinstance(right, frozenset):
        return _set_compare(tree.op, _as_set(left), _as_set(right))
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


def _set_compare(op: str, left: ValueSet, right: ValueSet) -> ValueSet:
    if op not in ("==", "!="):
        return ANY_BOOL
    return frozenset((a == b) if op == "==" else (a != b) for a in left for b in right)


def _compare(op: str, left: Interval, right: Interval) -> ValueSet:
    (a_lo, a_hi), (b_lo, b_hi) = left, right
    overlap = a_lo <= b_hi and b_lo <= a_hi
    single_equal = a_lo == a_hi == b_lo == b_hi
    outcomes = {
        "<": (a_lo < b_hi, a_hi >= b_lo),
        "<=": (a_lo <= b_hi, a_hi > b_lo),
        ">": (a_hi > b_lo, a_lo <= b_hi),
        ">=": (a_hi >= b_lo, a_lo < b_hi),
        "==": (overlap, not single_equal),
        "!=": (not single_equal, overlap),
    }
    return _outcomes(*outcomes[op])


_MONOTONE: dict[str, Callable[[float], float]] = {
    "exp": math.exp,
    "sqrt": math.sqrt,
    "log": math.log,
    "floor": math.floor,
    "ceil": math.ceil,
}


def _call(tree: Call, bounds: Mapping[str, Possible]) -> Possible:
    args = [_as_interval(possible_values(a, bounds)) for a in tree.args]
    name = tree.function
    if name in ("sin", "cos", "sign"):
        return (-1.0, 1.0)
    if name == "abs":
        lo, hi = args[0]
        if lo >= 0:
            return (lo, hi)
        if hi <= 0:
            return (-hi, -lo)
        return (0.0, max(-lo, hi))
    if name in ("min", "max"):
        pick = min if name == "min" else max
        return (pick(a[0] for a in args), pick(a[1] for a in args))
    if name == "clamp":
        (x_lo, x_hi), (l_lo, l_hi), (h_lo, h_hi) = args
        return (min(max(x_lo, l_lo), h_lo), min(max(x_hi, l_hi), h_hi))
    if name in _MONOTONE:
        return _monotone(name, _MONOTONE[name], args[0])
    return ANY_NUMBER


def _monotone(name: str, fn: Callable[[float], float], arg: Interval) -> Interval:
    lo, hi = arg
    if name in ("sqrt", "log"):
        lo = max(lo, 0.0 if name == "sqrt" else 1e-300)
        if hi < lo:
            return ANY_NUMBER
    try:
        return (
            fn(lo) if math.isfinite(lo) else -math.inf,
            fn(hi) if math.isfinite(hi) else math.inf,
        )
    except (OverflowError, ValueError):
        return ANY_NUMBER
