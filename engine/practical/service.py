"""Practical part: scenario storage, tasks of exam definitions, candidates' simulation
attempts on the server clock, score sheets, replay, and the part score.

Services flush and never commit (the route commits once). Every refusal raises before
anything is added, so a refused request writes nothing.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from engine import audit
from engine.certification import service as certification
from engine.errors import (
    N_,
    DeadlinePassedError,
    DuplicateError,
    IllegalTransitionError,
    InvalidInputError,
    NotFoundError,
)
from engine.models import CandidateSession, ExamDefinition
from engine.practical.models import (
    AttemptStatus,
    PracticalAction,
    PracticalAttempt,
    PracticalTask,
    Scenario,
    ScenarioVersion,
    TaskKind,
)
from engine.practical.simulation import RUNS, LiveView, program_for
from engine.proctoring import service as proctoring
from engine.proctoring.events import EventKind
from simulations.errors import ActionLogError, ActionRejectedError, ScenarioError, SimulationError
from simulations.runtime import LoggedAction, Program, ScoreSheet, Trace, parse_action_log, replay, score

MAX_SCENARIO_BYTES = 512 * 1024
MAX_ARGS_BYTES = 1024
PASS_MARK = 60.0


# ---- scenario storage ----------------------------------------------------------------------


def validate_source(text: str, filename: str) -> Program:
    """Compile a scenario; a rejection names the file, line and field."""
    if len(text.encode()) > MAX_SCENARIO_BYTES:
        raise InvalidInputError(N_("%(file)s: the file is larger than 512 KiB"), "file", file=filename)
    try:
        return program_for(text, hashlib.sha256(text.encode()).hexdigest(), filename)
    except ScenarioError as exc:
        raise InvalidInputError(N_("scenario rejected: %(problem)s"), "file", problem=str(exc)) from None


def upload_scenario(session: Session, text: str, filename: str, actor: str) -> ScenarioVersion:
    """Store a validated file as the next version of the scenario its ``id`` names."""
    filename = (filename or "scenario.yaml").strip()[:200]
    program = validate_source(text, filename)
    sha = hashlib.sha256(text.encode()).hexdigest()
    scenario = session.exec(select(Scenario).where(Scenario.key == program.id)).first()
    if scenario is not None:
        latest = _version(session, scenario.id, scenario.current_version)
        if latest.sha256 == sha:
            raise DuplicateError(N_("this file is already version %(n)s of scenario %(key)s"),
                                 "file", n=latest.version_no, key=program.id)
        scenario.current_version += 1
    else:
        scenario = Scenario(key=program.id, title_zh="", title_en="", current_version=1, created_by=actor)
    scenario.title_zh, scenario.title_en = program.title.zh[:200], program.title.en[:200]
    session.add(scenario)
    session.flush()
    version = ScenarioVersion(scenario_id=scenario.id, version_no=scenario.current_version,
                              declared_version=program.version, filename=filename, source=text, sha256=sha,
                              uploaded_by=actor)
    session.add(version)
    session.flush()
    audit.record(session, actor, "scenario.uploaded", "scenario", scenario.id,
                 {"key": program.id, "version_no": version.version_no, "sha256": sha, "filename": filename})
    return version


def scenarios(session: Session) -> list[Scenario]:
    return list(session.exec(select(Scenario).order_by(Scenario.key)).all())


def get_scenario(session: Session, scenario_id: int) -> Scenario:
    scenario = session.get(Scenario, scenario_id)
    if scenario is None:
        raise NotFoundError(N_("scenario %(id)s not found"), id=scenario_id)
    return scenario


def versions_of(session: Session, scenario_id: int) -> list[ScenarioVersion]:
    return list(session.exec(select(ScenarioVersion).where(ScenarioVersion.scenario_id == scenario_id)
                             .order_by(col(ScenarioVersion.version_no).desc())).all())


def _version(session: Session, scenario_id: int, version_no: int) -> ScenarioVersion:
    version = session.exec(select(ScenarioVersion).where(ScenarioVersion.scenario_id == scenario_id,
                                                         ScenarioVersion.version_no == version_no)).first()
    if version is None:
        raise NotFoundError(N_("version %(n)s of scenario %(id)s not found"), n=version_no, id=scenario_id)
    return version


def get_version(session: Session, scenario_id: int, version_no: int | None = None) -> ScenarioVersion:
    scenario = get_scenario(session, scenario_id)
    return _version(session, scenario.id, version_no or scenario.current_version)


def program_of(version: ScenarioVersion) -> Program:
    return program_for(version.source, version.sha256, version.filename)


def parse_actions_text(text: str) -> list[LoggedAction]:
    """An ACTIONS.json document (a list of ``{"t", "action", "args"}``) from a form field."""
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise InvalidInputError(N_("the action list is not valid JSON: %(problem)s"), "actions",
                                problem=str(exc)) from None
    try:
        return parse_action_log(raw)
    except ActionLogError as exc:
        raise InvalidInputError(N_("the action list is malformed: %(problem)s"), "actions", problem=str(exc)) from None


def dry_run(program: Program, actions: list[LoggedAction], seed: int) -> tuple[ScoreSheet, Trace]:
    """Run a scripted action list and score it (nothing is stored)."""
    try:
        trace = replay(program, actions, seed)
    except SimulationError as exc:
        raise InvalidInputError(N_("the action list cannot be run: %(problem)s"), "actions", problem=str(exc)) from None
    return score(program, trace), trace


# ---- tasks of exam definitions ------------------------------------------------------------


def tasks_of(session: Session, exam_definition_id: int) -> list[PracticalTask]:
    return list(session.exec(select(PracticalTask).where(PracticalTask.exam_definition_id == exam_definition_id)
                             .order_by(PracticalTask.position)).all())


def get_task(session: Session, task_id: int) -> PracticalTask:
    task = session.get(PracticalTask, task_id)
    if task is None:
        raise NotFoundError(N_("practical task %(id)s not found"), id=task_id)
    return task


def validate_rubric_form(rubric: Any) -> dict[str, Any]:
    """A rated task's form: criteria with points (summing to > 0) and optional veto items."""
    if not isinstance(rubric, dict) or not isinstance(rubric.get("criteria"), list) or not rubric["criteria"]:
        raise InvalidInputError(N_("a rated task needs a rubric with a non-empty list of criteria"), "rubric")
    seen: set[str] = set()
    criteria = []
    for i, raw in enumerate(rubric["criteria"]):
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not raw["id"].strip():
            raise InvalidInputError(N_("criterion %(i)s needs an id"), "rubric", i=i + 1)
        points = raw.get("points")
        if isinstance(points, bool) or not isinstance(points, (int, float)) or not 0 < points <= 100:
            raise InvalidInputError(N_("criterion %(id)s needs points between 0 and 100"), "rubric", id=raw["id"])
        if raw["id"] in seen:
            raise InvalidInputError(N_("criterion %(id)s appears twice"), "rubric", id=raw["id"])
        seen.add(raw["id"])
        criteria.append({"id": raw["id"].strip(), "text": str(raw.get("text", ""))[:300], "points": float(points)})
    vetoes = []
    for i, raw in enumerate(rubric.get("vetoes") or []):
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not raw["id"].strip():
            raise InvalidInputError(N_("veto item %(i)s needs an id"), "rubric", i=i + 1)
        vetoes.append({"id": raw["id"].strip(), "text": str(raw.get("text", ""))[:300]})
    return {"criteria": criteria, "vetoes": vetoes}


