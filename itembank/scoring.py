"""Score one response to one item, the way the item's response processing says (pure).

A ``ScoringRule`` is built from an item version's type, key and ``scoring`` settings:

- single choice / true-false: the chosen option equals the key → 1 point, else 0;
- multiple choice, ``mode``:
  ``all`` (all or nothing, the default), ``partial`` (no wrong option chosen → the share
  of the key that was chosen; any wrong option → 0), or ``map`` (QTI map_response:
  the sum of each chosen option's value, clamped to the lower/upper bounds);
- text entry: the typed answer is compared with each accepted answer after
  normalization (NFKC folds full-width Latin, digits and punctuation to half-width;
  case folding; whitespace removal), or with a ``mapping`` of answers to points;
- extended (rubric) items: a rater awards 0..k points; a bare text response needs a rater.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

CHOICE_MODES = ("all", "partial", "map")


class ResponseError(ValueError):
    """A response that does not fit the item (wrong shape, unknown option, points out of range)."""


@dataclass(frozen=True)
class TextMatching:
    case_sensitive: bool = False
    ignore_width: bool = True  # full-width ＡＢＣ１２３ equals half-width ABC123
    ignore_whitespace: bool = True

    def normalize(self, text: str) -> str:
        if self.ignore_width:
            text = unicodedata.normalize("NFKC", text)
        if not self.case_sensitive:
            text = text.casefold()
        text = "".join(text.split()) if self.ignore_whitespace else " ".join(text.split())
        return text


@dataclass(frozen=True)
class ScoringRule:
    item_type: str
    key: tuple[str, ...]
    options: tuple[str, ...] = ()
    mode: str = "all"
    mapping: Mapping[str, float] = field(default_factory=dict)
    default: float = 0.0
    lower: float | None = None
    upper: float | None = None
    matching: TextMatching = TextMatching()
    max_points: float = 1.0
    rubric: tuple[Mapping[str, Any], ...] = ()

    @classmethod
    def of(cls, item_type: str, key: Sequence[str], options: Sequence[Mapping[str, Any]] = (),
           scoring: Mapping[str, Any] | None = None) -> ScoringRule:
        """The rule for a stored version (``scoring`` is ``ItemVersion.scoring``)."""
        settings = dict(scoring or {})
        matching = TextMatching(**{name: bool(settings[name]) for name in
                                   ("case_sensitive", "ignore_width", "ignore_whitespace") if name in settings})
        mapping = {str(k): float(v) for k, v in (settings.get("mapping") or {}).items()}
        rule = cls(item_type=item_type, key=tuple(key), options=tuple(str(o["id"]) for o in options),
                   mode=settings.get("mode", "map" if mapping and item_type == "multiple" else "all"),
                   mapping=mapping, default=float(settings.get("default", 0.0)),
                   lower=_optional_float(settings.get("lower")), upper=_optional_float(settings.get("upper")),
                   matching=matching, rubric=tuple(settings.get("rubric") or ()), max_points=1.0)
        return _with_max_points(rule, settings)


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _with_max_points(rule: ScoringRule, settings: Mapping[str, Any]) -> ScoringRule:
    """The most a response can earn: k for rubric items, the best mapping for mapped items."""
    if rule.item_type == "extended":
        return replace(rule, max_points=float(settings.get("max_points", 1)))
    if rule.item_type == "text" and rule.mapping:
        return replace(rule, max_points=_clamp(rule, max(rule.mapping.values())))
    if rule.mode == "map":
        return replace(rule, max_points=_clamp(rule, sum(v for v in rule.mapping.values() if v > 0)))
    return rule


@dataclass(frozen=True)
class ItemScore:
    points: float
    max_points: float
    needs_rater: bool = False

    @property
    def correct(self) -> bool:
        return not self.needs_rater and self.points >= self.max_points > 0


def score(rule: ScoringRule, response: Any) -> ItemScore:
    """Score ``response``: option ids (list or one id) for choice items, a string for text
    entry, and for extended items either awarded points (int or ``{"points": n}``) or text."""
    if rule.item_type in ("single", "truefalse", "multiple"):
        return ItemScore(_score_choice(rule, _chosen(rule, response)), rule.max_points)
    if rule.item_type == "text":
        return ItemScore(_score_text(rule, response), rule.max_points)
    if rule.item_type == "extended":
        return _score_extended(rule, response)
    raise ResponseError(f"unknown item type {rule.item_type!r}")


def _chosen(rule: ScoringRule, response: Any) -> set[str]:
    if isinstance(response, str):
        response = [response]
    if not isinstance(response, list | tuple) or not all(isinstance(r, str) for r in response):
        raise ResponseError("a choice response is a list of option ids")
    unknown = sorted(set(response) - set(rule.options)) if rule.options else []
    if unknown:
        raise ResponseError(f"unknown option(s): {', '.join(unknown)}")
    if rule.item_type in ("single", "truefalse") and len(set(response)) > 1:
        raise ResponseError("this item takes one option")
    return set(response)


def _score_choice(rule: ScoringRule, chosen: set[str]) -> float:
    key = set(rule.key)
    if rule.mode == "map":
        return _clamp(rule, sum(rule.mapping.get(option, rule.default) for option in chosen))
    if not chosen:
        return 0.0
    if rule.mode == "partial" and rule.item_type == "multiple":
        return 0.0 if chosen - key else round(len(chosen & key) / len(key), 6)
    return 1.0 if chosen == key else 0.0


def _clamp(rule: ScoringRule, value: float) -> float:
    if rule.lower is not None:
        value = max(rule.lower, value)
    if rule.upper is not None:
        value = min(rule.upper, value)
    return value


def _score_text(rule: ScoringRule, response: Any) -> float:
    if isinstance(response, list) and len(response) == 1:
        response = response[0]
    if not isinstance(response, str):
        raise ResponseError("a text-entry response is a string")
    typed = rule.matching.normalize(response)
    if not typed:
        return 0.0
    if rule.mapping:
        values = [v for answer, v in rule.mapping.items() if rule.matching.normalize(answer) == typed]
        return _clamp(rule, values[0] if values else rule.default)
    return 1.0 if any(rule.matching.normalize(answer) == typed for answer in rule.key) else 0.0


def _score_extended(rule: ScoringRule, response: Any) -> ItemScore:
    if isinstance(response, str):
        return ItemScore(0.0, rule.max_points, needs_rater=True)
    awarded = response.get("points") if isinstance(response, dict) else response
    if isinstance(awarded, bool) or not isinstance(awarded, int | float):
        raise ResponseError("an extended response is text, or the points a rater awarded")
    if not 0 <= awarded <= rule.max_points or awarded != int(awarded):
        raise ResponseError(f"awarded points must be a whole number from 0 to {rule.max_points:g}")
    return ItemScore(float(awarded), rule.max_points)
