import numpy as np
import pytest

from itembank.irt.classical import classical_stats, cronbach_alpha
from itembank.irt.data import ResponseData
from itembank.irt.dif import mantel_haenszel
from itembank.irt.errors import DataError, OptionsError
from itembank.irt.estimation import calibrate
from itembank.irt.linking import link, transform_bank
from itembank.irt.models import ItemBank
from itembank.irt.simulate import random_bank, simulate_responses


def _concat(d1: ResponseData, d2: ResponseData) -> ResponseData:
    return ResponseData.from_triplets(np.r_[d1.persons, d2.persons + d1.n_persons],
                                      np.r_[d1.items, d2.items],
                                      np.r_[d1.raw_scores(), d2.raw_scores()],
                                      (d1.n_persons + d2.n_persons, d1.n_items), d1.item_ids)


class TestMantelHaenszel:
    def test_planted_dif_is_class_c_and_others_a(self, rng):
        bank = random_bank(30, "2pl", rng)
        biased = ItemBank(bank.ids, bank.models, bank.a, bank.d.copy(), bank.c)
        biased.d[0, 0] -= 1.2 * bank.a[0]  # item 1 is 1.2 logits harder for the focal group
        ref = simulate_responses(bank, rng.normal(size=4000), rng)
        foc = simulate_responses(biased, rng.normal(-0.3, 1, size=4000), rng)
        res = mantel_haenszel(_concat(ref, foc), ["R"] * 4000 + ["F"] * 4000, reference="R")
        assert res.ets_class[0] == "C" and res.delta[0] < -1.5
        assert res.ets_class.count("A") >= 27

    def test_needs_exactly_two_groups(self, lsat7):
        with pytest.raises(DataError):
            mantel_haenszel(lsat7, ["a", "b", "c"] * 333 + ["a"])

    def test_delta_is_antisymmetric_in_the_reference_group(self, rng):
        bank = random_bank(10, "2pl", rng)
        data = simulate_responses(bank, rng.normal(size=2000), rng)
        groups = np.where(rng.random(2000) < 0.5, "x", "y")
        one = mantel_haenszel(data, groups, reference="x")
        two = mantel_haenszel(data, groups, reference="y")
        assert np.allclose(one.delta, -two.delta)


class TestClassical:
    def test_lsat7_statistics(self, lsat7):
        st = classical_stats(lsat7)
        x = lsat7.to_dense()
        assert np.allclose(st.p_value, x.mean(axis=0))
        rest = x.sum(axis=1) - x[:, 2]
        assert st.point_biserial[2] == pytest.approx(np.corrcoef(x[:, 2], rest)[0, 1])
        assert st.option_counts[0][1] + st.option_counts[0][0] == 1000

    def test_alpha_of_parallel_items_is_high_and_of_noise_low(self, rng):
        theta = rng.normal(size=(2000, 1))
        parallel = theta + 0.5 * rng.normal(size=(2000, 10))
        noise = rng.normal(size=(2000, 10))
        assert cronbach_alpha(parallel) > 0.9
        assert abs(cronbach_alpha(noise)) < 0.1


class TestLinking:
    @pytest.mark.parametrize("method", ["mean-mean", "mean-sigma", "haebara", "stocking-lord"])
    def test_exact_transformation_is_recovered(self, rng, method):
        old = random_bank(20, "2pl", rng)
        new = transform_bank(old, 1 / 1.3, -0.4 / 1.3)  # θ_new = (θ_old − 0.4) / 1.3
        res = link(old, new, method)
        assert pytest.approx(1.3, abs=1e-5) == res.A and pytest.approx(0.4, abs=1e-5) == res.B

    def test_stocking_lord_recovers_scale_from_two_calibrations(self, rng):
        bank = random_bank(40, "2pl", rng)
        old = calibrate(simulate_responses(bank, rng.normal(size=20000), rng), "2pl")
        new = calibrate(simulate_responses(bank, rng.normal(0.5, 1.2, size=20000), rng), "2pl")
        res = link(old.bank, new.bank, "stocking-lord")
        assert pytest.approx(1.2, abs=0.02) == res.A
        assert pytest.approx(0.5, abs=0.02) == res.B
        moved = transform_bank(new.bank, res.A, res.B)
        assert np.sqrt(np.mean((moved.b - old.bank.b) ** 2)) < 0.05

    def test_polytomous_linking(self, rng):
        old = random_bank(8, "gpcm", rng, n_categories=4)
        res = link(old, transform_bank(old, 0.8, 0.3), "haebara")
        assert pytest.approx(1 / 0.8, abs=1e-5) == res.A

    def test_unknown_method_is_refused(self, rng):
        bank = random_bank(5, "2pl", rng)
        with pytest.raises(OptionsError):
            link(bank, bank, "equipercentile")
