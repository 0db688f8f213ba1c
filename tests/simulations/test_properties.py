"""Property tests: arbitrary input never crashes the engine or escapes the error tree."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulations.errors import ExpressionError, ScenarioError
from simulations.expressions import BOOL, REAL, compile_expression, enum_type
from simulations.runtime import replay, score
from simulations.runtime.trace import LoggedAction
from simulations.scenario import load_scenario_text

SYMBOLS = {"x": REAL, "on": BOOL, "pos": enum_type(["open", "closed"])}
ALPHABET = "xonpsabc_0123456789.+-*/%()<>=!'\" ,:[]{}lambdaifelsenotand"


class TestExpressionFuzz:
    @settings(max_examples=300, deadline=None)
    @given(st.text(alphabet=ALPHABET, max_size=60))
    def test_any_text_compiles_or_raises_an_expression_error(self, text):
        try:
            expr = compile_expression(text, SYMBOLS)
            with np.errstate(all="ignore"):
                expr.evaluate(
                    {
                        "x": np.array([1.5, -2.0]),
                        "on": np.array([True, False]),
                        "pos": np.array([0.0, 1.0]),
                    }
                )
        except ExpressionError:
            pass  # refused with a message: the only acceptable failure


class TestRandomCandidates:
    @settings(
        max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(
        steps=st.lists(st.tuples(st.integers(0, 1300), st.integers(0, 14)), max_size=25),
        seed=st.integers(0, 2**32 - 1),
    )
    def test_any_action_sequence_scores_between_0_and_100_reproducibly(
        self, electrician, steps, seed
    ):
        names = sorted(a for a in electrician.actions if a not in ("finish", "acknowledge"))
        log = [LoggedAction(float(t), names[i % len(names)]) for t, i in sorted(steps)]
        log = [a for a in log if a.t <= electrician.time_limit]
        trace = replay(electrician, log, seed)
        sheet = score(electrician, trace)
        assert 0.0 <= sheet.total <= 100.0
        assert sheet.passed == (not sheet.vetoed and sheet.total >= 60)
        assert replay(electrician, log, seed).fingerprint() == trace.fingerprint()


BASE = (Path(__file__).parent / "valid_tank.yaml").read_text("utf-8")
MUTATION = st.tuples(
    st.integers(0, len(BASE) - 1),
    st.sampled_from(list(" :-[]{}'\"\n#&*!|>0az_.,=<(+")),
    st.booleans(),
)


class TestScenarioFileFuzz:
    @settings(max_examples=200, deadline=None)
    @given(st.lists(MUTATION, min_size=1, max_size=4))
    def test_any_mutated_file_loads_or_raises_a_scenario_error(self, mutations):
        text = BASE
        for position, char, insert in mutations:
            position %= len(text)
            text = text[:position] + char + text[position + (0 if insert else 1) :]
        try:
            load_scenario_text(text, "fuzz.yaml")
        except ScenarioError as error:
            assert error.file == "fuzz.yaml" and error.message
