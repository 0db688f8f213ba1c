"""Rubric evaluation over a recorded trace, producing the score sheet (评分记录表).

A rubric has three kinds of lines, each with one *check* over the trace:

* scoring lines award their points when the check holds;
* deduction lines subtract ``deduct`` points per occurrence (capped by ``max``);
* veto lines (否决项) fail the practical when their check holds: the total becomes 0.

``total = 100 * max(0, awarded - deducted) / sum(points of scoring lines)``.

Each check returns a :class:`Finding`: whether it holds, how many occurrences it saw
(what a deduction multiplies; see each check) and the evidence — which actions at which
times, which values — that goes on the score sheet.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from simulations.expressions import CompiledExpression
from simulations.runtime.program import ACKNOWLEDGE, Text
from simulations.runtime.trace import ENDED_BY_TIME_LIMIT, ActionRecord, Trace

if TYPE_CHECKING:
    from simulations.runtime.program import Program

MAX_EVIDENCE_ITEMS = 5


@dataclass(frozen=True)
class Finding:
    holds: bool
    occurrences: int
    evidence: dict[str, Any] = field(default_factory=dict)


class ScoringContext:
    """A trace plus lazily built column views used by the checks."""

    def __init__(self, program: Program, trace: Trace) -> None:
        self.program = program
        self.trace = trace
        self._sample_env: dict[str, Any] | None = None
        self._cache: dict[str, np.ndarray] = {}

    def over_samples(self, expr: CompiledExpression) -> np.ndarray:
        """``expr`` evaluated at every sample: bool array ``(n_samples,)``."""
        hit = self._cache.get(expr.source)
        if hit is not None:
            return hit
        if self._sample_env is None:
            env: dict[str, Any] = dict(zip(self.trace.names, self.trace.states.T, strict=False))
            env["t"] = self.trace.times
            self._sample_env = env
        result = _as_mask(expr.evaluate(self._sample_env), self.trace.times.shape[0])
        self._cache[expr.source] = result
        return result

    def over_actions(self, expr: CompiledExpression, records: Sequence[ActionRecord]) -> np.ndarray:
        """``expr`` evaluated on each record's pre-action state and arguments."""
        states = np.array([r.pre_state for r in records])
        env: dict[str, Any] = dict(zip(self.program.names, states.T, strict=False))
        env["t"] = np.array([r.t for r in records])
        for name in records[0].encoded_args:
            env[name] = np.array([r.encoded_args[name] for r in records])
        return _as_mask(expr.evaluate(env), len(records))

    def values_at(self, names: frozenset[str], row: np.ndarray) -> dict[str, Any]:
        variables = self.program.variables
        return {
            n: variables[self.program.column[n]].decode(row[self.program.column[n]])
            for n in sorted(names)
            if n in self.program.column
        }

    def sample_values(self, names: frozenset[str], index: int) -> dict[str, Any]:
        """Readable values of ``names`` at sample ``index`` (the trace may hold a subset)."""
        variables, column = self.program.variables, self.program.column
        row = self.trace.states[index]
        return {
            n: variables[column[n]].decode(row[j])
            for j, n in enumerate(self.trace.names)
            if n in names
        }


def _as_mask(value: Any, n: int) -> np.ndarray:
    if np.ndim(value) == 0:
        return np.full(n, bool(value))
    return np.asarray(value, dtype=bool)


class Check(Protocol):
    def evaluate(self, ctx: ScoringContext) -> Finding: ...


def _brief(records: Sequence[ActionRecord]) -> list[dict[str, Any]]:
    return [
        {"t": r.t, "action": r.action, **({"args": r.args} if r.args else {})}
        for r in records[:MAX_EVIDENCE_ITEMS]
    ]


def _rising_edges(mask: np.ndarray) -> np.ndarray:
    if mask.size == 0:
        return np.zeros(0, dtype=int)
    previous = np.concatenate(([False], mask[:-1]))
    return np.flatnonzero(mask & ~previous)


