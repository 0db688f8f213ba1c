"""Response-pattern anomalies of a sitting, read from the database and shown with evidence.

Two statistical flags join the event rules of ``anomalies``:

- ``aberrant_pattern`` — Snijders' lz* person-fit (``itembank.irt.fit.lz_star``) at the
  candidate's WLE, over the answered items that have calibrated dichotomous parameters
  (the latest calibration of each presented item version). Computed once at least
  ``MIN_PERSON_FIT_ITEMS`` such items are answered; flagged below ``LZ_FLAG`` (the 5 %
  one-sided normal quantile; ``high`` below the 1 % quantile). A very negative lz* means
  the candidate missed easy items while getting hard ones right — guessing, pre-knowledge
  of some items, or copying.
- ``answer_similarity`` — identical incorrect answers with another candidate of the same
  exam session beyond chance (``engine.proctoring.similarity``).

Both are computed when a supervisor opens the sitting or its report (they read the whole
room's answers), not on every roster push.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from sqlmodel import Session, col, select

from engine.models import Candidate, CandidateSession, Response, SessionItem
from engine.proctoring import similarity
from engine.proctoring.anomalies import Anomaly
from itembank.irt.data import ResponseData
from itembank.irt.fit import lz_star
from itembank.irt.models import DICHOTOMOUS, ItemBank
from itembank.models import ItemCalibration, ItemVersion

MIN_PERSON_FIT_ITEMS = 10
LZ_FLAG = -1.645
LZ_HIGH = -2.326
SIMILARITY_ALPHA = 0.01


@dataclass(frozen=True)
class PersonFit:
    lz_star: float | None
    theta: float | None
    items: int  # calibrated items answered


def _key_of(answer: list[str]) -> tuple[str, ...]:
    return tuple(sorted(answer))


def person_fit(session: Session, sitting: CandidateSession) -> PersonFit:
    """lz* of the sitting's answers on calibrated dichotomous items (None until enough are answered)."""
    rows = session.exec(select(SessionItem, Response, ItemVersion)
                        .join(Response, (col(Response.candidate_session_id) == SessionItem.candidate_session_id)
                              & (col(Response.position) == SessionItem.position))
                        .join(ItemVersion, col(ItemVersion.id) == SessionItem.item_version_id)
                        .where(SessionItem.candidate_session_id == sitting.id)).all()
    answered = [(line.item_version_id, _key_of(response.answer) == _key_of(version.key))
                for line, response, version in rows if response.answer]
    calibrations = _latest_calibrations(session, [version_id for version_id, _ in answered])
    usable = [(vid, correct) for vid, correct in answered
              if vid in calibrations and calibrations[vid].model in DICHOTOMOUS]
    if len(usable) < MIN_PERSON_FIT_ITEMS:
        return PersonFit(None, None, len(usable))
    bank = ItemBank(ids=tuple(str(vid) for vid, _ in usable),
                    models=tuple(calibrations[vid].model for vid, _ in usable),
                    a=np.array([calibrations[vid].a for vid, _ in usable]),
                    d=np.array([[float(calibrations[vid].d[0])] for vid, _ in usable]),
                    c=np.array([calibrations[vid].c or 0.0 for vid, _ in usable]))
    data = ResponseData.from_triplets(np.zeros(len(usable), dtype=int), np.arange(len(usable)),
                                      [int(correct) for _, correct in usable], (1, len(usable)),
                                      item_ids=bank.ids, person_ids=[str(sitting.id)])
    fit = lz_star(data, bank)
    value = float(fit.lz_star[0])
    return PersonFit(None if np.isnan(value) else round(value, 3), round(float(fit.theta[0]), 3), len(usable))


def _latest_calibrations(session: Session, version_ids: list[int]) -> dict[int, ItemCalibration]:
    if not version_ids:
        return {}
    latest: dict[int, ItemCalibration] = {}
    for calibration in session.exec(select(ItemCalibration).where(
            col(ItemCalibration.item_version_id).in_(version_ids)).order_by(ItemCalibration.calibration_run_id)):
        latest[calibration.item_version_id] = calibration
    return latest


def room_answers(session: Session, exam_session_id: int) -> tuple[dict[int, dict[int, tuple[str, ...]]],
                                                                  dict[int, tuple[str, ...]]]:
    """Every sitting's answers by item version, and the keys of those versions."""
    rows = session.exec(select(SessionItem.candidate_session_id, SessionItem.item_version_id, Response.answer)
                        .join(Response, (col(Response.candidate_session_id) == SessionItem.candidate_session_id)
                              & (col(Response.position) == SessionItem.position))
                        .join(CandidateSession, col(CandidateSession.id) == SessionItem.candidate_session_id)
                        .where(CandidateSession.exam_session_id == exam_session_id)).all()
    answers: dict[int, dict[int, tuple[str, ...]]] = defaultdict(dict)
    for sitting_id, version_id, answer in rows:
        answers[sitting_id][version_id] = _key_of(answer)
    version_ids = {vid for per in answers.values() for vid in per}
    keys = {v.id: _key_of(v.key) for v in session.exec(select(ItemVersion).where(
        col(ItemVersion.id).in_(version_ids))).all()} if version_ids else {}
    return answers, keys


def similar_candidates(session: Session, sitting: CandidateSession) -> list[similarity.PairEvidence]:
    answers, keys = room_answers(session, sitting.exam_session_id)
    if sitting.id not in answers:
        return []
    return similarity.compare(sitting.id, answers, keys, alpha=SIMILARITY_ALPHA)


def anomalies_of(session: Session, sitting: CandidateSession) -> list[Anomaly]:
    """The statistical flags of one sitting, each with its evidence."""
    found = []
    fit = person_fit(session, sitting)
    if fit.lz_star is not None and fit.lz_star < LZ_FLAG:
        found.append(Anomaly("aberrant_pattern", "high" if fit.lz_star < LZ_HIGH else "medium",
                             {"lz_star": fit.lz_star, "theta": fit.theta, "items": fit.items,
                              "flag_below": LZ_FLAG}))
    flagged = [pair for pair in similar_candidates(session, sitting) if pair.flagged]
    if flagged:
        names = dict(session.exec(select(CandidateSession.id, Candidate.name)
                                  .join(Candidate, col(Candidate.id) == CandidateSession.candidate_id)
                                  .where(col(CandidateSession.id).in_([p.other for p in flagged]))).all())
        found.append(Anomaly("answer_similarity", "high", {"pairs": [
            {"sitting": p.other, "candidate": names.get(p.other, ""), "identical_wrong": p.identical_wrong,
             "common_wrong": p.common_wrong, "expected": p.expected, "p_value": float(f"{p.p_value:.3g}")}
            for p in flagged[:5]]}))
    return found
