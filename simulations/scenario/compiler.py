"""Semantic validation and compilation of a scenario document into a :class:`Program`.

After the structural check against the JSON Schema, this module resolves every name,
type-checks every expression, and rejects scenarios that cannot work as an exam:

* unknown variables, arguments, actions, alarms or events (with a "did you mean");
* type errors (``QF1 + 1``, ``'opn'`` for an enum of open/closed, a real assigned to a
  bool, a ``requires`` that is not a condition);
* derived variables that depend on each other in a cycle (an endless evaluation);
* actions that no control can trigger;
* rubric lines that can never be satisfied (a condition false over the variables'
  ranges, a window outside the time limit, an order naming one action twice, ...);
* a per-tick evaluation cost above :data:`MAX_TICK_COST`.

Every error is a :class:`~simulations.errors.ScenarioError` naming file, line, field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from simulations.errors import ExpressionError, ScenarioError
from simulations.expressions import (
    BOOL,
    FUNCTIONS,
    INT,
    REAL,
    CompiledExpression,
    Node,
    ValueType,
    compile_expression,
    enum_type,
)
from simulations.runtime.program import (
    ACKNOWLEDGE,
    BUILTIN_ACTIONS,
    FINISH,
    ActionSpec,
    AlarmSpec,
    ArgumentSpec,
    Assignment,
    ControlSpec,
    EventSpec,
    Program,
    RandomValue,
    Text,
    VariableSpec,
)
from simulations.runtime.scoring import (
    AllCheck,
    AlwaysCheck,
    AnyCheck,
    Check,
    DidCheck,
    DurationCheck,
    EverCheck,
    FinalCheck,
    HoldCheck,
    NeverCheck,
    NotCheck,
    OccurredCheck,
    OrderCheck,
    OvertimeCheck,
    RejectedCheck,
    RespondCheck,
    Rubric,
    RubricLine,
    TimedOutCheck,
)
from simulations.scenario.bounds import ANY_BOOL, Possible, can_be_true, possible_values
from simulations.scenario.loader import FieldPath, LoadedDocument, SourceMap, load_file, load_text
from simulations.scenario.schema import SchemaViolation, validate

MAX_TICK_COST = 200_000
"""Upper bound on expression nodes evaluated per tick (derived + dynamics x RK4 stages)."""
MAX_TICKS = 100_000
"""Upper bound on ticks in a run (a day at 1 s)."""
MAX_RUN_COST = 50_000_000
"""Upper bound on expression nodes evaluated over a whole run (bounds a replay's time)."""

_RESERVED = {"t", "true", "false", "and", "or", "not", "if", "else"} | set(FUNCTIONS)
_NUMERIC_CONTROLS = {"setpoint", "numeric_input"}


def load_scenario(path: str | Path) -> Program:
    """Load, validate and compile the scenario file at ``path``."""
    return compile_document(load_file(path))


def load_scenario_text(text: str, file: str = "<scenario>") -> Program:
    return compile_document(load_text(text, file))


def compile_document(document: LoadedDocument) -> Program:
    """Validate ``document`` (structure, then meaning) and compile it."""
    try:
        validate(document.data)
    except SchemaViolation as exc:
        raise document.source.error(exc.path, exc.message) from None
    return _Compiler(document.data, document.source, document.sha256).compile()


def _text(raw: Mapping[str, str]) -> Text:
    return Text(raw["zh"], raw["en"])


def _optional_text(raw: Mapping[str, str] | None) -> Text | None:
    return None if raw is None else _text(raw)


class _Compiler:
    def __init__(self, data: dict[str, Any], source: SourceMap, sha256: str = "") -> None:
        self.data = data
        self.source = source
        self.sha256 = sha256
        self.symbols: dict[str, ValueType] = {"t": REAL}
        self.bounds: dict[str, Possible] = {}
        self.variables: list[VariableSpec] = []
        self.column: dict[str, int] = {}
        self.time_limit = float(data["time_limit"])
        self.bounds["t"] = (0.0, self.time_limit)

    # ------------------------------------------------------------- helpers

    def error(self, path: FieldPath, message: str) -> ScenarioError:
        return self.source.error(path, message)

    def expr(
        self,
        path: FieldPath,
        source: Any,
        *,
        expect: ValueType | None = None,
        extra: Mapping[str, ValueType] | None = None,
    ) -> CompiledExpression:
        symbols = {**self.symbols, **(extra or {})}
        try:
            return compile_expression(source, symbols, expect=expect)
        except ExpressionError as exc:
            raise self.error(path, f"{exc} in expression {str(source)[:80]!r}") from None

    def condition(
        self,
        path: FieldPath,
        source: Any,
        extra: Mapping[str, ValueType] | None = None,
        extra_bounds: Mapping[str, Possible] | None = None,
        *,
        must_be_possible: bool = True,
    ) -> CompiledExpression:
        compiled = self.expr(path, source, expect=BOOL, extra=extra)
        if must_be_possible and not can_be_true(
            compiled.tree, {**self.bounds, **(extra_bounds or {})}
        ):
            raise self.error(
                path, f"condition {compiled.source!r} can never be true given the variables' ranges"
            )
        return compiled

    # ------------------------------------------------------------- compile

    def compile(self) -> Program:
        d = self.data
        self.compile_state()
        derived = self.compile_derived()
        ode = self.compile_dynamics()
        actions = self.compile_actions()
        events, alarms = self.compile_events(), self.compile_alarms()
        actions.update(self.builtin_actions(alarms))
        controls = self.compile_controls(actions)
        self.check_reachable(actions, controls)
        rubric = self.compile_rubric(actions, events, alarms)
        clock = d.get("clock", {})
        program = Program(
            id=d["id"],
            version=d["version"],
            title=_text(d["title"]),
            occupation=_text(d["occupation"]["name"]),
            occupation_code=d["occupation"].get("code", ""),
            level=d.get("level"),
            instructions=_text(d["instructions"]),
            time_limit=self.time_limit,
            tick=float(clock.get("tick", 1.0)),
            substeps=int(clock.get("substeps", 10)),
            variables=tuple(self.variables),
            n_state=len(d["state"]),
            derived=derived,
            ode=ode,
            actions=actions,
            controls=controls,
            events=events,
            alarms=alarms,
            rubric=rubric,
            source_file=self.source.file,
            source_sha256=self.sha256,
        )
        self.check_cost(program)
        return program

    # ---------------------------------------------------------------- state

    def declare(self, path: FieldPath, name: str, raw: dict[str, Any]) -> ValueType:
        if name in _RESERVED:
            raise self.error(path, f"{name!r} is a reserved word")
        if name in self.symbols:
            raise self.error(path, f"{name!r} is declared twice")
        kind = raw["type"]
        if kind == "enum":
            values = raw.get("values")
            if not values:
                raise self.error(path + ("type",), "an enum needs 'values'")
            if len(set(values)) != len(values):
                raise self.error(path + ("values",), "enum values must be distinct")
            return enum_type(values)
        if "values" in raw:
            raise self.error(path + ("values",), f"'values' only applies to enums, not {kind}")
        return {"bool": BOOL, "int": INT, "real": REAL}[kind]

    def value_range(
        self, path: FieldPath, raw: dict[str, Any], kind: ValueType
    ) -> tuple[float, float]:
        if "range" not in raw:
            return (-math.inf, math.inf)
        if not kind.is_numeric:
            raise self.error(path + ("range",), f"a {kind} variable has no range")
        low, high = (float(v) for v in raw["range"])
        if not low < high:
            raise self.error(path + ("range",), f"range [{low:g}, {high:g}] is empty")
        return (low, high)

    def compile_state(self) -> None:
        for name, raw in self.data["state"].items():
            path: FieldPath = ("state", name)
            kind = self.declare(path, name, raw)
            low, high = self.value_range(path, raw, kind)
            initial = self.initial_value(path + ("initial",), raw["initial"], kind, low, high)
            self.add_variable(
                VariableSpec(
                    name,
                    kind,
                    raw.get("unit", ""),
                    low,
                    high,
                    initial,
                    _optional_text(raw.get("label")),
                    raw.get("hidden", False),
                )
            )

    def add_variable(self, spec: VariableSpec) -> None:
        self.symbols[spec.name] = spec.type
        self.column[spec.name] = len(self.variables)
        self.variables.append(spec)
        kind = spec.type.kind
        if kind == "bool":
            self.bounds[spec.name] = ANY_BOOL
        elif kind == "enum":
            self.bounds[spec.name] = frozenset(float(i) for i in range(len(spec.type.values)))
        else:
            self.bounds[spec.name] = (spec.low, spec.high)

    def initial_value(
        self, path: FieldPath, raw: Any, kind: ValueType, low: float, high: float
    ) -> float | RandomValue:
        if isinstance(raw, dict):
            if not kind.is_numeric:
                raise self.error(path, f"only numbers can have a random initial value, not {kind}")
            lo, hi = (float(v) for v in raw["between"])
            if not low <= lo <= hi <= high:
                raise self.error(
                    path,
                    f"random range [{lo:g}, {hi:g}] must lie inside the range [{low:g}, {high:g}]",
                )
            return RandomValue(lo, hi, raw.get("step"))
        if kind.kind == "enum":
            if raw not in kind.values:
                raise self.error(
                    path, f"initial value {raw!r} is not one of {', '.join(kind.values)}"
                )
            return float(kind.values.index(raw))
        if kind == BOOL:
            if not isinstance(raw, bool):
                raise self.error(
                    path, f"initial value of a bool must be true or false, got {raw!r}"
                )
            return float(raw)
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            raise self.error(path, f"initial value must be a number, got {raw!r}")
        if kind == INT and raw != int(raw):
            raise self.error(path, f"initial value of an int must be whole, got {raw!r}")
        if not low <= raw <= high:
            raise self.error(
                path, f"initial value {raw:g} is outside the range [{low:g}, {high:g}]"
            )
        return float(raw)

    def compile_derived(self) -> tuple[Assignment, ...]:
        raw_all: dict[str, Any] = self.data.get("derived", {})
        for name, raw in raw_all.items():
            path: FieldPath = ("derived", name)
            kind = self.declare(path, name, raw)
            low, high = self.value_range(path, raw, kind)
            self.add_variable(
                VariableSpec(
                    name,
                    kind,
                    raw.get("unit", ""),
                    low,
                    high,
                    0.0,
                    _optional_text(raw.get("label")),
                    raw.get("hidden", False),
                    derived=True,
                )
            )
        compiled = {
            name: self.expr(
                ("derived", name, "expr"),
                self.enum_literal(raw["expr"], self.symbols[name]),
                expect=self.symbols[name],
            )
            for name, raw in raw_all.items()
        }
        order = self.derived_order(compiled)
        result = []
        for name in order:
            expr = compiled[name]
            self.bounds[name] = self.derived_bounds(name, expr)
            result.append(Assignment(name, self.column[name], expr))
        return tuple(result)

    def derived_bounds(self, name: str, expr: CompiledExpression) -> Possible:
        found = possible_values(expr.tree, self.bounds)
        if isinstance(found, tuple):
            spec = self.variables[self.column[name]]
            return (max(found[0], spec.low), min(found[1], spec.high))
        return found

    def derived_order(self, compiled: dict[str, CompiledExpression]) -> list[str]:
        """Topological order of derived variables; a cycle is an endless evaluation."""
        order: list[str] = []
        state: dict[str, str] = {}

        def visit(name: str, chain: list[str]) -> None:
            if state.get(name) == "done":
                return
            if state.get(name) == "open":
                cycle = chain[chain.index(name) :] + [name]
                raise self.error(
                    ("derived", name, "expr"),
                    "derived variables depend on each other in a cycle: " + " -> ".join(cycle),
                )
            state[name] = "open"
            for dep in sorted(compiled[name].names & set(compiled)):
                visit(dep, chain + [name])
            state[name] = "done"
            order.append(name)

        for name in compiled:
            visit(name, [])
        return order

    @staticmethod
    def enum_literal(raw: Any, kind: ValueType) -> Any:
        """Let effects write an enum value bare (``QF1: open``) instead of ``"'open'"``."""
        if kind.kind == "enum" and isinstance(raw, str) and raw in kind.values:
            return repr(raw)
        return raw

    def compile_dynamics(self) -> tuple[Assignment, ...]:
        result = []
        for name, rhs in self.data.get("dynamics", {}).items():
            path: FieldPath = ("dynamics", name)
            if name not in self.column:
                raise self.error(path, self.unknown("variable", name, self.column))
            spec = self.variables[self.column[name]]
            if spec.derived:
                raise self.error(path, f"{name!r} is derived; only state variables have dynamics")
            if spec.type != REAL:
                raise self.error(path, f"{name!r} is {spec.type}; dynamics need a real variable")
            result.append(Assignment(name, self.column[name], self.expr(path, rhs, expect=REAL)))
        return tuple(result)

    # -------------------------------------------------------------- actions

    def unknown(self, what: str, name: str, known: Mapping[str, Any] | list[str]) -> str:
        import difflib

        hint = difflib.get_close_matches(name, list(known), n=1)
        return f"unknown {what} {name!r}" + (f"; did you mean {hint[0]!r}?" if hint else "")

    def compile_effects(
        self, path: FieldPath, raw: dict[str, Any], extra: Mapping[str, ValueType]
    ) -> tuple[Assignment, ...]:
        effects = []
        for target, value in raw.items():
            where = path + (target,)
            if target not in self.column:
                raise self.error(where, self.unknown("variable", target, self.column))
            spec = self.variables[self.column[target]]
            if spec.derived:
                raise self.error(where, f"{target!r} is derived and cannot be assigned")
            expr = self.expr(
                where, self.enum_literal(value, spec.type), expect=spec.type, extra=extra
            )
            effects.append(Assignment(target, self.column[target], expr))
        return tuple(effects)

    def compile_args(
        self, path: FieldPath, raw: dict[str, Any]
    ) -> tuple[tuple[ArgumentSpec, ...], dict[str, ValueType], dict[str, Possible]]:
        specs, types, bounds = [], {}, {}
        for name, arg in raw.items():
            where = path + (name,)
            if name in self.symbols or name in _RESERVED:
                raise self.error(
                    where, f"argument {name!r} clashes with a variable or reserved name"
                )
            kind = self.declare(where, name, arg)
            low, high = self.value_range(where, arg, kind)
            specs.append(ArgumentSpec(name, kind, low, high))
            types[name] = kind
            bounds[name] = (
                (low, high)
                if kind.is_numeric
                else (
                    ANY_BOOL
                    if kind == BOOL
                    else frozenset(float(i) for i in range(len(kind.values)))
                )
            )
        return tuple(specs), types, bounds

    def compile_actions(self) -> dict[str, ActionSpec]:
        self.action_args: dict[str, tuple[dict[str, ValueType], dict[str, Possible]]] = {}
        actions = {}
        for name, raw in self.data["actions"].items():
            path: FieldPath = ("actions", name)
            if name in BUILTIN_ACTIONS:
                raise self.error(path, f"{name!r} is a built-in action and cannot be redefined")
            args, types, bounds = self.compile_args(path + ("args",), raw.get("args", {}))
            self.action_args[name] = (types, bounds)
            requires = None
            if "requires" in raw:
                requires = self.condition(path + ("requires",), raw["requires"], types, bounds)
            effects = self.compile_effects(path + ("effects",), raw.get("effects", {}), types)
            actions[name] = ActionSpec(name, _text(raw["label"]), args, requires, effects)
        return actions

    def builtin_actions(self, alarms: tuple[AlarmSpec, ...]) -> dict[str, ActionSpec]:
        builtin = {FINISH: ActionSpec(FINISH, Text("交卷", "Finish"), builtin=True)}
        self.action_args[FINISH] = ({}, {})
        if alarms:
            ids = enum_type([a.id for a in alarms])
            arg = ArgumentSpec("alarm", ids)
            builtin[ACKNOWLEDGE] = ActionSpec(
                ACKNOWLEDGE, Text("确认报警", "Acknowledge alarm"), (arg,), builtin=True
            )
            self.action_args[ACKNOWLEDGE] = (
                {"alarm": ids},
                {"alarm": frozenset(float(i) for i in range(len(alarms)))},
            )
        return builtin

    def compile_controls(self, actions: dict[str, ActionSpec]) -> tuple[ControlSpec, ...]:
        controls, seen = [], set()
        for i, raw in enumerate(self.data["controls"]):
            path: FieldPath = ("controls", i)
            if raw["id"] in seen:
                raise self.error(path + ("id",), f"control id {raw['id']!r} used twice")
            seen.add(raw["id"])
            for j, name in enumerate(raw["actions"]):
                if name not in actions:
                    raise self.error(path + ("actions", j), self.unknown("action", name, actions))
            for j, name in enumerate(raw.get("shows", [])):
                if name not in self.column:
                    raise self.error(
                        path + ("shows", j), self.unknown("variable", name, self.column)
                    )
            if raw["kind"] in _NUMERIC_CONTROLS:
                for j, name in enumerate(raw["actions"]):
                    if not any(a.type.is_numeric for a in actions[name].args):
                        raise self.error(
                            path + ("actions", j),
                            f"a {raw['kind']} control needs an action with a numeric argument; {name!r} has none",
                        )
            controls.append(
                ControlSpec(
                    raw["id"],
                    raw["kind"],
                    _text(raw["label"]),
                    tuple(raw["actions"]),
                    tuple(raw.get("shows", [])),
                    raw.get("group", ""),
                )
            )
        return tuple(controls)

    def check_reachable(
        self, actions: dict[str, ActionSpec], controls: tuple[ControlSpec, ...]
    ) -> None:
        reachable = {name for control in controls for name in control.actions}
        for name, spec in actions.items():
            if not spec.builtin and name not in reachable:
                raise self.error(
                    ("actions", name), f"action {name!r} cannot be triggered: no control lists it"
                )

    # -------------------------------------------------------- events, alarms

    def compile_events(self) -> tuple[EventSpec, ...]:
        events, seen = [], set()
        for i, raw in enumerate(self.data.get("events", [])):
            path: FieldPath = ("events", i)
            if raw["id"] in seen:
                raise self.error(path + ("id",), f"event id {raw['id']!r} used twice")
            seen.add(raw["id"])
            if ("at" in raw) == ("when" in raw):
                raise self.error(
                    path, "an event needs exactly one of 'at' (a time) or 'when' (a condition)"
                )
            at: float | RandomValue | None = None
            when = None
            if "at" in raw:
                at = self.event_time(path + ("at",), raw["at"])
            else:
                when = self.condition(path + ("when",), raw["when"])
            effects = self.compile_effects(path + ("effects",), raw.get("effects", {}), {})
            events.append(EventSpec(raw["id"], _optional_text(raw.get("label")), at, when, effects))
        return tuple(events)

    def event_time(self, path: FieldPath, raw: Any) -> float | RandomValue:
        if isinstance(raw, dict):
            lo, hi = (float(v) for v in raw["between"])
            if not 0 <= lo <= hi:
                raise self.error(path, f"time window [{lo:g}, {hi:g}] is invalid")
            value: float | RandomValue = RandomValue(lo, hi, raw.get("step"))
        else:
            value = hi = float(raw)
        if hi > self.time_limit:
            raise self.error(
                path, f"event time {hi:g} s is after the time limit {self.time_limit:g} s"
            )
        return value

    def compile_alarms(self) -> tuple[AlarmSpec, ...]:
        alarms, seen = [], set()
        for i, raw in enumerate(self.data.get("alarms", [])):
            path: FieldPath = ("alarms", i)
            if raw["id"] in seen:
                raise self.error(path + ("id",), f"alarm id {raw['id']!r} used twice")
            seen.add(raw["id"])
            when = self.condition(path + ("when",), raw["when"])
            alarms.append(
                AlarmSpec(raw["id"], when, raw.get("priority", "high"), _text(raw["text"]))
            )
        return tuple(alarms)

    # ---------------------------------------------------------------- rubric

    def compile_rubric(
        self,
        actions: dict[str, ActionSpec],
        events: tuple[EventSpec, ...],
        alarms: tuple[AlarmSpec, ...],
    ) -> Rubric:
        raw = self.data["rubric"]
        self.rubric_names = (actions, {e.id for e in events}, {a.id for a in alarms})
        seen: set[str] = set()
        groups = []
        for key, kind in (("lines", "score"), ("deductions", "deduction"), ("vetoes", "veto")):
            lines = []
            for i, line in enumerate(raw.get(key, [])):
                path: FieldPath = ("rubric", key, i)
                if line["id"] in seen:
                    raise self.error(path + ("id",), f"rubric line id {line['id']!r} used twice")
                seen.add(line["id"])
                check = self.check(path + ("check",), line["check"])
                points = float(line.get("points", line.get("deduct", 0.0)))
                lines.append(
                    RubricLine(
                        line["id"], _text(line["text"]), kind, points, check, line.get("max")
                    )
                )
            groups.append(tuple(lines))
        return Rubric(groups[0], groups[1], groups[2], float(raw.get("pass_mark", 60.0)))

    def check(self, path: FieldPath, raw: dict[str, Any]) -> Check:
        for key in (
            "did",
            "never",
            "order",
            "respond",
            "hold",
            "duration",
            "ever",
            "always",
            "final",
            "event",
            "alarm",
            "rejected",
            "overtime",
            "timed_out",
            "all",
            "any",
            "not",
        ):
            if key in raw:
                check: Check = getattr(self, "check_" + key)(path, raw)
                return check
        raise self.error(path, "unknown check")

    def action_ref(self, path: FieldPath, name: str, *, allow_any: bool = False) -> str:
        actions = self.rubric_names[0]
        if name not in actions and not (allow_any and name == "any"):
            raise self.error(path, self.unknown("action", name, actions))
        return name

    def did(self, path: FieldPath, raw: dict[str, Any], key: str) -> DidCheck:
        name = self.action_ref(path + (key,), raw[key])
        where = None
        if "where" in raw:
            types, bounds = self.action_args[name]
            where = self.condition(path + ("where",), raw["where"], types, bounds)
        by = raw.get("by")
        if by is not None and by < 0:
            raise self.error(
                path + ("by",), f"deadline {by} s is before the start: the line can never be met"
            )
        return DidCheck(name, where, None if by is None else float(by))

    def check_did(self, path: FieldPath, raw: dict[str, Any]) -> Check:
        return self.did(path, raw, "did")

    def check_never(self, path: FieldPath, raw: dict[str, Any]) -> Check:
        return NeverCheck(self.did(path, raw, "never"))

    def check_order(self, path: FieldPath, raw: dict[str, Any]) -> Check:
        names = raw["order"]
        for i, name in enumerate(names):
            self.action_ref(path + ("order", i), name)
            if name in names[:i]:
                raise self.error(
                    path + ("order", i), f"{name!r} appears twice; the order can never be satisfied"
                )
        return OrderCheck(tuple(names))

    def check_respond(self, path: FieldPath, raw: dict[str, Any]) -> Check:
        response = self.did(path, raw, "respond")
        ((kind, ident),) = raw["after"].items()
        actions, events, alarms = self.rubric_names
        known = {"action": actions, "event": events, "alarm": alarms}[kind]
        if ident not in known:
            raise self.error(path + ("after", kind), self.unknown(kind, ident, list(known)))
        if raw["within"] <= 0:
            raise self.error(
                path + ("within",), "'within' must be more than 0 s; the line can never be met"
            )
        return RespondCheck(response, kind, ident, float(raw["within"]))

    def window(self, path: FieldPath, raw: dict[str, Any]) -> tuple[float, float | None]:
        start, end = float(raw.get("from", 0.0)), raw.get("to")
        if start < 0 or start > self.time_limit:
            raise self.error(
                path + ("from",),
                f"window start {start:g} s lies outside the run (0..{self.time_limit:g} s)",
            )
        if end is not None and end <= start:
            raise self.error(path + ("to",), f"window [{start:g}, {end:g}] s is empty")
        return start, None if end is None else float(end)

    def check_hold(self, path: FieldPath, raw: dict[str, Any]) -> Check:
        share = float(raw["share"])
        if not 0 < share <= 1:
            raise self.error(
                path + ("share",), f"share {share:g} must lie in (0, 1]; the line can never be met"
            )
        start, end = self.window(path, raw)
        return HoldCheck(self.condition(path + ("hold",), raw["hold"]), share, start, end)

    def check_duration(self, path: FieldPath, raw: dict[str, Any]) -> Check:
        seconds = float(raw["seconds"])
        if not 0 <= seconds <= self.time_limit:
            raise self.error(
                path + ("seconds",),
                f"{seconds:g} s does not fit in the time limit of {self.time_limit:g} s",
            )
        return DurationCheck(self.condition(path + ("duration",), raw["duration"]), seconds)

    def check_ever(self, path: FieldPath, raw: dict[str, Any]) -> Check:
        return EverCheck(self.condition(path + ("ever",), raw["ever"]))

    def check_always(self, path: FieldPath, raw: dict[str, Any]) -> Check:
        return AlwaysCheck(self.condition(path + ("always",), raw["always"]))

    def check_final(self, path: FieldPath, raw: dict[str, Any]) -> Check:
        return FinalCheck(self.condition(path + ("final",), raw["final"]))

    def check_event(self, path: FieldPath, raw: dict[str, Any]) -> Check:
        if raw["event"] not in self.rubric_names[1]:
            raise self.error(
                path + ("event",), self.unknown("event", raw["event"], list(self.rubric_names[1]))
            )
        return OccurredCheck("event", raw["event"])

    def check_alarm(self, path: FieldPath, raw: dict[str, Any]) -> Check:
        if raw["alarm"] not in self.rubric_names[2]:
            raise self.error(
                path + ("alarm",), self.unknown("alarm", raw["alarm"], list(self.rubric_names[2]))
            )
        return OccurredCheck("alarm_raised", raw["alarm"])

    def check_rejected(self, path: FieldPath, raw: dict[str, Any]) -> Check:
        return RejectedCheck(self.action_ref(path + ("rejected",), raw["rejected"], allow_any=True))

    def check_overtime(self, path: FieldPath, raw: dict[str, Any]) -> Check:
        seconds, per = float(raw["overtime"]), float(raw.get("per", 60.0))
        if not 0 <= seconds < self.time_limit:
            raise self.error(
                path + ("overtime",),
                f"{seconds:g} s must lie before the time limit of {self.time_limit:g} s; the line can never be met",
            )
        if per <= 0:
            raise self.error(path + ("per",), "'per' must be more than 0 s")
        return OvertimeCheck(seconds, per)

    def check_timed_out(self, path: FieldPath, raw: dict[str, Any]) -> Check:
        return TimedOutCheck()

    def check_all(self, path: FieldPath, raw: dict[str, Any]) -> Check:
        return AllCheck(tuple(self.check(path + ("all", i), c) for i, c in enumerate(raw["all"])))

    def check_any(self, path: FieldPath, raw: dict[str, Any]) -> Check:
        return AnyCheck(tuple(self.check(path + ("any", i), c) for i, c in enumerate(raw["any"])))

    def check_not(self, path: FieldPath, raw: dict[str, Any]) -> Check:
        return NotCheck(self.check(path + ("not",), raw["not"]))

    # ------------------------------------------------------------------ cost

    def check_cost(self, program: Program) -> None:
        def size(expr: CompiledExpression) -> int:
            return _count(expr.tree)

        stages = 4 * program.substeps
        derived = sum(size(a.expr) for a in program.derived)
        ode = sum(size(a.expr) for a in program.ode)
        per_tick = (derived + ode) * (stages + 1) + sum(size(a.when) for a in program.alarms)
        per_tick += sum(size(e.when) for e in program.events if e.when is not None)
        if per_tick > MAX_TICK_COST:
            raise self.error(
                ("dynamics",),
                f"about {per_tick} evaluation steps per tick exceed the limit of {MAX_TICK_COST}; "
                "reduce substeps or simplify",
            )
        if program.n_ticks > MAX_TICKS:
            raise self.error(
                ("clock", "tick") if "clock" in self.data else ("time_limit",),
                f"{program.n_ticks} ticks (time limit / tick) exceed the limit of {MAX_TICKS}; use a longer tick",
            )
        if per_tick * program.n_ticks > MAX_RUN_COST:
            raise self.error(
                ("dynamics",),
                f"a full run needs about {per_tick * program.n_ticks:.2g} evaluation steps, "
                f"over the limit of {MAX_RUN_COST:.0e}",
            )


def _count(tree: Node) -> int:
    from simulations.expressions import children

    return 1 + sum(_count(child) for child in children(tree))