@dataclass(frozen=True)
class DidCheck:
    """Holds if the action was accepted (optionally where a condition held, by a time).

    Occurrences: the number of matching actions.
    """

    action: str
    where: CompiledExpression | None = None
    by: float | None = None

    def matches(self, ctx: ScoringContext) -> list[ActionRecord]:
        records = ctx.trace.accepted(self.action)
        if self.by is not None:
            records = [r for r in records if r.t <= self.by]
        if self.where is not None and records:
            mask = ctx.over_actions(self.where, records)
            records = [r for r, ok in zip(records, mask, strict=False) if ok]
        return records

    def evaluate(self, ctx: ScoringContext) -> Finding:
        records = self.matches(ctx)
        evidence: dict[str, Any] = {"actions": _brief(records), "count": len(records)}
        if records and self.where is not None:
            evidence["values"] = ctx.values_at(self.where.names, records[0].pre_state)
        return Finding(bool(records), len(records), evidence)


@dataclass(frozen=True)
class NeverCheck:
    """Holds if no matching action was accepted. Occurrences: 1 if it holds."""

    did: DidCheck

    def evaluate(self, ctx: ScoringContext) -> Finding:
        found = self.did.evaluate(ctx)
        return Finding(not found.holds, int(not found.holds), found.evidence)


@dataclass(frozen=True)
class OrderCheck:
    """Holds if every action was done and their first occurrences are in this order."""

    actions: tuple[str, ...]

    def evaluate(self, ctx: ScoringContext) -> Finding:
        steps, previous, problem = [], 0, ""
        for name in self.actions:
            records = ctx.trace.accepted(name)
            first = records[0] if records else None
            steps.append({"action": name, "t": first.t if first else None})
            if first is None:
                problem = problem or f"{name} not done"
            elif first.seq < previous:
                problem = problem or f"{name} done before the step preceding it"
            else:
                previous = first.seq
        evidence: dict[str, Any] = {"steps": steps}
        if problem:
            evidence["problem"] = problem
        return Finding(not problem, int(not problem), evidence)


@dataclass(frozen=True)
class RespondCheck:
    """Holds if every trigger was followed by the response within ``within`` seconds.

    Trigger kinds: ``alarm`` (raised), ``event`` (fired), ``action`` (accepted).
    Responding to an alarm with ``acknowledge`` requires acknowledging that alarm.
    Occurrences: the number of triggers *not* answered in time (what a deduction counts).
    """

    response: DidCheck
    trigger_kind: str
    trigger_id: str
    within: float

    def trigger_times(self, ctx: ScoringContext) -> list[tuple[float, int]]:
        trace = ctx.trace
        if self.trigger_kind == "action":
            return [(r.t, r.seq) for r in trace.accepted(self.trigger_id)]
        kind = "alarm_raised" if self.trigger_kind == "alarm" else "event"
        return [(o.t, o.seq) for o in trace.occurrences_of(kind, self.trigger_id)]

    def evaluate(self, ctx: ScoringContext) -> Finding:
        responses = self.response.matches(ctx)
        if self.trigger_kind == "alarm" and self.response.action == ACKNOWLEDGE:
            responses = [r for r in responses if r.args.get("alarm") == self.trigger_id]
        answers, missed = [], 0
        for t0, seq0 in self.trigger_times(ctx):
            reply = next(
                (r for r in responses if r.seq > seq0 and r.t - t0 <= self.within + 1e-9), None
            )
            missed += reply is None
            answers.append({"trigger_t": t0, "response_t": reply.t if reply else None})
        evidence = {
            "trigger": f"{self.trigger_kind} {self.trigger_id}",
            "responses": answers[:MAX_EVIDENCE_ITEMS],
        }
        return Finding(missed == 0, missed, evidence)


