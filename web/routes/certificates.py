"""Admin pages for certificates: list, numbering profiles, a sitting's outcomes and issue,
revocation with a reason, PDF download; and registration of a sitting's candidates by XLSX.

A refusal (a result that did not pass, a malformed code, a missing reason) comes back on
the same page with the reason and its 4xx status; nothing is committed unless the whole
operation succeeded.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from engine import administration
from engine.certification import registration, service
from engine.certification.errors import NotPassedError, RegistrationFileError
from engine.certification.pdf import render_pdf, sheet_for
from engine.errors import N_, DeliveryError, NotFoundError
from engine.models import Role, User
from web.auth import allow
from web.deps import current_user, get_db, now
from web.errors import message_of, status_for
from web.templating import render

router = APIRouter(prefix="/admin/certificates")
NUMBERING_FIELDS = ("body_code", "province_code", "site_serial", "kind_letter")


def _refusal(request: Request, exc: DeliveryError, fields: tuple[str, ...] = ()) -> tuple[dict[str, str], int]:
    """The message beside the field it names when the form has that field, else above the form."""
    field = getattr(exc, "field", None)
    return {field if field in fields else "_form": _message(request, exc)}, status_for(exc)


def _message(request: Request, exc: DeliveryError) -> str:
    """The refusal in the user's language, a result's shortfalls each translated too."""
    if isinstance(exc, NotPassedError) and exc.shortfalls:
        _ = request.state.gettext
        reasons = "; ".join(_(s.message, **s.params) for s in exc.shortfalls)
        return _(exc.template, **{**exc.params, "reasons": reasons})
    return message_of(request, exc)


def _index(request: Request, db: Session, at: datetime, errors: dict | None = None, failed: int | None = None,
           values: dict | None = None, status_code: int = 200):
    return render(request, "certificates/index.html", {
        "certificates": service.certificates(db), "tree": administration.institution_tree(db),
        "profiles": service.numbering_profiles(db), "summaries": administration.exam_session_summaries(db, at.date()),
        "errors": errors or {}, "failed": failed, "values": values or {}}, status_code=status_code)


@router.get("")
@allow(Role.admin)
def index(request: Request, db: Session = Depends(get_db), at: datetime = Depends(now)):
    """Issued certificates, numbering profiles and the exam sessions to issue from."""
    return _index(request, db, at)


@router.post("/numbering/{institution_id}")
@allow(Role.admin)
def set_numbering(request: Request, institution_id: int, body_code: str = Form(""), province_code: str = Form(""),
                  site_serial: str = Form(""), kind_letter: str = Form(""), db: Session = Depends(get_db),
                  admin: User = Depends(current_user), at: datetime = Depends(now)):
    """Set an institution's filed codes used in its certificate numbers."""
    try:
        service.set_numbering_profile(db, institution_id, body_code, province_code, site_serial, kind_letter,
                                      admin.username)
    except NotFoundError:
        raise
    except DeliveryError as exc:
        db.rollback()
        errors, status = _refusal(request, exc, NUMBERING_FIELDS)
        values = {"body_code": body_code, "province_code": province_code, "site_serial": site_serial,
                  "kind_letter": kind_letter}
        return _index(request, db, at, errors, institution_id, values, status)
    db.commit()
    return RedirectResponse(f"/admin/certificates#numbering-{institution_id}", status_code=303)


# ---- one exam session: outcomes, part scores, issue -------------------------------------------------


def _sitting_page(request: Request, db: Session, exam_session_id: int, errors: dict | None = None,
                  values: dict | None = None, status_code: int = 200, issued: int | None = None,
                  problems: list | None = None, checked: int | None = None):
    exam_session = administration.get_exam_session(db, exam_session_id)
    registered = request.query_params.get("registered")
    return render(request, "certificates/session.html", {
        "exam_session": exam_session, "outcomes": service.outcomes_for_exam_session(db, exam_session_id),
        "parts": service.RECORDED_PARTS, "errors": errors or {}, "values": values or {}, "issued": issued,
        "problems": problems or [], "checked": checked,
        "registered": int(registered) if registered and registered.isdigit() else None}, status_code=status_code)


@router.get("/sessions/{exam_session_id}")
@allow(Role.admin)
def exam_session(request: Request, exam_session_id: int, db: Session = Depends(get_db)):
    """Each candidate's part scores, the verdict with its reasons, and the certificate if issued."""
    issued = request.query_params.get("issued")
    return _sitting_page(request, db, exam_session_id, issued=int(issued) if issued and issued.isdigit() else None)


@router.post("/sessions/{exam_session_id}/scores")
@allow(Role.admin)
def record_score(request: Request, exam_session_id: int, candidate_session_id: int = Form(...),
                 part: str = Form(""), score: str = Form(""), veto: bool = Form(False),
                 db: Session = Depends(get_db), admin: User = Depends(current_user)):
    """Record a practical or comprehensive-review score (a correction replaces it; both are audited)."""
    administration.get_exam_session(db, exam_session_id)
    values = {"candidate_session_id": candidate_session_id, "part": part, "score": score}
    try:
        value = float(score.strip().replace(",", "."))
    except ValueError:
        message = request.state.gettext("enter the score as a number from 0 to 100")
        return _sitting_page(request, db, exam_session_id, {"score": message}, values, 422)
    try:
        _in_session(db, exam_session_id, candidate_session_id)
        service.record_part_score(db, candidate_session_id, part, value, veto, admin.username)
    except DeliveryError as exc:
        db.rollback()
        errors, status = _refusal(request, exc, ("part", "score"))
        return _sitting_page(request, db, exam_session_id, errors, values, status)
    db.commit()
    return RedirectResponse(f"/admin/certificates/sessions/{exam_session_id}", status_code=303)


