"""The public complaints and reports form (投诉举报): anyone may file, anonymously if they wish.

Filing is rate-limited per client address like the verification page (moving window,
``SKILLCERT_COMPLAINT_RATE_LIMIT``, default 5/hour; Redis when configured), so the form
cannot be used to flood the supervisors' queue. The answer shows the reference to quote.
"""

from __future__ import annotations

import os

from fastapi import APIRouter, Depends, Form, Request
from sqlmodel import Session, select

from engine.errors import DeliveryError
from engine.models import Institution
from engine.quality import complaints
from web.auth import public
from web.deps import get_db, now
from web.errors import message_of, status_for
from web.routes.verify import VerifyThrottle
from web.templating import render

router = APIRouter(prefix="/complaints")
DEFAULT_LIMIT = "5/hour"
FIELDS = ("institution_id", "category", "subject", "body", "contact")


def _throttle(request: Request) -> VerifyThrottle:
    state = request.app.state
    if getattr(state, "complaint_throttle", None) is None:
        limit = os.environ.get("SKILLCERT_COMPLAINT_RATE_LIMIT", DEFAULT_LIMIT)
        state.complaint_throttle = VerifyThrottle(limit, state.settings.redis_url)
    return state.complaint_throttle


def _form(request: Request, db: Session, values: dict | None = None, errors: dict | None = None,
          status_code: int = 200, headers: dict | None = None):
    return render(request, "complaints/form.html", {
        "institutions": db.exec(select(Institution).order_by(Institution.name)).all(),
        "categories": complaints.CATEGORY_LABELS, "values": values or {}, "errors": errors or {}},
        status_code=status_code, headers={"Cache-Control": "no-store", **(headers or {})})


@router.get("")
@public
def complaint_form(request: Request, db: Session = Depends(get_db)):
    """The intake form."""
    return _form(request, db)


@router.post("")
@public
def file_complaint(request: Request, institution_id: str = Form(""), category: str = Form(""),
                   subject: str = Form(""), body: str = Form(""), contact: str = Form(""),
                   db: Session = Depends(get_db), at=Depends(now)):
    """File a complaint; the reply names the reference."""
    values = {"institution_id": institution_id, "category": category, "subject": subject, "body": body,
              "contact": contact}
    client = request.client.host if request.client else "unknown"
    throttle = _throttle(request)
    if not throttle.take(client):
        message = request.state.gettext("Too many complaints from your address. Try again later.")
        return _form(request, db, values, {"_form": message}, 429, {"Retry-After": str(throttle.retry_after(client))})
    chosen = int(institution_id) if institution_id.strip().isdigit() else None
    try:
        filed = complaints.submit(db, chosen, category, subject, body, contact, at)
    except DeliveryError as exc:
        db.rollback()
        field = exc.field if exc.field in FIELDS else "_form"
        return _form(request, db, values, {field: message_of(request, exc)}, status_for(exc))
    db.commit()
    return render(request, "complaints/received.html", {"reference": filed.reference},
                  headers={"Cache-Control": "no-store"})
