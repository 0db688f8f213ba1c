"""Deadline arithmetic for a proctored sitting; the server owns time (invariant 2).

A pause freezes the time left: the deadline stays where it was while paused and moves
by the length of the pause on resume. Extensions and accommodations add to it.
"""

from __future__ import annotations

from datetime import datetime, timedelta


def initial_deadline(started_at: datetime, duration_minutes: int, accommodation_minutes: int = 0) -> datetime:
    """Start time plus the exam's duration plus the candidate's recorded extra time."""
    return started_at + timedelta(minutes=duration_minutes + max(0, accommodation_minutes))


def deadline_after_pause(deadline: datetime, paused_at: datetime, resumed_at: datetime) -> datetime:
    """The deadline moves by exactly the time the sitting stood paused (never backwards)."""
    return deadline + max(timedelta(), resumed_at - paused_at)


def extended(deadline: datetime, minutes: int) -> datetime:
    return deadline + timedelta(minutes=minutes)


def seconds_left(deadline: datetime | None, now: datetime, paused_at: datetime | None = None) -> int:
    """Whole seconds left; while paused the clock stands at the moment of the pause."""
    if deadline is None:
        return 0
    reference = paused_at if paused_at is not None else now
    return max(0, int((deadline - reference).total_seconds()))


def effective_deadline(deadline: datetime, now: datetime, paused_at: datetime | None) -> datetime:
    """The deadline a browser should count to if the sitting were resumed now."""
    if paused_at is None:
        return deadline
    return deadline_after_pause(deadline, paused_at, now)
