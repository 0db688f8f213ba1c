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


def state_at(program: Program, log: Sequence[LoggedAction], seed: int, elapsed: float) -> LiveView:
    """Replay ``log`` with ``seed`` and process every tick up to ``elapsed`` seconds."""
    simulation = Simulation.from_seed(program, seed)
    batch = simulation.batch
    last_tick = min(math.floor(elapsed / program.tick + 1e-9), program.n_ticks)
    for logged in log:
        tick = program.tick_of(logged.t)
        while batch.tick_index < tick and not batch.done:
            batch.advance()
        if batch.done:
            break
        batch.submit(0, logged.action, logged.args, logged.t)
    while batch.tick_index <= last_tick and not batch.done:
        batch.advance()
    view = simulation.view()
    records = batch.sessions[0].actions
    last = records[-1] if records else None
    return LiveView(
        time=min(elapsed, program.time_limit), remaining=max(0.0, program.time_limit - elapsed),
        values=view.values, active_alarms=list(view.active_alarms),
        unacknowledged_alarms=list(view.unacknowledged_alarms), ended=view.ended,
        last_action=None if last is None else {"action": last.action, "t": last.t, "accepted": last.accepted},
        accepted=sum(1 for r in records if r.accepted), refused=sum(1 for r in records if not r.accepted),
    )
