"""Shared fixtures: compiled built-in scenarios and helpers to run action scripts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from simulations.runtime import LoggedAction, Program, Simulation, replay, score
from simulations.runtime.scoring import ScoreSheet
from simulations.runtime.trace import Trace
from simulations.scenarios import load_builtin

Step = tuple[float, str] | tuple[float, str, dict[str, Any]]


@pytest.fixture(scope="session")
def electrician() -> Program:
    return load_builtin("electrician-feeder-switching")


@pytest.fixture(scope="session")
def cstr() -> Program:
    return load_builtin("chemical-cstr-control")


@pytest.fixture(scope="session")
def cnc() -> Program:
    return load_builtin("cnc-lathe-startup")


def as_log(steps: Sequence[Step]) -> list[LoggedAction]:
    return [LoggedAction(s[0], s[1], dict(s[2]) if len(s) > 2 else {}) for s in steps]  # type: ignore[misc]


def run_script(program: Program, steps: Sequence[Step], seed: int = 1) -> tuple[Trace, ScoreSheet]:
    trace = replay(program, as_log(steps), seed)
    return trace, score(program, trace)


def drive(
    program: Program, seed: int, react: Callable[[Simulation], None]
) -> tuple[Trace, ScoreSheet, list[LoggedAction]]:
    """Run a simulation tick by tick, letting ``react`` act on what it sees (like a
    candidate at the screen); returns trace, sheet and the submitted action log."""
    simulation = Simulation.from_seed(program, seed)
    submitted: list[LoggedAction] = []
    original = simulation.act

    def recording_act(
        action: str, args: dict[str, Any] | None = None, t: float | None = None
    ) -> None:
        original(action, args, t)
        submitted.append(
            LoggedAction(simulation.time if t is None else t, action, dict(args or {}))
        )

    simulation.act = recording_act  # type: ignore[method-assign]
    while not simulation.done:
        react(simulation)
        simulation.advance()
    trace = simulation.trace()
    return trace, score(program, trace), submitted


def awarded(sheet: ScoreSheet) -> dict[str, float]:
    return {line.id: line.awarded for line in sheet.lines}
