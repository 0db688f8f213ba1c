"""Calibration tests: pinned references, agreement of implementations, recovery."""

import warnings

import numpy as np
import pytest

from itembank.irt.data import ResponseData
from itembank.irt.errors import ConvergenceWarning, EstimationError, ModelError
from itembank.irt.estimation import (
    CalibrationOptions,
    Prior,
    PriorSet,
    calibrate,
)
from itembank.irt.likelihood import Quadrature, grid_log_likelihood
from itembank.irt.models import ItemBank
from itembank.irt.simulate import random_bank, simulate_responses


def _rmse(x, y):
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = ~np.isnan(y)
    return float(np.sqrt(np.mean((x[ok] - y[ok]) ** 2)))


def _marginal_loglik(data, bank, population_sd=1.0):
    """Independent marginal log-likelihood (same 61-node grid) for finite differences."""
    quad = Quadrature.grid()
    ll = grid_log_likelihood(data, bank, quad.nodes)
    lw = quad.log_weights(0.0, population_sd)
    top = ll.max(axis=1, keepdims=True)
    return float(np.sum(top[:, 0] + np.log(np.exp(ll - top) @ np.exp(lw))))


class TestReferenceValues:
    # Published values. LSAT7, 2PL: mirt's documentation / Bock & Lieberman (1970),
    # logLik -2658.805, slope-intercept estimates below (mirt 61-node grid on [-6, 6]).
    LSAT7_A = [0.988, 1.081, 1.706, 0.765, 0.736]
    LSAT7_D = [1.856, 0.808, 1.804, 0.486, 1.855]
    # LSAT6 (ltm's "LSAT"), from ltm's documented output: ltm(LSAT ~ z1) logLik -2466.653,
    # discriminations and difficulties below; rasch(LSAT) logLik -2466.938 with the
    # common discrimination 0.755 (ltm integrates with 21 Gauss–Hermite points, which
    # moves the third decimal at most).
    LSAT6_A = [0.825, 0.723, 0.891, 0.689, 0.657]
    LSAT6_B = [-3.360, -1.370, -0.280, -1.866, -3.124]
    LSAT6_RASCH_B = [-3.615, -1.322, -0.318, -1.730, -2.780]

    def test_lsat7_2pl_matches_mirt(self, lsat7):
        res = calibrate(lsat7, "2pl")
        assert res.converged
        assert res.loglik == pytest.approx(-2658.805, abs=0.01)
        assert np.allclose(res.bank.a, self.LSAT7_A, atol=0.01)
        assert np.allclose(res.bank.d[:, 0], self.LSAT7_D, atol=0.01)

    def test_lsat6_2pl_matches_ltm(self, lsat6):
        res = calibrate(lsat6, "2pl")
        assert res.loglik == pytest.approx(-2466.653, abs=0.01)
        assert np.allclose(res.bank.a, self.LSAT6_A, atol=0.01)
        assert np.allclose(res.bank.b[:, 0], self.LSAT6_B, atol=0.01)

    def test_lsat6_rasch_estimates_population_sd(self, lsat6):
        res = calibrate(lsat6, "rasch")
        assert res.loglik == pytest.approx(-2466.938, abs=0.01)
        assert res.population.sd == pytest.approx(0.755, abs=0.01)
        assert np.all(res.bank.a == 1.0)
        assert np.allclose(res.bank.b[:, 0] / res.population.sd, self.LSAT6_RASCH_B, atol=0.01)

    def test_science_grm_matches_mirt(self):
        # mirt documentation example mirt(Science, 1) (graded): logLik -1608.87; items
        # comfort, work and benefit as printed by coef() (slope, three intercepts).
        from itembank.irt.data import read_responses_csv
        from tests.itembank.irt.conftest import DATA_DIR

        res = calibrate(read_responses_csv(DATA_DIR / "science.csv"), "grm")
        assert res.loglik == pytest.approx(-1608.87, abs=0.01)
        expected = {0: (1.042, 4.864, 2.640, -1.466), 1: (1.226, 2.924, 0.901, -2.267),
                    3: (1.095, 3.348, 0.992, -1.688)}
        for j, (a, *d) in expected.items():
            assert res.bank.a[j] == pytest.approx(a, abs=0.01)
            assert np.allclose(res.bank.d[j], d, atol=0.01)

    def test_1pl_equals_rasch_up_to_scale(self, lsat6):
        one = calibrate(lsat6, "1pl")
        rasch = calibrate(lsat6, "rasch")
        assert one.loglik == pytest.approx(rasch.loglik, abs=1e-3)
        assert one.bank.a[0] == pytest.approx(rasch.population.sd, abs=1e-3)


