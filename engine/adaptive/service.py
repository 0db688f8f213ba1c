"""Adaptive theory sittings: settings, start, one committed step at a time, the result.

The candidate's answer to the pending item is saved like any answer
(``delivery.record_answer``: idempotent by client sequence number); ``advance`` then
commits it — scores it, folds it into the estimate, stores the step and serves the
next item (or finishes the sitting). Nothing adaptive is kept in memory between
requests: every request replays the stored steps with the sitting's seed on the
sitting's frozen design (``engine.cat.SessionRunner.replay``), and checks that the
replay serves the item that was stored (invariant 5: adaptive state is derived from
stored responses). Services flush; the route commits.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlmodel import Session, col, func, select

from engine import audit, delivery
from engine.adaptive.design import (
    ADAPTIVE_TYPES,
    BLUEPRINT_LEVELS,
    bank_snapshot,
    blueprint_doc,
    cached_state,
    design_key,
    reference_form,
    remember_state,
    runner_for,
)
from engine.adaptive.models import AdaptiveExamSettings, AdaptiveSitting, AdaptiveStep
from engine.cat import CATError, CATSettings, SessionState, seen_within
from engine.cat import Response as CATResponse
from engine.errors import N_, IllegalTransitionError, InvalidInputError, NotFoundError
from engine.lifecycle import Command, next_status
from engine.models import (
    Candidate,
    CandidateSession,
    CandidateSessionStatus,
    ExamDefinition,
    ExamSession,
    Response,
    Result,
    SessionItem,
)
from engine.proctoring import timing
from itembank.models import Item, ItemVersion
from itembank.scoring import ResponseError, ScoringRule, score
from itembank.timeutil import utcnow

MODES = ("fixed", "adaptive")
DEFAULT_SETTINGS = CATSettings(min_length=10, max_length=20, se_stop=0.35, exposure="randomesque:3")


class ReplayMismatchError(Exception):
    """The stored steps do not replay to what was served: the design or data were altered."""


# ---- settings -------------------------------------------------------------------


@dataclass(frozen=True)
class AdaptiveConfig:
    settings: CATSettings
    blueprint_level: str = "module"
    type_bounds: dict | None = None
    enemies: tuple[tuple[int, ...], ...] = ()
    retake_window_days: int = 365
    sympson_hetter: dict | None = None


def config_of(session: Session, definition: ExamDefinition) -> AdaptiveConfig:
    row = settings_row(session, definition)
    if row is None:
        return AdaptiveConfig(DEFAULT_SETTINGS)
    return AdaptiveConfig(CATSettings.from_dict(row.settings), row.blueprint_level, dict(row.type_bounds),
                          tuple(tuple(s) for s in row.enemies), row.retake_window_days, row.sympson_hetter)


def settings_row(session: Session, definition: ExamDefinition) -> AdaptiveExamSettings | None:
    return session.exec(select(AdaptiveExamSettings)
                        .where(AdaptiveExamSettings.exam_definition_id == definition.id)).first()


def parse_config(raw: dict) -> AdaptiveConfig:
    """Validate the examiner's form (strings as typed); InvalidInputError names the field."""
    defaults = {name: "" if value is None else str(value) for name, value in DEFAULT_SETTINGS.to_dict().items()}
    raw = {**defaults, "retake_window_days": "365", **raw}
    def number(name: str, kind=float, optional: bool = False, low: float | None = None):
        text = str(raw.get(name, "")).strip()
        if not text and optional:
            return None
        try:
            value = kind(text)
        except ValueError:
            raise InvalidInputError(N_("%(field)s must be a number"), name, field=name) from None
        if low is not None and value < low or (kind is float and not math.isfinite(value)):
            raise InvalidInputError(N_("%(field)s is out of range"), name, field=name)
        return value

    options = {"min_length": number("min_length", int, low=1), "max_length": number("max_length", int, low=1),
               "se_stop": number("se_stop", optional=True, low=0), "estimator": str(raw.get("estimator", "eap")),
               "selection": str(raw.get("selection", "mfi")), "exposure": _exposure(raw),
               "exposure_ceiling": number("exposure_ceiling", optional=True, low=0),
               "cut_theta": number("cut_theta", optional=True),
               "classification": str(raw.get("classification", "none")),
               "alpha": number("alpha", low=0), "beta": number("beta", low=0),
               "n_pretest": number("n_pretest", int, low=0), "random_start": number("random_start", int, low=0)}
    try:
        settings = CATSettings.from_dict(options)
    except CATError as exc:
        raise InvalidInputError(N_("the adaptive settings are not valid: %(reason)s"), "settings",
                                reason=str(exc)) from None
    level = str(raw.get("blueprint_level", "module"))
    if level not in BLUEPRINT_LEVELS:
        raise InvalidInputError(N_("%(field)s is out of range"), "blueprint_level", field="blueprint_level")
    type_bounds = {}
    for item_type in ADAPTIVE_TYPES:
        low = number(f"type_min_{item_type.value}", int, optional=True, low=0)
        high = number(f"type_max_{item_type.value}", int, optional=True, low=0)
        if low is not None or high is not None:
            if low is not None and high is not None and low > high:
                raise InvalidInputError(N_("%(field)s is out of range"), f"type_min_{item_type.value}",
                                        field=f"type_min_{item_type.value}")
            type_bounds[item_type.value] = {k: v for k, v in (("min", low), ("max", high)) if v is not None}
    return AdaptiveConfig(settings, level, type_bounds, _enemies(str(raw.get("enemies", ""))),
                          number("retake_window_days", int, low=0))


