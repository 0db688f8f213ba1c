"""One adaptive step for many persons at once: estimate, stop?, select, record.

:class:`AdaptiveEngine` composes the strategy roles (estimator, selector, exposure
control, stopping policy) with the optional content rules (a compiled blueprint with
its shadow test, enemy sets) and the hard exposure ceiling. Every random decision
draws from the ``rng`` argument, so a step is a pure function of the state and the
generator's state; sessions (``session.py``) seed a generator per step from the
session seed, simulations (``simulation.py``) pass one generator for a whole run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .bank import CATBank
from .blueprint import CompiledBlueprint
from .errors import BlueprintError, CATOptionsError
from .estimation import AbilityEstimate, AbilityEstimator, EAPEstimator
from .exposure import Choice, ExposureCeiling, ExposureControl, NoExposureControl
from .selection import ItemSelector, MaxInfoSelector
from .state import EnemyIndex, TrailState
from .stopping import StoppingPolicy


@dataclass
class AdaptiveEngine:
    """The configured adaptive test.

    Attributes
    ----------
    bank : the operational items
    estimator, selector, exposure, stopping : strategy roles
    blueprint : content bounds and enemy sets (shadow test at every step) or None
    ceiling : hard exposure ceiling or None
    random_start : number of first items chosen at random among the eligible ones
    """

    bank: CATBank
    estimator: AbilityEstimator = field(default_factory=EAPEstimator)
    selector: ItemSelector = field(default_factory=MaxInfoSelector)
    exposure: ExposureControl = field(default_factory=NoExposureControl)
    stopping: StoppingPolicy = field(default_factory=StoppingPolicy)
    blueprint: CompiledBlueprint | None = None
    ceiling: ExposureCeiling | None = None
    random_start: int = 0
    enemies: EnemyIndex = field(init=False)

    def __post_init__(self) -> None:
        if self.random_start < 0:
            raise CATOptionsError("random_start must be >= 0")
        sets = self.blueprint.enemy_sets if self.blueprint is not None else []
        self.enemies = EnemyIndex(sets, self.bank.n_items)
        if self.blueprint is not None and self.blueprint.length != self.stopping.max_length:
            raise CATOptionsError("the blueprint must be compiled for the maximum length")

    def start(self, n: int, blocked: np.ndarray | None = None) -> TrailState:
        """Empty states for ``n`` persons; ``blocked`` (n, n_items) marks items they may
        not see (e.g. seen in a previous sitting within the retake window)."""
        state = TrailState.empty(self.bank, n, self.stopping.max_length, blocked)
        if self.blueprint is not None:
            state.blocked |= self.blueprint.excluded[None, :]
        return state

    def estimate(self, state: TrailState) -> AbilityEstimate:
        return self.estimator.estimate(self.bank, state)

    def blueprint_met(self, state: TrailState) -> np.ndarray | None:
        if self.blueprint is None:
            return None
        return np.array([self.blueprint.lower_bounds_met(state.answered(r)[0])
                         for r in range(state.n)])

    def should_stop(self, state: TrailState, estimate: AbilityEstimate) -> np.ndarray:
        """(n,) True where the test ends now."""
        return self.stopping.should_stop(self.bank, state, estimate, self.blueprint_met(state))

    def select(self, state: TrailState, estimate: AbilityEstimate, rng: np.random.Generator,
               rows: np.ndarray | None = None) -> Choice:
        """Choose the next item of each person in ``rows`` (default all).

        Items withdrawn by the exposure control are recorded in ``state.rejected``.
        Raises :class:`BlueprintError` if no completion of a test meets the blueprint.
        """
        rows = np.arange(state.n) if rows is None else rows
        scores = self.selector.criterion(self.bank, estimate.theta[rows], state.length[rows],
                                         self.stopping.max_length)
        starting = state.length[rows] < self.random_start
        if starting.any():
            scores[starting] = rng.random((int(starting.sum()), self.bank.n_items))
        everyone = rows.size == state.n  # rows are distinct, so these are all persons
        hard = state.blocked if everyone else state.blocked[rows]
        soft = self._soft_mask(state, rows, everyone)
        if self.blueprint is not None:
            no_soft = np.zeros((1, self.bank.n_items), dtype=bool)
            scores = self._shadow(state, rows, scores, hard,
                                  no_soft if soft is None else soft)
        else:
            np.putmask(scores, hard if soft is None else hard | soft, -np.inf)
            if soft is not None:
                self._relax(state, estimate, rows, scores, hard)
        choice = self.exposure.choose(scores, rng)
        if choice.rejected_rows.size:
            state.rejected[rows[choice.rejected_rows], choice.rejected_items] = True
        return choice

    def _soft_mask(self, state: TrailState, rows: np.ndarray,
                   everyone: bool) -> np.ndarray | None:
        """Exposure exclusions (withdrawals, ceiling), or None when there are none."""
        soft = None
        if state.rejected.any():
            soft = state.rejected if everyone else state.rejected[rows]
        if self.ceiling is not None:
            over = self.ceiling.over()
            if over.any():
                soft = over[None, :] if soft is None else soft | over[None, :]
        return soft

    def _relax(self, state, estimate, rows, scores, hard) -> None:
        """Exposure rules never end a test early: rows left without a candidate get
        their criterion back on every item that is not hard-blocked."""
        relaxed = ~np.isfinite(scores).any(axis=1) & ~hard.all(axis=1)
        if relaxed.any():
            fresh = self.selector.criterion(self.bank, estimate.theta[rows[relaxed]],
                                            state.length[rows[relaxed]],
                                            self.stopping.max_length)
            scores[relaxed] = np.where(hard[relaxed], -np.inf, fresh)

    def _shadow(self, state, rows, scores, hard, soft) -> np.ndarray:
        out = np.full_like(scores, -np.inf)
        for i, r in enumerate(rows):
            answered = state.answered(r)[0]
            crit = np.where(hard[i] | soft[min(i, soft.shape[0] - 1)], -np.inf, scores[i])
            free = self.blueprint.shadow_test(crit, answered)
            if free is None:  # exposure withdrawals made it infeasible: relax them
                free = self.blueprint.shadow_test(np.where(hard[i], -np.inf, scores[i]), answered)
            if free is None:
                raise BlueprintError("no test from the available items meets the blueprint "
                                     f"(after {answered.size} items)")
            out[i, free] = scores[i, free]
        return out

    def record(self, state: TrailState, rows: np.ndarray, items: np.ndarray,
               scores: np.ndarray, seconds: np.ndarray | float = 0.0) -> None:
        """Fold one scored response per person of ``rows`` into ``state``."""
        state.record(self.bank, rows, items, scores, seconds,
                     self.enemies if self.enemies.any else None)
