"""Result rules as data: which parts a level requires, their pass marks, and the verdict.

A candidate passes a level when every part the level's rule requires has a score, no
veto item (否决项) was triggered in it, and the score reaches that part's pass mark.
Parts the rule does not require are ignored. The defaults follow common practice
(domain.md): theory and practical at 60 for every level; levels 2 and 1 (and the
enterprise posts above them) add a comprehensive review (综合评审) at 60; a special
skill unit (专项职业能力) is assessed by its practical alone. Pure: no database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from engine.errors import N_, InvalidInputError
from itembank.levels import Level


class Part(StrEnum):
    theory = "theory"  # 理论知识考试
    practical = "practical"  # 操作技能考核
    review = "review"  # 综合评审


@dataclass(frozen=True)
class PartScore:
    """One part's score on 0–100; ``veto`` marks a triggered veto item (the part fails)."""

    part: Part
    score: float
    veto: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.score <= 100:
            raise InvalidInputError(N_("%(part)s score must be between 0 and 100, got %(score)s"), "score",
                                    part=self.part.value, score=self.score)


@dataclass(frozen=True)
class ResultRule:
    """The pass marks of the parts one level requires (a part absent here is not required)."""

    level: Level
    pass_marks: Mapping[Part, float]

    @property
    def required(self) -> tuple[Part, ...]:
        return tuple(part for part in Part if part in self.pass_marks)


@dataclass(frozen=True)
class Shortfall:
    """Why a part did not pass: ``code`` is missing, veto or below; ``message`` is translatable."""

    part: Part
    code: str
    message: str
    params: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    passed: bool
    shortfalls: tuple[Shortfall, ...]


def _rule(level: Level, *parts: Part, mark: float = 60.0) -> ResultRule:
    return ResultRule(level, {part: mark for part in parts})


_BASIC = (Part.theory, Part.practical)
_WITH_REVIEW = (Part.theory, Part.practical, Part.review)

DEFAULT_RULES: dict[Level, ResultRule] = {
    Level.apprentice: _rule(Level.apprentice, *_BASIC),
    Level.level5: _rule(Level.level5, *_BASIC),
    Level.level4: _rule(Level.level4, *_BASIC),
    Level.level3: _rule(Level.level3, *_BASIC),
    Level.level2: _rule(Level.level2, *_WITH_REVIEW),
    Level.level1: _rule(Level.level1, *_WITH_REVIEW),
    Level.principal: _rule(Level.principal, *_WITH_REVIEW),
    Level.chief: _rule(Level.chief, *_WITH_REVIEW),
    Level.special: _rule(Level.special, Part.practical),
}


def rules_from_data(data: Mapping[str, Mapping[str, float]]) -> dict[Level, ResultRule]:
    """Rules from plain data such as ``{"level2": {"theory": 60, "practical": 60, "review": 60}}``;
    levels not named keep their defaults."""
    rules = dict(DEFAULT_RULES)
    for level_name, marks in data.items():
        try:
            level = Level(level_name)
            parsed = {Part(part): float(mark) for part, mark in marks.items()}
        except ValueError as exc:
            raise InvalidInputError(N_("result rule for %(level)s is malformed: %(problem)s"), "rules",
                                    level=level_name, problem=str(exc)) from None
        if not parsed or any(not 0 < mark <= 100 for mark in parsed.values()):
            raise InvalidInputError(N_("result rule for %(level)s needs parts with pass marks in (0, 100]"),
                                    "rules", level=level_name)
        rules[level] = ResultRule(level, parsed)
    return rules


def decide(rule: ResultRule, scores: Mapping[Part, PartScore]) -> Outcome:
    """The overall outcome from part scores: every shortfall is named, not only the first."""
    shortfalls = []
    for part in rule.required:
        mark = rule.pass_marks[part]
        given = scores.get(part)
        if given is None:
            shortfalls.append(Shortfall(part, "missing", N_("no %(part)s score is recorded"), {"part": part.value}))
        elif given.veto:
            shortfalls.append(Shortfall(part, "veto", N_("a veto item was triggered in the %(part)s part"),
                                        {"part": part.value}))
        elif given.score < mark:
            shortfalls.append(Shortfall(part, "below", N_("%(part)s score %(score)s is below the pass mark %(mark)s"),
                                        {"part": part.value, "score": given.score, "mark": mark}))
    return Outcome(passed=not shortfalls, shortfalls=tuple(shortfalls))