def _exposure(raw: dict) -> str:
    kind = str(raw.get("exposure", "none"))
    if kind == "randomesque":
        return f"randomesque:{str(raw.get('exposure_k', '3')).strip() or '3'}"
    if kind == "sympson-hetter":
        return f"sympson-hetter:{str(raw.get('exposure_rmax', '0.25')).strip() or '0.25'}"
    return kind


def _enemies(text: str) -> tuple[tuple[int, ...], ...]:
    """One enemy set per line: item numbers separated by commas or spaces."""
    sets = []
    for number, line in enumerate(text.splitlines(), 1):
        parts = [p for p in line.replace(",", " ").replace("，", " ").split() if p]
        if not parts:
            continue
        if not all(p.isdigit() for p in parts) or len(parts) < 2:
            raise InvalidInputError(N_("enemy set on line %(line)s needs two or more item numbers"), "enemies",
                                    line=number)
        sets.append(tuple(int(p) for p in parts))
    return tuple(sets)


def save_config(session: Session, definition: ExamDefinition, mode: str, config: AdaptiveConfig | None,
                actor: str, rng: np.random.Generator | None = None) -> AdaptiveExamSettings | None:
    """Store the mode and (for adaptive) the settings; checks the design can run before writing."""
    if mode not in MODES:
        raise InvalidInputError(N_("%(field)s is out of range"), "theory_mode", field="theory_mode")
    definition.theory_mode = mode
    session.add(definition)
    row = settings_row(session, definition)
    if config is not None:
        unknown = _unknown_items(session, [i for group in config.enemies for i in group])
        if unknown:
            raise InvalidInputError(N_("item %(id)s in an enemy set does not exist"), "enemies", id=unknown[0])
        shk = _sympson_hetter(session, definition, config, rng or np.random.default_rng(20261124))
        row = row or AdaptiveExamSettings(exam_definition_id=definition.id, settings={}, updated_by=actor)
        row.settings, row.blueprint_level = config.settings.to_dict(), config.blueprint_level
        row.type_bounds, row.enemies = dict(config.type_bounds or {}), [list(s) for s in config.enemies]
        row.retake_window_days, row.sympson_hetter, row.updated_by = config.retake_window_days, shk, actor
        row.updated_at = utcnow()
        session.add(row)
    session.flush()
    audit.record(session, actor, "exam.theory_mode_set", "exam_definition", definition.id,
                 {"mode": mode, "settings": row.settings if (row and config) else None})
    return row


def _unknown_items(session: Session, ids: list[int]) -> list[int]:
    if not ids:
        return []
    found = set(session.exec(select(Item.id).where(col(Item.id).in_(ids))).all())
    return [i for i in ids if i not in found]


