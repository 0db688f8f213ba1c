"""Examiners' practical pages: scenario upload with validation, versions, dry runs with a
scripted action list, the practical tasks of exam definitions, and the replay of any
candidate's attempt on a timeline."""

from __future__ import annotations

import json
from datetime import datetime

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import PlainTextResponse, RedirectResponse
from sqlmodel import Session, select

from engine.errors import N_, InvalidInputError, NotFoundError
from engine.models import ExamDefinition, Role, User
from engine.practical import service as practical
from engine.practical.models import PracticalAttempt
from web.auth import allow
from web.deps import current_user, get_db, now
from web.templating import render

router = APIRouter(prefix="/examiner")
AUTHORS = (Role.examiner, Role.admin)
MAX_UPLOAD = practical.MAX_SCENARIO_BYTES


@router.get("/scenarios")
@allow(*AUTHORS)
def scenario_list(request: Request, db: Session = Depends(get_db)):
    return render(request, "examiner/scenarios/list.html", {"scenarios": practical.scenarios(db), "error": None})


@router.post("/scenarios")
@allow(*AUTHORS)
async def upload(request: Request, file: UploadFile | None = File(default=None), text: str = Form(default=""),
                 db: Session = Depends(get_db), user: User = Depends(current_user)):
    """Validate and store a scenario file as the next version; errors name file, line and field."""
    filename, source = "scenario.yaml", text
    if file is not None and file.filename:
        raw = await file.read(MAX_UPLOAD + 1)
        filename = file.filename
        try:
            source = raw.decode("utf-8")
        except UnicodeDecodeError:
            source = None
        if source is None:
            return _upload_error(request, db, N_("%(file)s is not UTF-8 text"), file=filename)
    if not source.strip():
        return _upload_error(request, db, N_("choose a scenario file or paste its text"))
    try:
        version = practical.upload_scenario(db, source, filename, user.username)
    except InvalidInputError as exc:
        db.rollback()
        return _upload_error(request, db, exc.template, **exc.params)
    db.commit()
    return RedirectResponse(f"/examiner/scenarios/{version.scenario_id}", status_code=303)


def _upload_error(request: Request, db: Session, template: str, **params):
    message = request.state.gettext(template, **params) if params else request.state.gettext(template)
    return render(request, "examiner/scenarios/list.html", {"scenarios": practical.scenarios(db), "error": message},
                  status_code=422)


@router.get("/scenarios/{scenario_id}")
@allow(*AUTHORS)
def scenario_page(request: Request, scenario_id: int, version: int | None = None, db: Session = Depends(get_db)):
    """A scenario's versions, the chosen version's outline, and the dry-run form."""
    return render(request, "examiner/scenarios/detail.html", _detail(db, scenario_id, version))


def _detail(db: Session, scenario_id: int, version_no: int | None, **extra) -> dict:
    scenario = practical.get_scenario(db, scenario_id)
    chosen = practical.get_version(db, scenario_id, version_no)
    program = practical.program_of(chosen)
    return {"scenario": scenario, "versions": practical.versions_of(db, scenario_id), "chosen": chosen,
            "program": program, "sheet": None, "actions_text": "", "seed": 0, "error": None, **extra}


