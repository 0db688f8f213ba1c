"""A small, safe expression language for scenario files.

Expressions look like Python (``QF1 == 'closed' and abs(L - 50) <= 5``) but are parsed
with :mod:`ast` and accepted only if every node belongs to a short whitelist; they are
then type-checked against the scenario's variables and compiled into closures built
from numpy operations. ``eval``/``exec`` are never used.

Why evaluation cannot hang or run code:

* the text is limited in length and the tree in node count and depth before anything
  is compiled; the language has no loops, calls only whitelisted math functions and has
  no attribute access, subscripts, lambdas or comprehensions, so one evaluation costs at
  most a fixed number of steps (``ExpressionLimits.max_nodes``);
* every value is a float64 (or bool) numpy array: there are no big integers or strings
  to blow up, and powers check their exponent's magnitude.

Values: ``real`` and ``int`` are float64, ``bool`` is bool (stored as 0/1 in the state
matrix), ``enum`` values are stored as their index in the variable's value list and
written in expressions as string literals (``'closed'``), checked against that list.

Compiled closures take ``env``, a mapping from names to arrays of shape ``(n,)``
(one entry per simulation of a batch) or scalars, and return an array of shape ``(n,)``.
"""

from __future__ import annotations

import ast
import difflib
import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from simulations.errors import (
    ExpressionError,
    ExpressionLimitError,
    ExpressionSyntaxError,
    ExpressionTypeError,
    UnknownNameError,
)

Env = Mapping[str, Any]
Evaluator = Callable[[Env], Any]


# --------------------------------------------------------------------------- types


@dataclass(frozen=True)
class ValueType:
    """The type of a variable or expression: ``bool``, ``int``, ``real`` or ``enum``.

    ``values`` lists an enum's values; a string literal not yet matched to an enum has
    kind ``literal`` and its possible strings in ``values``.
    """

    kind: str
    values: tuple[str, ...] = ()

    def __str__(self) -> str:
        if self.kind == "enum":
            return f"enum({', '.join(self.values)})"
        if self.kind == "literal":
            return "text " + ", ".join(repr(v) for v in self.values)
        return self.kind

    @property
    def is_numeric(self) -> bool:
        return self.kind in ("int", "real")


BOOL = ValueType("bool")
INT = ValueType("int")
REAL = ValueType("real")


def enum_type(values: tuple[str, ...] | list[str]) -> ValueType:
    return ValueType("enum", tuple(values))


@dataclass(frozen=True)
class ExpressionLimits:
    """Static limits that bound the cost of compiling and evaluating an expression."""

    max_chars: int = 1000
    max_nodes: int = 200
    max_depth: int = 32
    max_exponent: float = 64.0


DEFAULT_LIMITS = ExpressionLimits()


# --------------------------------------------------------------- typed tree (IR)


@dataclass(frozen=True)
class Node:
    type: ValueType


@dataclass(frozen=True)
class Const(Node):
    value: Any


@dataclass(frozen=True)
class Var(Node):
    name: str


@dataclass(frozen=True)
class Unary(Node):
    op: str
    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Logical(Node):
    op: str
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Choice(Node):
    test: Node
    then: Node
    orelse: Node


@dataclass(frozen=True)
class Call(Node):
    function: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class FunctionSpec:
    min_args: int
    max_args: int
    impl: Callable[..., Any]
    keeps_int: bool = False


def _clamp(x: Any, lo: Any, hi: Any) -> Any:
    return np.minimum(np.maximum(x, lo), hi)


def _nary(ufunc: Any) -> Callable[..., Any]:
    def apply(*args: Any) -> Any:
        result = args[0]
        for arg in args[1:]:
            result = ufunc(result, arg)
        return result

    return apply


FUNCTIONS: dict[str, FunctionSpec] = {
    "abs": FunctionSpec(1, 1, np.abs, keeps_int=True),
    "min": FunctionSpec(2, 8, _nary(np.minimum), keeps_int=True),
    "max": FunctionSpec(2, 8, _nary(np.maximum), keeps_int=True),
    "clamp": FunctionSpec(3, 3, _clamp, keeps_int=True),
    "sqrt": FunctionSpec(1, 1, np.sqrt),
    "exp": FunctionSpec(1, 1, np.exp),
    "log": FunctionSpec(1, 1, np.log),
    "sin": FunctionSpec(1, 1, np.sin),
    "cos": FunctionSpec(1, 1, np.cos),
    "floor": FunctionSpec(1, 1, np.floor, keeps_int=True),
    "ceil": FunctionSpec(1, 1, np.ceil, keeps_int=True),
    "sign": FunctionSpec(1, 1, np.sign, keeps_int=True),
}

