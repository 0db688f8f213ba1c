"""The deterministic, server-authoritative simulator.

:class:`SimulationBatch` runs ``n`` sessions of one scenario side by side (an exam
sitting starts together); every numerical step is an elementwise numpy operation on
arrays of shape ``(n,)``, so one batch of 1,000 costs little more Python overhead than
one session, and session ``i`` of a batch evolves bit for bit like a batch of one
(:func:`replay` relies on that). :class:`Simulation` is the one-session convenience.

Clock: the server advances in ticks of ``program.tick`` seconds. Processing tick ``k``
(time ``t = k * tick``) does, in this order:

1. scheduled events due at ``t``;
2. the candidate's actions stamped in ``((k-1)*tick, k*tick]``, in submission order
   (each checks its precondition on the current state, then applies its effects
   simultaneously, clamps to ranges and recomputes derived variables);
3. conditional events whose condition became true (rising edge, declaration order);
4. alarms raised / cleared;
5. a sample of every variable is recorded;
6. sessions that pressed ``finish``, or all at the time limit, end;
7. continuous dynamics are integrated to ``t + tick`` by fixed-step RK4 with
   ``program.substeps`` steps, clamping to ranges at each stage and step.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from simulations.errors import ActionLogError, ActionRejectedError, NumericalError
from simulations.runtime.program import (
    ACKNOWLEDGE,
    FINISH,
    Assignment,
    Program,
    RandomValue,
)
from simulations.runtime.trace import (
    ENDED_BY_FINISH,
    ENDED_BY_TIME_LIMIT,
    ActionRecord,
    LoggedAction,
    Occurrence,
    Trace,
)

_EPS = 1e-9
MAX_ACTIONS_PER_SESSION = 5_000
"""A candidate clicks maybe a few hundred times; more is a runaway client."""


def column_env(program: Program, matrix: np.ndarray, t: Any) -> dict[str, Any]:
    """Names -> column views of ``matrix`` (rows = sessions or samples), plus ``t``."""
    env: dict[str, Any] = {name: matrix[:, j] for name, j in program.column.items()}
    env["t"] = t
    return env


def _as_column(value: Any, n: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(value, dtype=float), (n,))


class _Session:
    """Per-session bookkeeping of a batch (records, queue, end)."""

    def __init__(self, seed: int | None) -> None:
        self.seed = seed
        self.queue: list[tuple[int, LoggedAction]] = []
        self.actions: list[ActionRecord] = []
        self.occurrences: list[Occurrence] = []
        self.seq = 0
        self.finishing = False
        self.end_tick: int | None = None
        self.ended_by = ""

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def fork(self) -> _Session:
        twin = copy.copy(self)
        twin.queue, twin.actions, twin.occurrences = list(self.queue), list(self.actions), list(self.occurrences)
        return twin


class SimulationBatch:
    """``n`` sessions of one scenario advanced together on the server clock."""

    def __init__(
        self,
        program: Program,
        rngs: Sequence[np.random.Generator],
        *,
        seeds: Sequence[int | None] | None = None,
        record_all: bool = True,
    ) -> None:
        self.program = program
        # Recording only what the rubric reads cuts trace memory several-fold for long
        # exams; the action log and seed still reproduce everything.
        names = program.names if record_all else program.scored_names
        self.recorded_names = tuple(names)
        self._recorded = np.array([program.column[n] for n in names], dtype=int)
        self.n = len(rngs)
        seeds = list(seeds) if seeds is not None else [None] * self.n
        self.sessions = [_Session(s) for s in seeds]
        self.tick_index = 0
        self._setup_arrays()
        self._draw_random(rngs)
        self._prepare_dynamics()
        self._samples: list[np.ndarray] = []
        with np.errstate(all="ignore"):
            self._recompute_derived(self.state, self._env)

    @classmethod
    def from_seeds(
        cls, program: Program, seeds: Iterable[int], *, record_all: bool = True
    ) -> SimulationBatch:
        seeds = list(seeds)
        rngs = [np.random.default_rng(s) for s in seeds]
        return cls(program, rngs, seeds=seeds, record_all=record_all)

    def fork(self) -> SimulationBatch:
        """An independent copy that evolves exactly like this batch would (a look-ahead).

        Recorded samples and action records are never mutated once appended, so they are
        shared; everything that advancing mutates is copied.
        """
        twin = copy.copy(self)
        twin.state = self.state.copy()
        twin._env = column_env(self.program, twin.state, self._env["t"])
        for name in ("event_at", "event_fired", "condition_was", "alarm_active", "alarm_standing"):
            setattr(twin, name, getattr(self, name).copy())
        twin.sessions = [s.fork() for s in self.sessions]
        twin._samples = list(self._samples)
        twin._scratch = np.zeros_like(self.state)
        twin._scratch_env = column_env(self.program, twin._scratch, 0.0)
        return twin

    # ----------------------------------------------------------------- set-up

    def _setup_arrays(self) -> None:
        p, n = self.program, self.n
        self.state = np.zeros((n, len(p.variables)))
        self._env = column_env(p, self.state, 0.0)
        self.event_at = np.full((n, len(p.events)), np.inf)
        self.event_fired = np.zeros((n, len(p.events)), dtype=bool)
        self.condition_was = np.zeros((n, len(p.events)), dtype=bool)
        self.alarm_active = np.zeros((n, len(p.alarms)), dtype=bool)
        self.alarm_standing = np.zeros((n, len(p.alarms)), dtype=bool)

    def _draw_random(self, rngs: Sequence[np.random.Generator]) -> None:
        p = self.program
        for i, rng in enumerate(rngs):
            for j, var in enumerate(p.variables[: p.n_state]):
                init = var.initial
                self.state[i, j] = init.draw(rng) if isinstance(init, RandomValue) else init
            for e, event in enumerate(p.events):
                if isinstance(event.at, RandomValue):
                    self.event_at[i, e] = event.at.draw(rng)
                elif event.at is not None:
                    self.event_at[i, e] = event.at
        np.clip(self.state, p.low, p.high, out=self.state)

    def _prepare_dynamics(self) -> None:
        p = self.program
        self._ode_cols = np.array([a.column for a in p.ode], dtype=int)
        moving = {a.target for a in p.ode} | {"t"}
        dynamic: list[Assignment] = []
        for assignment in p.derived:  # topological order: one pass suffices
            if assignment.expr.names & moving:
                dynamic.append(assignment)
                moving.add(assignment.target)
        self._dynamic_derived = tuple(dynamic)
        self._scratch = np.zeros_like(self.state)
        self._scratch_env = column_env(p, self._scratch, 0.0)

    # ------------------------------------------------------------ public API

    @property
    def time(self) -> float:
        """Time of the next tick to be processed."""
        return self.tick_index * self.program.tick

    @property
    def done(self) -> bool:
        return all(s.end_tick is not None for s in self.sessions)

    def submit(
        self, i: int, action: str, args: dict[str, Any] | None = None, t: float | None = None
    ) -> None:
        """Queue an action of session ``i``, applied at the tick boundary at or after ``t``."""
        session = self.sessions[i]
        if session.end_tick is not None or session.finishing:
            raise ActionRejectedError("the session has ended")
        if len(session.actions) + len(session.queue) >= MAX_ACTIONS_PER_SESSION:
            raise ActionRejectedError(f"more than {MAX_ACTIONS_PER_SESSION} actions in one session")
        spec = self.program.actions.get(action)
        if spec is None:
            raise ActionRejectedError(f"unknown action {action!r}")
        spec.encode_args(args)  # refuse malformed input now, not at the tick
        t = self.time if t is None else float(t)
        tick = max(self.program.tick_of(t), self.tick_index)
        if t < self.time - self.program.tick - _EPS:
            raise ActionRejectedError(f"action at t={t} is in the past (now {self.time})")
        session.queue.append((tick, LoggedAction(t, action, dict(args or {}))))
        if action == FINISH:
            session.finishing = True

    def advance(self) -> None:
        """Process the current tick, then integrate to the next one."""
        if self.done:
            return
        k = self.tick_index
        t = k * self.program.tick
        self._env["t"] = t
        self._fire_scheduled(t)
        self._apply_queued(k, t)
        self._fire_conditional(t)
        self._update_alarms(t)
        if len(self._recorded) == self.state.shape[1]:
            self._samples.append(self.state.copy())
        else:
            self._samples.append(self.state[:, self._recorded])
        self._end_sessions(k)
        if not self.done:
            self._integrate(t)
            self.tick_index += 1

    def run(self, until: float | None = None) -> None:
        """Advance until every session ended (or the clock passes ``until``)."""
        while not self.done and (until is None or self.time <= until + _EPS):
            self.advance()

    def values(self, i: int, *, include_hidden: bool = False) -> dict[str, Any]:
        """Current readable values of session ``i`` (what the candidate's page shows)."""
        return self.program.decode_row(self.state[i], include_hidden=include_hidden)

    def active_alarms(self, i: int) -> list[str]:
        return [a.id for j, a in enumerate(self.program.alarms) if self.alarm_active[i, j]]

    def traces(self) -> list[Trace]:
        """The trace of every session (views into one stacked sample array)."""
        stacked = np.stack(self._samples)
        return [self._trace(i, stacked) for i in range(self.n)]

    def trace(self, i: int) -> Trace:
        return self._trace(i, np.stack([s[i] for s in self._samples])[:, None, :], column=0)

    # ----------------------------------------------------------- discrete

    def _trace(self, i: int, stacked: np.ndarray, column: int | None = None) -> Trace:
        p, s = self.program, self.sessions[i]
        last = s.end_tick if s.end_tick is not None else len(self._samples) - 1
        return Trace(
            scenario_id=p.id,
            scenario_version=p.version,
            seed=s.seed,
            names=self.recorded_names,
            times=np.arange(last + 1) * p.tick,
            states=stacked[: last + 1, i if column is None else column, :],
            actions=list(s.actions),
            occurrences=list(s.occurrences),
            end_time=last * p.tick,
            ended_by=s.ended_by,
        )

    def _fire_scheduled(self, t: float) -> None:
        due = (self.event_at <= t + _EPS) & ~self.event_fired
        if not due.any():
            return
        for i, e in np.argwhere(due):
            if self.sessions[i].end_tick is None:
                self.event_fired[i, e] = True
                self._apply_event(int(i), int(e), t)

    def _fire_conditional(self, t: float) -> None:
        for e, event in enumerate(self.program.events):
            if event.when is None:
                continue
            now = _as_column(event.when.evaluate(self._env), self.n).astype(bool)
            rising = now & ~self.condition_was[:, e]
            self.condition_was[:, e] = now
            for i in np.flatnonzero(rising):
                if self.sessions[i].end_tick is None:
                    self._apply_event(int(i), e, t)

    def _apply_event(self, i: int, e: int, t: float) -> None:
        event = self.program.events[e]
        self._apply_effects(i, event.effects, {})
        session = self.sessions[i]
        session.occurrences.append(Occurrence(session.next_seq(), t, "event", event.id))

    def _update_alarms(self, t: float) -> None:
        alarms = self.program.alarms
        if not alarms:
            return
        now = np.column_stack(
            [_as_column(a.when.evaluate(self._env), self.n).astype(bool) for a in alarms]
        )
        raised = now & ~self.alarm_active
        cleared = ~now & self.alarm_active
        self.alarm_active = now
        self.alarm_standing |= raised
        for kind, mask in (("alarm_raised", raised), ("alarm_cleared", cleared)):
            for i, j in np.argwhere(mask):
                session = self.sessions[i]
                if session.end_tick is None:
                    session.occurrences.append(
                        Occurrence(session.next_seq(), t, kind, alarms[j].id)
                    )

    def _apply_queued(self, k: int, t: float) -> None:
        for i, session in enumerate(self.sessions):
            if not session.queue or session.end_tick is not None:
                continue
            while session.queue and session.queue[0][0] <= k:
                _, logged = session.queue.pop(0)
                self._apply_action(i, logged, t)

    def _apply_action(self, i: int, logged: LoggedAction, t: float) -> None:
        spec = self.program.actions[logged.action]
        encoded = spec.encode_args(logged.args)
        pre_state = self.state[i].copy()
        accepted, reason = self._perform(i, logged.action, encoded)
        session = self.sessions[i]
        session.actions.append(
            ActionRecord(
                session.next_seq(),
                t,
                logged.t,
                logged.action,
                dict(logged.args),
                encoded,
                accepted,
                reason,
                pre_state,
            )
        )
        if logged.action == ACKNOWLEDGE and accepted:
            alarm_id = logged.args["alarm"]
            session.occurrences.append(
                Occurrence(session.next_seq(), t, "alarm_acknowledged", alarm_id)
            )

    def _perform(self, i: int, name: str, encoded: dict[str, float]) -> tuple[bool, str]:
        if name == FINISH:
            return True, ""
        if name == ACKNOWLEDGE:
            j = int(encoded["alarm"])
            if not self.alarm_standing[i, j]:
                return False, "no unacknowledged alarm of that name"
            self.alarm_standing[i, j] = False
            return True, ""
        spec = self.program.actions[name]
        if spec.requires is not None:
            env = self._row_env(i, encoded)
            if not bool(np.asarray(spec.requires.evaluate(env)).reshape(-1)[0]):
                return False, f"precondition not met: {spec.requires.source}"
        self._apply_effects(i, spec.effects, encoded)
        return True, ""

    def _row_env(self, i: int, extra: dict[str, float]) -> dict[str, Any]:
        env = column_env(self.program, self.state[i : i + 1], self._env["t"])
        env.update(extra)
        return env

    def _apply_effects(self, i: int, effects: Sequence[Assignment], args: dict[str, float]) -> None:
        if not effects:
            return
        row = self.state[i : i + 1]
        env = self._row_env(i, args)
        # evaluate every effect on the pre-action state before writing any (copies, not views)
        values = [np.array(_as_column(a.expr.evaluate(env), 1)) for a in effects]
        for assignment, value in zip(effects, values, strict=False):
            row[:, assignment.column] = value
        np.clip(row, self.program.low, self.program.high, out=row)
        with np.errstate(all="ignore"):
            self._recompute_derived(row, env)

    def _recompute_derived(
        self, matrix: np.ndarray, env: dict[str, Any], which: Sequence[Assignment] | None = None
    ) -> None:
        """Callers hold ``np.errstate(all="ignore")``; non-finite results are caught later."""
        for assignment in self.program.derived if which is None else which:
            matrix[:, assignment.column] = assignment.expr.evaluate(env)  # broadcasts scalars

    def _end_sessions(self, k: int) -> None:
        at_limit = k >= self.program.n_ticks
        for session in self.sessions:
            if session.end_tick is not None:
                continue
            if session.finishing and not session.queue:
                session.end_tick, session.ended_by = k, ENDED_BY_FINISH
            elif at_limit:
                session.end_tick, session.ended_by = k, ENDED_BY_TIME_LIMIT

    # ---------------------------------------------------------- continuous

    def _integrate(self, t: float) -> None:
        if not self.program.ode:
            self._env["t"] = t + self.program.tick
            return
        p = self.program
        h = p.tick / p.substeps
        cols = self._ode_cols
        with np.errstate(all="ignore"):
            for step in range(p.substeps):
                t0 = t + step * h
                y0 = self.state[:, cols]
                k1 = self._rates(y0, t0)
                k2 = self._rates(y0 + (h / 2) * k1, t0 + h / 2)
                k3 = self._rates(y0 + (h / 2) * k2, t0 + h / 2)
                k4 = self._rates(y0 + h * k3, t0 + h)
                self.state[:, cols] = y0 + (h / 6) * (k1 + 2 * k2 + 2 * k3 + k4)
                np.clip(self.state, p.low, p.high, out=self.state)
                self._env["t"] = t0 + h
                self._recompute_derived(self.state, self._env, self._dynamic_derived)
        self._env["t"] = t + p.tick
        self._check_finite()

    def _rates(self, y: np.ndarray, t: float) -> np.ndarray:
        """d/dt of the ODE variables at stage values ``y`` (n, n_ode) and time ``t``."""
        scratch, env = self._scratch, self._scratch_env
        scratch[:] = self.state
        scratch[:, self._ode_cols] = y
        # stage values respect the ranges too (a level never dips below 0 mid-step)
        np.clip(scratch, self.program.low, self.program.high, out=scratch)
        env["t"] = t
        self._recompute_derived(scratch, env, self._dynamic_derived)
        rates = np.empty_like(y)
        for j, assignment in enumerate(self.program.ode):
            rates[:, j] = assignment.expr.evaluate(env)
        return rates

    def _check_finite(self) -> None:
        if np.isfinite(self.state[:, self._ode_cols]).all():
            return
        bad = [
            self.program.ode[j].target
            for j in range(len(self._ode_cols))
            if not np.isfinite(self.state[:, self._ode_cols[j]]).all()
        ]
        raise NumericalError(f"the dynamics of {', '.join(bad)} diverged at t={self.time:g} s")


@dataclass(frozen=True)
class CandidateView:
    """What the candidate's page shows: never hidden variables, never the rubric."""

    time: float
    remaining: float
    values: dict[str, Any]
    active_alarms: tuple[str, ...]
    unacknowledged_alarms: tuple[str, ...]
    ended: bool


class Simulation:
    """One session: a batch of one, with a friendlier API."""

    def __init__(
        self, program: Program, rng: np.random.Generator, *, seed: int | None = None
    ) -> None:
        self.batch = SimulationBatch(program, [rng], seeds=[seed])

    @classmethod
    def from_seed(cls, program: Program, seed: int) -> Simulation:
        return cls(program, np.random.default_rng(seed), seed=seed)

    def fork(self) -> Simulation:
        """An independent copy of this session at its current tick (see SimulationBatch.fork)."""
        twin = copy.copy(self)
        twin.batch = self.batch.fork()
        return twin

    @property
    def time(self) -> float:
        return self.batch.time

    @property
    def done(self) -> bool:
        return self.batch.done

    def act(self, action: str, args: dict[str, Any] | None = None, t: float | None = None) -> None:
        self.batch.submit(0, action, args, t)

    def advance(self, seconds: float | None = None) -> None:
        """Advance one tick, or until ``seconds`` more have elapsed."""
        if seconds is None:
            self.batch.advance()
            return
        target = self.time + seconds
        while not self.done and self.time < target - _EPS:
            self.batch.advance()

    def values(self, *, include_hidden: bool = False) -> dict[str, Any]:
        return self.batch.values(0, include_hidden=include_hidden)

    def view(self) -> CandidateView:
        """The live state to push to the candidate's page."""
        batch, program = self.batch, self.batch.program
        standing = [a.id for j, a in enumerate(program.alarms) if batch.alarm_standing[0, j]]
        return CandidateView(
            time=batch.time,
            remaining=max(0.0, program.time_limit - batch.time),
            values=batch.values(0),
            active_alarms=tuple(batch.active_alarms(0)),
            unacknowledged_alarms=tuple(standing),
            ended=batch.done,
        )

    def run_to_end(self) -> Trace:
        self.batch.run()
        return self.batch.trace(0)

    def trace(self) -> Trace:
        return self.batch.trace(0)


def replay(program: Program, actions: Sequence[LoggedAction], seed: int) -> Trace:
    """Re-run a session from its action log and seed; the trace is bit-identical."""
    simulation = Simulation.from_seed(program, seed)
    batch = simulation.batch
    for logged in actions:
        tick = program.tick_of(logged.t)
        while batch.tick_index < tick and not batch.done:
            batch.advance()
        if batch.done:
            raise ActionLogError(
                f"action {logged.action!r} at t={logged.t:g} s comes after the session ended"
            )
        try:
            batch.submit(0, logged.action, logged.args, logged.t)
        except ActionRejectedError as exc:
            raise ActionLogError(f"action {logged.action!r} at t={logged.t:g} s: {exc}") from None
    return simulation.run_to_end()
