"""Raters' pages (考评员): each rater's own forms only, the chief rater's adjudications, and
for administrators the assignment of raters and the agreement report (ICC, severity)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlmodel import Session, select

from engine.errors import N_, InvalidInputError
from engine.models import CandidateSession, ExamSession, Role, User
from engine.practical import raters
from engine.practical import service as practical
from engine.practical.models import PracticalAttempt
from web.auth import allow
from web.deps import current_user, get_db, now
from web.templating import render

router = APIRouter(prefix="/rating")


@router.get("")
@allow(Role.examiner)
def my_forms(request: Request, db: Session = Depends(get_db), user: User = Depends(current_user)):
    """The signed-in rater's forms (never a colleague's scores) and their adjudication queue."""
    return render(request, "rating/home.html", {"forms": raters.my_forms(db, user.id),
                                                "queue": raters.adjudication_queue(db, user.id)})


@router.get("/forms/{assignment_id}")
@allow(Role.examiner)
def form_page(request: Request, assignment_id: int, db: Session = Depends(get_db),
              user: User = Depends(current_user)):
    return render(request, "rating/form.html", {"form": raters.my_form(db, assignment_id, user.id), "error": None,
                                                "values": {}})


@router.post("/forms/{assignment_id}")
@allow(Role.examiner)
async def submit_form(request: Request, assignment_id: int, db: Session = Depends(get_db),
                      user: User = Depends(current_user), at: datetime = Depends(now)):
    """Submit the rubric form once: ``score_<criterion>`` fields, ``veto`` checkboxes, a comment."""
    data = await request.form()
    scores = {key[len("score_"):]: value for key, value in data.items() if key.startswith("score_")}
    vetoes = [str(v) for v in data.getlist("veto")]
    comment = str(data.get("comment", ""))

    def work():
        try:
            raters.submit(db, assignment_id, user.id, scores, vetoes, comment, user.username, at)
        except InvalidInputError as exc:
            db.rollback()
            return render(request, "rating/form.html", {"form": raters.my_form(db, assignment_id, user.id),
                                                        "error": request.state.gettext(exc.template, **exc.params),
                                                        "values": scores}, status_code=422)
        db.commit()
        return RedirectResponse("/rating", status_code=303)

    import anyio.to_thread

    return await anyio.to_thread.run_sync(work)


@router.post("/attempts/{attempt_id}/adjudicate")
@allow(Role.examiner)
def adjudicate(request: Request, attempt_id: int, score: float = Form(), note: str = Form(default=""),
               veto: bool = Form(default=False), db: Session = Depends(get_db), user: User = Depends(current_user),
               at: datetime = Depends(now)):
    """The chief rater's decision on a task whose raters disagreed beyond the threshold."""
    raters.adjudicate(db, attempt_id, user.id, score, veto, note, user.username, at)
    db.commit()
    return RedirectResponse("/rating", status_code=303)


# ---- administrators: assignment and the agreement report --------------------------------------


@router.get("/tasks/{task_id}")
@allow(Role.admin)
def task_page(request: Request, task_id: int, db: Session = Depends(get_db)):
    return render(request, "rating/task.html", _task_context(db, task_id))


def _task_context(db: Session, task_id: int, **extra) -> dict:
    task = practical.get_task(db, task_id)
    sittings = db.exec(select(CandidateSession).join(ExamSession, ExamSession.id == CandidateSession.exam_session_id)
                       .where(ExamSession.exam_definition_id == task.exam_definition_id)
                       .order_by(CandidateSession.id)).all()
    attempts = {a.candidate_session_id: a for a in db.exec(
        select(PracticalAttempt).where(PracticalAttempt.task_id == task.id)).all()}
    examiners = db.exec(select(User).where(User.role == Role.examiner, User.active).order_by(User.username)).all()
    return {"task": task, "sittings": sittings, "attempts": attempts, "examiners": examiners,
            "report": raters.report(db, task_id), "error": None, **extra}


@router.post("/tasks/{task_id}/assign")
@allow(Role.admin)
async def assign(request: Request, task_id: int, db: Session = Depends(get_db), user: User = Depends(current_user),
                 at: datetime = Depends(now)):
    """Assign the configured number of raters (and optionally a chief) to one candidate's task."""
    data = await request.form()

    def number(raw, field: str) -> int:
        try:
            return int(str(raw))
        except ValueError:
            raise InvalidInputError(N_("%(name)s must be a number"), field, name=field) from None

    def work():
        try:
            sitting_id = number(data.get("sitting_id", ""), "sitting_id")
            rater_ids = [number(v, "raters") for v in data.getlist("raters")]
            chief = data.get("chief_id") or None
            raters.assign(db, sitting_id, task_id, rater_ids, number(chief, "chief_id") if chief else None,
                          user.username, at)
        except InvalidInputError as exc:
            db.rollback()
            return render(request, "rating/task.html", _task_context(
                db, task_id, error=request.state.gettext(exc.template, **exc.params)), status_code=422)
        db.commit()
        return RedirectResponse(f"/rating/tasks/{task_id}", status_code=303)

    import anyio.to_thread

    return await anyio.to_thread.run_sync(work)