@router.get("/scenarios/{scenario_id}/versions/{version_no}/source")
@allow(*AUTHORS)
def source(scenario_id: int, version_no: int, db: Session = Depends(get_db)):
    version = practical.get_version(db, scenario_id, version_no)
    return PlainTextResponse(version.source, media_type="text/yaml; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{version.filename}"'})


@router.post("/scenarios/{scenario_id}/dry-run")
@allow(*AUTHORS)
def dry_run(request: Request, scenario_id: int, actions: str = Form(default=""), seed: int = Form(default=0),
            version: int | None = Form(default=None), db: Session = Depends(get_db)):
    """Run a scripted action list against a version and show the score sheet (nothing is stored)."""
    context = _detail(db, scenario_id, version, actions_text=actions, seed=seed)
    try:
        if not 0 <= seed < 2**62:
            raise InvalidInputError(N_("the seed must be a whole number from 0 to 2^62"), "seed")
        log = practical.parse_actions_text(actions)
        sheet, trace = practical.dry_run(context["program"], log, seed)
    except InvalidInputError as exc:
        context["error"] = request.state.gettext(exc.template, **exc.params)
        return render(request, "examiner/scenarios/detail.html", context, status_code=422)
    context.update(sheet=sheet, timeline=trace.timeline())
    return render(request, "examiner/scenarios/detail.html", context)


# ---- practical tasks of exam definitions ------------------------------------------------------


@router.get("/practical")
@allow(*AUTHORS)
def practical_home(request: Request, db: Session = Depends(get_db)):
    """Exam definitions with their practical tasks, and the latest attempts to replay."""
    definitions = db.exec(select(ExamDefinition).order_by(ExamDefinition.code)).all()
    attempts = db.exec(select(PracticalAttempt).order_by(PracticalAttempt.id.desc()).limit(100)).all()
    return render(request, "examiner/scenarios/practical.html", {
        "definitions": [(d, practical.tasks_of(db, d.id)) for d in definitions], "attempts": attempts})


@router.get("/practical/definitions/{definition_id}")
@allow(*AUTHORS)
def tasks_page(request: Request, definition_id: int, db: Session = Depends(get_db)):
    return render(request, "examiner/scenarios/tasks.html", _tasks_context(db, definition_id))


def _tasks_context(db: Session, definition_id: int, **extra) -> dict:
    definition = db.get(ExamDefinition, definition_id)
    if definition is None:
        raise NotFoundError(N_("exam definition %(id)s not found"), id=definition_id)
    return {"definition": definition, "tasks": practical.tasks_of(db, definition_id),
            "scenarios": practical.scenarios(db), "error": None, "form": {}, **extra}


@router.post("/practical/definitions/{definition_id}")
@allow(*AUTHORS)
def add_task(request: Request, definition_id: int, kind: str = Form(), title: str = Form(),
             weight: float = Form(default=1.0), scenario_id: str = Form(default=""),
             rubric: str = Form(default=""), raters_required: int = Form(default=3),
             spread_threshold: float = Form(default=10.0), db: Session = Depends(get_db),
             user: User = Depends(current_user)):
    """Add a scenario task or a rated task (rubric as JSON) with its weight."""
    try:
        form = None
        if kind == "rated":
            try:
                form = json.loads(rubric or "null")
            except ValueError as exc:
                raise InvalidInputError(N_("the rubric is not valid JSON: %(problem)s"), "rubric",
                                        problem=str(exc)) from None
        chosen = int(scenario_id) if scenario_id.strip().isdigit() else None
        practical.add_task(db, definition_id, kind, title, weight, user.username, scenario_id=chosen,
                           rubric=form, raters_required=raters_required, spread_threshold=spread_threshold)
    except InvalidInputError as exc:
        db.rollback()
        context = _tasks_context(db, definition_id, error=request.state.gettext(exc.template, **exc.params),
                                 form={"kind": kind, "title": title, "weight": weight, "rubric": rubric})
        return render(request, "examiner/scenarios/tasks.html", context, status_code=422)
    db.commit()
    return RedirectResponse(f"/examiner/practical/definitions/{definition_id}", status_code=303)


@router.get("/practical/attempts/{attempt_id}")
@allow(*AUTHORS)
def replay_page(request: Request, attempt_id: int, db: Session = Depends(get_db), at: datetime = Depends(now)):
    """Replay a candidate's attempt from its seed and log: timeline, chart data, sheet, and equality."""
    attempt = practical.get_attempt(db, attempt_id)
    if practical.settle_if_overdue(db, attempt, at):
        db.commit()
    report = practical.replay_attempt(db, attempt_id)
    program = report.program
    shown = [v.name for v in program.variables if not v.hidden and v.type.kind in ("real", "int")][:4]
    return render(request, "examiner/scenarios/replay.html", {
        "attempt": attempt, "report": report, "timeline": report.trace.timeline(),
        "series": report.trace.series(shown), "shown": shown,
        "log": practical.action_log(db, attempt_id)})