def _sympson_hetter(session: Session, definition: ExamDefinition, config: AdaptiveConfig,
                    rng: np.random.Generator) -> dict | None:
    """Sympson–Hetter parameters by simulation on today's bank (None for other exposure rules)."""
    r_max = config.settings.sympson_hetter_r_max
    if r_max is None:
        return None
    from engine.cat import CATBank, calibrate_sympson_hetter

    design = build_design(session, definition, config, seen=(), sympson_hetter=None)
    settings = CATSettings.from_dict({**design["settings"], "exposure": "none"})
    try:
        from engine.adaptive.design import bank_of
        from engine.cat import Blueprint

        bank = bank_of(design["bank"])
        engine = settings.build(CATBank(bank), Blueprint.from_dict(design["blueprint"]))
        k, _history = calibrate_sympson_hetter(engine, r_max, rng.normal(0.0, 1.0, 300), rng, n_iterations=6)
    except CATError as exc:
        raise InvalidInputError(N_("the adaptive settings are not valid: %(reason)s"), "settings",
                                reason=str(exc)) from None
    return {item_id: float(v) for item_id, v in zip(bank.ids, k, strict=True)}


# ---- the design of one sitting ----------------------------------------------------


def build_design(session: Session, definition: ExamDefinition, config: AdaptiveConfig, seen,
                 sympson_hetter: dict | None) -> dict:
    snapshot = bank_snapshot(session, definition)
    if not snapshot.params:
        raise InvalidInputError(N_("exam %(code)s has no calibrated active items for adaptive testing"),
                                code=definition.code)
    s = config.settings
    design = {
        "bank": snapshot.params,
        "blueprint": blueprint_doc(snapshot, config.blueprint_level, config.type_bounds or {},
                                   [list(e) for e in config.enemies], s.min_length, s.max_length),
        "settings": s.to_dict(),
        "sympson_hetter": None if sympson_hetter is None else [float(sympson_hetter.get(i, 1.0))
                                                               for i in snapshot.ids],
        "pretest": snapshot.pretest,
        "versions": snapshot.versions,
        "types": {i: a["type"] for i, a in snapshot.attributes.items()},
        "seen": sorted(seen),
        "reference": reference_form(session, definition, snapshot),
        "cut_theta": s.cut_theta,
    }
    return design


def exposure_ledger(session: Session, definition: ExamDefinition) -> dict:
    """Operational administrations per item over this exam's adaptive sittings so far."""
    sittings = (select(AdaptiveSitting.id)
                .join(CandidateSession, col(CandidateSession.id) == AdaptiveSitting.candidate_session_id)
                .join(ExamSession, col(ExamSession.id) == CandidateSession.exam_session_id)
                .where(ExamSession.exam_definition_id == definition.id))
    n_tests = session.exec(select(func.count()).select_from(sittings.subquery())).one()
    rows = session.exec(select(AdaptiveStep.item_id, func.count()).where(
        col(AdaptiveStep.adaptive_sitting_id).in_(sittings), AdaptiveStep.pretest == False)  # noqa: E712
        .group_by(AdaptiveStep.item_id)).all()
    return {"n_tests": int(n_tests), "counts": {str(item_id): int(n) for item_id, n in rows}}


def previously_seen(session: Session, candidate_id: int, now: datetime, window_days: int) -> set[str]:
    """Items this candidate was served in earlier adaptive sittings within the retake window."""
    history = session.exec(
        select(AdaptiveStep.item_id, AdaptiveStep.served_at)
        .join(AdaptiveSitting, col(AdaptiveSitting.id) == AdaptiveStep.adaptive_sitting_id)
        .join(CandidateSession, col(CandidateSession.id) == AdaptiveSitting.candidate_session_id)
        .where(CandidateSession.candidate_id == candidate_id)).all()
    return seen_within(((str(i), at) for i, at in history), now, timedelta(days=window_days))


# ---- the candidate's sitting ---------------------------------------------------------


