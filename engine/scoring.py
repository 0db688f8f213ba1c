"""Scoring rules for theory items and the 0–100 theory score (pure functions)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def is_correct(key: Sequence[str], answer: Sequence[str]) -> bool:
    """All-or-nothing: the chosen options equal the key exactly (order irrelevant)."""
    return bool(answer) and set(answer) == set(key)


def theory_score(earned: float, possible: float) -> float:
    """Percentage score on 0–100, rounded to one decimal (half up) for the record."""
    if possible <= 0:
        raise ValueError("a theory form must be worth more than 0 points")
    return float(int(earned * 1000 / possible + 0.5)) / 10


def tally(lines: Iterable[tuple[Sequence[str], Sequence[str] | None, float]]) -> tuple[float, float]:
    """Sum (earned, possible) over (key, answer or None, points) lines."""
    earned = possible = 0.0
    for key, answer, points in lines:
        possible += points
        if answer is not None and is_correct(key, answer):
            earned += points
    return earned, possible