def add_task(session: Session, exam_definition_id: int, kind: str, title: str, weight: float, actor: str, *,
             scenario_id: int | None = None, rubric: Any = None, raters_required: int = 3,
             spread_threshold: float = 10.0) -> PracticalTask:
    """Add a scenario or rated task to an exam definition's practical part."""
    if session.get(ExamDefinition, exam_definition_id) is None:
        raise NotFoundError(N_("exam definition %(id)s not found"), id=exam_definition_id)
    try:
        task_kind = TaskKind(kind)
    except ValueError:
        raise InvalidInputError(N_("task kind must be scenario or rated, got '%(kind)s'"), "kind",
                                kind=str(kind)[:40]) from None
    title = (title or "").strip()
    if not title or len(title) > 200:
        raise InvalidInputError(N_("a task needs a title of at most 200 characters"), "title")
    if not 0 < weight <= 1000:
        raise InvalidInputError(N_("weight must be greater than 0 (at most 1000)"), "weight")
    form = None
    if task_kind == TaskKind.scenario:
        if scenario_id is None:
            raise InvalidInputError(N_("a scenario task needs a scenario"), "scenario_id")
        get_scenario(session, scenario_id)
    else:
        scenario_id = None
        form = validate_rubric_form(rubric)
        if not 1 <= raters_required <= 15:
            raise InvalidInputError(N_("raters per candidate must be between 1 and 15"), "raters_required")
        if not 0 <= spread_threshold <= 100:
            raise InvalidInputError(N_("the spread threshold must be between 0 and 100"), "spread_threshold")
    position = len(tasks_of(session, exam_definition_id)) + 1
    task = PracticalTask(exam_definition_id=exam_definition_id, position=position, kind=task_kind, title=title,
                         weight=float(weight), scenario_id=scenario_id, rubric=form,
                         raters_required=raters_required, spread_threshold=float(spread_threshold),
                         created_by=actor)
    session.add(task)
    session.flush()
    audit.record(session, actor, "practical_task.added", "exam_definition", exam_definition_id,
                 {"task": task.id, "kind": task_kind.value, "title": title, "weight": task.weight,
                  "scenario_id": scenario_id})
    return task


