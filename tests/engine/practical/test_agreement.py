"""ICC against Shrout & Fleiss (1979), Table 2 and Table 4; severity on constructed data."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.practical.agreement import icc, severity

# Shrout & Fleiss (1979), Table 2: six targets rated by four judges.
SHROUT_FLEISS = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]


def test_mean_squares_match_the_papers_anova_table():
    result = icc(SHROUT_FLEISS)
    assert (result.n, result.k) == (6, 4)
    assert round(result.bms, 2) == 11.24 and round(result.wms, 2) == 6.26
    assert round(result.jms, 2) == 32.49 and round(result.ems, 2) == 1.02


def test_the_six_iccs_match_the_papers_values():
    result = icc(SHROUT_FLEISS)
    published = {"icc1_1": 0.17, "icc2_1": 0.29, "icc3_1": 0.71, "icc1_k": 0.44, "icc2_k": 0.62, "icc3_k": 0.91}
    assert {name: round(getattr(result, name), 2) for name in published} == published


def test_perfect_agreement_is_one_and_rater_offsets_only_hurt_absolute_agreement():
    truth = np.array([40.0, 55, 62, 70, 88])
    same = icc(np.column_stack([truth, truth, truth]))
    assert same.icc1_1 == pytest.approx(1.0) and same.icc2_1 == pytest.approx(1.0)
    shifted = icc(np.column_stack([truth, truth + 10, truth - 10]))
    assert shifted.icc3_1 == pytest.approx(1.0)  # consistency ignores a constant offset per rater
    assert shifted.icc2_1 < 0.9 and shifted.icc1_1 < 0.9  # absolute agreement does not


def test_independent_noise_gives_an_icc_near_its_population_value():
    rng = np.random.default_rng(7)
    targets = rng.normal(0, 2, size=4000)  # between-target variance 4, rater noise variance 1
    ratings = targets[:, None] + rng.normal(0, 1, size=(4000, 3))
    assert icc(ratings).icc1_1 == pytest.approx(4 / 5, abs=0.02)


def test_degenerate_input_is_refused_or_undefined():
    with pytest.raises(ValueError):
        icc([[1, 2, 3]])
    assert math.isnan(icc([[5, 5], [5, 5]]).icc1_1)


def test_severity_is_the_mean_deviation_from_the_peers():
    ratings = [{"a": 70, "b": 80, "c": 90}, {"a": 50, "b": 60, "c": 70}, {"a": 88}]
    result = severity(ratings)
    assert result["a"] == (-15.0, 2) and result["b"] == (0.0, 2) and result["c"] == (15.0, 2)
