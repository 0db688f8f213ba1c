"""Adaptive sittings through the service on both databases: stop, blueprint, pretest, replay."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sqlmodel import select

from engine import delivery
from engine.adaptive import service as adaptive
from engine.adaptive.design import clear_caches, runner_for
from engine.adaptive.models import AdaptiveSitting, AdaptiveStep
from engine.cat import Response as CATResponse
from engine.errors import IllegalTransitionError
from engine.models import AuditEntry, Result
from itembank.timeutil import utcnow
from tests.engine.adaptive.factory import answer_for, configure, enrol, make_bank


def run_sitting(db, bank, sitting, theta, rng, stop_after=None):
    """Answer like a simulee of ability ``theta`` until the test stops (or ``stop_after`` items)."""
    now = utcnow()
    if sitting.status.value == "scheduled":
        delivery.start(db, sitting, "cand", now)
    record = adaptive.record_of(db, sitting)
    seq, done = 0, False
    while not done:
        pending = adaptive.pending_step(db, record)
        if stop_after is not None and pending.position > stop_after:
            break
        seq += 1
        answer = answer_for(db, bank, pending.item_version_id, theta, rng)
        delivery.record_answer(db, sitting, pending.position, answer, seq, "cand", now)
        done = adaptive.advance(db, sitting, pending.position, "cand", now)
    db.flush()
    return record


@pytest.fixture
def bank(db):
    made = make_bank(db)
    configure(db, made)
    db.commit()
    return made


def test_a_sitting_runs_to_a_stop_meeting_the_blueprint_with_pretest_unscored(db, bank):
    sitting = enrol(db, bank, 1)
    record = run_sitting(db, bank, sitting, 0.5, np.random.default_rng(1))
    db.commit()
    steps = adaptive.steps_of(db, record)
    scored = [s for s in steps if not s.pretest]
    pretest = [s for s in steps if s.pretest]
    assert sitting.status.value == "submitted" and sitting.submit_reason == "adaptive_stop"
    assert 12 <= len(scored) <= 16
    assert len(scored) == 16 or scored[-1].se <= 0.4  # stopped by the SE rule or at the maximum
    # blueprint: module weights 40/60 → M1 in [4, 7], M2 in [7, 10]; at least two true/false
    modules = [record.design["blueprint"]["items"][str(s.item_id)]["module"] for s in scored]
    assert 4 <= modules.count("M1") <= 7 and 7 <= modules.count("M2") <= 10
    types = [record.design["types"][str(s.item_id)] for s in scored]
    assert types.count("truefalse") >= 2
    assert len({s.item_id for s in steps}) == len(steps)
    # pretest: two field-test items, none of them calibrated, and the estimate ignores them
    assert len(pretest) == 2 and {s.item_id for s in pretest} <= set(bank.pretest)
    for step in pretest:
        before = [s for s in steps if s.position < step.position and not s.pretest]
        assert (step.theta, step.se) == ((before[-1].theta, before[-1].se) if before
                                         else (step.theta_before, step.se_before))
    result = db.exec(select(Result).where(Result.candidate_session_id == sitting.id)).one()
    assert result.max_points == len(scored) and record.n_pretest == 2
    assert result.passed == (record.theta >= record.cut_theta) == (result.score >= 60.0)
    assert 0.0 <= result.score <= 100.0 and 0.5 <= record.confidence <= 1.0
    actions = db.exec(select(AuditEntry.action).where(AuditEntry.entity_id == str(sitting.id))).all()
    assert actions.count("adaptive.step") == len(steps) and actions.count("adaptive.served") == len(steps)


def test_replay_reproduces_every_estimate_and_every_served_item(db, bank):
    sitting = enrol(db, bank, 2)
    record = run_sitting(db, bank, sitting, -0.3, np.random.default_rng(2))
    db.commit()
    steps = adaptive.steps_of(db, record)
    clear_caches()  # replay from scratch, not from the states kept while the sitting ran
    for k in range(len(steps)):  # every prefix serves the stored next item
        state = adaptive.replay(record, steps[:k])
        assert state.pending.item_id == str(steps[k].item_id)
        assert state.pending.pretest == steps[k].pretest
        assert (state.theta, state.se) == (steps[k].theta_before, steps[k].se_before)
    final = adaptive.replay(record, steps)
    assert final.pending is None
    scored = [s for s in steps if not s.pretest]
    assert list(final.theta_trail[1:]) == [s.theta for s in scored]
    assert list(final.se_trail[1:]) == [s.se for s in scored]
    assert (final.theta, final.se) == (record.theta, record.se)
    # flipping every pretest answer leaves the whole trail unchanged
    runner = runner_for(record.design, record.exposure).runner
    flipped = [CATResponse(str(s.item_id), 1 - s.score if s.pretest else s.score, s.seconds) for s in steps]
    again = runner.replay(record.seed, flipped, record.design["seen"])
    assert again.theta_trail == final.theta_trail and again.se_trail == final.se_trail


def test_abilities_are_ordered_and_a_committed_step_cannot_change(db, bank):
    low = run_sitting(db, bank, enrol(db, bank, 3), -2.0, np.random.default_rng(3))
    high_sitting = enrol(db, bank, 4)
    high = run_sitting(db, bank, high_sitting, 2.0, np.random.default_rng(4), stop_after=5)
    db.commit()
    first = adaptive.steps_of(db, high)[0]
    with pytest.raises(IllegalTransitionError):  # no going back
        delivery.record_answer(db, high_sitting, first.position, ["A"], 10**6, "cand", utcnow())
    db.rollback()
    pending = adaptive.pending_step(db, high)
    assert adaptive.advance(db, high_sitting, first.position, "cand", utcnow()) is False  # idempotent
    assert adaptive.pending_step(db, high).id == pending.id
    run_sitting(db, bank, high_sitting, 2.0, np.random.default_rng(5))
    db.commit()
    assert high.theta > low.theta + 1.0
    assert math.isfinite(high.se) and high.se < 0.6


def test_the_retake_window_blocks_items_seen_before_and_exposure_is_snapshotted(db, bank):
    first = enrol(db, bank, 5)
    run_sitting(db, bank, first, 0.0, np.random.default_rng(6))
    db.commit()
    seen = {s.item_id for s in db.exec(select(AdaptiveStep)).all()}
    # a second sitting of the same candidate in another exam session of this definition
    from engine import administration
    from engine.models import Candidate
    other = administration.create_exam_session(db, bank.definition_id, 1, "补考", utcnow(), "factory")
    candidate = db.get(Candidate, first.candidate_id)
    retake = administration.enrol(db, other.id, candidate.name, candidate.resident_id, "factory")
    record = run_sitting(db, bank, retake, 0.0, np.random.default_rng(7))
    db.commit()
    again = {s.item_id for s in adaptive.steps_of(db, record)}
    assert not again & seen
    assert set(record.design["seen"]) == {str(i) for i in seen}
    assert record.exposure["n_tests"] == 1
    assert sum(record.exposure["counts"].values()) == sum(
        1 for s in db.exec(select(AdaptiveStep).join(AdaptiveSitting)
                           .where(AdaptiveSitting.candidate_session_id == first.id)).all() if not s.pretest)


def test_an_adaptive_exam_without_calibrated_items_refuses_to_start_and_writes_nothing(db):
    from sqlmodel import delete

    from engine.errors import InvalidInputError
    from itembank.models import ItemCalibration

    made = make_bank(db, n_items=8, n_pretest=0, code="CAT-EMPTY")
    configure(db, made, min_length="4", max_length="6", n_pretest="0", type_min_truefalse="")
    db.exec(delete(ItemCalibration))
    sitting = enrol(db, made, 9)
    db.commit()
    with pytest.raises(InvalidInputError) as refused:
        delivery.start(db, sitting, "cand", utcnow())
    assert "no calibrated active items" in str(refused.value)
    db.rollback()
    db.refresh(sitting)
    assert sitting.status.value == "scheduled" and sitting.deadline is None
    assert db.exec(select(AdaptiveSitting)).first() is None and db.exec(select(AdaptiveStep)).first() is None