# ---- attempts -----------------------------------------------------------------------------


def attempts_of(session: Session, candidate_session_id: int) -> list[PracticalAttempt]:
    return list(session.exec(select(PracticalAttempt).where(
        PracticalAttempt.candidate_session_id == candidate_session_id).order_by(PracticalAttempt.id)).all())


def get_attempt(session: Session, attempt_id: int) -> PracticalAttempt:
    attempt = session.get(PracticalAttempt, attempt_id)
    if attempt is None:
        raise NotFoundError(N_("practical attempt %(id)s not found"), id=attempt_id)
    return attempt


def owned_attempt(session: Session, attempt_id: int, candidate_id: int) -> PracticalAttempt:
    """The candidate's own attempt; another candidate's id is indistinguishable from a missing one."""
    attempt = session.get(PracticalAttempt, attempt_id)
    sitting = None if attempt is None else session.get(CandidateSession, attempt.candidate_session_id)
    if sitting is None or sitting.candidate_id != candidate_id:
        raise NotFoundError(N_("practical attempt %(id)s not found"), id=attempt_id)
    return attempt


def version_of(session: Session, attempt: PracticalAttempt) -> ScenarioVersion:
    version = session.get(ScenarioVersion, attempt.scenario_version_id)
    if version is None:
        raise NotFoundError(N_("practical attempt %(id)s has no scenario"), id=attempt.id)
    return version


