"""The 0–100 mapping and decision-quality indices."""

from __future__ import annotations

import numpy as np
import pytest

from engine.cat import ScoreScale, fixed_form_decision_quality, rudner_accuracy_consistency
from engine.cat.scores import classification_confidence

from .banks import bank_2pl, mixed_bank


class TestScoreScale:
    @pytest.mark.parametrize("cut", [-0.5, 0.0, 0.8])
    def test_cut_maps_to_60_and_the_map_is_monotone_on_0_100(self, cut):
        scale = ScoreScale.from_reference(bank_2pl(40, seed=1), cut_theta=cut)
        assert scale.score(np.array([cut]))[0] == pytest.approx(60.0)
        grid = np.linspace(-6, 6, 241)
        s = scale.score(grid)
        assert np.all(np.diff(s) > 0)
        assert s.min() >= 0.0 and s.max() <= 100.0
        assert s[0] < 2.0 and s[-1] > 98.0

    def test_without_a_cut_the_score_is_the_expected_percentage(self):
        form = bank_2pl(40, seed=2)
        scale = ScoreScale.from_reference(form)
        grid = np.linspace(-3, 3, 13)
        np.testing.assert_allclose(scale.score(grid), scale.percent(grid), atol=1e-6)
        expected = 100 * form.test_characteristic(np.array([scale.cut_theta])) / 40
        assert expected[0] == pytest.approx(60.0)

    def test_polytomous_reference_forms_use_their_maximum_points(self):
        scale = ScoreScale.from_reference(mixed_bank(seed=3), cut_theta=0.0)
        assert scale.max_points == 40 * 1 * 2 + 40 * 3 * 2
        assert scale.score(np.array([8.0]))[0] > 95


class TestDecisionQuality:
    def test_rudner_indices_are_high_far_from_the_cut_and_low_at_it(self):
        far = rudner_accuracy_consistency(np.array([-2.0, 2.0]), np.array([0.3, 0.3]), 0.0)
        near = rudner_accuracy_consistency(np.array([-0.05, 0.05]), np.array([0.3, 0.3]), 0.0)
        assert far[0] > 0.99 and far[1] > 0.99
        assert 0.5 <= near[0] < 0.6 and 0.5 <= near[1] < 0.52

    def test_confidence_is_at_least_one_half(self):
        rng = np.random.default_rng(0)
        conf = classification_confidence(rng.normal(size=100), rng.uniform(0.2, 0.5, 100), 0.3)
        assert np.all((conf >= 0.5) & (conf <= 1.0))

    def test_longer_fixed_forms_classify_better(self):
        bank = bank_2pl(80, seed=4)
        short = fixed_form_decision_quality(bank.subset(range(10)), cut=0.0)
        long = fixed_form_decision_quality(bank, cut=0.0)
        assert long[0] > short[0] and long[1] > short[1]
        assert 0.5 < short[0] < 1.0
