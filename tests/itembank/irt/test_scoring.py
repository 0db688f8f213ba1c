import numpy as np
import pytest
from scipy.integrate import quad as integrate

from itembank.irt.data import ResponseData
from itembank.irt.errors import OptionsError
from itembank.irt.estimation import calibrate
from itembank.irt.models import Population
from itembank.irt.scoring import (
    ScoringOptions,
    empirical_reliability,
    marginal_reliability,
    score_persons,
    sum_score_table,
    summed_score_likelihood,
)
from itembank.irt.simulate import random_bank, simulate_responses


@pytest.fixture(scope="module")
def lsat7_fit(lsat7):
    return calibrate(lsat7, "2pl")


def _pattern_likelihood(bank, pattern):
    def f(t):
        p = bank.category_probabilities(np.array([t]))[0]
        return float(np.prod(p[np.arange(len(pattern)), pattern]))
    return f


class TestEAP:
    def test_eap_agrees_with_continuous_integration(self, lsat7, lsat7_fit):
        bank = lsat7_fit.bank
        res = score_persons(lsat7, bank)
        dense = lsat7.to_dense().astype(int)
        for person in (0, 400, 999):
            like = _pattern_likelihood(bank, dense[person])
            phi = lambda t: np.exp(-t * t / 2)  # noqa: E731
            z = integrate(lambda t: like(t) * phi(t), -8, 8)[0]
            m = integrate(lambda t: t * like(t) * phi(t), -8, 8)[0] / z
            v = integrate(lambda t: t * t * like(t) * phi(t), -8, 8)[0] / z - m * m
            assert res.theta[person] == pytest.approx(m, abs=1e-3)
            assert res.se[person] == pytest.approx(np.sqrt(v), abs=1e-3)

    def test_more_correct_answers_give_higher_eap(self, lsat7, lsat7_fit):
        res = score_persons(lsat7, lsat7_fit.bank)
        totals = np.nansum(lsat7.to_dense(), axis=1)
        assert res.theta[totals == 5].min() > res.theta[totals == 0].max()


class TestPointEstimators:
    @pytest.mark.parametrize("method", ["map", "ml", "wle"])
    def test_estimate_maximizes_its_objective(self, lsat7, lsat7_fit, method):
        bank = lsat7_fit.bank
        res = score_persons(lsat7, bank, options=ScoringOptions(method=method))
        dense = lsat7.to_dense().astype(int)
        grid = np.linspace(-6, 6, 24001)
        p = bank.category_probabilities(grid)
        info = bank.test_information(grid)
        for person in np.flatnonzero(np.isfinite(res.theta))[::97]:
            ll = np.log(p[:, np.arange(5), dense[person]]).sum(axis=1)
            obj = {"ml": ll, "map": ll - grid**2 / 2, "wle": ll + 0.5 * np.log(info)}[method]
            assert res.theta[person] == pytest.approx(grid[np.argmax(obj)], abs=1e-3)

    def test_ml_reports_infinite_estimates_for_extreme_patterns(self, lsat7, lsat7_fit):
        res = score_persons(lsat7, lsat7_fit.bank, options=ScoringOptions(method="ml"))
        totals = np.nansum(lsat7.to_dense(), axis=1)
        assert np.all(res.theta[totals == 0] == -np.inf)
        assert np.all(res.theta[totals == 5] == np.inf)
        assert np.all(np.isinf(res.se[(totals == 0) | (totals == 5)]))
        assert np.all(np.isfinite(res.theta[(totals > 0) & (totals < 5)]))

    def test_wle_and_map_are_finite_for_extreme_patterns(self, lsat7, lsat7_fit):
        for method in ("wle", "map"):
            res = score_persons(lsat7, lsat7_fit.bank, options=ScoringOptions(method=method))
            assert np.all(np.isfinite(res.theta))

    @pytest.mark.parametrize("method", ["eap", "map", "ml", "wle"])
    def test_recovers_abilities_on_long_test(self, rng, method):
        bank = random_bank(60, "2pl", rng)
        theta = rng.normal(size=1500)
        res = score_persons(simulate_responses(bank, theta, rng), bank,
                            options=ScoringOptions(method=method))
        ok = np.isfinite(res.theta)
        assert np.corrcoef(res.theta[ok], theta[ok])[0, 1] > 0.93
        # the reported SE matches the actual error
        err = np.sqrt(np.mean((res.theta[ok] - theta[ok]) ** 2))
        assert err == pytest.approx(np.sqrt(np.mean(res.se[ok] ** 2)), rel=0.2)

    def test_unknown_method_is_refused(self):
        with pytest.raises(OptionsError):
            ScoringOptions(method="bayes")


class TestSummedScores:
    def test_lord_wingersky_matches_enumeration(self, lsat7_fit):
        bank = lsat7_fit.bank
        nodes = np.array([-1.0, 0.3])
        probs = bank.category_probabilities(nodes)
        dist = summed_score_likelihood(probs, bank.n_categories)
        brute = np.zeros_like(dist)
        for pattern in np.ndindex(*(2,) * 5):
            brute[:, sum(pattern)] += np.prod(probs[:, np.arange(5), pattern], axis=1)
        assert np.allclose(dist, brute)

    def test_eapsum_table_is_monotone_and_equals_pattern_eap_for_rasch(self, lsat6):
        res = calibrate(lsat6, "rasch")
        table = sum_score_table(res.bank, res.population)
        assert list(table.sums) == [0, 1, 2, 3, 4, 5]
        assert np.all(np.diff(table.theta) > 0)
        assert table.probability.sum() == pytest.approx(1.0)
        # under the Rasch model the summed score is sufficient: pattern EAP = sum EAP
        scores = score_persons(lsat6, res.bank, res.population)
        totals = np.nansum(lsat6.to_dense(), axis=1).astype(int)
        assert np.allclose(scores.theta, table.theta[totals], atol=1e-8)

    def test_polytomous_table_covers_all_sums(self, rng):
        bank = random_bank(4, "grm", rng, n_categories=3)
        assert list(sum_score_table(bank).sums) == list(range(9))


class TestReliability:
    def test_more_items_are_more_reliable(self, rng):
        bank = random_bank(40, "2pl", rng)
        short = marginal_reliability(bank.subset(range(5)))
        long = marginal_reliability(bank)
        assert 0 < short < long < 1

    def test_empirical_reliability_close_to_marginal(self, rng):
        bank = random_bank(30, "2pl", rng)
        data = simulate_responses(bank, rng.normal(size=3000), rng)
        emp = empirical_reliability(score_persons(data, bank))
        assert emp == pytest.approx(marginal_reliability(bank), abs=0.03)


class TestSparseScoring:
    def test_missing_items_are_ignored(self, lsat7_fit):
        data = ResponseData.from_dense([[1, np.nan, np.nan, np.nan, np.nan],
                                        [1, 0, 1, 0, 1]], item_ids=lsat7_fit.bank.ids)
        res = score_persons(data, lsat7_fit.bank, Population())
        one_item = lsat7_fit.bank.subset([0])
        alone = score_persons(ResponseData.from_dense([[1]], item_ids=["item1"]), one_item)
        assert res.theta[0] == pytest.approx(alone.theta[0])