@dataclass(frozen=True)
class HoldCheck:
    """Holds if ``condition`` was true in at least ``share`` of the samples in the window."""

    condition: CompiledExpression
    share: float
    start: float = 0.0
    end: float | None = None

    def evaluate(self, ctx: ScoringContext) -> Finding:
        times = ctx.trace.times
        values = ctx.over_samples(self.condition)
        window = times >= self.start - 1e-9
        if self.end is not None:
            window &= times <= self.end + 1e-9
        inside = values[window]
        achieved = float(inside.mean()) if inside.size else 0.0
        evidence: dict[str, Any] = {
            "share": round(achieved, 4),
            "required": self.share,
            "samples": int(inside.size),
        }
        outside = np.flatnonzero(window & ~values)
        if outside.size:
            evidence["first_outside_t"] = float(times[outside[0]])
            evidence["values"] = ctx.sample_values(self.condition.names, int(outside[0]))
        holds = inside.size > 0 and achieved >= self.share - 1e-12
        return Finding(holds, int(holds), evidence)


@dataclass(frozen=True)
class DurationCheck:
    """Holds if ``condition`` stayed true without a break for ``seconds``."""

    condition: CompiledExpression
    seconds: float

    def evaluate(self, ctx: ScoringContext) -> Finding:
        values = ctx.over_samples(self.condition)
        starts = _rising_edges(values)
        ends = np.flatnonzero(values & ~np.concatenate((values[1:], [False])))
        longest = float(np.max(ends - starts)) * ctx.program.tick if starts.size else 0.0
        holds = longest >= self.seconds - 1e-9
        return Finding(holds, int(holds), {"longest_s": longest, "required_s": self.seconds})


@dataclass(frozen=True)
class EverCheck:
    """Holds if ``condition`` was true at some sample. Occurrences: times it became true."""

    condition: CompiledExpression

    def evaluate(self, ctx: ScoringContext) -> Finding:
        values = ctx.over_samples(self.condition)
        edges = _rising_edges(values)
        evidence: dict[str, Any] = {"count": int(edges.size)}
        if edges.size:
            first = int(edges[0])
            evidence["first_t"] = float(ctx.trace.times[first])
            evidence["values"] = ctx.sample_values(self.condition.names, first)
        return Finding(bool(edges.size), int(edges.size), evidence)


@dataclass(frozen=True)
class AlwaysCheck:
    """Holds if ``condition`` was true at every sample."""

    condition: CompiledExpression

    def evaluate(self, ctx: ScoringContext) -> Finding:
        found = EverCheck(_negated(self.condition)).evaluate(ctx)
        return Finding(not found.holds, int(not found.holds), found.evidence)


def _negated(expr: CompiledExpression) -> CompiledExpression:
    inner = expr.evaluate
    return CompiledExpression(
        f"not ({expr.source})",
        expr.type,
        expr.tree,
        expr.names,
        lambda env: np.logical_not(inner(env)),
    )


@dataclass(frozen=True)
class FinalCheck:
    """Holds if ``condition`` was true at the last sample (the end of the run)."""

    condition: CompiledExpression

    def evaluate(self, ctx: ScoringContext) -> Finding:
        values = ctx.over_samples(self.condition)
        holds = bool(values[-1])
        evidence = {
            "t": float(ctx.trace.times[-1]),
            "values": ctx.sample_values(self.condition.names, -1),
        }
        return Finding(holds, int(holds), evidence)


@dataclass(frozen=True)
class OccurredCheck:
    """Holds if an event fired / an alarm was raised. Occurrences: how many times."""

    kind: str  # "event" | "alarm_raised"
    id: str

    def evaluate(self, ctx: ScoringContext) -> Finding:
        times = [o.t for o in ctx.trace.occurrences_of(self.kind, self.id)]
        return Finding(bool(times), len(times), {"times": times[:MAX_EVIDENCE_ITEMS]})