_BINARY_OPS = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
}
_COMPARE_OPS = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
}
_FORBIDDEN_HINTS = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscripts",
    ast.Lambda: "lambda functions",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.NamedExpr: "assignment expressions",
    ast.Starred: "starred arguments",
    ast.JoinedStr: "f-strings",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.List: "lists",
    ast.Tuple: "tuples",
    ast.Dict: "dicts",
    ast.Set: "sets",
}


# ------------------------------------------------------------------------ parsing


@dataclass(frozen=True)
class CompiledExpression:
    """A checked expression: its source, result type, typed tree and evaluator."""

    source: str
    type: ValueType
    tree: Node
    names: frozenset[str]
    evaluate: Evaluator = field(repr=False, compare=False)

    @property
    def constant(self) -> Any | None:
        """The value if the expression is a literal, else ``None``."""
        return self.tree.value if isinstance(self.tree, Const) else None


def parse(source: str, limits: ExpressionLimits = DEFAULT_LIMITS) -> ast.expr:
    """Parse ``source`` into a Python expression tree after checking size limits."""
    if not isinstance(source, str):
        raise ExpressionSyntaxError(f"expected an expression string, got {type(source).__name__}")
    if len(source) > limits.max_chars:
        raise ExpressionLimitError(
            f"expression is {len(source)} characters long; the limit is {limits.max_chars}"
        )
    if not source.strip():
        raise ExpressionSyntaxError("empty expression")
    try:
        with warnings.catch_warnings():
            # e.g. "invalid decimal literal" in "0a" is only a warning to Python: refuse it
            warnings.simplefilter("error", SyntaxWarning)
            tree = ast.parse(source.strip(), mode="eval")
    except (SyntaxError, SyntaxWarning, ValueError, MemoryError, RecursionError) as exc:
        column = getattr(exc, "offset", None)
        msg = getattr(exc, "msg", None) or str(exc)
        raise ExpressionSyntaxError(f"invalid expression: {msg}", column=column) from None
    _check_shape(tree.body, limits)
    return tree.body


