"""Anomaly rules over a sitting's event stream, each shown with its evidence.

Rules are small strategies behind one protocol (``AnomalyRule``): they take the
sitting's events and its answer timings and return the anomalies they see. They flag
for a person to look at; they never penalize.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from engine.proctoring.events import EventKind, ProctorEvent


@dataclass(frozen=True)
class AnswerTiming:
    """When a position was answered and how long the candidate spent before answering."""

    position: int
    at: datetime
    seconds: float


@dataclass(frozen=True)
class Anomaly:
    code: str
    severity: str  # low / medium / high
    evidence: dict[str, Any] = field(default_factory=dict)


class AnomalyRule(Protocol):
    code: str

    def evaluate(self, events: Sequence[ProctorEvent], answers: Sequence[AnswerTiming]) -> list[Anomaly]: ...


@dataclass(frozen=True)
class RapidAnswering:
    """Many answers given far faster than an item can be read."""

    min_seconds: float = 3.0
    min_count: int = 5
    code: str = "rapid_answering"

    def evaluate(self, events: Sequence[ProctorEvent], answers: Sequence[AnswerTiming]) -> list[Anomaly]:
        fast = [a.position for a in answers if a.seconds < self.min_seconds]
        if len(fast) < self.min_count:
            return []
        return [Anomaly(self.code, "medium", {"positions": fast, "under_seconds": self.min_seconds})]


@dataclass(frozen=True)
class Disconnections:
    """Repeated drops of the connection, or one long gap.

    Moving from one question's page to the next closes one socket and opens another a
    moment later; gaps shorter than ``min_gap_seconds`` are that, not a disconnection.
    """

    max_count: int = 3
    long_gap_seconds: float = 60.0
    min_gap_seconds: float = 5.0
    code: str = "disconnections"

    def evaluate(self, events: Sequence[ProctorEvent], answers: Sequence[AnswerTiming]) -> list[Anomaly]:
        gaps = [gap for gap in connection_gaps(events) if gap[1] >= self.min_gap_seconds]
        longest = max((seconds for _start, seconds in gaps), default=0.0)
        if len(gaps) < self.max_count and longest < self.long_gap_seconds:
            return []
        severity = "high" if longest >= self.long_gap_seconds else "medium"
        return [Anomaly(self.code, severity, {"count": len(gaps), "longest_seconds": round(longest, 1)})]


@dataclass(frozen=True)
class FocusLoss:
    """The exam page was left (hidden or blurred) often."""

    max_count: int = 5
    code: str = "focus_loss"

    def evaluate(self, events: Sequence[ProctorEvent], answers: Sequence[AnswerTiming]) -> list[Anomaly]:
        count = sum(1 for e in events if e.kind in (EventKind.page_hidden, EventKind.window_blurred))
        if count < self.max_count:
            return []
        return [Anomaly(self.code, "medium" if count < 3 * self.max_count else "high", {"count": count})]


@dataclass(frozen=True)
class SecondConnection:
    """The same sitting open in a second tab or on a second device, or from a changed address."""

    code: str = "second_connection"

    def evaluate(self, events: Sequence[ProctorEvent], answers: Sequence[AnswerTiming]) -> list[Anomaly]:
        seconds = [e for e in events if e.kind in (EventKind.second_connection_opened, EventKind.second_tab_opened)]
        addresses = sorted({str(e.data.get("ip")) for e in events
                            if e.kind == EventKind.connected and e.data.get("ip")})
        if not seconds and len(addresses) < 2:
            return []
        return [Anomaly(self.code, "high", {"count": len(seconds), "addresses": addresses})]


DEFAULT_RULES: tuple[AnomalyRule, ...] = (RapidAnswering(), Disconnections(), FocusLoss(), SecondConnection())


def connection_gaps(events: Sequence[ProctorEvent]) -> list[tuple[datetime, float]]:
    """(start, seconds) of every time the sitting had no connection after its first one.

    Connections overlap (a second tab, a reconnect before the old socket closed), so the
    fold counts open connections and a gap runs from the last close to the next open.
    """
    gaps: list[tuple[datetime, float]] = []
    open_count, gap_start = 0, None
    for event in sorted(events, key=lambda e: e.at):
        if event.kind == EventKind.connected:
            if open_count == 0 and gap_start is not None:
                gaps.append((gap_start, (event.at - gap_start).total_seconds()))
            open_count, gap_start = open_count + 1, None
        elif event.kind == EventKind.disconnected and open_count > 0:
            open_count -= 1
            if open_count == 0:
                gap_start = event.at
    return gaps


def answer_timings(answered: Sequence[tuple[int, datetime]], started_at: datetime) -> list[AnswerTiming]:
    """Time spent per answer: from the previous answer (or the start) to this one."""
    timings, previous = [], started_at
    for position, at in sorted(answered, key=lambda pair: pair[1]):
        timings.append(AnswerTiming(position, at, max(0.0, (at - previous).total_seconds())))
        previous = at
    return timings


def evaluate(events: Sequence[ProctorEvent], answers: Sequence[AnswerTiming],
             rules: Sequence[AnomalyRule] = DEFAULT_RULES) -> list[Anomaly]:
    return [anomaly for rule in rules for anomaly in rule.evaluate(events, answers)]