@dataclass(frozen=True)
class RejectedCheck:
    """Holds if the runtime refused the action (``any``: any action). Occurrences: refusals."""

    action: str

    def evaluate(self, ctx: ScoringContext) -> Finding:
        refused = [
            r for r in ctx.trace.actions if not r.accepted and self.action in ("any", r.action)
        ]
        evidence = {
            "actions": [{**a, "reason": r.reason} for a, r in zip(_brief(refused), refused, strict=False)]
        }
        return Finding(bool(refused), len(refused), evidence)


@dataclass(frozen=True)
class TimedOutCheck:
    """Holds if the run reached the time limit without the candidate finishing."""

    def evaluate(self, ctx: ScoringContext) -> Finding:
        holds = ctx.trace.ended_by == ENDED_BY_TIME_LIMIT
        return Finding(holds, int(holds), {"ended_by": ctx.trace.ended_by, "t": ctx.trace.end_time})


@dataclass(frozen=True)
class OvertimeCheck:
    """Holds if the run ended after ``seconds``. Occurrences: started ``per``-second
    periods beyond it (e.g. "over 10 min: minus 1 point per started minute")."""

    seconds: float
    per: float = 60.0

    def evaluate(self, ctx: ScoringContext) -> Finding:
        over = ctx.trace.end_time - self.seconds
        periods = math.ceil(over / self.per - 1e-9) if over > 0 else 0
        return Finding(
            periods > 0,
            periods,
            {"end_t": ctx.trace.end_time, "over_s": max(over, 0.0), "periods": periods},
        )


@dataclass(frozen=True)
class AllCheck:
    checks: tuple[Check, ...]

    def evaluate(self, ctx: ScoringContext) -> Finding:
        found = [c.evaluate(ctx) for c in self.checks]
        holds = all(f.holds for f in found)
        return Finding(holds, int(holds), {"parts": [f.evidence for f in found]})


@dataclass(frozen=True)
class AnyCheck:
    checks: tuple[Check, ...]

    def evaluate(self, ctx: ScoringContext) -> Finding:
        found = [c.evaluate(ctx) for c in self.checks]
        holds = any(f.holds for f in found)
        return Finding(holds, int(holds), {"parts": [f.evidence for f in found]})


@dataclass(frozen=True)
class NotCheck:
    check: Check

    def evaluate(self, ctx: ScoringContext) -> Finding:
        found = self.check.evaluate(ctx)
        return Finding(not found.holds, int(not found.holds), found.evidence)


# ------------------------------------------------------------------ the rubric


@dataclass(frozen=True)
class RubricLine:
    id: str
    text: Text
    kind: str  # "score" | "deduction" | "veto"
    points: float  # points of a scoring line; points per occurrence of a deduction
    check: Check
    cap: float | None = None  # maximum deduction of a deduction line


@dataclass(frozen=True)
class Rubric:
    lines: tuple[RubricLine, ...]
    deductions: tuple[RubricLine, ...] = ()
    vetoes: tuple[RubricLine, ...] = ()
    pass_mark: float = 60.0

    @property
    def max_points(self) -> float:
        return float(sum(line.points for line in self.lines))


@dataclass(frozen=True)
class LineResult:
    """One row of the score sheet."""

    id: str
    kind: str
    text: dict[str, str]
    points: float
    awarded: float
    holds: bool
    evidence: dict[str, Any]


