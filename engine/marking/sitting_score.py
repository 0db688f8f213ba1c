"""A sitting's score from its responses: each item scored by its own response processing.

Choice items score as their scoring settings say (all-or-nothing, partial credit, value
map), text entry against the accepted answers after the item's normalization, and a
written (extended) answer by the points an examiner awarded. Each item contributes its
form points × (points earned / the item's maximum).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from engine.marking.models import RubricMark
from engine.models import CandidateSession, Response, SessionItem
from engine.scoring import theory_score
from itembank.models import Item, ItemType, ItemVersion
from itembank.scoring import ResponseError, ScoringRule, score


@dataclass(frozen=True)
class SittingTally:
    earned: float
    possible: float
    pending: int  # rubric answers still waiting for a mark

    def score(self) -> float:
        return theory_score(self.earned, self.possible)


def rule_of(item: Item, version: ItemVersion) -> ScoringRule:
    return ScoringRule.of(item.item_type.value, version.key, version.options, version.scoring)


def answer_text(answer: list[str] | None) -> str:
    """The typed text of a text-entry or written answer (stored as a one-element list)."""
    return answer[0] if answer else ""


def auto_share(item: Item, version: ItemVersion, answer: list[str] | None) -> float | None:
    """Share of the item's maximum earned (0..1), or None when a rater must decide."""
    if not answer:
        return 0.0
    rule = rule_of(item, version)
    if item.item_type == ItemType.extended:
        return None if answer_text(answer).strip() else 0.0
    try:
        result = score(rule, answer_text(answer) if item.item_type == ItemType.text else list(answer))
    except ResponseError:
        return 0.0  # a stored answer that no longer fits the item earns nothing
    return result.points / result.max_points if result.max_points > 0 else 0.0


def tally_sitting(session: Session, sitting: CandidateSession, queue_marks: bool = False) -> SittingTally:
    """Sum the sitting's points; with ``queue_marks`` add a RubricMark for every written
    answer that has none yet (at submission)."""
    rows = session.exec(
        select(SessionItem, ItemVersion, Item)
        .join(ItemVersion, col(ItemVersion.id) == SessionItem.item_version_id)
        .join(Item, col(Item.id) == ItemVersion.item_id)
        .where(SessionItem.candidate_session_id == sitting.id)
    ).all()
    answers = {r.position: r.answer for r in session.exec(
        select(Response).where(Response.candidate_session_id == sitting.id)).all()}
    marks = {m.position: m for m in session.exec(
        select(RubricMark).where(RubricMark.candidate_session_id == sitting.id)).all()}
    earned = possible = 0.0
    pending = 0
    for line, version, item in rows:
        possible += line.points
        share = auto_share(item, version, answers.get(line.position))
        if share is None:
            mark = marks.get(line.position)
            if mark is None and queue_marks:
                mark = RubricMark(candidate_session_id=sitting.id, position=line.position,
                                  item_version_id=version.id, max_points=int(rule_of(item, version).max_points))
                session.add(mark)
            if mark is None or mark.points is None:
                pending += 1
                continue
            share = mark.points / mark.max_points
        earned += line.points * share
    return SittingTally(round(earned, 6), possible, pending)
