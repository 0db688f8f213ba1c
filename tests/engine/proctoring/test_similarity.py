"""Answer similarity (identical incorrect answers beyond chance) on simulated rooms with known copying."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binom

from engine.proctoring.similarity import compare, poisson_binomial_tail

OPTIONS = ("A", "B", "C", "D")


def _room(seed: int, candidates: int = 40, items: int = 80, copier_share: float = 0.0):
    """Independent candidates of a 2PL-like room; candidate 1 copies ``copier_share`` of candidate 0's answers.

    Wrong options are chosen with unequal, item-specific attractiveness (a popular
    distractor per item), so chance matches are common and the index must account for them.
    """
    rng = np.random.default_rng(seed)
    theta = rng.normal(size=candidates)
    theta[0] = -0.5  # the source: an average-to-weak candidate, whose wrong answers are there to copy
    b = rng.normal(size=items)
    keys = {k: (OPTIONS[rng.integers(4)],) for k in range(items)}
    attraction = {k: rng.dirichlet([3.0, 1.5, 1.0]) for k in range(items)}
    room: dict[int, dict[int, tuple[str, ...]]] = {}
    for person in range(candidates):
        answers = {}
        for k in range(items):
            if rng.random() < 1 / (1 + np.exp(-(theta[person] - b[k]))):
                answers[k] = keys[k]
            else:
                wrong = [o for o in OPTIONS if o != keys[k][0]]
                answers[k] = (wrong[rng.choice(3, p=attraction[k])],)
        room[person] = answers
    if copier_share:
        copied = rng.choice(items, size=int(copier_share * items), replace=False)
        for k in copied:
            room[1][int(k)] = room[0][int(k)]
    return room, keys


class TestPoissonBinomialTail:
    @pytest.mark.parametrize("n, p, k", [(10, 0.3, 4), (25, 0.5, 20), (8, 0.1, 0), (12, 0.25, 12)])
    def test_equal_chances_give_the_binomial_tail(self, n, p, k):
        assert poisson_binomial_tail(np.full(n, p), k) == pytest.approx(binom.sf(k - 1, n, p), rel=1e-9, abs=1e-15)

    def test_unequal_chances_match_brute_force(self):
        p = np.array([0.1, 0.5, 0.7, 0.2])
        outcomes = np.array(np.meshgrid(*[[0, 1]] * 4)).T.reshape(-1, 4)
        weights = np.prod(np.where(outcomes == 1, p, 1 - p), axis=1)
        for k in range(5):
            assert poisson_binomial_tail(p, k) == pytest.approx(weights[outcomes.sum(axis=1) >= k].sum())


class TestCopyingIsFound:
    @pytest.mark.parametrize("seed", [1, 2, 3])
    def test_a_copier_is_flagged_with_the_source_first(self, seed):
        room, keys = _room(seed, copier_share=0.8)
        found = compare(1, room, keys)
        assert found[0].other == 0 and found[0].flagged
        assert found[0].identical_wrong > 1.5 * found[0].expected and found[0].p_value < 1e-6

    def test_independent_candidates_are_rarely_flagged(self):
        flagged = tested = 0
        for seed in range(10, 20):
            room, keys = _room(seed)
            for subject in (0, 1, 2):
                flagged += any(e.flagged for e in compare(subject, room, keys))
                tested += 1
        # The Bonferroni bound keeps the per-candidate false-flag rate at alpha = 1 %.
        assert flagged <= 1, f"{flagged} of {tested} honest candidates flagged"

    def test_shared_right_answers_alone_are_no_evidence(self):
        room, keys = _room(5)
        room[1] = dict(room[0])
        for k in room[0]:  # both answer everything correctly: no wrong answers in common
            room[0][k] = room[1][k] = keys[k]
        assert compare(1, room, keys) == []