def _check_shape(root: ast.expr, limits: ExpressionLimits) -> None:
    count = 0
    stack: list[tuple[ast.AST, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > limits.max_nodes:
            raise ExpressionLimitError(
                f"expression has more than {limits.max_nodes} elements; simplify it"
            )
        if depth > limits.max_depth:
            raise ExpressionLimitError(
                f"expression is nested deeper than {limits.max_depth} levels"
            )
        _refuse_private(node)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def _refuse_private(node: ast.AST) -> None:
    """Reject dunder/private names up front: they are how sandbox escapes start."""
    name = None
    if isinstance(node, ast.Name):
        name = node.id
    elif isinstance(node, ast.Attribute):
        name = node.attr
    if name is not None and name.startswith("_"):
        col = getattr(node, "col_offset", None)
        raise ExpressionSyntaxError(
            f"name {name!r} is not allowed", column=None if col is None else col + 1
        )


# ------------------------------------------------------------------- type checking


class _Checker:
    """Turns a Python ``ast`` expression into a typed :class:`Node` tree."""

    def __init__(self, symbols: Mapping[str, ValueType], limits: ExpressionLimits) -> None:
        self.symbols = symbols
        self.limits = limits

    def fail(self, cls: type[ExpressionError], message: str, node: ast.AST) -> ExpressionError:
        col = getattr(node, "col_offset", None)
        return cls(message, column=None if col is None else col + 1)

    def check(self, node: ast.expr) -> Node:
        method = getattr(self, "visit_" + type(node).__name__, None)
        if method is None:
            what = _FORBIDDEN_HINTS.get(type(node), type(node).__name__)
            raise self.fail(ExpressionSyntaxError, f"{what} not allowed in expressions", node)
        result: Node = method(node)
        return result

    def visit_Constant(self, node: ast.Constant) -> Node:
        value = node.value
        if isinstance(value, bool):
            return Const(BOOL, value)
        if isinstance(value, int):
            if abs(value) > 2**53:
                raise self.fail(ExpressionLimitError, "integer literal too large", node)
            return Const(INT, float(value))
        if isinstance(value, float):
            if not math.isfinite(value):
                raise self.fail(ExpressionLimitError, "number literal overflows", node)
            return Const(REAL, value)
        if isinstance(value, str):
            return Const(ValueType("literal", (value,)), value)
        raise self.fail(ExpressionTypeError, f"literal {value!r} not allowed", node)

    def visit_Name(self, node: ast.Name) -> Node:
        name = node.id
        if name.startswith("__"):
            raise self.fail(ExpressionSyntaxError, f"name {name!r} not allowed", node)
        if name in ("true", "false"):
            return Const(BOOL, name == "true")
        if name not in self.symbols:
            hint = difflib.get_close_matches(name, list(self.symbols), n=1)
            extra = f"; did you mean {hint[0]!r}?" if hint else ""
            raise self.fail(UnknownNameError, f"unknown name {name!r}{extra}", node)
        return Var(self.symbols[name], name)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Node:
        operand = self.check(node.operand)
        if isinstance(node.op, ast.Not):
            self.expect_bool(operand, node, "not")
            return Unary(BOOL, "not", operand)
        if isinstance(node.op, (ast.USub, ast.UAdd)):
            self.expect_numeric(operand, node, "unary minus")
            op = "-" if isinstance(node.op, ast.USub) else "+"
            if isinstance(operand, Const):
                return Const(operand.type, -operand.value if op == "-" else operand.value)
            return Unary(operand.type, op, operand)
        raise self.fail(ExpressionSyntaxError, "bitwise operators not allowed", node)

    def visit_BinOp(self, node: ast.BinOp) -> Node:
        op = _BINARY_OPS.get(type(node.op))
        if op is None:
            raise self.fail(ExpressionSyntaxError, "bitwise operators not allowed", node)
        left, right = self.check(node.left), self.check(node.right)
        self.expect_numeric(left, node, op)
        self.expect_numeric(right, node, op)
        if op == "**":
            self.check_exponent(right, node)
            if isinstance(left, Const) and isinstance(right, Const):
                return self.fold_power(left, right, node)
        both_int = left.type == INT and right.type == INT
        result = INT if both_int and op in ("+", "-", "*", "//", "%") else REAL
        return Binary(result, op, left, right)

    def check_exponent(self, right: Node, node: ast.AST) -> None:
        if isinstance(right, Const) and abs(right.value) > self.limits.max_exponent:
            raise self.fail(
                ExpressionLimitError,
                f"exponent {right.value:g} exceeds the limit of {self.limits.max_exponent:g}",
                node,
            )

    def fold_power(self, left: Const, right: Const, node: ast.AST) -> Node:
        """Fold ``constant ** constant`` so towers like ``9 ** 9 ** 9`` hit the limit now."""
        try:
            value = float(left.value) ** float(right.value)
        except (OverflowError, ZeroDivisionError):
            raise self.fail(ExpressionLimitError, "constant power overflows", node) from None
        if isinstance(value, complex) or not math.isfinite(value):
            raise self.fail(
                ExpressionLimitError, "constant power is not a finite real number", node
            )
        return Const(REAL, value)

    def visit_BoolOp(self, node: ast.BoolOp) -> Node:
        op = "and" if isinstance(node.op, ast.And) else "or"
        operands = tuple(self.check(v) for v in node.values)
        for operand in operands:
            self.expect_bool(operand, node, op)
        return Logical(BOOL, op, operands)

    def visit_Compare(self, node: ast.Compare) -> Node:
        parts: list[Node] = []
        left = self.check(node.left)
        for op_node, right_ast in zip(node.ops, node.comparators, strict=False):
            op = _COMPARE_OPS.get(type(op_node))
            if op is None:
                raise self.fail(ExpressionSyntaxError, "'in'/'is' not allowed; use ==", node)
            right = self.check(right_ast)
            parts.append(self.comparison(op, left, right, node))
            left = right
        return parts[0] if len(parts) == 1 else Logical(BOOL, "and", tuple(parts))

    def comparison(self, op: str, left: Node, right: Node, node: ast.AST) -> Node:
        if op in ("<", "<=", ">", ">="):
            self.expect_numeric(left, node, op)
            self.expect_numeric(right, node, op)
            return Binary(BOOL, op, left, right)
        if left.type.is_numeric and right.type.is_numeric:
            return Binary(BOOL, op, left, right)
        if left.type == BOOL and right.type == BOOL:
            return Binary(BOOL, op, left, right)
        if left.type.kind == "literal" and right.type.kind == "enum":
            left, right = right, left
        if left.type.kind == "enum":
            return Binary(BOOL, op, left, self.resolve(right, left.type, node))
        raise self.fail(ExpressionTypeError, f"cannot compare {left.type} with {right.type}", node)

    def resolve(self, node_ir: Node, target: ValueType, node: ast.AST) -> Node:
        """Turn string literals into the index of their value in enum ``target``."""
        if node_ir.type == target:
            return node_ir
        if isinstance(node_ir, Const) and node_ir.type.kind == "literal":
            if node_ir.value not in target.values:
                raise self.fail(
                    ExpressionTypeError,
                    f"{node_ir.value!r} is not one of {', '.join(target.values)}",
                    node,
                )
            return Const(target, float(target.values.index(node_ir.value)))
        if isinstance(node_ir, Choice) and node_ir.type.kind == "literal":
            return Choice(
                target,
                node_ir.test,
                self.resolve(node_ir.then, target, node),
                self.resolve(node_ir.orelse, target, node),
            )
        raise self.fail(ExpressionTypeError, f"expected {target}, got {node_ir.type}", node)

    def visit_IfExp(self, node: ast.IfExp) -> Node:
        test = self.check(node.test)
        self.expect_bool(test, node, "if")
        then, orelse = self.check(node.body), self.check(node.orelse)
        kind = self.unify(then.type, orelse.type, node)
        if kind.kind == "enum":
            then, orelse = self.resolve(then, kind, node), self.resolve(orelse, kind, node)
        return Choice(kind, test, then, orelse)

    def unify(self, a: ValueType, b: ValueType, node: ast.AST) -> ValueType:
        if a == b:
            return a
        if a.is_numeric and b.is_numeric:
            return REAL
        if a.kind == "literal" and b.kind == "literal":
            return ValueType("literal", a.values + b.values)
        if a.kind == "enum" and b.kind == "literal" and set(b.values) <= set(a.values):
            return a
        if b.kind == "enum" and a.kind == "literal" and set(a.values) <= set(b.values):
            return b
        raise self.fail(ExpressionTypeError, f"branches differ in type: {a} and {b}", node)

    def visit_Call(self, node: ast.Call) -> Node:
        if not isinstance(node.func, ast.Name):
            self.check(node.func)  # names the forbidden construct (lambda, attribute, ...)
            raise self.fail(ExpressionSyntaxError, "only named functions can be called", node)
        name = node.func.id
        spec = FUNCTIONS.get(name)
        if spec is None:
            hint = difflib.get_close_matches(name, list(FUNCTIONS), n=1)
            extra = f"; did you mean {hint[0]!r}?" if hint else ""
            raise self.fail(UnknownNameError, f"unknown function {name!r}{extra}", node)
        if node.keywords:
            raise self.fail(ExpressionSyntaxError, "keyword arguments not allowed", node)
        if not spec.min_args <= len(node.args) <= spec.max_args:
            raise self.fail(
                ExpressionTypeError,
                f"{name}() takes {spec.min_args}..{spec.max_args} arguments",
                node,
            )
        args = tuple(self.check(a) for a in node.args)
        for arg in args:
            self.expect_numeric(arg, node, name + "()")
        keeps = spec.keeps_int and all(a.type == INT for a in args)
        return Call(INT if keeps else REAL, name, args)

    def expect_numeric(self, node_ir: Node, node: ast.AST, what: str) -> None:
        if not node_ir.type.is_numeric:
            raise self.fail(ExpressionTypeError, f"{what} needs numbers, got {node_ir.type}", node)

    def expect_bool(self, node_ir: Node, node: ast.AST, what: str) -> None:
        if node_ir.type != BOOL:
            raise self.fail(
                ExpressionTypeError, f"{what} needs true/false, got {node_ir.type}", node
            )


# ---------------------------------------------------------------------- compilation


def compile_expression(
    source: str | bool | float,
    symbols: Mapping[str, ValueType],
    *,
    expect: ValueType | None = None,
    limits: ExpressionLimits = DEFAULT_LIMITS,
) -> CompiledExpression:
    """Parse, type-check and compile ``source``.

    ``expect`` is the type the caller needs: ``BOOL`` for conditions, a variable's type
    for an assignment (a ``real`` target accepts ``int``; an enum target accepts its
    value names). Raises an :class:`~simulations.errors.ExpressionError` subclass.
    """
    text = _literal_source(source)
    checker = _Checker(symbols, limits)
    tree = checker.check(parse(text, limits))
    if expect is not None:
        tree = _coerce(checker, tree, expect)
    if tree.type.kind == "literal":
        raise ExpressionTypeError(f"a text value needs an enum to compare or assign to: {text}")
    return CompiledExpression(
        text, tree.type, tree, frozenset(_names(tree)), build_evaluator(tree, limits)
    )


def _literal_source(source: str | bool | float) -> str:
    if isinstance(source, bool):
        return "true" if source else "false"
    if isinstance(source, (int, float)):
        return repr(source)
    return source


def _coerce(checker: _Checker, tree: Node, expect: ValueType) -> Node:
    dummy = ast.Constant(value=0)
    if expect.kind == "enum":
        return checker.resolve(tree, expect, dummy)
    if expect == REAL and tree.type.is_numeric:
        return tree
    if tree.type != expect:
        raise ExpressionTypeError(f"expected {expect}, got {tree.type}")
    return tree


def _names(tree: Node) -> set[str]:
    if isinstance(tree, Var):
        return {tree.name}
    found: set[str] = set()
    for child in children(tree):
        found |= _names(child)
    return found


def children(tree: Node) -> tuple[Node, ...]:
    if isinstance(tree, Unary):
        return (tree.operand,)
    if isinstance(tree, Binary):
        return (tree.left, tree.right)
    if isinstance(tree, Logical):
        return tree.operands
    if isinstance(tree, Choice):
        return (tree.test, tree.then, tree.orelse)
    if isinstance(tree, Call):
        return tree.args
    return ()


_NUMPY_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.true_divide,
    "//": np.floor_divide,
    "%": np.mod,
    "==": np.equal,
    "!=": np.not_equal,
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
}


def build_evaluator(tree: Node, limits: ExpressionLimits = DEFAULT_LIMITS) -> Evaluator:
    """Build a closure evaluating ``tree`` on numpy arrays (no Python ``eval``)."""
    if isinstance(tree, Const):
        value = tree.value if isinstance(tree.value, bool) else float(tree.value)
        return lambda env: value
    if isinstance(tree, Var):
        name = tree.name
        return lambda env: env[name]
    if isinstance(tree, Unary):
        inner = build_evaluator(tree.operand, limits)
        if tree.op == "not":
            return lambda env: np.logical_not(inner(env))
        if tree.op == "-":
            return lambda env: np.negative(inner(env))
        return inner
    if isinstance(tree, Binary):
        return _binary_evaluator(tree, limits)
    if isinstance(tree, Logical):
        parts = [build_evaluator(p, limits) for p in tree.operands]
        ufunc = np.logical_and if tree.op == "and" else np.logical_or
        return _fold(ufunc, parts)
    if isinstance(tree, Choice):
        test, then, orelse = (
            build_evaluator(n, limits) for n in (tree.test, tree.then, tree.orelse)
        )
        return lambda env: np.where(test(env), then(env), orelse(env))
    if isinstance(tree, Call):
        impl = FUNCTIONS[tree.function].impl
        args = [build_evaluator(a, limits) for a in tree.args]
        if len(args) == 1:
            only = args[0]
            return lambda env: impl(only(env))
        if len(args) == 2:
            first, second = args
            return lambda env: impl(first(env), second(env))
        return lambda env: impl(*(a(env) for a in args))
    raise ExpressionSyntaxError(f"cannot compile {type(tree).__name__}")


def _fold(ufunc: Any, parts: list[Evaluator]) -> Evaluator:
    if len(parts) == 2:
        first, second = parts
        return lambda env: ufunc(first(env), second(env))

    def apply(env: Env) -> Any:
        result = parts[0](env)
        for part in parts[1:]:
            result = ufunc(result, part(env))
        return result

    return apply


def _binary_evaluator(tree: Binary, limits: ExpressionLimits) -> Evaluator:
    left = build_evaluator(tree.left, limits)
    right = build_evaluator(tree.right, limits)
    if tree.op == "**":
        bound = limits.max_exponent

        def power(env: Env) -> Any:
            exponent = right(env)
            if np.any(np.abs(exponent) > bound):
                raise ExpressionLimitError(f"exponent exceeds the limit of {bound:g} at run time")
            return np.power(np.asarray(left(env), dtype=float), exponent)

        return power
    return _specialized(_NUMPY_BINARY[tree.op], tree.left, tree.right, left, right)


def _specialized(
    ufunc: Any, left_node: Node, right_node: Node, left: Evaluator, right: Evaluator
) -> Evaluator:
    """Inline constant and variable operands: the dynamics call these closures a lot."""
    if isinstance(right_node, Const):
        c = float(right_node.value)
        if isinstance(left_node, Var):
            name = left_node.name
            return lambda env: ufunc(env[name], c)
        return lambda env: ufunc(left(env), c)
    if isinstance(left_node, Const):
        c = float(left_node.value)
        if isinstance(right_node, Var):
            name = right_node.name
            return lambda env: ufunc(c, env[name])
        return lambda env: ufunc(c, right(env))
    if isinstance(left_node, Var) and isinstance(right_node, Var):
        a, b = left_node.name, right_node.name
        return lambda env: ufunc(env[a], env[b])
    return lambda env: ufunc(left(env), right(env))