@dataclass(frozen=True)
class ScoreSheet:
    """The score record sheet (评分记录表) of one run."""

    scenario_id: str
    scenario_version: int
    scenario_sha256: str
    seed: int | None
    lines: tuple[LineResult, ...]
    deductions: tuple[LineResult, ...]
    vetoes: tuple[LineResult, ...]
    max_points: float
    points_awarded: float
    points_deducted: float
    total_before_veto: float
    total: float
    vetoed: bool
    passed: bool
    pass_mark: float
    end_time: float
    ended_by: str

    @property
    def triggered_vetoes(self) -> list[str]:
        return [v.id for v in self.vetoes if v.holds]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent, default=_json_default)

    def render_text(self, lang: str = "zh") -> str:
        """A printable score record sheet."""
        zh = lang != "en"
        heads = ("项目", "配分", "得分", "证据") if zh else ("Line", "Points", "Score", "Evidence")
        rows = [f"{self.scenario_id} v{self.scenario_version}", " | ".join(heads)]
        for line in self.lines:
            rows.append(
                f"{line.id} {line.text[lang if lang == 'en' else 'zh']} | {line.points:g} | {line.awarded:g} | "
                f"{_short(line.evidence)}"
            )
        for line in self.deductions:
            if line.awarded:
                rows.append(
                    f"{line.id} {line.text['en' if not zh else 'zh']} | -{line.points:g} | -{line.awarded:g} | "
                    f"{_short(line.evidence)}"
                )
        for line in self.vetoes:
            if line.holds:
                label = "否决" if zh else "VETO"
                rows.append(
                    f"{label} {line.id} {line.text['en' if not zh else 'zh']} | {_short(line.evidence)}"
                )
        verdict = (
            ("合格" if self.passed else "不合格") if zh else ("pass" if self.passed else "fail")
        )
        rows.append(f"{'总分' if zh else 'Total'}: {self.total:g} / 100  ({verdict})")
        return "\n".join(rows)


def _short(evidence: dict[str, Any]) -> str:
    return json.dumps(evidence, ensure_ascii=False, default=_json_default)[:160]


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def score(program: Program, trace: Trace) -> ScoreSheet:
    """Evaluate ``program``'s rubric on ``trace``."""
    with np.errstate(all="ignore"):
        return _score(program, trace)


def _score(program: Program, trace: Trace) -> ScoreSheet:
    ctx = ScoringContext(program, trace)
    rubric = program.rubric
    lines = tuple(_score_line(line, ctx) for line in rubric.lines)
    deductions = tuple(_deduction_line(line, ctx) for line in rubric.deductions)
    vetoes = tuple(_veto_line(line, ctx) for line in rubric.vetoes)
    awarded = sum(r.awarded for r in lines)
    deducted = sum(r.awarded for r in deductions)
    before = round(100.0 * max(0.0, awarded - deducted) / rubric.max_points, 2)
    vetoed = any(v.holds for v in vetoes)
    total = 0.0 if vetoed else before
    return ScoreSheet(
        scenario_id=program.id,
        scenario_version=program.version,
        scenario_sha256=program.source_sha256,
        seed=trace.seed,
        lines=lines,
        deductions=deductions,
        vetoes=vetoes,
        max_points=rubric.max_points,
        points_awarded=float(awarded),
        points_deducted=float(deducted),
        total_before_veto=before,
        total=total,
        vetoed=vetoed,
        passed=not vetoed and total >= rubric.pass_mark,
        pass_mark=rubric.pass_mark,
        end_time=trace.end_time,
        ended_by=trace.ended_by,
    )


def _score_line(line: RubricLine, ctx: ScoringContext) -> LineResult:
    found = line.check.evaluate(ctx)
    awarded = line.points if found.holds else 0.0
    return LineResult(
        line.id, "score", line.text.as_dict(), line.points, awarded, found.holds, found.evidence
    )


def _deduction_line(line: RubricLine, ctx: ScoringContext) -> LineResult:
    found = line.check.evaluate(ctx)
    amount = line.points * found.occurrences
    if line.cap is not None:
        amount = min(amount, line.cap)
    return LineResult(
        line.id,
        "deduction",
        line.text.as_dict(),
        line.points,
        float(amount),
        found.occurrences > 0,
        found.evidence,
    )


def _veto_line(line: RubricLine, ctx: ScoringContext) -> LineResult:
    found = line.check.evaluate(ctx)
    return LineResult(line.id, "veto", line.text.as_dict(), 0.0, 0.0, found.holds, found.evidence)