class TestStandardErrors:
    def test_oakes_se_equals_numerical_hessian_of_marginal_loglik(self, lsat7):
        res = calibrate(lsat7, "2pl", CalibrationOptions(se=True, tol=1e-7))
        bank = res.bank
        x0 = np.r_[bank.a, bank.d[:, 0]]
        n, h = x0.size, 1e-4

        def ll(x):
            return _marginal_loglik(lsat7, ItemBank(bank.ids, bank.models, x[:5], x[5:, None],
                                                    np.zeros(5)))

        hess = np.zeros((n, n))
        for i in range(n):
            for k in range(i, n):
                e_i, e_k = np.eye(n)[i] * h, np.eye(n)[k] * h
                hess[i, k] = hess[k, i] = (ll(x0 + e_i + e_k) - ll(x0 + e_i - e_k)
                                           - ll(x0 - e_i + e_k) + ll(x0 - e_i - e_k)) / (4 * h * h)
        se = np.sqrt(np.diag(np.linalg.inv(-hess)))
        ours = np.r_[[s["a"] for s in res.se], [s["d"][0] for s in res.se]]
        assert np.allclose(ours, se, atol=2e-3)
        assert res.se_method == "oakes"

    def test_se_shrinks_with_more_data(self, rng):
        bank = random_bank(10, "2pl", rng)
        small = simulate_responses(bank, rng.normal(size=500), rng)
        large = simulate_responses(bank, rng.normal(size=4000), rng)
        se_s = calibrate(small, "2pl", CalibrationOptions(se=True)).se
        se_l = calibrate(large, "2pl", CalibrationOptions(se=True)).se
        ratio = np.mean([s["a"] for s in se_s]) / np.mean([s["a"] for s in se_l])
        assert 2.2 < ratio < 3.6  # ≈ sqrt(8)


class TestDenseSparseAgreement:
    def test_sparse_e_step_gives_same_estimates(self, rng):
        bank = random_bank(15, "2pl", rng)
        data = simulate_responses(bank, rng.normal(size=800), rng)
        dense = calibrate(data, "2pl", CalibrationOptions(tol=1e-6))
        sparse_data = ResponseData(data.persons, data.items, data.scores, data.n_persons,
                                   data.n_items, data.item_ids, data.person_ids, data.categories)
        sparse_data.is_dense = lambda: False
        sparse = calibrate(sparse_data, "2pl", CalibrationOptions(tol=1e-6))
        assert sparse.loglik == pytest.approx(dense.loglik, abs=1e-6)
        assert np.allclose(sparse.bank.a, dense.bank.a, atol=1e-5)

    def test_squarem_reaches_plain_em_optimum(self, lsat6):
        fast = calibrate(lsat6, "2pl", CalibrationOptions(tol=1e-6))
        plain = calibrate(lsat6, "2pl", CalibrationOptions(tol=1e-6, accelerate=False))
        assert fast.n_cycles < plain.n_cycles
        assert np.allclose(fast.bank.d, plain.bank.d, atol=1e-4)


