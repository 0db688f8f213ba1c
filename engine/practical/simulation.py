"""Compiled programs of stored scenario versions, and a run's state at a moment.

Compiling a scenario costs milliseconds, so programs are cached by the SHA-256 of their
source (a version's source never changes). The live state of an attempt is never
stored: it is rebuilt from the seed and the action log, which is what makes every
state and the score reproducible (docs/scenarios.md, "Determinism").
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from simulations.runtime import LoggedAction, Program, Simulation
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

    def sync(self, log: Sequence[LoggedAction]) -> None:
        if list(log[: len(self.log)]) != self.log:
            self._reset()  # not an extension of what we have (cannot happen to an append-only log)
        self.log = list(log)
        batch = self.simulation.batch
        pending = self.log[self.queued:]
        if any(self.program.tick_of(a.t) < batch.tick_index for a in pending):
            self._reset()
            pending = self.log
        for logged in pending:
            tick = self.program.tick_of(logged.t)
            while batch.tick_index < tick and not batch.done:
                batch.advance()
            if batch.done:
                break
            batch.submit(0, logged.action, logged.args, logged.t)
            self.queued += 1

    def advance_to(self, elapsed: float) -> None:
        """Process every tick up to ``elapsed`` seconds since the start."""
        batch = self.simulation.batch
        last_tick = min(math.floor(elapsed / self.program.tick + 1e-9), self.program.n_ticks)
        while batch.tick_index <= last_tick and not batch.done:
            batch.advance()

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
