import itertools

import numpy as np
import pytest

from itembank.irt.errors import DataError
from itembank.irt.estimation import calibrate
from itembank.irt.fit import lz_star, s_x2
from itembank.irt.likelihood import Quadrature
from itembank.irt.simulate import random_bank, simulate_responses


class TestSX2:
    def test_expected_proportions_match_pattern_enumeration(self, lsat7):
        """Independent S-X²: expected proportions by enumerating all 32 patterns."""
        res = calibrate(lsat7, "2pl")
        fit = s_x2(lsat7, res.bank)
        quad = Quadrature.grid()
        w = np.exp(quad.log_weights())
        probs = res.bank.category_probabilities(quad.nodes)
        n_by_sum = np.zeros(6)
        right_by_sum = np.zeros((6, 5))
        for pattern in itertools.product((0, 1), repeat=5):
            pr = w @ np.prod(probs[:, np.arange(5), pattern], axis=1)
            s = sum(pattern)
            n_by_sum[s] += pr
            right_by_sum[s] += pr * np.array(pattern)
        expected = right_by_sum / n_by_sum[:, None]
        x = lsat7.to_dense().astype(int)
        totals = x.sum(axis=1)
        for j in range(5):
            stat = 0.0
            for s in range(1, 5):
                n = np.sum(totals == s)
                o1 = np.sum(x[totals == s, j])
                e1 = n * expected[s, j]
                stat += (o1 - e1) ** 2 / e1 + (o1 - e1) ** 2 / (n - e1)
            assert fit.s_x2[j] == pytest.approx(stat, rel=1e-6)
        assert np.all(fit.df == 4 - 2)

    def test_statistics_follow_chi_square_under_the_model(self, rng):
        bank = random_bank(25, "2pl", rng)
        data = simulate_responses(bank, rng.normal(size=4000), rng)
        fit = s_x2(data, bank)
        assert fit.s_x2.mean() == pytest.approx(fit.df.mean(), rel=0.2)
        assert 0.2 < np.mean(fit.p) < 0.8

    def test_misfitting_item_is_flagged(self, rng):
        bank = random_bank(20, "2pl", rng)
        data = simulate_responses(bank, rng.normal(size=4000), rng)
        wrong = bank.subset(range(20))
        wrong.a[0] = bank.a[0] * 3.0
        fit = s_x2(data, wrong)
        assert fit.p[0] < 1e-4

    def test_polytomous_items_have_k_minus_one_df_per_group(self, rng):
        bank = random_bank(8, "grm", rng, n_categories=3)
        fit = s_x2(simulate_responses(bank, rng.normal(size=2000), rng), bank)
        assert np.all(fit.df > 0) and np.all(np.isfinite(fit.s_x2))

    def test_needs_complete_patterns(self, rng):
        bank = random_bank(20, "2pl", rng)
        data = simulate_responses(bank, rng.normal(size=200), rng, items_per_person=5)
        with pytest.raises(DataError):
            s_x2(data, bank)


class TestLzStar:
    def test_standard_normal_under_the_model(self, rng):
        bank = random_bank(40, "2pl", rng)
        fit = lz_star(simulate_responses(bank, rng.normal(size=3000), rng), bank)
        lz = fit.lz_star[np.isfinite(fit.lz_star)]
        assert abs(lz.mean()) < 0.1
        assert lz.std() == pytest.approx(1.0, abs=0.1)

    def test_random_responders_get_low_values(self, rng):
        bank = random_bank(40, "2pl", rng)
        data = simulate_responses(bank, rng.normal(size=600), rng)
        guessers = np.isin(data.persons, np.arange(100))
        data.scores[guessers] = rng.integers(0, 2, guessers.sum())
        lz = lz_star(data, bank).lz_star
        assert np.nanmean(lz[:100]) < -1.5 < np.nanmean(lz[100:])