class TestRecovery:
    def test_2pl_2000_by_40(self, rng):
        bank = random_bank(40, "2pl", rng)
        res = calibrate(simulate_responses(bank, rng.normal(size=2000), rng), "2pl")
        assert _rmse(res.bank.a, bank.a) <= 0.12
        assert _rmse(res.bank.b, bank.b) <= 0.12

    def test_3pl_20000_by_100_with_default_priors(self, rng):
        bank = random_bank(100, "3pl", rng)
        res = calibrate(simulate_responses(bank, rng.normal(size=20000), rng), "3pl")
        assert res.converged
        assert _rmse(res.bank.b, bank.b) <= 0.15
        assert _rmse(res.bank.c, bank.c) <= 0.06

    @pytest.mark.parametrize("model", ["grm", "gpcm"])
    def test_polytomous_3000_by_20(self, rng, model):
        bank = random_bank(20, model, rng, n_categories=4)
        data = simulate_responses(bank, rng.normal(size=3000), rng)
        res = calibrate(data, model)
        # items whose extreme category nobody reached have fewer categories: not comparable
        full = data.n_categories == 4
        assert full.sum() >= 15
        assert _rmse(res.bank.a[full], bank.a[full]) <= 0.1
        assert _rmse(res.bank.b[full], bank.b[full]) <= 0.15

    def test_sparse_30_of_100_items(self, rng):
        bank = random_bank(100, "2pl", rng)
        data = simulate_responses(bank, rng.normal(size=10000), rng, items_per_person=30)
        assert not data.is_dense()
        res = calibrate(data, "2pl")
        assert _rmse(res.bank.a, bank.a) <= 0.12
        assert _rmse(res.bank.b, bank.b) <= 0.12

    def test_mixed_bank_2pl_and_grm(self, rng):
        dich = random_bank(10, "2pl", rng)
        poly = random_bank(5, "grm", rng, n_categories=3)
        bank = ItemBank(dich.ids + tuple(f"g{j}" for j in range(5)), dich.models + poly.models,
                        np.r_[dich.a, poly.a],
                        np.c_[np.r_[dich.d[:, 0], poly.d[:, 0]],
                              np.r_[[np.nan] * 10, poly.d[:, 1]]],
                        np.zeros(15))
        data = simulate_responses(bank, rng.normal(size=3000), rng)
        models = dict(zip(bank.ids, bank.models, strict=False))
        res = calibrate(data, models)
        assert res.bank.models == bank.models
        assert _rmse(res.bank.a, bank.a) <= 0.12


class TestFixedParameterCalibration:
    def test_new_items_land_on_the_anchor_scale(self, rng):
        bank = random_bank(30, "2pl", rng)
        # the new cohort is more able; anchors carry the old scale
        data = simulate_responses(bank, rng.normal(0.5, 1.2, size=5000), rng)
        anchors = bank.subset(range(15))
        res = calibrate(data, "2pl", anchors=anchors)
        assert np.array_equal(res.bank.a[:15], bank.a[:15])
        assert res.population.mean == pytest.approx(0.5, abs=0.08)
        assert res.population.sd == pytest.approx(1.2, abs=0.08)
        assert _rmse(res.bank.b[15:], bank.b[15:]) <= 0.12
        assert _rmse(res.bank.a[15:], bank.a[15:]) <= 0.12

    @pytest.mark.parametrize("model,k", [("rasch", 2), ("3pl", 2), ("grm", 3), ("gpcm", 3)])
    def test_every_model_can_be_anchored(self, rng, model, k):
        bank = random_bank(20, model, rng, n_categories=k)
        data = simulate_responses(bank, rng.normal(0.5, 1.2, size=6000), rng)
        full = data.n_categories == k
        anchors = bank.subset([j for j in range(10) if full[j]])
        res = calibrate(data, model, anchors=anchors)
        assert res.population.mean == pytest.approx(0.5, abs=0.1)
        assert res.population.sd == pytest.approx(1.2, abs=0.1)
        new = [j for j in range(10, 20) if full[j]]
        assert _rmse(res.bank.b[new], bank.b[new]) <= 0.2

    def test_all_items_anchored_is_an_error(self, lsat7):
        res = calibrate(lsat7, "2pl")
        with pytest.raises(EstimationError):
            calibrate(lsat7, "2pl", anchors=res.bank)


