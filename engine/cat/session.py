"""One candidate's adaptive sitting as a fold over its responses.

``state_k = answer(state_{k−1}, response_k)`` starting from ``start(seed)``; the item to
serve next (``state.pending``) is part of the state. Every random decision of step k
(random start, randomesque, Sympson–Hetter lotteries) draws from a generator seeded
by ``(seed, k)``, and the pretest plan from one seeded by ``(seed, PRETEST_STREAM)``,
so :meth:`SessionRunner.replay` of the stored responses reproduces every estimate and
every served item — this is how a session resumes after a disconnect. Nothing here
touches a database or a clock: the caller stores responses and passes elapsed seconds.

Pretest (field-test) items are unscored: they are served at positions drawn at the
start among the first ``min_length + n_pretest`` positions (so they are given before
the test can stop), their responses are kept in ``state.responses`` for later
calibration and never enter the trail the estimators see.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import numpy as np

from .engine import AdaptiveEngine
from .errors import CATOptionsError, IllegalResponseError
from .scores import ScoreScale, classification_confidence
from .state import TrailState
from .stopping import SPRT

PRETEST_STREAM = 2**31 - 1


@dataclass(frozen=True)
class Response:
    """A stored answer: the item, the raw score given to it, seconds spent."""

    item_id: str
    score: int
    seconds: float = 0.0


@dataclass(frozen=True)
class Step:
    """The item to serve: 1-based position in the sitting, and whether it is pretest."""

    item_id: str
    position: int
    pretest: bool = False


@dataclass(frozen=True)
class SessionState:
    """An adaptive sitting after some responses.

    Attributes
    ----------
    seed : the session's seed
    responses : every response so far, pretest ones included
    trail : the operational responses as a one-person :class:`TrailState`
    pretest_plan : position → pretest item id
    pending : the item to serve next, None when the test is over
    theta_trail, se_trail : the estimate before the first item and after each scored one
    """

    seed: int
    responses: tuple[Response, ...]
    trail: TrailState
    pretest_plan: dict
    pending: Step | None
    theta_trail: tuple[float, ...] = ()
    se_trail: tuple[float, ...] = ()

    @property
    def finished(self) -> bool:
        return self.pending is None

    @property
    def theta(self) -> float:
        return self.theta_trail[-1]

    @property
    def se(self) -> float:
        return self.se_trail[-1]


@dataclass(frozen=True)
class SessionResult:
    """Outcome of a finished (or interrupted) sitting."""

    theta: float
    se: float
    n_scored: int
    n_pretest: int
    score: float | None
    passed: bool | None
    confidence: float | None
    items: tuple[str, ...] = field(default=())


@dataclass
class SessionRunner:
    """Runs sittings of one configured adaptive test.

    Attributes
    ----------
    engine : the adaptive engine
    pretest_items : the field-test pool (ids outside the operational bank)
    n_pretest : pretest items per sitting
    """

    engine: AdaptiveEngine
    pretest_items: Sequence[str] = ()
    n_pretest: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.n_pretest <= len(self.pretest_items):
            raise CATOptionsError("n_pretest exceeds the pretest pool")
        clash = set(self.pretest_items) & set(self.engine.bank.ids)
        if clash:
            raise CATOptionsError(f"pretest items are also operational: {sorted(clash)[:5]}")

    def start(self, seed: int, previously_seen: Iterable[str] = ()) -> SessionState:
        """A new sitting; ``previously_seen`` items (earlier sittings) are never served.

        ``seed`` is a non-negative integer stored with the sitting (e.g. 63 random bits).
        """
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise CATOptionsError(f"a session seed is a non-negative integer, not {seed!r}")
        seen = set(previously_seen)
        blocked = np.array([[i in seen for i in self.engine.bank.ids]])
        trail = self.engine.start(1, blocked)
        plan = self._pretest_plan(seed, seen)
        state = SessionState(seed, (), trail, plan, None)
        return self._advance(state)

    def _pretest_plan(self, seed: int, seen: set) -> dict:
        if not self.n_pretest:
            return {}
        rng = np.random.default_rng([seed, PRETEST_STREAM])
        pool = [i for i in self.pretest_items if i not in seen]
        k = min(self.n_pretest, len(pool))
        chosen = rng.choice(len(pool), size=k, replace=False)
        span = self.engine.stopping.min_length + k
        positions = np.sort(rng.choice(np.arange(1, span + 1), size=k, replace=False))
        return {int(p): pool[int(c)] for p, c in zip(positions, chosen, strict=False)}

    def _advance(self, state: SessionState) -> SessionState:
        """Estimate, then decide the next item (or the end) of ``state``."""
        trail = state.trail
        est = self.engine.estimate(trail)
        theta_trail, se_trail = state.theta_trail, state.se_trail
        if len(theta_trail) <= int(trail.length[0]):
            theta_trail += (float(est.theta[0]),)
            se_trail += (float(est.se[0]),)
        position = len(state.responses) + 1
        limit = self.engine.stopping.max_seconds
        pending: Step | None = None
        if limit is not None and trail.elapsed[0] >= limit:
            pending = None
        elif position in state.pretest_plan:
            pending = Step(state.pretest_plan[position], position, True)
        elif not self.engine.should_stop(trail, est)[0]:
            rng = np.random.default_rng([state.seed, len(state.responses)])
            choice = self.engine.select(trail, est, rng)
            j = int(choice.items[0])
            pending = None if j < 0 else Step(self.engine.bank.ids[j], position)
        return replace(state, pending=pending, theta_trail=theta_trail, se_trail=se_trail)

    def answer(self, state: SessionState, response: Response) -> SessionState:
        """The state after ``response`` to the pending item (a new value; ``state`` is kept)."""
        step = state.pending
        if step is None:
            raise IllegalResponseError("the sitting is over; no item is pending")
        if response.item_id != step.item_id:
            raise IllegalResponseError(f"response to {response.item_id!r} but the pending item "
                                       f"is {step.item_id!r}")
        trail = state.trail.copy()
        if step.pretest:
            trail.elapsed[0] += response.seconds
        else:
            j = self.engine.bank.index_of(step.item_id)
            cats = self.engine.bank.bank.categories[j]
            if response.score not in cats:
                raise IllegalResponseError(f"item {step.item_id!r}: score {response.score} "
                                           f"is not one of {list(cats)}")
            self.engine.record(trail, np.array([0]), np.array([j]),
                               np.array([cats.index(response.score)]), response.seconds)
        new = replace(state, responses=state.responses + (response,), trail=trail)
        return self._advance(new)

    def replay(self, seed: int, responses: Sequence[Response],
               previously_seen: Iterable[str] = ()) -> SessionState:
        """Rebuild a sitting from its seed and stored responses."""
        return functools.reduce(self.answer, responses, self.start(seed, previously_seen))

    def result(self, state: SessionState, scale: ScoreScale | None = None,
               cut: float | None = None) -> SessionResult:
        """θ, SE, the 0–100 score and the decision (SPRT decision if one is configured)."""
        cut = scale.cut_theta if cut is None and scale is not None else cut
        theta, se = state.theta, state.se
        passed = confidence = None
        if cut is not None:
            passed = theta >= cut
            sprt = [r for r in self.engine.stopping.rules if isinstance(r, SPRT)]
            if sprt:
                decision = int(sprt[0].decision(self.engine.bank, state.trail)[0])
                passed = decision > 0 if decision else passed
            confidence = float(classification_confidence(np.array([theta]), np.array([se]),
                                                         cut)[0])
        score = float(scale.score(np.array([theta]))[0]) if scale is not None else None
        items, _ = state.trail.answered(0)
        return SessionResult(theta, se, int(state.trail.length[0]),
                             sum(1 for r in state.responses) - int(state.trail.length[0]),
                             score, passed, confidence,
                             tuple(self.engine.bank.ids[j] for j in items))


def seen_within(history: Iterable[tuple[str, datetime]], now: datetime,
                window: timedelta) -> set[str]:
    """Items a candidate was served within ``window`` before ``now`` (the retake rule)."""
    return {item for item, when in history if now - when <= window}