def start_attempt(session: Session, sitting: CandidateSession, task_id: int, actor: str,
                  now: datetime) -> PracticalAttempt:
    """Start a scenario task: pin the scenario's current version (frozen), draw the seed, fix the deadline."""
    task = get_task(session, task_id)
    definition_id = _definition_id(session, sitting)
    if task.exam_definition_id != definition_id:
        raise NotFoundError(N_("practical task %(id)s not found"), id=task_id)
    if task.kind != TaskKind.scenario:
        raise IllegalTransitionError(N_("a rated task is scored by raters; there is nothing to start"))
    existing = session.exec(select(PracticalAttempt).where(PracticalAttempt.candidate_session_id == sitting.id,
                                                           PracticalAttempt.task_id == task.id)).first()
    if existing is not None:
        return existing  # starting twice resumes (a reload, a double click)
    version = get_version(session, task.scenario_id)
    program = program_of(version)
    version.frozen = True
    seed = secrets.randbits(62)
    limit = program.time_limit  # the scenario's own limit: its rubric may veto exceeding it
    attempt = PracticalAttempt(candidate_session_id=sitting.id, task_id=task.id, status=AttemptStatus.running,
                               scenario_version_id=version.id, seed=seed, started_at=now,
                               deadline=now + timedelta(seconds=limit))
    session.add_all([version, attempt])
    session.flush()
    progressed(session, sitting.id, actor, now, {"step": "started", "attempt": attempt.id, "task": task.id})
    audit.record(session, actor, "practical.started", "candidate_session", sitting.id,
                 {"attempt": attempt.id, "task": task.id, "scenario_version": version.id, "seed": seed,
                  "deadline": attempt.deadline.isoformat()})
    return attempt


def _definition_id(session: Session, sitting: CandidateSession) -> int:
    from engine.models import ExamSession

    return session.get(ExamSession, sitting.exam_session_id).exam_definition_id


def action_log(session: Session, attempt_id: int) -> list[PracticalAction]:
    return list(session.exec(select(PracticalAction).where(PracticalAction.attempt_id == attempt_id)
                             .order_by(PracticalAction.seq)).all())


def logged_actions(session: Session, attempt_id: int) -> list[LoggedAction]:
    return [LoggedAction(row.t, row.action, dict(row.args)) for row in action_log(session, attempt_id)]


def lock_attempt(session: Session, attempt: PracticalAttempt) -> None:
    """Re-read the attempt under a row lock (PostgreSQL; SQLite's BEGIN IMMEDIATE already
    serializes writers), so a request, a socket and the sweeper never both finish it."""
    session.refresh(attempt, with_for_update=True)


def elapsed(attempt: PracticalAttempt, now: datetime) -> float:
    return max(0.0, (now - attempt.started_at).total_seconds())


@dataclass(frozen=True)
class ActionReceipt:
    seq: int
    t: float
    action: str
    view: LiveView


def submit_action(session: Session, attempt: PracticalAttempt, action: Any, args: Any, actor: str,
                  now: datetime) -> ActionReceipt:
    """Append one action to the attempt's log at the server's time; ``finish`` scores the run."""
    lock_attempt(session, attempt)  # concurrent actions get consecutive sequence numbers
    if attempt.status != AttemptStatus.running:
        raise IllegalTransitionError(N_("this practical task has ended; no more actions are accepted"))
    if attempt.deadline is not None and now >= attempt.deadline:
        raise DeadlinePassedError(N_("the time for this practical task is over; the action was not accepted"))
    program = program_of(version_of(session, attempt))
    name, arguments = _checked_action(program, action, args)
    log = action_log(session, attempt.id)
    t = max(elapsed(attempt, now), log[-1].t if log else 0.0)
    t = min(t, program.time_limit)
    seq = (log[-1].seq if log else 0) + 1
    row = PracticalAction(attempt_id=attempt.id, seq=seq, t=t, action=name, args=arguments, actor=actor,
                          received_at=now)
    attempt.action_count = seq
    session.add_all([row, attempt])
    session.flush()
    audit.record(session, actor, "practical.action", "candidate_session", attempt.candidate_session_id,
                 {"attempt": attempt.id, "seq": seq, "t": t, "action": name, "args": arguments})
    progressed(session, attempt.candidate_session_id, actor, now,
               {"step": "operation", "attempt": attempt.id, "seq": seq, "action": name, "t": round(t, 3)})
    logged = [LoggedAction(r.t, r.action, dict(r.args)) for r in log] + [LoggedAction(t, name, arguments)]
    view = RUNS.view(run_key(session, attempt), program, logged, program.tick_of(t) * program.tick)
    if name == "finish" or view.ended:
        finish(session, attempt, actor, now)
    return ActionReceipt(seq, t, name, view)