def start_adaptive(session: Session, sitting: CandidateSession, definition: ExamDefinition, actor: str,
                   now: datetime) -> CandidateSession:
    """Freeze the design, draw the seed, serve the first item, set the server deadline.

    Called by ``delivery.start`` after the status check for adaptive definitions.
    """
    config = config_of(session, definition)
    seen = previously_seen(session, sitting.candidate_id, now, config.retake_window_days)
    design = build_design(session, definition, config, seen, config.sympson_hetter)
    exposure = exposure_ledger(session, definition)
    seed = secrets.randbits(62)
    try:
        built = runner_for(design, exposure)
        state = built.runner.start(seed, seen)
    except CATError as exc:
        raise InvalidInputError(N_("the adaptive settings are not valid: %(reason)s"), "settings",
                                reason=str(exc)) from None
    if state.pending is None:
        raise InvalidInputError(N_("exam %(code)s has no calibrated active items for adaptive testing"),
                                code=definition.code)
    record = AdaptiveSitting(candidate_session_id=sitting.id, seed=seed, design=design, exposure=exposure,
                             cut_theta=built.scale.cut_theta)
    session.add(record)
    candidate = session.get(Candidate, sitting.candidate_id)
    sitting.accommodation_minutes = candidate.extra_time_minutes if candidate else 0
    sitting.started_at = now
    sitting.deadline = timing.initial_deadline(now, definition.duration_minutes, sitting.accommodation_minutes)
    session.add(sitting)
    session.flush()
    audit.record(session, actor, "session.started", "candidate_session", sitting.id,
                 {"deadline": sitting.deadline, "mode": "adaptive", "seed": seed,
                  "bank_items": len(design["bank"]), "pretest_pool": len(design["pretest"]),
                  "accommodation_minutes": sitting.accommodation_minutes})
    _serve(session, sitting, record, state, actor, now)
    return sitting


def record_of(session: Session, sitting: CandidateSession) -> AdaptiveSitting | None:
    return session.exec(select(AdaptiveSitting)
                        .where(AdaptiveSitting.candidate_session_id == sitting.id)).first()


def steps_of(session: Session, record: AdaptiveSitting) -> list[AdaptiveStep]:
    return list(session.exec(select(AdaptiveStep).where(AdaptiveStep.adaptive_sitting_id == record.id)
                             .order_by(AdaptiveStep.position)).all())


def check_answerable(session: Session, sitting: CandidateSession, position: int) -> None:
    """In an adaptive sitting only the pending item takes answers (no going back)."""
    record = record_of(session, sitting)
    if record is None:
        return
    pending = pending_step(session, record)
    if pending is None or pending.position != position:
        raise IllegalTransitionError(N_("question %(n)s can no longer be changed"), n=position)


def pending_step(session: Session, record: AdaptiveSitting) -> AdaptiveStep | None:
    last = session.exec(select(AdaptiveStep).where(AdaptiveStep.adaptive_sitting_id == record.id)
                        .order_by(col(AdaptiveStep.position).desc())).first()
    return last if last is not None and last.score is None else None


def replay(record: AdaptiveSitting, steps: list[AdaptiveStep]) -> SessionState:
    """The sitting rebuilt from its seed and stored responses; checks every served item."""
    built = _built(record)
    answered = [s for s in steps if s.score is not None]
    responses = tuple(CATResponse(str(s.item_id), s.score, s.seconds) for s in answered)
    # The state is a pure function of (design, seed, stored responses): a process may keep
    # the one it computed last instead of replaying every step on every request.
    key = (built.key, record.seed, responses)
    state = cached_state(key)
    if state is None:
        state = built.runner.replay(record.seed, responses, record.design.get("seen", []))
        remember_state(key, state)
    following = steps[len(answered)] if len(steps) > len(answered) else None
    served = state.pending.item_id if state.pending else None
    if following is not None and served != str(following.item_id):
        raise ReplayMismatchError(f"sitting {record.candidate_session_id}: replay serves {served}, "
                                  f"stored {following.item_id}")
    return state


def advance(session: Session, sitting: CandidateSession, position: int, actor: str, now: datetime) -> bool:
    """Commit the saved answer to the pending item at ``position`` and serve the next one.

    Idempotent: a position already committed changes nothing. Returns True when the
    sitting is over (stopped by its rules, or by the deadline).
    """
    if delivery.settle_if_overdue(session, sitting, now):
        return True
    delivery.lock_sitting(session, sitting)
    if sitting.status == CandidateSessionStatus.submitted:
        return True
    next_status(sitting.status, Command.answer)
    record = _record(session, sitting)
    pending = pending_step(session, record)
    if pending is None or position < pending.position:
        return False  # already committed (a re-sent click)
    if position != pending.position:
        raise NotFoundError(N_("this exam has no question %(n)s"), n=position)
    state = _commit(session, sitting, record, pending, actor, now)
    if state.pending is None:
        delivery._finish(session, sitting, actor=actor, now=now, command=Command.submit, reason="adaptive_stop")
        return True
    _serve(session, sitting, record, state, actor, now)
    return False


