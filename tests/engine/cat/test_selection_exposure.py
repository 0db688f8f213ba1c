"""Selection criteria and exposure choices: invariants and agreement with the IRT core."""

from __future__ import annotations

import numpy as np
import pytest

from engine.cat import (
    AStratifiedSelector,
    CATBank,
    CATOptionsError,
    KLSelector,
    MaxInfoSelector,
    NoExposureControl,
    Randomesque,
    SympsonHetter,
    parse_exposure,
)

from .banks import bank_2pl, mixed_bank


@pytest.fixture(scope="module", params=["2pl", "mixed"])
def bank(request):
    return CATBank(bank_2pl(120, seed=9) if request.param == "2pl" else mixed_bank(seed=10))


class TestCriteria:
    def test_interpolated_information_matches_the_irt_core(self, bank):
        theta = np.linspace(-4.5, 4.5, 91)
        exact = bank.bank.item_information(theta)
        np.testing.assert_allclose(bank.information(theta), exact, rtol=1e-3, atol=1e-4)

    def test_information_is_non_negative_and_clamped_outside_the_grid(self, bank):
        info = bank.information(np.array([-9.0, -5.0, 0.0, 5.0, 9.0]))
        assert np.all(info >= 0)
        np.testing.assert_array_equal(info[0], info[1])
        np.testing.assert_array_equal(info[3], info[4])

    def test_kl_index_is_non_negative_and_ranks_like_information_late_in_a_test(self, bank):
        theta = np.array([0.3])
        kl = KLSelector().criterion(bank, theta, np.array([400]), 30)[0]
        info = MaxInfoSelector().criterion(bank, theta, np.array([400]), 30)[0]
        assert np.all(kl >= -1e-12)
        # for a narrow interval KL ≈ δ³/3 · I(θ̂): same ordering of the best items
        assert np.argmax(kl) == np.argmax(info)

    def test_a_stratified_uses_low_slopes_first_and_high_slopes_last(self, bank):
        sel = AStratifiedSelector(4)
        first = np.argmax(sel.criterion(bank, np.array([0.0]), np.array([0]), 20)[0])
        last = np.argmax(sel.criterion(bank, np.array([0.0]), np.array([19]), 20)[0])
        a = bank.bank.a
        assert a[first] <= np.quantile(a, 0.25) + 1e-12
        assert a[last] >= np.quantile(a, 0.75) - 1e-12

    def test_a_stratified_needs_a_stratum(self):
        with pytest.raises(CATOptionsError):
            AStratifiedSelector(0)


class TestChoices:
    scores = np.array([[0.1, 0.9, 0.5, -np.inf, 0.7], [-np.inf] * 5])

    def test_no_control_takes_the_best_and_reports_exhaustion(self):
        choice = NoExposureControl().choose(self.scores, np.random.default_rng(0))
        assert choice.items.tolist() == [1, -1]

    def test_randomesque_picks_among_the_k_best_only(self):
        rng = np.random.default_rng(1)
        picks = {int(Randomesque(3).choose(self.scores[:1], rng).items[0]) for _ in range(200)}
        assert picks == {1, 4, 2}

    def test_sympson_hetter_with_all_ones_is_the_best_item(self):
        choice = SympsonHetter(np.ones(5)).choose(self.scores, np.random.default_rng(2))
        assert choice.items.tolist() == [1, -1]
        assert choice.rejected_items.size == 0

    def test_sympson_hetter_withdraws_the_items_it_passes_over(self):
        k = np.array([1.0, 0.0, 1.0, 1.0, 0.0])  # items 1 and 4 are never served
        choice = SympsonHetter(k).choose(self.scores[:1], np.random.default_rng(3))
        assert choice.items.tolist() == [2]
        assert sorted(choice.rejected_items.tolist()) == [1, 4]
        assert sorted(choice.considered_items.tolist()) == [1, 2, 4]

    def test_sympson_hetter_serves_in_proportion_to_k(self):
        k = np.array([1.0, 0.3, 1.0, 1.0, 1.0])
        rng = np.random.default_rng(4)
        rows = np.repeat(self.scores[:1], 4000, axis=0)
        served = SympsonHetter(k).choose(rows, rng).items
        assert np.mean(served == 1) == pytest.approx(0.3, abs=0.03)
        assert np.mean(served == 4) == pytest.approx(0.7, abs=0.03)

    @pytest.mark.parametrize("spec, kind", [("none", NoExposureControl),
                                            ("randomesque:4", Randomesque),
                                            ("sympson-hetter:0.25", SympsonHetter)])
    def test_specs_parse(self, spec, kind):
        assert isinstance(parse_exposure(spec, 5), kind)

    @pytest.mark.parametrize("spec", ["randomesque:x", "often", "randomesque:0"])
    def test_bad_specs_are_refused(self, spec):
        with pytest.raises(CATOptionsError):
            parse_exposure(spec, 5)
