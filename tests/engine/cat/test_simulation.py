"""Simulations with known truth: precision, exposure, content, classification."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from engine.cat import (
    SPRT,
    AdaptiveEngine,
    AStratifiedSelector,
    CATBank,
    ConfidenceInterval,
    ExposureCeiling,
    KLSelector,
    Randomesque,
    SEThreshold,
    StoppingPolicy,
    SympsonHetter,
    calibrate_sympson_hetter,
    simulate,
    summarize,
)

from .banks import bank_2pl, blueprint_for


@pytest.fixture(scope="module")
def bank500():
    return CATBank(bank_2pl(500, seed=20260))


def fixed30(bank, **kw):
    return AdaptiveEngine(bank, stopping=StoppingPolicy(30, 30), **kw)


class TestPrecision:
    def test_30_item_cat_rmse_and_gain_over_random_tests(self, bank500):
        theta = np.random.default_rng(1).normal(size=3000)
        cat = summarize(simulate(fixed30(bank500), theta, np.random.default_rng(2)))
        rand = summarize(simulate(fixed30(bank500, random_start=30), theta,
                                  np.random.default_rng(2)))
        assert cat["rmse"] <= 0.33
        assert cat["rmse"] <= 0.65 * rand["rmse"]
        assert abs(cat["bias"]) < 0.03

    @pytest.mark.parametrize("selector", [KLSelector(), AStratifiedSelector(4)])
    def test_other_selectors_beat_random_tests(self, bank500, selector):
        theta = np.random.default_rng(3).normal(size=200)
        res = summarize(simulate(fixed30(bank500, selector=selector), theta,
                                 np.random.default_rng(4)))
        rand = summarize(simulate(fixed30(bank500, random_start=30), theta,
                                  np.random.default_rng(4)))
        assert res["rmse"] < 0.9 * rand["rmse"]

    def test_se_stop_ends_tests_early_at_the_requested_precision(self, bank500):
        engine = AdaptiveEngine(bank500, stopping=StoppingPolicy(5, 40, rules=(SEThreshold(0.3),)))
        out = simulate(engine, np.random.default_rng(5).normal(size=500),
                       np.random.default_rng(6))
        stopped_early = out.length < 40
        assert stopped_early.mean() > 0.9
        assert np.all(out.se[stopped_early] <= 0.3)
        assert out.length.mean() < 25


class TestExposure:
    def test_sympson_hetter_keeps_every_item_at_most_0_22(self, bank500):
        engine = fixed30(bank500)
        k, history = calibrate_sympson_hetter(engine, 0.2,
                                              np.random.default_rng(7).normal(size=1000),
                                              np.random.default_rng(8))
        assert history[0] > 0.5  # without control some items are in most tests
        check = simulate(replace(engine, exposure=SympsonHetter(k)),
                         np.random.default_rng(9).normal(size=5000), np.random.default_rng(10))
        report = summarize(check)
        assert report["exposure"]["max"] <= 0.22
        assert report["rmse"] <= 0.33

    def test_randomesque_lowers_the_maximum_exposure_and_overlap(self, bank500):
        theta = np.random.default_rng(11).normal(size=500)
        plain = summarize(simulate(fixed30(bank500), theta, np.random.default_rng(12)))
        rq = summarize(simulate(fixed30(bank500, exposure=Randomesque(5)), theta,
                                np.random.default_rng(12)))
        assert rq["exposure"]["max"] < plain["exposure"]["max"]
        assert rq["mean_overlap"] < plain["mean_overlap"]

    def test_hard_ceiling_caps_exposure(self, bank500):
        ceiling = ExposureCeiling(0.25, np.zeros(bank500.n_items), min_tests=20)
        out = simulate(fixed30(bank500, ceiling=ceiling),
                       np.random.default_rng(13).normal(size=600), np.random.default_rng(14),
                       cohort=20)
        # cohorts of 20 can overshoot the ceiling by at most one cohort's share
        assert out.exposure_rates.max() <= 0.25 + 20 / 600 + 1e-9


class TestContentBalancing:
    def test_shadow_test_meets_the_blueprint_for_every_simulee(self, bank500):
        bp = blueprint_for(bank500.bank).compile(bank500.ids, 30)
        engine = fixed30(bank500, blueprint=bp, exposure=Randomesque(3))
        out = simulate(engine, np.random.default_rng(15).normal(size=60),
                       np.random.default_rng(16))
        assert summarize(out)["blueprint_violations"] == 0
        for row in out.items:
            assert not bp.violations(row[row >= 0])
        assert summarize(out)["rmse"] <= 0.4

    def test_without_shadow_test_the_blueprint_is_broken(self, bank500):
        bp = blueprint_for(bank500.bank).compile(bank500.ids, 30)
        out = simulate(fixed30(bank500), np.random.default_rng(15).normal(size=60),
                       np.random.default_rng(16))
        assert sum(len(bp.violations(row[row >= 0])) > 0 for row in out.items) > 30

    def test_variable_length_test_stops_only_once_lower_bounds_are_met(self, bank500):
        bp = blueprint_for(bank500.bank).compile(bank500.ids, 30)
        engine = AdaptiveEngine(bank500, blueprint=bp,
                                stopping=StoppingPolicy(5, 30, rules=(SEThreshold(0.5),)))
        out = simulate(engine, np.random.default_rng(17).normal(size=40),
                       np.random.default_rng(18))
        assert np.all(out.length >= 30)  # five elements × six items are required
        for row in out.items:
            assert bp.lower_bounds_met(row[row >= 0])


class TestClassification:
    @pytest.mark.parametrize("rule", [SPRT(0.5, delta=0.3, alpha=0.025, beta=0.025),
                                      ConfidenceInterval(0.5, alpha=0.05)])
    def test_classification_stop_decides_correctly(self, bank500, rule):
        engine = AdaptiveEngine(bank500, stopping=StoppingPolicy(5, 40, rules=(rule,)))
        theta = np.random.default_rng(19).normal(size=1500)
        out = simulate(engine, theta, np.random.default_rng(20))
        report = summarize(out, cut=0.5)
        assert report["classification"]["correct"] >= 0.95
        assert out.length.mean() < 30
        assert 0.9 <= report["classification"]["rudner_accuracy"] <= 1.0


class TestMixedModels:
    def test_polytomous_and_3pl_items_are_served_and_scored(self):
        from .banks import mixed_bank

        bank = CATBank(mixed_bank(seed=21))
        theta = np.random.default_rng(22).normal(size=300)
        cat = summarize(simulate(AdaptiveEngine(bank, stopping=StoppingPolicy(15, 15)), theta,
                                 np.random.default_rng(23)))
        rand = summarize(simulate(AdaptiveEngine(bank, random_start=15,
                                                 stopping=StoppingPolicy(15, 15)), theta,
                                  np.random.default_rng(23)))
        assert cat["rmse"] < 0.9 * rand["rmse"]
        assert cat["rmse"] < 0.35