def _checked_action(program: Program, action: Any, args: Any) -> tuple[str, dict[str, Any]]:
    if not isinstance(action, str) or action not in program.actions:
        raise InvalidInputError(N_("unknown action '%(action)s'"), "action", action=str(action)[:80])
    args = {} if args is None else args
    if not isinstance(args, dict) or len(json.dumps(args, default=str)) > MAX_ARGS_BYTES:
        raise InvalidInputError(N_("the arguments of %(action)s must be a small JSON object"), "args", action=action)
    try:
        program.actions[action].encode_args(args)
    except ActionRejectedError as exc:
        raise InvalidInputError(N_("action %(action)s: %(problem)s"), "args", action=action,
                                problem=str(exc)) from None
    return action, {key: args[key] for key in sorted(args)}


def live_view(session: Session, attempt: PracticalAttempt, now: datetime) -> LiveView:
    """The attempt's state on the server clock (or at its end once it is over)."""
    program = program_of(version_of(session, attempt))
    log = logged_actions(session, attempt.id)
    at = elapsed(attempt, now)
    if attempt.ended_at is not None:
        at = elapsed(attempt, attempt.ended_at)
    return RUNS.view(run_key(session, attempt), program, log, at)


def run_key(session: Session, attempt: PracticalAttempt) -> tuple[int, str, int]:
    """Which kept live run is this attempt's: its id, scenario version (SHA-256) and seed."""
    return attempt.id, version_of(session, attempt).sha256, attempt.seed


def settle_if_overdue(session: Session, attempt: PracticalAttempt, now: datetime) -> bool:
    """Score a running attempt whose deadline has passed; True when it was settled now."""
    if attempt.status != AttemptStatus.running or attempt.deadline is None or now < attempt.deadline:
        return False
    finish(session, attempt, "server", now)
    return True


def settle_overdue(session: Session, now: datetime) -> int:
    """Score every running attempt past its deadline (for a sweeper or the CLI)."""
    overdue = session.exec(select(PracticalAttempt).where(PracticalAttempt.status == AttemptStatus.running,
                                                          col(PracticalAttempt.deadline) <= now)).all()
    settled = 0
    for attempt in overdue:
        try:
            finish(session, attempt, "server", now)
            settled += 1
        except IllegalTransitionError:
            # Scores closed by an issued certificate: the attempt is scored, the part score
            # stays as it was; one such sitting must not stop the others from ending on time.
            continue
    return settled


def finish(session: Session, attempt: PracticalAttempt, actor: str, now: datetime) -> PracticalAttempt:
    """End the run, replay the whole log, store the score sheet, and update the part score."""
    lock_attempt(session, attempt)
    if attempt.status != AttemptStatus.running:
        return attempt
    program = program_of(version_of(session, attempt))
    # the kept live run carried to the end: the same trace as a replay of the stored log
    trace = RUNS.trace_to_end(run_key(session, attempt), program, logged_actions(session, attempt.id))
    sheet = score(program, trace)
    attempt.status = AttemptStatus.scored
    attempt.ended_at = min(now, attempt.deadline) if attempt.deadline else now
    attempt.ended_by = trace.ended_by
    attempt.score_sheet = json.loads(sheet.to_json(indent=None))
    attempt.score, attempt.veto = float(sheet.total), bool(sheet.vetoed)
    attempt.fingerprint = trace.fingerprint()
    session.add(attempt)
    session.flush()
    audit.record(session, actor, "practical.scored", "candidate_session", attempt.candidate_session_id,
                 {"attempt": attempt.id, "score": attempt.score, "veto": attempt.veto,
                  "vetoes": sheet.triggered_vetoes, "ended_by": trace.ended_by, "fingerprint": attempt.fingerprint})
    progressed(session, attempt.candidate_session_id, actor, now,
               {"step": "scored", "attempt": attempt.id, "score": attempt.score, "veto": attempt.veto})
    update_part_score(session, attempt.candidate_session_id, actor)
    return attempt


