"""The safe expression language: semantics, types, and refusal of anything else."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulations.errors import (
    ExpressionLimitError,
    ExpressionSyntaxError,
    ExpressionTypeError,
    UnknownNameError,
)
from simulations.expressions import BOOL, INT, REAL, compile_expression, enum_type

SYMBOLS = {"x": REAL, "n": INT, "on": BOOL, "pos": enum_type(["open", "closed"])}


def value(source: str, **env):
    env = {"x": 2.0, "n": 3.0, "on": True, "pos": 1.0, **env}
    return compile_expression(source, SYMBOLS).evaluate(env)


class TestEvaluation:
    @pytest.mark.parametrize(
        "source, expected",
        [
            ("1 + 2 * 3", 7),
            ("2 ** 3 ** 2", 512),
            ("7 // 2", 3),
            ("7 % 4", 3),
            ("-x + 1", -1),
            ("x / 4", 0.5),
            ("min(x, 5, 1)", 1),
            ("max(x, n)", 3),
            ("clamp(x * 10, 0, 15)", 15),
            ("abs(-x)", 2),
            ("sqrt(16)", 4),
            ("floor(2.7) + ceil(2.1)", 5),
            ("sign(-x)", -1),
        ],
    )
    def test_arithmetic(self, source, expected):
        assert value(source) == pytest.approx(expected)

    @pytest.mark.parametrize(
        "source, expected",
        [
            ("x < n", True),
            ("1 < x < 3", True),
            ("1 < x < 2", False),
            ("on and x > 1", True),
            ("not on or x == 2", True),
            ("pos == 'closed'", True),
            ("'open' == pos", False),
            ("pos != 'open' and on", True),
            ("on == true", True),
        ],
    )
    def test_conditions(self, source, expected):
        assert bool(value(source)) is expected

    def test_conditional_expression_selects_per_element(self):
        expr = compile_expression("x * 2 if on else -1.0", SYMBOLS)
        result = expr.evaluate(
            {"x": np.array([1.0, 2.0, 3.0]), "on": np.array([True, False, True])}
        )
        assert result.tolist() == [2.0, -1.0, 6.0]

    def test_enum_literal_compiles_to_the_value_index(self):
        expr = compile_expression("'closed' if on else 'open'", SYMBOLS, expect=SYMBOLS["pos"])
        assert expr.evaluate({"on": np.array([True, False])}).tolist() == [1.0, 0.0]

    def test_result_types(self):
        assert compile_expression("n + 1", SYMBOLS).type == INT
        assert compile_expression("n / 1", SYMBOLS).type == REAL
        assert compile_expression("x > 1", SYMBOLS).type == BOOL

    @settings(max_examples=60, deadline=None)
    @given(a=st.floats(-1e6, 1e6), b=st.floats(-1e6, 1e6), c=st.floats(0.5, 1e3))
    def test_agrees_with_float_arithmetic(self, a, b, c):
        expr = compile_expression(
            "(a - b) * c + a / c - min(a, b) ** 2 / (c + 1)", {"a": REAL, "b": REAL, "c": REAL}
        )
        expected = (a - b) * c + a / c - min(a, b) ** 2 / (c + 1)
        assert expr.evaluate({"a": a, "b": b, "c": c}) == pytest.approx(
            expected, rel=1e-12, abs=1e-9
        )


class TestRefusals:
    @pytest.mark.parametrize(
        "source, error, message",
        [
            ("y + 1", UnknownNameError, "unknown name 'y'"),
            ("xx + 1", UnknownNameError, "did you mean 'x'"),
            ("eval('1')", UnknownNameError, "unknown function 'eval'"),
            ("__import__('os')", ExpressionSyntaxError, "'__import__' is not allowed"),
            ("x.__class__", ExpressionSyntaxError, "'__class__' is not allowed"),
            ("x.real", ExpressionSyntaxError, "attribute access"),
            ("[1, 2][0]", ExpressionSyntaxError, "not allowed"),
            ("(lambda: 1)()", ExpressionSyntaxError, "lambda functions"),
            ("[i for i in range(10)]", ExpressionSyntaxError, "comprehensions"),
            ("(y := 1)", ExpressionSyntaxError, "assignment expressions"),
            ("x if 1 else 2", ExpressionTypeError, "if needs true/false"),
            ("pos + 1", ExpressionTypeError, "needs numbers"),
            ("pos == 'ajar'", ExpressionTypeError, "'ajar' is not one of open, closed"),
            ("on + 1", ExpressionTypeError, "needs numbers"),
            ("x < on", ExpressionTypeError, "needs numbers"),
            ("x ** 65", ExpressionLimitError, "exponent 65 exceeds"),
            ("10 ** 10 ** 10", ExpressionLimitError, "exceeds the limit"),
            ("x << 2", ExpressionSyntaxError, "bitwise"),
            ("while True: pass", ExpressionSyntaxError, "invalid expression"),
            ("import os", ExpressionSyntaxError, "invalid expression"),
            ("f'{x}'", ExpressionSyntaxError, "f-strings"),
            ("max(x)", ExpressionTypeError, "takes 2..8 arguments"),
            ("1" + "0" * 30, ExpressionLimitError, "too large"),
            ("", ExpressionSyntaxError, "empty expression"),
            ("2if on else 3", ExpressionSyntaxError, "invalid decimal literal"),
            ("x is 1", ExpressionSyntaxError, "'in'/'is' not allowed"),
        ],
    )
    def test_refused_with_a_precise_message(self, source, error, message):
        with pytest.raises(
            error,
            match=message.replace("(", r"\(")
            .replace(")", r"\)")
            .replace("*", r"\*")
            .replace(".", r"\."),
        ):
            compile_expression(source, SYMBOLS)

    def test_size_and_depth_limits(self):
        with pytest.raises(ExpressionLimitError, match="characters long"):
            compile_expression(" + ".join(["x"] * 400), SYMBOLS)
        with pytest.raises(ExpressionLimitError, match="more than 200 elements"):
            compile_expression(" and ".join(["on"] * 120), SYMBOLS)  # flat, not deep
        with pytest.raises(ExpressionLimitError, match="nested deeper"):
            compile_expression("abs(" * 40 + "x" + ")" * 40, SYMBOLS)

    def test_runtime_exponent_is_bounded(self):
        expr = compile_expression("2.0 ** x", SYMBOLS)
        assert expr.evaluate({"x": 10.0}) == 1024.0
        with pytest.raises(ExpressionLimitError, match="at run time"):
            expr.evaluate({"x": np.array([1.0, 1e6])})

    def test_overflow_gives_infinity_not_a_hang(self):
        expr = compile_expression("exp(x) * 1e300", SYMBOLS)
        with np.errstate(all="ignore"):
            assert math.isinf(expr.evaluate({"x": np.array([800.0])})[0])