class TestOptionsAndErrors:
    def test_cycle_cap_warns_and_reports(self, lsat7):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = calibrate(lsat7, "2pl", CalibrationOptions(max_cycles=2, accelerate=False))
        assert not res.converged and res.n_cycles == 2
        assert any(issubclass(w.category, ConvergenceWarning) for w in caught)

    def test_dichotomous_model_on_polytomous_item_is_refused(self):
        data = ResponseData.from_dense([[0, 1], [1, 2], [0, 0]], item_ids=["a", "b"])
        with pytest.raises(ModelError, match="'b'"):
            calibrate(data, "2pl")

    def test_unknown_model_is_refused(self, lsat7):
        with pytest.raises(ModelError, match="4pl"):
            calibrate(lsat7, "4pl")

    def test_strong_prior_pulls_slopes(self, lsat7):
        tight = PriorSet(a=Prior("lognormal", 0.0, 0.05))
        res = calibrate(lsat7, "2pl", CalibrationOptions(priors=tight))
        free = calibrate(lsat7, "2pl")
        assert np.all(np.abs(np.log(res.bank.a)) < np.abs(np.log(free.bank.a)) + 1e-9)
        assert res.log_posterior < res.loglik


class TestArrayInputs:
    def test_dense_array_and_sparse_matrix_inputs_agree(self, rng):
        import scipy.sparse as sp

        bank = random_bank(12, "2pl", rng)
        data = simulate_responses(bank, rng.normal(size=1500), rng, items_per_person=8)
        dense = data.to_dense(raw=True)
        mat = sp.csr_matrix((data.raw_scores().astype(float), (data.persons, data.items)),
                            shape=dense.shape)
        from_dense = calibrate(dense, "2pl")
        from_sparse = calibrate(mat, "2pl")
        assert from_dense.n_observed == from_sparse.n_observed == data.n_observed
        assert from_dense.loglik == pytest.approx(from_sparse.loglik, abs=1e-6)


class TestStandardErrorsByModel:
    def test_rasch_population_sd_and_polytomous_thresholds_have_ses(self, lsat6, rng):
        rasch = calibrate(lsat6, "rasch", CalibrationOptions(se=True))
        assert 0 < rasch.population_se["sd"] < 0.2
        assert rasch.se[0]["b"] == rasch.se[0]["d"][0]
        bank = random_bank(6, "gpcm", rng, n_categories=3)
        res = calibrate(simulate_responses(bank, rng.normal(size=1500), rng), "gpcm",
                        CalibrationOptions(se=True))
        assert all(len(s["b"]) == 2 and min(s["b"]) > 0 for s in res.se)

    def test_3pl_se_of_c_is_positive_and_bounded(self, rng):
        bank = random_bank(10, "3pl", rng)
        data = simulate_responses(bank, rng.normal(size=3000), rng)
        res = calibrate(data, "3pl", CalibrationOptions(se=True))
        assert all(0 < s["c"] < 0.2 for s in res.se)

    def test_cross_product_se_approximates_oakes(self, rng):
        bank = random_bank(12, "2pl", rng)
        data = simulate_responses(bank, rng.normal(size=6000), rng, items_per_person=8)
        oakes = calibrate(data, "2pl", CalibrationOptions(se=True))
        xpd = calibrate(data, "2pl", CalibrationOptions(se=True, se_method="xpd"))
        ratio = np.array([x["a"] / o["a"] for x, o in zip(xpd.se, oakes.se, strict=False)])
        assert xpd.se_method == "xpd"
        assert np.all(np.abs(ratio - 1) < 0.12)
