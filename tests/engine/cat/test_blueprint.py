"""Blueprint parsing, violation checks and the shadow test."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.cat import Blueprint, BlueprintError, CATBank

from .banks import bank_2pl, blueprint_for


@pytest.fixture(scope="module")
def bank():
    return CATBank(bank_2pl(200, seed=8))


class TestParsing:
    def test_weights_become_floor_and_ceiling_counts(self):
        bp = Blueprint.from_dict({"constraints": {"element": {"A": {"weight": 0.25},
                                                              "B": 3, "C": {"min": 2}}}})
        bounds = {b.name: (b.min, b.max) for b in bp.bounds(30)}
        assert bounds == {"element=A": (7, 8), "element=B": (3, 3), "element=C": (2, 30)}

    def test_min_above_max_is_refused(self):
        bp = Blueprint.from_dict({"constraints": {"type": {"x": {"min": 5, "max": 2}}}})
        with pytest.raises(BlueprintError, match="type=x"):
            bp.bounds(10)

    def test_unknown_items_are_refused(self, bank):
        bp = Blueprint.from_dict({"items": {"nope": {"element": "A"}}})
        with pytest.raises(BlueprintError, match="nope"):
            bp.compile(bank.ids, 10)

    def test_load_reads_json(self, tmp_path, bank):
        path = tmp_path / "bp.json"
        path.write_text(json.dumps({"length": 10, "exclude": [bank.ids[0]]}))
        assert Blueprint.load(path).compile(bank.ids, 10).excluded[0]

    def test_malformed_json_is_a_blueprint_error(self, tmp_path):
        path = tmp_path / "bp.json"
        path.write_text("{")
        with pytest.raises(BlueprintError):
            Blueprint.load(path)


class TestShadowTest:
    def test_the_shadow_test_meets_every_rule_and_prefers_high_criterion(self, bank):
        bp = blueprint_for(bank.bank).compile(bank.ids, 30)
        crit = bank.information(np.array([0.4]))[0]
        free = bp.shadow_test(crit, np.zeros(0, dtype=np.int64))
        assert free.size == 30
        assert not bp.violations(free)
        # every element quota is filled with that element's most informative items that
        # the type bounds and enemy pairs allow: the test beats a random feasible one
        rnd = bp.shadow_test(np.random.default_rng(0).random(bank.n_items),
                             np.zeros(0, dtype=np.int64))
        assert crit[free].sum() > crit[rnd].sum()

    def test_shadow_test_keeps_the_answered_items(self, bank):
        bp = blueprint_for(bank.bank).compile(bank.ids, 30)
        answered = np.array([0, 3, 4])  # items 0 and 1 are enemies: 1 must stay out
        crit = bank.information(np.array([0.0]))[0]
        crit[answered] = -np.inf
        crit[1] = 1e6
        crit[[1]] = -np.inf  # the engine blocks enemies of answered items
        free = bp.shadow_test(crit, answered)
        assert not bp.violations(np.r_[answered, free])

    def test_infeasible_completion_is_reported_as_none(self, bank):
        bp = blueprint_for(bank.bank).compile(bank.ids, 30)
        crit = bank.information(np.array([0.0]))[0]
        crit[bp.matrix[0] > 0] = -np.inf  # no E1 item left
        assert bp.shadow_test(crit, np.zeros(0, dtype=np.int64)) is None

    def test_violations_name_the_broken_rules(self, bank):
        bp = blueprint_for(bank.bank).compile(bank.ids, 30)
        names = bp.violations(np.array([0, 1]))
        assert "element=E1" in names and any(n.startswith("enemies") for n in names)


class TestShortcut:
    def test_unconstrained_best_is_used_only_when_it_meets_every_rule(self, bank):
        loose = Blueprint.from_dict({"constraints": {"element": {"A": {"max": 30}}},
                                     "items": {i: {"element": "A"} for i in bank.ids}})
        bp = loose.compile(bank.ids, 10)
        crit = bank.information(np.array([0.0]))[0].astype(float)
        free = bp.shadow_test(crit, np.zeros(0, dtype=np.int64))
        assert set(free) == set(np.argsort(-crit)[:10])
        assert bp.n_greedy == 1

    def test_shortcut_and_program_agree_on_the_optimum(self, bank):
        bp = blueprint_for(bank.bank).compile(bank.ids, 30)
        rng = np.random.default_rng(3)
        for _ in range(20):
            crit = rng.random(bank.n_items)
            free = bp.shadow_test(crit, np.zeros(0, dtype=np.int64))
            pool = bp._pool(crit, bp.hi, 30)
            exact = bp._solve(crit, pool, np.zeros(0, dtype=np.int64), 30, bp.lo, bp.hi)
            assert crit[free].sum() == pytest.approx(crit[exact].sum())


class TestNestedCategories:
    def test_modules_elements_and_types_are_met_together(self, bank):
        from engine.cat import AdaptiveEngine, StoppingPolicy, simulate

        base = blueprint_for(bank.bank, length=20)
        items = {i: dict(attrs, module="M1" if attrs["element"] in ("E1", "E2") else "M2")
                 for i, attrs in base.item_attributes.items()}
        cons = {"module": {"M1": {"min": 9}, "M2": {"max": 11}},
                "element": {e: {"min": 3, "max": 5} for e in ("E1", "E2", "E3", "E4", "E5")},
                "type": {"single": {"min": 6, "max": 10}}}
        bp = Blueprint.from_dict({"items": items, "constraints": cons,
                                  "enemies": [list(s) for s in base.enemies]})
        compiled = bp.compile(bank.ids, 20)
        engine = AdaptiveEngine(bank, blueprint=compiled, stopping=StoppingPolicy(20, 20))
        out = simulate(engine, np.random.default_rng(4).normal(size=25), np.random.default_rng(5))
        assert out.blueprint_violations.sum() == 0
        for row in out.items:
            counts = compiled.counts(row)
            names = [b.name for b in compiled.bounds]
            assert counts[names.index("module=M1")] >= 9