def progressed(session: Session, sitting_id: int, actor: str, now: datetime, data: dict[str, Any]) -> None:
    """A proctoring fact, so supervisors see the practical part in the sitting's timeline."""
    proctoring.append(session, sitting_id, EventKind.practical_progressed, actor, now, data)


# ---- the practical part score ---------------------------------------------------------------


@dataclass(frozen=True)
class PracticalResult:
    """The practical part of one sitting: weighted mean of final task scores, any veto fails."""

    complete: bool
    score: float | None
    veto: bool
    passed: bool | None
    tasks: list[tuple[PracticalTask, PracticalAttempt | None]]


def combine(scores: list[tuple[float, float, bool]]) -> tuple[float, bool]:
    """(weight, score 0–100, veto) per task → (weighted score rounded to 0.1, any veto)."""
    total_weight = sum(w for w, _s, _v in scores)
    value = sum(w * s for w, s, _v in scores) / total_weight
    return round(value, 1), any(v for _w, _s, v in scores)


def practical_result(session: Session, candidate_session_id: int) -> PracticalResult:
    sitting = session.get(CandidateSession, candidate_session_id)
    if sitting is None:
        raise NotFoundError(N_("exam sitting %(id)s not found"), id=candidate_session_id)
    tasks = tasks_of(session, _definition_id(session, sitting))
    attempts = {a.task_id: a for a in attempts_of(session, candidate_session_id)}
    pairs = [(task, attempts.get(task.id)) for task in tasks]
    done = [(t.weight, a.score, a.veto) for t, a in pairs if a is not None and a.status == AttemptStatus.scored]
    if not tasks or len(done) < len(tasks):
        return PracticalResult(False, None, any(v for _w, _s, v in done), False if any(v for *_x, v in done) else None,
                               pairs)
    value, veto = combine(done)
    return PracticalResult(True, value, veto, (not veto) and value >= PASS_MARK, pairs)


def update_part_score(session: Session, candidate_session_id: int, actor: str) -> PracticalResult:
    """Record the practical part score once every task of the part has its final score."""
    result = practical_result(session, candidate_session_id)
    if result.complete:
        certification.record_part_score(session, candidate_session_id, "practical", result.score, result.veto,
                                        actor)
    return result


# ---- replay -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplayReport:
    attempt: PracticalAttempt
    program: Program
    trace: Trace
    sheet: ScoreSheet
    stored_sheet: dict[str, Any] | None
    same_sheet: bool
    same_fingerprint: bool

    @property
    def matches(self) -> bool:
        return self.same_sheet and self.same_fingerprint


def replay_attempt(session: Session, attempt_id: int) -> ReplayReport:
    """Re-run a stored attempt from its seed and action log; compare with what was stored."""
    attempt = get_attempt(session, attempt_id)
    if attempt.scenario_version_id is None:
        raise InvalidInputError(N_("attempt %(id)s is a rated task; there is no simulation to replay"), "attempt",
                                id=attempt_id)
    program = program_of(version_of(session, attempt))
    try:
        trace = replay(program, logged_actions(session, attempt.id), attempt.seed)
    except SimulationError as exc:
        raise InvalidInputError(N_("the stored action log of attempt %(id)s cannot be replayed: %(problem)s"),
                                "attempt", id=attempt_id, problem=str(exc)) from None
    sheet = score(program, trace)
    fresh = json.loads(sheet.to_json(indent=None))
    return ReplayReport(attempt, program, trace, sheet, attempt.score_sheet,
                        same_sheet=attempt.score_sheet == fresh,
                        same_fingerprint=attempt.fingerprint == trace.fingerprint())
