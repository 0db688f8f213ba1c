"""Sittings as folds: replay determinism, pretest items, retakes, misuse."""

from __future__ import annotations

import numpy as np
import pytest

from engine.cat import (
    SPRT,
    AdaptiveEngine,
    CATBank,
    CATOptionsError,
    IllegalResponseError,
    MLEstimator,
    Randomesque,
    Response,
    ScoreScale,
    SessionRunner,
    SEThreshold,
    StoppingPolicy,
    SympsonHetter,
    seen_within,
)
from engine.cat.simulation import draw_responses

from .banks import bank_2pl, blueprint_for

PRETEST = tuple(f"p{k}" for k in range(10))


@pytest.fixture(scope="module")
def bank():
    return CATBank(bank_2pl(300, seed=77))


def runner_for(bank, **kw) -> SessionRunner:
    rng = np.random.default_rng(5)
    engine = AdaptiveEngine(
        bank, exposure=SympsonHetter(rng.uniform(0.3, 1.0, bank.n_items)), random_start=2,
        blueprint=blueprint_for(bank.bank, length=20).compile(bank.ids, 20),
        stopping=StoppingPolicy(10, 20, rules=(SEThreshold(0.35),)), **kw)
    return SessionRunner(engine, pretest_items=PRETEST, n_pretest=3)


def sit(runner: SessionRunner, seed: int, theta: float, rng: np.random.Generator,
        previously_seen=()):
    """A live sitting answered by a simulee of ability ``theta``."""
    state = runner.start(seed, previously_seen)
    while not state.finished:
        step = state.pending
        if step.pretest:
            score = int(rng.random() < 0.5)
        else:
            j = runner.engine.bank.index_of(step.item_id)
            score = int(draw_responses(runner.engine, np.array([theta]), np.array([j]), rng)[0])
        state = runner.answer(state, Response(step.item_id, score, seconds=30.0))
    return state


class TestReplay:
    def test_replay_reproduces_every_estimate_and_item(self, bank):
        runner = runner_for(bank)
        live = sit(runner, seed=1234, theta=0.7, rng=np.random.default_rng(1))
        again = runner.replay(1234, live.responses)
        assert again.theta_trail == live.theta_trail
        assert again.se_trail == live.se_trail
        assert [r.item_id for r in again.responses] == [r.item_id for r in live.responses]
        assert again.finished

    def test_resume_from_a_prefix_serves_the_same_next_item(self, bank):
        runner = runner_for(bank)
        live = sit(runner, seed=99, theta=-0.4, rng=np.random.default_rng(2))
        for k in range(len(live.responses)):
            resumed = runner.replay(99, live.responses[:k])
            assert resumed.pending.item_id == live.responses[k].item_id

    def test_another_seed_gives_another_test(self, bank):
        runner = runner_for(bank)
        a = sit(runner, seed=1, theta=0.0, rng=np.random.default_rng(3))
        b = sit(runner, seed=2, theta=0.0, rng=np.random.default_rng(3))
        assert [r.item_id for r in a.responses] != [r.item_id for r in b.responses]

    def test_answers_to_another_item_are_refused(self, bank):
        runner = runner_for(bank)
        state = runner.start(7)
        other = next(i for i in bank.ids if i != state.pending.item_id)
        with pytest.raises(IllegalResponseError):
            runner.answer(state, Response(other, 1))

    def test_answers_after_the_end_are_refused(self, bank):
        runner = runner_for(bank)
        state = sit(runner, seed=8, theta=0.0, rng=np.random.default_rng(4))
        with pytest.raises(IllegalResponseError):
            runner.answer(state, Response(bank.ids[0], 1))

    @pytest.mark.parametrize("seed", [-1, 1.5, "7"])
    def test_a_bad_seed_is_refused(self, bank, seed):
        with pytest.raises(CATOptionsError):
            SessionRunner(AdaptiveEngine(bank)).start(seed)

    def test_a_score_outside_the_categories_is_refused(self, bank):
        runner = SessionRunner(AdaptiveEngine(bank))
        state = runner.start(1)
        with pytest.raises(IllegalResponseError):
            runner.answer(state, Response(state.pending.item_id, 3))


