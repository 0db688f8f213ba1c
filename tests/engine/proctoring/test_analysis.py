"""Person-fit (lz*) of a sitting from stored answers and calibrated parameters, on both databases."""

from __future__ import annotations

import numpy as np
import pytest
from sqlmodel import select

from engine import delivery
from engine.models import Candidate, CandidateSession, SessionItem, User
from engine.proctoring import analysis
from itembank.irt.data import ResponseData
from itembank.irt.fit import lz_star
from itembank.irt.models import ItemBank
from itembank.models import CalibrationRun, ItemCalibration, ItemVersion
from itembank.timeutil import utcnow

SLOPE = 1.5


@pytest.fixture
def calibrated(db, demo):
    """A started sitting whose 20 items carry 2PL parameters from easy (d=+2.5) to hard (d=−2.5)."""
    sitting = db.exec(select(CandidateSession).join(Candidate, Candidate.id == CandidateSession.candidate_id)
                      .join(User, User.id == Candidate.user_id).where(User.username == "candidate")).one()
    delivery.start(db, sitting, "candidate", utcnow())
    lines = db.exec(select(SessionItem).where(SessionItem.candidate_session_id == sitting.id)
                    .order_by(SessionItem.position)).all()
    run = CalibrationRun(model="2pl", n_persons=1000, n_items=len(lines), created_by="test")
    db.add(run)
    db.flush()
    intercepts = np.linspace(2.5, -2.5, len(lines))
    for line, d in zip(lines, intercepts, strict=True):
        db.add(ItemCalibration(calibration_run_id=run.id, item_version_id=line.item_version_id, model="2pl",
                               a=SLOPE, d=[float(d)]))
    db.commit()
    return sitting, lines, intercepts


def _answer(db, sitting, lines, correct: list[bool]) -> None:
    for seq, (line, right) in enumerate(zip(lines, correct, strict=False), start=1):
        version = db.get(ItemVersion, line.item_version_id)
        wrong = next(o["id"] for o in version.options if o["id"] not in version.key)
        delivery.record_answer(db, sitting, line.position, list(version.key) if right else [wrong], seq,
                               "candidate", utcnow())
    db.commit()


def _direct_lz(correct: list[bool], intercepts) -> float:
    n = len(correct)
    bank = ItemBank(ids=tuple(str(i) for i in range(n)), models=("2pl",) * n, a=np.full(n, SLOPE),
                    d=intercepts[:n].reshape(-1, 1), c=np.zeros(n))
    data = ResponseData.from_triplets(np.zeros(n, dtype=int), np.arange(n), [int(x) for x in correct], (1, n),
                                      item_ids=bank.ids)
    return float(lz_star(data, bank).lz_star[0])


class TestPersonFit:
    def test_missing_easy_items_and_passing_hard_ones_is_flagged(self, db, calibrated):
        sitting, lines, intercepts = calibrated
        correct = [i >= 10 for i in range(20)]  # the ten easiest wrong, the ten hardest right
        _answer(db, sitting, lines, correct)
        fit = analysis.person_fit(db, sitting)
        assert fit.items == 20
        assert fit.lz_star == pytest.approx(_direct_lz(correct, intercepts), abs=1e-3)
        assert fit.lz_star < analysis.LZ_HIGH
        flags = {a.code: a for a in analysis.anomalies_of(db, sitting)}
        assert flags["aberrant_pattern"].severity == "high"
        assert flags["aberrant_pattern"].evidence["items"] == 20

    def test_a_consistent_pattern_is_not_flagged(self, db, calibrated):
        sitting, lines, intercepts = calibrated
        correct = [i < 12 for i in range(20)]  # easy right, hard wrong: what the model expects
        _answer(db, sitting, lines, correct)
        fit = analysis.person_fit(db, sitting)
        assert fit.lz_star == pytest.approx(_direct_lz(correct, intercepts), abs=1e-3)
        assert fit.lz_star > analysis.LZ_FLAG
        assert "aberrant_pattern" not in {a.code for a in analysis.anomalies_of(db, sitting)}

    def test_too_few_answers_give_no_verdict(self, db, calibrated):
        sitting, lines, _ = calibrated
        _answer(db, sitting, lines[:analysis.MIN_PERSON_FIT_ITEMS - 1], [False, True] * 5)
        fit = analysis.person_fit(db, sitting)
        assert fit.lz_star is None and fit.items == analysis.MIN_PERSON_FIT_ITEMS - 1
