"""Estimators: agreement with the IRT core's batch scoring, invariants, fallbacks."""

from __future__ import annotations

import numpy as np
import pytest

from engine.cat import (
    AdaptiveEngine,
    CATBank,
    CATOptionsError,
    EAPEstimator,
    MAPEstimator,
    MLEstimator,
    WLEEstimator,
    make_estimator,
)
from itembank.irt.data import ResponseData
from itembank.irt.scoring import ScoringOptions, score_persons
from itembank.irt.simulate import simulate_responses

from .banks import bank_2pl, mixed_bank


def _fold(cbank: CATBank, dense: np.ndarray):
    """A TrailState built by recording each person's responses in item order."""
    engine = AdaptiveEngine(cbank)
    n, j = dense.shape
    state = engine.start(n)
    state.items = np.full((n, j), -1, dtype=np.int64)
    state.scores = np.zeros((n, j), dtype=np.int64)
    for col in range(j):
        engine.record(state, np.arange(n), np.full(n, col), dense[:, col].astype(np.int64))
    return state


@pytest.fixture(scope="module", params=["2pl", "mixed"])
def scored(request):
    bank = bank_2pl(25, seed=3) if request.param == "2pl" else mixed_bank(seed=4)
    rng = np.random.default_rng(11)
    data = simulate_responses(bank, rng.normal(size=60), rng)
    return bank, data


class TestAgreementWithBatchScoring:
    @pytest.mark.parametrize("method", ["eap", "map", "ml", "wle"])
    def test_single_path_matches_itembank_scoring(self, scored, method):
        bank, data = scored
        dense = data.to_dense()
        reference = score_persons(ResponseData.from_dense(dense, item_ids=bank.ids), bank,
                                  options=ScoringOptions(method=method))
        state = _fold(CATBank(bank), dense)
        est = make_estimator(method).estimate(CATBank(bank), state)
        finite = np.isfinite(reference.theta)
        assert finite.sum() > 40
        np.testing.assert_allclose(est.theta[finite], reference.theta[finite], atol=2e-3)
        np.testing.assert_allclose(est.se[finite], reference.se[finite], atol=2e-3)


class TestInvariants:
    def test_eap_with_no_responses_is_the_prior(self):
        cbank = CATBank(bank_2pl(10, seed=1))
        state = AdaptiveEngine(cbank).start(2)
        est = EAPEstimator(prior_mean=0.5, prior_sd=0.8).estimate(cbank, state)
        np.testing.assert_allclose(est.theta, 0.5, atol=1e-6)
        np.testing.assert_allclose(est.se, 0.8, atol=1e-3)

    def test_se_shrinks_as_responses_accumulate(self):
        cbank = CATBank(bank_2pl(40, seed=2))
        dense = (np.random.default_rng(0).random((1, 40)) < 0.5).astype(float)
        ses = [EAPEstimator().estimate(cbank, _fold(cbank, dense[:, :k])).se[0]
               for k in (5, 10, 20, 40)]
        assert all(a > b for a, b in zip(ses, ses[1:], strict=False))

    def test_more_correct_answers_never_lower_the_estimate(self):
        cbank = CATBank(bank_2pl(20, seed=5))
        patterns = np.tril(np.ones((21, 20)), -1)[:, ::-1]  # 0..20 correct answers
        for est in (EAPEstimator(), MAPEstimator(), WLEEstimator()):
            theta = est.estimate(cbank, _fold(cbank, patterns)).theta
            assert np.all(np.diff(theta) > 0), est.name


class TestExtremePatterns:
    def test_ml_falls_back_while_all_answers_are_correct(self):
        cbank = CATBank(bank_2pl(10, seed=6))
        dense = np.ones((1, 4))
        est = MLEstimator().estimate(cbank, _fold(cbank, dense))
        eap = EAPEstimator().estimate(cbank, _fold(cbank, dense))
        assert est.fallback[0]
        assert est.theta[0] == pytest.approx(eap.theta[0])

    def test_ml_is_used_once_the_pattern_is_mixed(self):
        cbank = CATBank(bank_2pl(10, seed=6))
        est = MLEstimator().estimate(cbank, _fold(cbank, np.array([[1.0, 0.0, 1.0, 1.0]])))
        assert not est.fallback[0]
        assert np.isfinite(est.theta[0]) and est.theta[0] > 0

    def test_wle_is_finite_for_all_wrong(self):
        cbank = CATBank(bank_2pl(10, seed=6))
        est = WLEEstimator().estimate(cbank, _fold(cbank, np.zeros((1, 6))))
        assert np.isfinite(est.theta[0]) and est.theta[0] < -1


def test_unknown_estimator_is_refused():
    with pytest.raises(CATOptionsError):
        make_estimator("bayes")