class TestPretest:
    def test_pretest_items_are_served_unscored_at_planned_positions(self, bank):
        runner = runner_for(bank)
        state = sit(runner, seed=5, theta=0.3, rng=np.random.default_rng(5))
        served = [k + 1 for k, r in enumerate(state.responses) if r.item_id in PRETEST]
        assert sorted(served) == sorted(state.pretest_plan)
        assert len(served) == 3
        assert max(served) <= runner.engine.stopping.min_length + 3
        assert runner.result(state).n_scored == len(state.responses) - 3

    def test_pretest_answers_do_not_move_the_estimate(self, bank):
        runner = runner_for(bank)
        live = sit(runner, seed=6, theta=0.3, rng=np.random.default_rng(6))
        flipped = tuple(Response(r.item_id, 1 - r.score, r.seconds) if r.item_id in PRETEST
                        else r for r in live.responses)
        again = runner.replay(6, flipped)
        assert again.theta_trail == live.theta_trail

    def test_pretest_items_must_not_be_operational(self, bank):
        with pytest.raises(CATOptionsError):
            SessionRunner(AdaptiveEngine(bank), pretest_items=(bank.ids[0],), n_pretest=1)


class TestRetakesAndLimits:
    def test_items_seen_in_an_earlier_sitting_are_not_served_again(self, bank):
        runner = runner_for(bank)
        first = sit(runner, seed=10, theta=0.5, rng=np.random.default_rng(7))
        seen = {r.item_id for r in first.responses}
        second = sit(runner, seed=11, theta=0.5, rng=np.random.default_rng(8),
                     previously_seen=seen)
        assert not seen & {r.item_id for r in second.responses}

    def test_retake_window(self):
        from datetime import datetime, timedelta
        now = datetime(2026, 5, 1)
        history = [("a", now - timedelta(days=10)), ("b", now - timedelta(days=400))]
        assert seen_within(history, now, timedelta(days=365)) == {"a"}

    def test_time_limit_ends_the_sitting(self, bank):
        engine = AdaptiveEngine(bank, stopping=StoppingPolicy(5, 30, max_seconds=300))
        state = sit(SessionRunner(engine), seed=3, theta=0.0, rng=np.random.default_rng(9))
        assert len(state.responses) == 10  # 30 s each

    def test_blueprint_holds_for_a_sitting(self, bank):
        runner = runner_for(bank)
        state = sit(runner, seed=12, theta=1.5, rng=np.random.default_rng(10))
        items, _ = state.trail.answered(0)
        assert not runner.engine.blueprint.violations(items)


class TestResult:
    def test_result_reports_score_decision_and_confidence(self, bank):
        engine = AdaptiveEngine(bank, estimator=MLEstimator(), exposure=Randomesque(3),
                                stopping=StoppingPolicy(5, 40, rules=(SPRT(0.0),)))
        runner = SessionRunner(engine)
        scale = ScoreScale.from_reference(bank.bank.subset(range(40)), cut_theta=0.0)
        high = runner.result(sit(runner, 1, 2.0, np.random.default_rng(11)), scale)
        low = runner.result(sit(runner, 2, -2.0, np.random.default_rng(12)), scale)
        assert high.passed and not low.passed
        assert high.score > 60 > low.score
        assert high.confidence > 0.95 and low.confidence > 0.95
        assert high.n_scored < 40


class TestSettings:
    def test_settings_round_trip_and_build_an_engine(self, bank):
        from engine.cat import CATSettings

        settings = CATSettings(min_length=5, max_length=15, se_stop=0.4, cut_theta=0.2,
                               classification="sprt", exposure="randomesque:4")
        again = CATSettings.from_dict(settings.to_dict())
        assert again == settings
        engine = again.build(bank)
        assert engine.stopping.max_length == 15 and len(engine.stopping.rules) == 2
        state = sit(SessionRunner(engine), seed=1, theta=0.0, rng=np.random.default_rng(1))
        assert 5 <= len(state.responses) <= 15

    @pytest.mark.parametrize("doc", [{"estimator": "guess"}, {"classification": "sprt"},
                                     {"min_length": 40}, {"exposure": "sometimes"},
                                     {"colour": "red"}])
    def test_bad_settings_are_refused(self, doc):
        from engine.cat import CATSettings

        with pytest.raises(CATOptionsError):
            CATSettings.from_dict(doc)

    def test_sympson_hetter_needs_its_parameters(self, bank):
        from engine.cat import CATSettings

        with pytest.raises(CATOptionsError):
            CATSettings(exposure="sympson-hetter:0.2").build(bank)
