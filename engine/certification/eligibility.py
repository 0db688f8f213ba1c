"""Eligibility to register for a level (报名条件), as data: alternatives, any one suffices.

Each level has a tuple of conditions; an applicant is eligible when one of them holds.
A condition may ask for a prior certificate of at least some level, a number of years
in the occupation, a technical-school diploma or a completed apprenticeship. The
defaults are the typical rules of domain.md (level 4: level 5 + 4 years, or 6 years, or
technical-school graduate; …); an occupation can override them with its own data
(``conditions_from_data``), because newer standards relax them. Pure: no database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from engine.errors import N_, InvalidInputError
from itembank.levels import LADDER, Level


@dataclass(frozen=True)
class Condition:
    prior_level: Level | None = None  # a certificate of this level or higher
    years: float = 0.0  # years in the occupation
    school_graduate: bool = False
    apprenticeship: bool = False

    def as_data(self) -> dict[str, object]:
        data: dict[str, object] = {"years": self.years}
        if self.prior_level:
            data["prior_level"] = self.prior_level.value
        if self.school_graduate:
            data["school_graduate"] = True
        if self.apprenticeship:
            data["apprenticeship"] = True
        return data

    def describe(self) -> str:
        """Plain English, for the reason shown when nobody's condition holds."""
        parts = []
        if self.prior_level:
            parts.append(f"a {self.prior_level.value} certificate")
        if self.years:
            parts.append(f"{self.years:g} years in the occupation")
        if self.school_graduate:
            parts.append("a technical-school diploma")
        if self.apprenticeship:
            parts.append("a completed apprenticeship")
        return " and ".join(parts) or "no condition"


@dataclass(frozen=True)
class Applicant:
    years_in_occupation: float = 0.0
    prior_level: Level | None = None
    school_graduate: bool = False
    apprenticeship: bool = False


@dataclass(frozen=True)
class Verdict:
    eligible: bool
    met: Condition | None
    message: str  # translatable template when not eligible, "" otherwise
    params: dict[str, object]


DEFAULT_CONDITIONS: dict[Level, tuple[Condition, ...]] = {
    Level.level5: (Condition(years=1), Condition(apprenticeship=True)),
    Level.level4: (Condition(prior_level=Level.level5, years=4), Condition(years=6),
                   Condition(school_graduate=True)),
    Level.level3: (Condition(prior_level=Level.level4, years=5),),
    Level.level2: (Condition(prior_level=Level.level3, years=4),),
    Level.level1: (Condition(prior_level=Level.level2, years=4),),
}


def at_least(held: Level | None, required: Level) -> bool:
    """Whether a certificate of ``held`` counts as ``required`` or higher on the ladder."""
    return held is not None and held in LADDER and LADDER.index(held) >= LADDER.index(required)


def holds(condition: Condition, applicant: Applicant) -> bool:
    return ((condition.prior_level is None or at_least(applicant.prior_level, condition.prior_level))
            and applicant.years_in_occupation >= condition.years
            and (not condition.school_graduate or applicant.school_graduate)
            and (not condition.apprenticeship or applicant.apprenticeship))


def check(level: Level, applicant: Applicant, conditions: Sequence[Condition] | None = None) -> Verdict:
    """Eligible when any condition for ``level`` holds; levels without conditions admit everyone."""
    options = DEFAULT_CONDITIONS.get(level, ()) if conditions is None else tuple(conditions)
    if not options:
        return Verdict(True, None, "", {})
    for condition in options:
        if holds(condition, applicant):
            return Verdict(True, condition, "", {})
    return Verdict(False, None, N_("not eligible for %(level)s: needs %(needs)s"),
                   {"level": level.value, "needs": "; or ".join(c.describe() for c in options)})


def conditions_from_data(data: Sequence[Mapping[str, object]]) -> tuple[Condition, ...]:
    """Conditions from stored data: ``[{"prior_level": "level5", "years": 4}, {"years": 6}]``."""
    conditions = []
    for entry in data:
        unknown = set(entry) - {"prior_level", "years", "school_graduate", "apprenticeship"}
        try:
            if unknown:
                raise ValueError(f"unknown keys {sorted(unknown)}")
            prior = entry.get("prior_level")
            years = float(entry.get("years", 0) or 0)  # type: ignore[arg-type]
            if years < 0:
                raise ValueError("years must not be negative")
            conditions.append(Condition(prior_level=Level(prior) if prior else None, years=years,
                                        school_graduate=bool(entry.get("school_graduate", False)),
                                        apprenticeship=bool(entry.get("apprenticeship", False))))
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(N_("eligibility condition is malformed: %(problem)s"), "conditions",
                                    problem=str(exc)) from None
    return tuple(conditions)
