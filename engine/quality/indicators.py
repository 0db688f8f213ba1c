"""Quality indicators per institution and period, and the outlier rule (see docs/quality.md).

The province is every institution in the database. For a pass rate the comparison is
the **pooled rate of the other institutions** for the same occupation and level, and
the institution's z-score uses the binomial standard error at its own number of
candidates:

    z = (p_inst − p_others) / sqrt(p_others · (1 − p_others) / n_inst)

Counts per 100 candidates (anomaly flags, incidents) are compared the same way under a
Poisson model: z = (x − λ) / sqrt(λ) with λ the count expected at the others' rate.
A value is an **outlier** when |z| ≥ 2 and the institution has at least ``MIN_N``
decided sittings (fewer say too little to single anyone out).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from statistics import fmean

from sqlmodel import Session, col, select

from engine.archive import completeness
from engine.certification import service as certification
from engine.certification.rules import Part
from engine.models import (
    CandidateSession,
    ExamDefinition,
    ExamSession,
    Institution,
    Room,
    TestCenter,
)
from engine.proctoring import service as proctoring
from engine.quality import suspension
from engine.quality.models import Complaint, ComplaintStatus
from engine.results.models import Appeal, AppealStatus, SurveyAnswer
from itembank.models import Occupation

Z_LIMIT = 2.0
MIN_N = 10
BINS = 10  # score histogram: 0–9.9, 10–19.9, …, 90–100


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # exclusive

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        return (datetime.combine(self.start, time(), UTC), datetime.combine(self.end, time(), UTC))


# ---- pure arithmetic -------------------------------------------------------------------------------


def rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def per_100(count: int, candidates: int) -> float | None:
    return 100.0 * count / candidates if candidates else None


def pass_rate_z(passed: int, n: int, others_passed: int, others_n: int) -> float | None:
    """The institution's pass rate against the others' pooled rate (binomial SE at n); None if undefined."""
    if not n or not others_n:
        return None
    p0 = others_passed / others_n
    if p0 in (0.0, 1.0):
        return None
    return (passed / n - p0) / math.sqrt(p0 * (1 - p0) / n)


def count_z(count: int, candidates: int, others_count: int, others_candidates: int) -> float | None:
    """A count against the count expected at the others' rate per candidate (Poisson); None if undefined."""
    if not candidates or not others_candidates or not others_count:
        return None
    expected = others_count / others_candidates * candidates
    return (count - expected) / math.sqrt(expected)


def is_outlier(z: float | None, n: int) -> bool:
    return z is not None and n >= MIN_N and abs(z) >= Z_LIMIT


