import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itembank.irt.errors import ModelError
from itembank.irt.models import (
    FAMILY_DICHOTOMOUS,
    FAMILY_GRADED,
    FAMILY_PARTIAL_CREDIT,
    ItemBank,
    ItemParams,
    family_parameter_jacobian,
    family_probabilities,
    family_theta_derivative,
)

THETA = np.linspace(-4, 4, 41)


def _mixed_bank():
    items = [
        ItemParams("r", "rasch", 1.0, (0.3,)),
        ItemParams("two", "2pl", 1.4, (-0.5,)),
        ItemParams("three", "3pl", 0.9, (0.2,), c=0.2),
        ItemParams("g", "grm", 1.2, (1.5, 0.0, -1.2)),
        ItemParams("p", "gpcm", 0.8, (0.5, -0.3)),
    ]
    return ItemBank.from_items(items)


class TestProbabilityKernels:
    def test_category_probabilities_sum_to_one_and_padding_is_zero(self):
        bank = _mixed_bank()
        p = bank.category_probabilities(THETA)
        assert p.shape == (THETA.size, 5, 4)
        assert np.allclose(p.sum(axis=2), 1.0)
        assert np.all(p >= 0) and np.all(p <= 1)
        assert np.all(p[:, 0, 2:] == 0) and np.all(p[:, 4, 3:] == 0)

    def test_3pl_lower_asymptote_and_2pl_midpoint(self):
        bank = _mixed_bank()
        p = bank.category_probabilities(np.array([-40.0, 0.5 / 1.4]))
        assert p[0, 2, 1] == pytest.approx(0.2, abs=1e-9)
        assert p[1, 1, 1] == pytest.approx(0.5)

    def test_expected_score_increases_with_theta(self):
        ts = _mixed_bank().expected_scores(THETA)
        assert np.all(np.diff(ts, axis=0) > 0)

    def test_graded_equals_2pl_for_two_categories(self):
        a, d = 1.3, np.array([0.4])
        g = family_probabilities(FAMILY_GRADED, THETA, a, d)
        pc = family_probabilities(FAMILY_PARTIAL_CREDIT, THETA, a, d)
        two = family_probabilities(FAMILY_DICHOTOMOUS, THETA, a, d, 0.0)
        assert np.allclose(g, two) and np.allclose(pc, two)

    @settings(max_examples=30, deadline=None)
    @given(st.floats(0.2, 3.0), st.floats(-3, 3), st.floats(0.0, 0.4), st.floats(-5, 5))
    def test_3pl_probability_in_bounds(self, a, d, c, theta):
        p = family_probabilities(FAMILY_DICHOTOMOUS, theta, a, np.array([d]), c)
        assert c - 1e-12 <= p[1] <= 1.0 and p.sum() == pytest.approx(1.0)


class TestDerivatives:
    @pytest.mark.parametrize("family,d,c", [
        (FAMILY_DICHOTOMOUS, np.array([0.3]), 0.15),
        (FAMILY_GRADED, np.array([1.0, -0.2, -1.5]), 0.0),
        (FAMILY_PARTIAL_CREDIT, np.array([0.4, -0.6, 0.1]), 0.0),
    ])
    def test_theta_and_parameter_derivatives_match_finite_differences(self, family, d, c):
        a, h = 1.1, 1e-6
        num = (family_probabilities(family, THETA + h, a, d, c)
               - family_probabilities(family, THETA - h, a, d, c)) / (2 * h)
        assert np.allclose(family_theta_derivative(family, THETA, a, d, c), num, atol=1e-6)
        jac = family_parameter_jacobian(family, THETA, a, d, c)
        g = np.log(c / (1 - c)) if c else -np.inf
        psi = np.r_[a, d, g]
        for col in range(psi.size if c else psi.size - 1):
            up, dn = psi.copy(), psi.copy()
            up[col] += h
            dn[col] -= h
            pu = family_probabilities(family, THETA, up[0], up[1:-1], 1 / (1 + np.exp(-up[-1])))
            pd = family_probabilities(family, THETA, dn[0], dn[1:-1], 1 / (1 + np.exp(-dn[-1])))
            assert np.allclose(jac[..., col], (pu - pd) / (2 * h), atol=1e-6)

    def test_information_is_nonnegative_and_2pl_formula(self):
        bank = _mixed_bank()
        info = bank.item_information(THETA)
        assert np.all(info >= 0)
        p = 1 / (1 + np.exp(-(1.4 * THETA - 0.5)))
        assert np.allclose(info[:, 1], 1.4**2 * p * (1 - p))
        assert np.allclose(bank.test_information(THETA), info.sum(axis=1))

    def test_2pl_information_is_symmetric_around_b(self):
        bank = ItemBank.from_items([ItemParams("x", "2pl", 1.7, (-0.85,))])
        b = 0.5
        assert np.allclose(bank.item_information(b + THETA), bank.item_information(b - THETA))


class TestItemParams:
    def test_b_is_minus_d_over_a(self):
        assert ItemParams("x", "2pl", 2.0, (1.0,)).b == -0.5
        assert ItemParams("g", "grm", 2.0, (1.0, -1.0)).b == (-0.5, 0.5)

    @pytest.mark.parametrize("kwargs", [
        dict(model="4pl", d=(0.0,)),
        dict(model="2pl", d=(0.0, 1.0)),
        dict(model="3pl", d=(0.0,), c=1.2),
    ])
    def test_invalid_items_are_refused(self, kwargs):
        with pytest.raises(ModelError):
            ItemParams(id="x", a=1.0, **kwargs)

    def test_bank_round_trip_and_subset(self):
        bank = _mixed_bank()
        again = ItemBank.from_items(bank.to_items())
        assert np.allclose(again.category_probabilities(THETA), bank.category_probabilities(THETA))
        sub = bank.subset([1, 3])
        assert sub.ids == ("two", "g") and sub.max_categories == 4