@router.post("/sessions/{exam_session_id}/issue")
@allow(Role.admin)
def issue_all(request: Request, exam_session_id: int, db: Session = Depends(get_db),
              admin: User = Depends(current_user), at: datetime = Depends(now)):
    """Issue certificates for every passed sitting of the exam session not yet certified."""
    try:
        report = service.issue_for_exam_session(db, exam_session_id, admin.username, at.date())
    except NotFoundError:
        raise
    except DeliveryError as exc:
        db.rollback()
        errors, status = _refusal(request, exc)
        return _sitting_page(request, db, exam_session_id, errors, None, status)
    db.commit()
    return RedirectResponse(f"/admin/certificates/sessions/{exam_session_id}?issued={len(report.issued)}",
                            status_code=303)


@router.post("/sittings/{sitting_id}/issue")
@allow(Role.admin)
def issue_one(request: Request, sitting_id: int, db: Session = Depends(get_db),
              admin: User = Depends(current_user), at: datetime = Depends(now)):
    """Issue the certificate of one passed sitting; a sitting that did not pass is refused (409) with why."""
    found = service.outcome_of(db, sitting_id)
    try:
        service.issue(db, sitting_id, admin.username, at.date())
    except DeliveryError as exc:
        db.rollback()
        return _sitting_page(request, db, found.sitting.exam_session_id, {"_form": _message(request, exc)},
                             None, status_for(exc))
    db.commit()
    return RedirectResponse(f"/admin/certificates/sessions/{found.sitting.exam_session_id}?issued=1",
                            status_code=303)


MAX_UPLOAD_BYTES = 5 * 1024 * 1024


@router.post("/sessions/{exam_session_id}/registrations")
@allow(Role.admin)
async def import_registrations(request: Request, exam_session_id: int, file: UploadFile | None = File(None),
                               dry_run: bool = Form(False), db: Session = Depends(get_db),
                               admin: User = Depends(current_user), at: datetime = Depends(now)):
    """Register candidates from an XLSX file: all or nothing, every problem listed by row and column."""
    administration.get_exam_session(db, exam_session_id)
    content = await file.read(MAX_UPLOAD_BYTES + 1) if file is not None else b""
    name = (file.filename or "") if file is not None else ""
    if not content or len(content) > MAX_UPLOAD_BYTES:
        message = request.state.gettext("choose an XLSX file of at most 5 MB")
        return _sitting_page(request, db, exam_session_id, {"file": message}, None, 422)
    try:
        report = registration.import_registrations(db, content, exam_session_id, admin.username, at.date(),
                                                   dry_run=dry_run, source=name)
    except RegistrationFileError as exc:
        db.rollback()
        return _sitting_page(request, db, exam_session_id, {"_form": message_of(request, exc)}, None, 422,
                             problems=exc.problems)
    if dry_run:
        db.rollback()
        return _sitting_page(request, db, exam_session_id, checked=len(report.rows))
    db.commit()
    return RedirectResponse(f"/admin/certificates/sessions/{exam_session_id}?registered={len(report.enrolled)}",
                            status_code=303)


def _in_session(db: Session, exam_session_id: int, candidate_session_id: int) -> None:
    found = service.outcome_of(db, candidate_session_id)
    if found.sitting.exam_session_id != exam_session_id:
        raise NotFoundError(N_("exam sitting %(id)s not found"), id=candidate_session_id)


# ---- one certificate -------------------------------------------------------------------------------------


def _certificate_page(request: Request, db: Session, certificate_id: int, errors: dict | None = None,
                      values: dict | None = None, status_code: int = 200):
    certificate = service.get_certificate(db, certificate_id)
    return render(request, "certificates/detail.html", {
        "certificate": certificate, "body_name": service.institution_name(db, certificate),
        "verify_url": _verify_url(request, certificate.number), "errors": errors or {}, "values": values or {}},
        status_code=status_code)


def _verify_url(request: Request, number: str) -> str:
    return str(request.url_for("verify_number", number=number))


@router.get("/{certificate_id}")
@allow(Role.admin)
def certificate(request: Request, certificate_id: int, db: Session = Depends(get_db)):
    """One certificate, its status, and the form to revoke it."""
    return _certificate_page(request, db, certificate_id)


@router.post("/{certificate_id}/revoke")
@allow(Role.admin)
def revoke(request: Request, certificate_id: int, reason: str = Form(""), db: Session = Depends(get_db),
           admin: User = Depends(current_user), at: datetime = Depends(now)):
    """Revoke a certificate; the reason is required and kept in the audit log."""
    service.get_certificate(db, certificate_id)
    try:
        service.revoke(db, certificate_id, reason, admin.username, at)
    except DeliveryError as exc:
        db.rollback()
        errors, status = _refusal(request, exc, ("reason",))
        return _certificate_page(request, db, certificate_id, errors, {"reason": reason}, status)
    db.commit()
    return RedirectResponse(f"/admin/certificates/{certificate_id}", status_code=303)


@router.get("/{certificate_id}/pdf")
@allow(Role.admin)
def certificate_pdf(request: Request, certificate_id: int, db: Session = Depends(get_db)):
    """The certificate as PDF, with a QR code to its public verification page."""
    found = service.get_certificate(db, certificate_id)
    pdf = render_pdf(sheet_for(found, service.institution_name(db, found), _verify_url(request, found.number)))
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="certificate-{found.number}.pdf"'})