_KEYS: dict[tuple[int, int], str] = {}  # (sitting id, seed) -> design hash; a stored design never changes


def _built(record: AdaptiveSitting):
    key = _KEYS.get((record.id, record.seed))
    if key is None:
        key = design_key(record.design, record.exposure)
        if len(_KEYS) > 4096:
            _KEYS.clear()
        _KEYS[(record.id, record.seed)] = key
    return runner_for(record.design, record.exposure, key)


def _record(session: Session, sitting: CandidateSession) -> AdaptiveSitting:
    record = record_of(session, sitting)
    if record is None:
        raise NotFoundError(N_("exam sitting %(id)s not found"), id=sitting.id)
    return record


def _commit(session: Session, sitting: CandidateSession, record: AdaptiveSitting, pending: AdaptiveStep,
            actor: str, now: datetime) -> SessionState:
    steps = steps_of(session, record)
    state = replay(record, steps)
    stored = session.exec(select(Response).where(Response.candidate_session_id == sitting.id,
                                                 Response.position == pending.position)).first()
    answer = list(stored.answer) if stored else []
    n_categories = 2 if pending.pretest else _n_categories(record, str(pending.item_id))
    category = category_of(session, pending.item_version_id, answer, n_categories)
    seconds = round(max(0.0, (now - pending.served_at).total_seconds()), 3)
    built = _built(record)
    state = built.runner.answer(state, CATResponse(str(pending.item_id), category, seconds))
    remember_state((built.key, record.seed, state.responses), state)
    pending.score, pending.seconds, pending.answered_at = category, seconds, now
    pending.theta, pending.se = state.theta, state.se
    session.add(pending)
    session.flush()
    audit.record(session, actor, "adaptive.step", "candidate_session", sitting.id,
                 {"position": pending.position, "item": pending.item_id, "pretest": pending.pretest,
                  "answer": answer, "score": category, "theta": round(state.theta, 6), "se": round(state.se, 6)})
    return state


def _n_categories(record: AdaptiveSitting, item_id: str) -> int:
    entry = next(p for p in record.design["bank"] if p["id"] == item_id)
    return len(entry["d"]) + 1


def category_of(session: Session, version_id: int, answer: list[str], n_categories: int) -> int:
    """The IRT category of an answer: the share of the item's points earned, floored onto 0..K−1
    (a dichotomous item counts as right only with full points; no answer scores 0)."""
    version = session.get(ItemVersion, version_id)
    item = session.get(Item, version.item_id)
    rule = ScoringRule.of(item.item_type.value, version.key, version.options, version.scoring)
    if not answer:
        return 0
    try:
        result = score(rule, answer)
    except ResponseError:
        return 0
    share = result.points / result.max_points if result.max_points > 0 else 0.0
    return int(math.floor(share * (n_categories - 1) + 1e-9))


def _serve(session: Session, sitting: CandidateSession, record: AdaptiveSitting, state: SessionState,
           actor: str, now: datetime) -> AdaptiveStep:
    step = state.pending
    version = session.get(ItemVersion, record.design["versions"][step.item_id])
    if version.administered_at is None:
        version.administered_at = now  # freezes this version from now on
        session.add(version)
    row = AdaptiveStep(adaptive_sitting_id=record.id, position=step.position, item_id=int(step.item_id),
                       item_version_id=version.id, pretest=step.pretest, theta_before=state.theta,
                       se_before=state.se, served_at=now)
    session.add(row)
    session.add(SessionItem(candidate_session_id=sitting.id, position=step.position, item_version_id=version.id,
                            points=1.0))
    sitting.current_position = step.position
    session.add(sitting)
    session.flush()
    audit.record(session, actor, "adaptive.served", "candidate_session", sitting.id,
                 {"position": step.position, "item": row.item_id, "version": version.id, "pretest": step.pretest,
                  "theta": round(state.theta, 6), "se": round(state.se, 6)})
    return row


