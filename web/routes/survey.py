"""The post-exam satisfaction survey (满意度调查): anonymous answers from candidates, and the
summary per institution for administrators."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlmodel import Session

from engine import delivery
from engine.errors import DeliveryError, NotFoundError
from engine.models import Role, User
from engine.results import service as results
from web.auth import allow
from web.deps import current_user, get_db
from web.errors import message_of, status_for
from web.templating import render

router = APIRouter()


def _form(request: Request, db: Session, user: User, sitting_id: int, errors: dict | None = None,
          values: dict | None = None, status_code: int = 200):
    candidate = delivery.candidate_for_user(db, user.id)
    sitting = delivery.owned_session(db, sitting_id, candidate.id)
    done = sitting.id in {line.sitting.id for line in results.results_for_candidate(db, candidate.id)
                          if line.survey_done}
    return render(request, "candidate/survey.html", {
        "sitting": sitting, "questions": results.SURVEY_QUESTIONS, "done": done, "errors": errors or {},
        "values": values or {}}, status_code=status_code)


@router.get("/candidate/survey/{sitting_id}")
@allow(Role.candidate)
def survey(request: Request, sitting_id: int, db: Session = Depends(get_db), user: User = Depends(current_user)):
    """The survey form for one finished sitting (answers are not linked to the candidate)."""
    return _form(request, db, user, sitting_id)


@router.post("/candidate/survey/{sitting_id}")
@allow(Role.candidate)
def answer(request: Request, sitting_id: int, organisation: str = Form(""), venue: str = Form(""),
           staff: str = Form(""), fairness: str = Form(""), overall: str = Form(""), comment: str = Form(""),
           db: Session = Depends(get_db), user: User = Depends(current_user)):
    """Store the answer anonymously; a second answer for the sitting is refused."""
    ratings = {"organisation": organisation, "venue": venue, "staff": staff, "fairness": fairness,
               "overall": overall}  # the keys of results.SURVEY_QUESTIONS
    candidate = delivery.candidate_for_user(db, user.id)
    try:
        results.submit_survey(db, candidate.id, sitting_id, ratings, comment)
    except NotFoundError:
        raise
    except DeliveryError as exc:
        db.rollback()
        field = exc.field if exc.field in results.SURVEY_QUESTIONS or exc.field == "comment" else "_form"
        return _form(request, db, user, sitting_id, {field: message_of(request, exc)},
                     {**ratings, "comment": comment}, status_for(exc))
    db.commit()
    return RedirectResponse(f"/candidate/survey/{sitting_id}?thanks=1", status_code=303)


@router.get("/admin/surveys")
@allow(Role.admin)
def summary(request: Request, db: Session = Depends(get_db)):
    """Mean ratings per institution and question, with the comments."""
    return render(request, "admin/surveys.html", {"summaries": results.survey_summary(db),
                                                  "questions": results.SURVEY_QUESTIONS})