def histogram(scores: Iterable[float], bins: int = BINS) -> list[int]:
    counts = [0] * bins
    for score in scores:
        counts[min(int(score // (100 / bins)), bins - 1)] += 1
    return counts


# ---- facts per sitting -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SittingFact:
    sitting_id: int
    exam_session_id: int
    institution_id: int
    occupation: str
    level: str
    started: bool
    decided: bool  # a theory result exists: the sitting counts in pass rates
    passed: bool
    theory: float | None
    practical: float | None
    anomalies: int
    incidents: int


def sitting_facts(db: Session, period: Period) -> list[SittingFact]:
    """One fact per candidate sitting whose exam session starts in the period, every institution."""
    start, end = period.bounds
    rows = db.exec(select(ExamSession.id, TestCenter.institution_id, Occupation.name, ExamDefinition.level)
                   .join(ExamDefinition, col(ExamDefinition.id) == ExamSession.exam_definition_id)
                   .join(Occupation, col(Occupation.id) == ExamDefinition.occupation_id)
                   .join(Room, col(Room.id) == ExamSession.room_id)
                   .join(TestCenter, col(TestCenter.id) == Room.test_center_id)
                   .where(ExamSession.starts_at >= start, ExamSession.starts_at < end)
                   .order_by(ExamSession.id)).all()
    facts = []
    for exam_session_id, institution_id, occupation, level in rows:
        for found in certification.outcomes_for_exam_session(db, exam_session_id):
            facts.append(_fact(db, found, exam_session_id, institution_id, occupation, str(level)))
    return facts


def _fact(db: Session, found, exam_session_id: int, institution_id: int, occupation: str, level: str) -> SittingFact:
    sitting: CandidateSession = found.sitting
    started = sitting.started_at is not None
    theory, practical = found.scores.get(Part.theory), found.scores.get(Part.practical)
    return SittingFact(sitting.id, exam_session_id, institution_id, occupation, level, started,
                       decided=theory is not None, passed=found.outcome.passed,
                       theory=theory.score if theory else None, practical=practical.score if practical else None,
                       anomalies=len(proctoring.anomalies_of(db, sitting)) if started else 0,
                       incidents=proctoring.incident_count(db, sitting.id))


# ---- indicators ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupRate:
    occupation: str
    level: str
    n: int
    passed: int
    others_n: int
    others_passed: int

    @property
    def rate(self) -> float | None:
        return rate(self.passed, self.n)

    @property
    def others_rate(self) -> float | None:
        return rate(self.others_passed, self.others_n)

    @property
    def z(self) -> float | None:
        return pass_rate_z(self.passed, self.n, self.others_passed, self.others_n)

    @property
    def outlier(self) -> bool:
        return is_outlier(self.z, self.n)


@dataclass(frozen=True)
class CountRate:
    """A count per 100 candidates beside the rest of the province's."""

    count: int
    candidates: int
    others_count: int
    others_candidates: int

    @property
    def per_100(self) -> float | None:
        return per_100(self.count, self.candidates)

    @property
    def others_per_100(self) -> float | None:
        return per_100(self.others_count, self.others_candidates)

    @property
    def z(self) -> float | None:
        return count_z(self.count, self.candidates, self.others_count, self.others_candidates)

    @property
    def outlier(self) -> bool:
        return is_outlier(self.z, self.candidates)


@dataclass
class Indicators:
    institution: Institution
    period: Period
    candidates: int
    overall: GroupRate
    groups: list[GroupRate]
    theory_histogram: list[int]
    practical_histogram: list[int]
    anomalies: CountRate
    incidents: CountRate
    complaints: dict[str, int]
    appeals: dict[str, int]
    satisfaction: dict[str, float | int | None]
    archive_complete: int | None = None
    archive_checked: int = 0
    bank_health: list = field(default_factory=list)
    suspended: bool = False

    @property
    def complaints_per_100(self) -> float | None:
        return per_100(sum(self.complaints.values()), self.candidates)

    @property
    def appeals_per_100(self) -> float | None:
        return per_100(sum(self.appeals.values()), self.candidates)

    @property
    def archive_share(self) -> float | None:
        return rate(self.archive_complete or 0, self.archive_checked) if self.archive_complete is not None else None

    @property
    def outliers(self) -> list[str]:
        """What is highlighted, by indicator name."""
        names = [f"pass rate {g.occupation} {g.level}" for g in self.groups if g.outlier]
        if self.overall.outlier:
            names.insert(0, "pass rate")
        names += [name for name, value in (("anomaly flags", self.anomalies), ("incidents", self.incidents))
                  if value.outlier]
        return names


def group_rates(facts: list[SittingFact], institution_id: int) -> tuple[GroupRate, list[GroupRate]]:
    """Pass rates of the institution's decided sittings, overall and by occupation and level."""
    mine: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    others: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for fact in facts:
        if not fact.decided:
            continue
        bucket = mine if fact.institution_id == institution_id else others
        bucket[(fact.occupation, fact.level)][0] += 1
        bucket[(fact.occupation, fact.level)][1] += int(fact.passed)
    groups = [GroupRate(occupation, level, n, passed, *others.get((occupation, level), (0, 0)))
              for (occupation, level), (n, passed) in sorted(mine.items())]
    overall = GroupRate("", "", sum(g.n for g in groups), sum(g.passed for g in groups),
                        sum(v[0] for v in others.values()), sum(v[1] for v in others.values()))
    return overall, groups


def _count_rate(facts: list[SittingFact], institution_id: int, attribute: str) -> CountRate:
    mine = [f for f in facts if f.institution_id == institution_id]
    others = [f for f in facts if f.institution_id != institution_id]
    return CountRate(sum(getattr(f, attribute) for f in mine), len(mine),
                     sum(getattr(f, attribute) for f in others), len(others))


def _complaints(db: Session, institution_id: int, period: Period) -> dict[str, int]:
    start, end = period.bounds
    counts = {status.value: 0 for status in ComplaintStatus}
    for status in db.exec(select(Complaint.status).where(Complaint.institution_id == institution_id,
                                                         Complaint.received_at >= start,
                                                         Complaint.received_at < end)).all():
        counts[ComplaintStatus(status).value] += 1
    return counts


def _appeals(db: Session, sitting_ids: list[int]) -> dict[str, int]:
    counts = {status.value: 0 for status in AppealStatus}
    if sitting_ids:
        for status in db.exec(select(Appeal.status).where(col(Appeal.candidate_session_id).in_(sitting_ids))).all():
            counts[AppealStatus(status).value] += 1
    return counts


def _satisfaction(db: Session, institution_id: int, exam_session_ids: list[int]) -> dict[str, float | int | None]:
    answers = db.exec(select(SurveyAnswer).where(SurveyAnswer.institution_id == institution_id,
                                                 col(SurveyAnswer.exam_session_id).in_(exam_session_ids))
                      ).all() if exam_session_ids else []
    ratings = [float(value) for answer in answers for value in answer.ratings.values()
               if isinstance(value, int | float)]
    overall = [float(a.ratings["overall"]) for a in answers if isinstance(a.ratings.get("overall"), int | float)]
    return {"answers": len(answers), "mean": round(fmean(ratings), 2) if ratings else None,
            "overall": round(fmean(overall), 2) if overall else None}


def indicators_of(db: Session, institution: Institution, period: Period, facts: list[SittingFact],
                  archive: bool = True) -> Indicators:
    mine = [f for f in facts if f.institution_id == institution.id]
    overall, groups = group_rates(facts, institution.id)
    found = Indicators(
        institution, period, len(mine), overall, groups,
        histogram(f.theory for f in mine if f.theory is not None),
        histogram(f.practical for f in mine if f.practical is not None),
        _count_rate(facts, institution.id, "anomalies"), _count_rate(facts, institution.id, "incidents"),
        _complaints(db, institution.id, period), _appeals(db, [f.sitting_id for f in mine]),
        _satisfaction(db, institution.id, sorted({f.exam_session_id for f in mine})),
        suspended=suspension.is_suspended(db, institution.id))
    if archive:
        checked = [completeness.of_sitting(db, f.sitting_id) for f in mine]
        found.archive_complete, found.archive_checked = sum(c.complete for c in checked), len(checked)
    return found


def all_indicators(db: Session, period: Period, archive: bool = True) -> list[Indicators]:
    facts = sitting_facts(db, period)
    institutions = db.exec(select(Institution).order_by(Institution.code)).all()
    return [indicators_of(db, institution, period, facts, archive) for institution in institutions]


def institution_indicators(db: Session, institution: Institution, period: Period) -> Indicators:
    from engine.quality.bank_health import bank_health

    found = indicators_of(db, institution, period, sitting_facts(db, period))
    found.bank_health = bank_health(db, institution.id, period)
    return found
