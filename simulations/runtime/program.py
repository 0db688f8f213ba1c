"""A validated, compiled scenario: what the runtime executes and the rubric scores.

Built by :func:`simulations.scenario.compile_scenario`; all expressions are already
type-checked closures, all names resolved to column indices of the state matrix.
State matrix layout: one row per simulation, one float64 column per variable — the
scenario's state variables first, then its derived variables. Booleans are 0/1, enums
the index of their value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from simulations.errors import ActionRejectedError
from simulations.expressions import CompiledExpression, ValueType

if TYPE_CHECKING:
    from simulations.runtime.scoring import Rubric

FINISH = "finish"
ACKNOWLEDGE = "acknowledge"
BUILTIN_ACTIONS = (FINISH, ACKNOWLEDGE)


@dataclass(frozen=True)
class Text:
    """A text in Chinese and English."""

    zh: str
    en: str

    def get(self, lang: str = "zh") -> str:
        return self.en if lang == "en" else self.zh

    def as_dict(self) -> dict[str, str]:
        return {"zh": self.zh, "en": self.en}


@dataclass(frozen=True)
class RandomValue:
    """A value drawn uniformly from ``[low, high]`` (optionally on a ``step`` grid)."""

    low: float
    high: float
    step: float | None = None

    def draw(self, rng: np.random.Generator) -> float:
        value = float(rng.uniform(self.low, self.high))
        if self.step:
            value = self.low + round((value - self.low) / self.step) * self.step
            value = min(max(value, self.low), self.high)
        return value


@dataclass(frozen=True)
class VariableSpec:
    name: str
    type: ValueType
    unit: str = ""
    low: float = -math.inf
    high: float = math.inf
    initial: float | RandomValue = 0.0
    label: Text | None = None
    hidden: bool = False
    derived: bool = False

    def decode(self, value: float) -> Any:
        """Stored float -> the value a person reads (bool, int, enum name, float)."""
        kind = self.type.kind
        if kind == "bool":
            return bool(value)
        if kind == "enum":
            return self.type.values[int(value)]
        if kind == "int":
            return int(value)
        return float(value)


@dataclass(frozen=True)
class ArgumentSpec:
    name: str
    type: ValueType
    low: float = -math.inf
    high: float = math.inf

    def encode(self, value: Any, action: str) -> float:
        """Check a submitted argument and convert it to its stored float."""
        kind = self.type.kind
        where = f"argument {self.name!r} of {action!r}"
        if kind == "enum":
            if value not in self.type.values:
                raise ActionRejectedError(f"{where} must be one of {', '.join(self.type.values)}")
            return float(self.type.values.index(value))
        if kind == "bool":
            if not isinstance(value, bool):
                raise ActionRejectedError(f"{where} must be true or false")
            return float(value)
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
        ):
            raise ActionRejectedError(f"{where} must be a number")
        if kind == "int" and float(value) != int(value):
            raise ActionRejectedError(f"{where} must be a whole number")
        if not self.low <= value <= self.high:
            raise ActionRejectedError(f"{where} must lie in [{self.low:g}, {self.high:g}]")
        return float(value)


@dataclass(frozen=True)
class Assignment:
    """``column <- expr``: an action/event effect, a derived variable or a d/dt."""

    target: str
    column: int
    expr: CompiledExpression


@dataclass(frozen=True)
class ActionSpec:
    name: str
    label: Text
    args: tuple[ArgumentSpec, ...] = ()
    requires: CompiledExpression | None = None
    effects: tuple[Assignment, ...] = ()
    builtin: bool = False

    def encode_args(self, args: dict[str, Any] | None) -> dict[str, float]:
        args = dict(args or {})
        unknown = set(args) - {a.name for a in self.args}
        if unknown:
            raise ActionRejectedError(
                f"unknown argument(s) {', '.join(sorted(unknown))} for {self.name!r}"
            )
        encoded = {}
        for spec in self.args:
            if spec.name not in args:
                raise ActionRejectedError(f"missing argument {spec.name!r} for {self.name!r}")
            encoded[spec.name] = spec.encode(args[spec.name], self.name)
        return encoded


@dataclass(frozen=True)
class ControlSpec:
    id: str
    kind: str
    label: Text
    actions: tuple[str, ...]
    shows: tuple[str, ...] = ()
    group: str = ""


@dataclass(frozen=True)
class EventSpec:
    """A scheduled (``at``) or conditional (``when``, fires on the rising edge) event."""

    id: str
    label: Text | None
    at: float | RandomValue | None
    when: CompiledExpression | None
    effects: tuple[Assignment, ...]


@dataclass(frozen=True)
class AlarmSpec:
    id: str
    when: CompiledExpression
    priority: str
    text: Text


@dataclass(frozen=True)
class Program:
    """Everything the runtime needs to run one scenario, and its rubric."""

    id: str
    version: int
    title: Text
    occupation: Text
    occupation_code: str
    level: int | None
    instructions: Text
    time_limit: float
    tick: float
    substeps: int
    variables: tuple[VariableSpec, ...]
    n_state: int
    derived: tuple[Assignment, ...]
    ode: tuple[Assignment, ...]
    actions: dict[str, ActionSpec]
    controls: tuple[ControlSpec, ...]
    events: tuple[EventSpec, ...]
    alarms: tuple[AlarmSpec, ...]
    rubric: Rubric
    source_file: str = ""
    source_sha256: str = ""
    column: dict[str, int] = field(init=False)
    names: tuple[str, ...] = field(init=False)
    low: np.ndarray = field(init=False, repr=False)
    high: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "column", {v.name: i for i, v in enumerate(self.variables)})
        object.__setattr__(self, "names", tuple(v.name for v in self.variables))
        object.__setattr__(self, "low", np.array([v.low for v in self.variables]))
        object.__setattr__(self, "high", np.array([v.high for v in self.variables]))

    @property
    def n_ticks(self) -> int:
        """Ticks until the time limit."""
        return math.ceil(self.time_limit / self.tick - 1e-9)

    def tick_of(self, t: float) -> int:
        """The tick at which an action stamped ``t`` seconds is applied (next boundary)."""
        return math.ceil(t / self.tick - 1e-9)

    def candidate_manifest(self) -> dict[str, Any]:
        """What the candidate's page needs to draw the task: texts, controls, visible
        variables, action arguments and alarm texts — never the rubric, never hidden
        variables (architecture invariant 3)."""
        visible = [v for v in self.variables if not v.hidden]
        visible_names = {v.name for v in visible}
        return {
            "id": self.id,
            "version": self.version,
            "title": self.title.as_dict(),
            "instructions": self.instructions.as_dict(),
            "time_limit": self.time_limit,
            "tick": self.tick,
            "variables": [_describe_variable(v) for v in visible],
            "controls": [
                {
                    "id": c.id,
                    "kind": c.kind,
                    "group": c.group,
                    "label": c.label.as_dict(),
                    "actions": list(c.actions),
                    "shows": [n for n in c.shows if n in visible_names],
                }
                for c in self.controls
            ],
            "actions": {name: _describe_action(a) for name, a in self.actions.items()},
            "alarms": [
                {"id": a.id, "priority": a.priority, "text": a.text.as_dict()} for a in self.alarms
            ],
        }

    @property
    def scored_names(self) -> tuple[str, ...]:
        """Variables the rubric reads from the samples (hold/ever/always/final/duration)."""
        used: set[str] = set()
        for line in self.rubric.lines + self.rubric.deductions + self.rubric.vetoes:
            used |= _sample_names(line.check)
        return tuple(n for n in self.names if n in used)

    def decode_row(self, row: np.ndarray, *, include_hidden: bool = True) -> dict[str, Any]:
        return {
            v.name: v.decode(row[i])
            for i, v in enumerate(self.variables)
            if include_hidden or not v.hidden
        }


def _sample_names(check: Any) -> set[str]:
    """Names a check evaluates over samples (not over pre-action states)."""
    names: set[str] = set()
    condition = getattr(check, "condition", None)
    if condition is not None:
        names |= set(condition.names)
    for child in getattr(check, "checks", ()):
        names |= _sample_names(child)
    inner = getattr(check, "check", None)
    if inner is not None:
        names |= _sample_names(inner)
    return names


def _describe_variable(v: VariableSpec) -> dict[str, Any]:
    described: dict[str, Any] = {"name": v.name, "type": v.type.kind, "unit": v.unit}
    if v.type.kind == "enum":
        described["values"] = list(v.type.values)
    if math.isfinite(v.low) or math.isfinite(v.high):
        described["range"] = [v.low, v.high]
    if v.label is not None:
        described["label"] = v.label.as_dict()
    return described


def _describe_action(a: ActionSpec) -> dict[str, Any]:
    args = []
    for arg in a.args:
        item: dict[str, Any] = {"name": arg.name, "type": arg.type.kind}
        if arg.type.kind == "enum":
            item["values"] = list(arg.type.values)
        if math.isfinite(arg.low) or math.isfinite(arg.high):
            item["range"] = [arg.low, arg.high]
        args.append(item)
    return {"label": a.label.as_dict(), "args": args}
