"""Compiled programs of stored scenario versions, and a run's state at a moment.

Compiling a scenario costs milliseconds, so programs are cached by the SHA-256 of their
source (a version's source never changes). The live state of an attempt is never
stored: it is rebuilt from the seed and the action log, which is what makes every
state and the score reproducible (docs/scenarios.md, "Determinism").

Rebuilding from the seed on every request costs a whole replay (seconds late in a CSTR
run), so each worker process keeps the attempts' live runs in a bounded LRU
(:data:`RUNS`) and advances them tick by tick; a run is only reused when the stored log
extends the log it has consumed, otherwise it is rebuilt from the seed (docs/scenarios.md,
"Live runs in memory").
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from simulations.runtime import LoggedAction, Program, Simulation, Trace, replay
from simulations.scenario import load_scenario_text

_CACHE: OrderedDict[str, Program] = OrderedDict()
_CACHE_SIZE = 64


def program_for(source: str, sha256: str, filename: str) -> Program:
    program = _CACHE.get(sha256)
    if program is None:
        program = load_scenario_text(source, filename)
        _CACHE[sha256] = program
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    else:
        _CACHE.move_to_end(sha256)
    return program


@dataclass(frozen=True)
class LiveView:
    """What the candidate's page and the supervisor's monitor show at one moment."""

    time: float
    remaining: float
    values: dict[str, Any]
    active_alarms: list[str]
    unacknowledged_alarms: list[str]
    ended: bool
    last_action: dict[str, Any] | None  # the newest applied action: name, accepted, t
    accepted: int  # accepted actions so far
    refused: int  # refused actions so far

    def as_dict(self) -> dict[str, Any]:
        return {
            "time": self.time, "remaining": self.remaining, "values": self.values,
            "active_alarms": self.active_alarms, "unacknowledged_alarms": self.unacknowledged_alarms,
            "ended": self.ended, "last_action": self.last_action, "accepted": self.accepted,
            "refused": self.refused,
        }


class LiveRun:
    """One attempt's run kept in memory by a live page, always equal to a replay of its log.

    New actions whose tick is still ahead are queued on the running simulation; an action
    stamped for a tick already processed (it reached this process late) rebuilds the run
    from the seed, so what the page shows never departs from what replay will score.
    """

    def __init__(self, program: Program, seed: int) -> None:
        self.program, self.seed = program, seed
        self.log: list[LoggedAction] = []
        self._reset()

    def _reset(self) -> None:
        self.simulation = Simulation.from_seed(self.program, self.seed)
        self.queued = 0

    @property
    def fresh(self) -> bool:
        """Nothing processed yet: syncing rebuilds nothing."""
        return self.simulation.batch.tick_index == 0 and self.queued == 0

    def sync(self, log: Sequence[LoggedAction]) -> bool:
        """Queue the actions of ``log`` not yet queued; True when the run had to be rebuilt.

        The run is reused only when ``log`` extends the log it consumed and no new action
        falls on a tick already processed; otherwise it restarts from the seed, so the
        state always equals a full replay of ``log`` (the step grid is the fixed tick).
        """
        rebuilt = False
        if list(log[: len(self.log)]) != self.log:  # shorter or different: a rolled-back write
            rebuilt = not self.fresh
            self._reset()
        self.log = list(log)
        batch = self.simulation.batch
        pending = self.log[self.queued:]
        if any(self.program.tick_of(a.t) < batch.tick_index for a in pending):
            rebuilt = rebuilt or not self.fresh
            self._reset()
            batch = self.simulation.batch
            pending = self.log
        for logged in pending:
            tick = self.program.tick_of(logged.t)
            while batch.tick_index < tick and not batch.done:
                batch.advance()
            if batch.done:
                break
            batch.submit(0, logged.action, logged.args, logged.t)
            self.queued += 1
        return rebuilt

    def _shown_tick(self, elapsed: float) -> int:
        return min(math.floor(elapsed / self.program.tick + 1e-9), self.program.n_ticks)

    def advance_to(self, elapsed: float) -> None:
        """Process every tick up to ``elapsed`` seconds since the start."""
        batch = self.simulation.batch
        last_tick = self._shown_tick(elapsed)
        while batch.tick_index <= last_tick and not batch.done:
            batch.advance()

    def advance_before(self, elapsed: float) -> None:
        """Process the ticks strictly before ``elapsed``: an action stamped at or after
        ``elapsed`` then always lands on a tick still ahead (no rebuild)."""
        batch = self.simulation.batch
        while batch.tick_index < self.program.tick_of(elapsed) and not batch.done:
            batch.advance()

    def view_at(self, elapsed: float) -> LiveView:
        """What :meth:`advance_to` then :meth:`view` would show, without processing the
        tick at ``elapsed`` itself on this run (a look-ahead on a fork when needed)."""
        batch = self.simulation.batch
        if batch.done or batch.tick_index > self._shown_tick(elapsed):
            return self.view(elapsed)
        ahead = LiveRun.__new__(LiveRun)
        ahead.program, ahead.seed, ahead.log, ahead.queued = self.program, self.seed, self.log, self.queued
        ahead.simulation = self.simulation.fork()
        ahead.advance_to(elapsed)
        return ahead.view(elapsed)

    def view(self, elapsed: float) -> LiveView:
        view = self.simulation.view()
        records = self.simulation.batch.sessions[0].actions
        last = records[-1] if records else None
        limit = self.program.time_limit
        return LiveView(
            time=min(elapsed, limit), remaining=max(0.0, limit - elapsed),
            values=view.values, active_alarms=list(view.active_alarms),
            unacknowledged_alarms=list(view.unacknowledged_alarms), ended=view.ended,
            last_action=None if last is None else {"action": last.action, "t": last.t, "accepted": last.accepted},
            accepted=sum(1 for r in records if r.accepted), refused=sum(1 for r in records if not r.accepted),
        )


def state_at(program: Program, log: Sequence[LoggedAction], seed: int, elapsed: float) -> LiveView:
    """Replay ``log`` with ``seed`` and process every tick up to ``elapsed`` seconds."""
    run = LiveRun(program, seed)
    run.sync(log)
    run.advance_to(elapsed)
    return run.view(elapsed)


# ---- live runs kept in memory -----------------------------------------------------------


@dataclass
class RunStats:
    """Counters of :data:`RUNS` (benchmarks and tests read them)."""

    hits: int = 0  # the kept run extended incrementally
    misses: int = 0  # no run kept (another worker, a restart, evicted): replayed from the seed
    rebuilds: int = 0  # a kept run did not match the stored log: replayed from the seed


class _Kept:
    def __init__(self, run: LiveRun) -> None:
        self.run = run
        self.lock = threading.Lock()  # one request at a time advances a run


class RunCache:
    """Bounded LRU of live runs, keyed by attempt, scenario version (its SHA-256) and seed.

    Every use passes the stored action log; :meth:`LiveRun.sync` checks that it extends
    what the run consumed (which covers the number of stored actions and their content),
    so a log that grew in another worker, or a write rolled back after the run saw it,
    is detected and the run rebuilt. Runs advance on the fixed tick grid only, so the
    state reached step by step equals a full replay bit for bit.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._runs: OrderedDict[tuple[int, str, int], _Kept] = OrderedDict()
        self._lock = threading.Lock()
        self.stats = RunStats()

    def clear(self) -> None:
        with self._lock:
            self._runs.clear()
            self.stats = RunStats()

    def __len__(self) -> int:
        return len(self._runs)

    def _kept(self, key: tuple[int, str, int], program: Program) -> _Kept:
        with self._lock:
            kept = self._runs.get(key)
            if kept is None:
                self.stats.misses += 1
                kept = self._runs[key] = _Kept(LiveRun(program, key[2]))
                while len(self._runs) > self.size:
                    self._runs.popitem(last=False)
            else:
                self.stats.hits += 1
                self._runs.move_to_end(key)
            return kept

    def _forget(self, key: tuple[int, str, int]) -> None:
        with self._lock:
            self._runs.pop(key, None)

    def _synced(self, key: tuple[int, str, int], kept: _Kept, log: Sequence[LoggedAction]) -> None:
        try:
            rebuilt = kept.run.sync(log)
        except Exception:
            self._forget(key)  # half-consumed log: never reuse it
            raise
        if rebuilt:
            with self._lock:
                self.stats.hits -= 1
                self.stats.rebuilds += 1

    def view(self, key: tuple[int, str, int], program: Program, log: Sequence[LoggedAction],
             elapsed: float) -> LiveView:
        """The run of ``log`` processed up to ``elapsed`` seconds (equal to :func:`state_at`)."""
        kept = self._kept(key, program)
        with kept.lock:
            self._synced(key, kept, log)
            kept.run.advance_before(elapsed)
            return kept.run.view_at(elapsed)

    def trace_to_end(self, key: tuple[int, str, int], program: Program, log: Sequence[LoggedAction]) -> Trace:
        """The run of ``log`` to its end (equal to :func:`replay`, which checks the log)."""
        kept = self._kept(key, program)
        with kept.lock:
            self._synced(key, kept, log)
            run = kept.run
            if run.queued < len(run.log):  # an action after the end: let replay name it
                return replay(program, log, run.seed)
            return run.simulation.run_to_end()


RUNS = RunCache(1024)
"""This worker's live runs. Sized above the candidates one worker serves at once: an LRU
smaller than that would evict on every 1 Hz push and replay each time. A CSTR run kept
to its 600 s limit holds about 1 MB (samples and action records)."""
