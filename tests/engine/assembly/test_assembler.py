"""Parallel form assembly and the diagnosis of infeasible specifications."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from engine.assembly import AssemblyError, AssemblyOptions, InfeasibleAssemblyError, assemble_forms
from tests.engine.cat.banks import bank_2pl, blueprint_for


@pytest.fixture(scope="module")
def bank():
    return bank_2pl(240, seed=31)


@pytest.fixture(scope="module")
def blueprint(bank):
    return blueprint_for(bank, length=20, n_enemy_pairs=60)


def _check_forms(bank, blueprint, result, length):
    compiled = blueprint.compile(bank.ids, length)
    for form in result.forms:
        assert len(form) == length
        assert not compiled.violations(bank.index(form))


class TestAssembly:
    def test_disjoint_parallel_forms_meet_the_blueprint(self, bank, blueprint):
        out = assemble_forms(bank, blueprint, AssemblyOptions(n_forms=3))
        _check_forms(bank, blueprint, out, 20)
        assert np.all(out.overlap[~np.eye(3, dtype=bool)] == 0)
        # maximin: the forms are parallel at the cut
        assert out.information.max() - out.information.min() < 0.05 * out.information.max()

    def test_forms_are_more_informative_than_random_feasible_ones(self, bank, blueprint):
        out = assemble_forms(bank, blueprint, AssemblyOptions(n_forms=2))
        mean_item = bank.item_information(np.array([0.0]))[0].mean()
        assert out.information.min() > 1.3 * 20 * mean_item

    def test_overlap_limit_is_respected_and_used(self, bank, blueprint):
        out = assemble_forms(bank, blueprint, AssemblyOptions(n_forms=3, max_overlap=4))
        off = out.overlap[~np.eye(3, dtype=bool)]
        assert off.max() <= 4
        disjoint = assemble_forms(bank, blueprint, AssemblyOptions(n_forms=3))
        assert out.information.min() >= disjoint.information.min() - 1e-6

    def test_points_targets_and_exclusions(self, bank, blueprint):
        excluded = frozenset(bank.ids[:30])
        bp = replace(blueprint, points=(24.0, 26.0), information=((-1.0, 3.0), (1.0, 3.0)),
                     exclude=excluded)
        out = assemble_forms(bank, bp, AssemblyOptions(n_forms=2, cut_theta=0.3))
        _check_forms(bank, bp, out, 20)
        assert np.all((out.points >= 24) & (out.points <= 26))
        assert np.all(out.target_information >= 3.0 - 1e-6)
        assert not excluded & set(sum(out.forms, []))

    def test_missing_length_is_refused(self, bank, blueprint):
        with pytest.raises(AssemblyError):
            assemble_forms(bank, replace(blueprint, length=None), AssemblyOptions(n_forms=1))


class TestDiagnosis:
    def test_unreachable_information_target_is_named_with_its_shortfall(self, bank, blueprint):
        best = assemble_forms(bank, blueprint, AssemblyOptions(n_forms=2)).information.min()
        bp = replace(blueprint, information=((0.0, best + 5.0),))
        with pytest.raises(InfeasibleAssemblyError) as err:
            assemble_forms(bank, bp, AssemblyOptions(n_forms=2))
        groups = {s.group for s in err.value.shortfalls}
        assert groups == {"information@0"}
        total = sum(s.shortfall for s in err.value.shortfalls)
        # two forms × 5 units, less what a better-than-`best` solution (MIP gap) recovers
        assert 9.9 <= total <= 10.0 + 1e-6
        assert "information@0" in str(err.value)

    def test_too_few_items_of_an_element_is_named(self, bank, blueprint):
        e1 = [bank.ids[j] for j in range(bank.n_items) if j % 5 == 0]
        bp = replace(blueprint, exclude=frozenset(e1[7:]))  # 7 E1 items left, 8 needed
        with pytest.raises(InfeasibleAssemblyError) as err:
            assemble_forms(bank, bp, AssemblyOptions(n_forms=2, max_overlap=0))
        short = {(s.group, s.side): s.shortfall for s in err.value.shortfalls}
        assert sum(short.values()) == pytest.approx(1.0)
        assert set(short) <= {("element=E1", "min"), ("overlap", "max")}

    def test_contradictory_type_bounds_are_named(self, bank, blueprint):
        cons = dict(blueprint.constraints)
        cons["type"] = {"single": {"min": 15}, "judgement": {"min": 8}}
        bp = replace(blueprint, constraints=cons)
        with pytest.raises(InfeasibleAssemblyError) as err:
            assemble_forms(bank, bp, AssemblyOptions(n_forms=1))
        groups = {s.group for s in err.value.shortfalls}
        assert groups & {"type=single", "type=judgement"}
        assert sum(s.shortfall for s in err.value.shortfalls
                   if s.group.startswith("type=")) == pytest.approx(3.0)