def adaptive_result(session: Session, sitting: CandidateSession, definition: ExamDefinition) -> Result:
    """θ, SE, the 0–100 score on the reference form's TCC and the decision (``delivery._score`` calls this).

    An answer saved to the pending item before the end is committed first (an
    acknowledged answer is never lost); no further item is served.
    """
    record = _record(session, sitting)
    pending = pending_step(session, record)
    if pending is not None and session.exec(select(Response.id).where(
            Response.candidate_session_id == sitting.id, Response.position == pending.position)).first():
        _commit(session, sitting, record, pending, "system", sitting.submitted_at or pending.served_at)
    built = _built(record)
    state = replay(record, steps_of(session, record))
    outcome = built.runner.result(state, built.scale)
    record.finished, record.theta, record.se = True, outcome.theta, outcome.se
    record.n_scored, record.n_pretest, record.confidence = outcome.n_scored, outcome.n_pretest, outcome.confidence
    record.cut_theta = built.scale.cut_theta
    session.add(record)
    right = sum(1 for s in steps_of(session, record) if not s.pretest and s.score
                and s.score == _n_categories(record, str(s.item_id)) - 1)
    return Result(candidate_session_id=sitting.id, raw_points=float(right), max_points=float(outcome.n_scored),
                  score=round(float(outcome.score), 1), passed=bool(outcome.passed))


# ---- views --------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    """What supervisors, result pages and examiners see of an adaptive sitting."""

    theta: float
    se: float
    n_scored: int
    n_pretest: int
    finished: bool
    cut_theta: float | None
    confidence: float | None
    passed: bool | None
    trail: list[dict]


def summary(session: Session, sitting_id: int) -> Summary | None:
    """None for fixed sittings."""
    sitting = session.get(CandidateSession, sitting_id)
    if sitting is None:
        raise NotFoundError(N_("exam sitting %(id)s not found"), id=sitting_id)
    record = record_of(session, sitting)
    if record is None:
        return None
    steps = steps_of(session, record)
    trail = [{"position": s.position, "item": s.item_id, "pretest": s.pretest, "score": s.score,
              "theta_before": s.theta_before, "se_before": s.se_before, "theta": s.theta, "se": s.se}
             for s in steps]
    scored = [s for s in steps if s.score is not None and not s.pretest]
    last = scored[-1] if scored else None
    theta = record.theta if record.finished else (last.theta if last else steps[0].theta_before if steps else 0.0)
    se = record.se if record.finished else (last.se if last else steps[0].se_before if steps else 1.0)
    result = session.exec(select(Result).where(Result.candidate_session_id == sitting.id)).first()
    return Summary(theta=theta, se=se, n_scored=record.n_scored if record.finished else len(scored),
                   n_pretest=sum(1 for s in steps if s.pretest and s.score is not None), finished=record.finished,
                   cut_theta=record.cut_theta, confidence=record.confidence,
                   passed=result.passed if result else None, trail=trail)


def is_adaptive(session: Session, sitting: CandidateSession) -> bool:
    return record_of(session, sitting) is not None


@dataclass(frozen=True)
class PendingView:
    item: delivery.PresentedItem
    step: AdaptiveStep
    max_length: int  # most items the sitting can have (scored maximum plus pretest)


def pending_view(session: Session, sitting: CandidateSession) -> PendingView:
    """The item to show now; the replay of the stored steps must serve exactly this item."""
    record = _record(session, sitting)
    steps = steps_of(session, record)
    replay(record, steps)  # raises ReplayMismatchError if the stored trail does not reproduce
    pending = steps[-1] if steps and steps[-1].score is None else None
    if pending is None:
        raise IllegalTransitionError(N_("this exam has no question waiting for an answer"))
    item = next(i for i in delivery.presented_items(session, sitting) if i.position == pending.position)
    settings = record.design["settings"]
    n_pretest = min(int(settings.get("n_pretest", 0)), len(record.design.get("pretest", [])))
    return PendingView(item, pending, int(settings["max_length"]) + n_pretest)


def is_pending(session: Session, sitting: CandidateSession, position: int) -> bool:
    record = record_of(session, sitting)
    pending = pending_step(session, record) if record else None
    return pending is not None and pending.position == position


def item_type_at(session: Session, sitting: CandidateSession, position: int) -> str:
    line = session.exec(select(SessionItem).where(SessionItem.candidate_session_id == sitting.id,
                                                  SessionItem.position == position)).one()
    version = session.get(ItemVersion, line.item_version_id)
    return session.get(Item, version.item_id).item_type.value
