"""Quality supervision (质量督导) for supervisors and administrators: the indicator dashboard,
one institution's indicators with charts and its evaluation report (PDF), suspension
(administrators), certificate statistics, archive completeness with export, and the
complaints workflow. The indicators and the outlier rule are in ``engine/quality``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, select

from engine import administration
from engine.archive import bundle, completeness
from engine.errors import N_, DeliveryError, InvalidInputError, NotFoundError
from engine.models import Candidate, CandidateSession, Institution, Role, User
from engine.quality import complaints, indicators, statistics, suspension
from engine.quality.indicators import Period
from engine.quality.report_pdf import render_report
from itembank.levels import LEVEL_NAMES_EN, LEVEL_NAMES_ZH
from web.auth import allow
from web.deps import current_user, get_db, now
from web.errors import message_of, status_for
from web.templating import render

router = APIRouter(prefix="/quality")
# Values the templates translate (``_(value)``), listed so that message extraction finds them.
DYNAMIC_MESSAGES = (N_("received"), N_("triaged"), N_("assigned"), N_("resolved"), N_("dismissed"),
                    N_("low"), N_("medium"), N_("high"), N_("present"), N_("missing"), N_("not_applicable"),
                    N_("none"))
SUPERVISORS = (Role.supervisor, Role.admin)
DEFAULT_DAYS = 365


def period_of(start: str, end: str, today: date) -> Period:
    """The period from the query (YYYY-MM-DD, end exclusive); by default the last 365 days up to today."""
    try:
        first = date.fromisoformat(start) if start else today - timedelta(days=DEFAULT_DAYS - 1)
        last = date.fromisoformat(end) if end else today + timedelta(days=1)
    except ValueError:
        raise InvalidInputError(N_("dates are written YYYY-MM-DD"), "start") from None
    if last <= first:
        raise InvalidInputError(N_("the period must end after it starts"), "end")
    if (last - first).days > 3660:
        raise InvalidInputError(N_("the period may span at most ten years"), "end")
    return Period(first, last)


def _institution(db: Session, institution_id: int) -> Institution:
    institution = db.get(Institution, institution_id)
    if institution is None:
        raise NotFoundError(N_("institution %(id)s not found"), id=institution_id)
    return institution


def _query(period: Period) -> str:
    return f"start={period.start.isoformat()}&end={period.end.isoformat()}"


# ---- dashboard and one institution ---------------------------------------------------------------


@router.get("")
@allow(*SUPERVISORS)
def dashboard(request: Request, start: str = "", end: str = "", db: Session = Depends(get_db),
              at: datetime = Depends(now)):
    """Every institution's indicators in the period, outliers highlighted, with a pass-rate chart."""
    period = period_of(start, end, at.date())
    rows = indicators.all_indicators(db, period)
    return render(request, "quality/dashboard.html", {
        "rows": rows, "period": period, "query": _query(period), "z_limit": indicators.Z_LIMIT,
        "min_n": indicators.MIN_N, "pass_chart": _pass_rate_chart(request, rows)})


def _pass_rate_chart(request: Request, rows: list[indicators.Indicators]) -> dict:
    """Bars: each institution's pass rate; line: the province's pooled rate."""
    _ = request.state.gettext
    shown = [row for row in rows if row.overall.n]
    decided, passed = sum(r.overall.n for r in shown), sum(r.overall.passed for r in shown)
    province = round(100 * passed / decided, 1) if decided else None
    colours = ["#c0392b" if row.overall.outlier else "#2e6da4" for row in shown]
    return {"type": "bar", "data": {
        "labels": [row.institution.code for row in shown],
        "datasets": [{"label": _("Pass rate (%)"), "data": [round(100 * row.overall.rate, 1) for row in shown],
                      "backgroundColor": colours},
                     {"type": "line", "label": _("Province (%)"), "data": [province] * len(shown),
                      "borderColor": "#555", "pointRadius": 0}]},
        "options": {"scales": {"y": {"min": 0, "max": 100}}}}


def _institution_page(request: Request, db: Session, institution: Institution, period: Period,
                      errors: dict | None = None, status_code: int = 200):
    found = indicators.institution_indicators(db, institution, period)
    today = request.app.state.clock().date()
    return render(request, "quality/institution.html", {
        "found": found, "period": period, "query": _query(period), "errors": errors or {},
        "charts": _institution_charts(request, found),
        "history": suspension.history(db, institution.id),
        "complaints": [line for line in complaints.listing(db, today)
                       if line.complaint.institution_id == institution.id],
    }, status_code=status_code)


def _institution_charts(request: Request, found: indicators.Indicators) -> dict:
    _ = request.state.gettext
    bins = [f"{10 * i}–{10 * i + 9 if i < 9 else 100}" for i in range(indicators.BINS)]
    names = LEVEL_NAMES_ZH if request.state.locale == "zh_CN" else LEVEL_NAMES_EN
    groups = [f"{g.occupation} {names.get(g.level, g.level)}" for g in found.groups]
    return {
        "scores": {"type": "bar", "data": {"labels": bins, "datasets": [
            {"label": _("Theory"), "data": found.theory_histogram, "backgroundColor": "#2e6da4"},
            {"label": _("Practical"), "data": found.practical_histogram, "backgroundColor": "#e67e22"}]}},
        "groups": {"type": "bar", "data": {"labels": groups, "datasets": [
            {"label": _("This institution (%)"), "data": [_pct(g.rate) for g in found.groups],
             "backgroundColor": ["#c0392b" if g.outlier else "#2e6da4" for g in found.groups]},
            {"label": _("Other institutions (%)"), "data": [_pct(g.others_rate) for g in found.groups],
             "backgroundColor": "#95a5a6"}]}, "options": {"scales": {"y": {"min": 0, "max": 100}}}},
    }


def _pct(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 1)


@router.get("/institutions/{institution_id}")
@allow(*SUPERVISORS)
def institution_page(request: Request, institution_id: int, start: str = "", end: str = "",
                     db: Session = Depends(get_db), at: datetime = Depends(now)):
    """One institution: indicators against the province, score distributions, bank health, suspension."""
    return _institution_page(request, db, _institution(db, institution_id), period_of(start, end, at.date()))


@router.get("/institutions/{institution_id}/report.pdf")
@allow(*SUPERVISORS)
def evaluation_report(request: Request, institution_id: int, start: str = "", end: str = "",
                      db: Session = Depends(get_db), at: datetime = Depends(now)):
    """The periodic evaluation report (定期评估报告) as PDF."""
    institution = _institution(db, institution_id)
    found = indicators.institution_indicators(db, institution, period_of(start, end, at.date()))
    pdf = render_report(found, at.date().isoformat())
    name = f"evaluation-{institution.code}-{found.period.start.isoformat()}.pdf"
    return Response(pdf, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'})


def _suspension_change(request: Request, db: Session, institution_id: int, reason: str, user: User,
                       at: datetime, lift: bool):
    institution = _institution(db, institution_id)
    try:
        change = suspension.lift if lift else suspension.suspend
        change(db, institution.id, reason, user.username, at)
    except DeliveryError as exc:
        db.rollback()
        period = period_of("", "", at.date())
        return _institution_page(request, db, institution, period, {"reason": message_of(request, exc)},
                                 status_for(exc))
    db.commit()
    return RedirectResponse(f"/quality/institutions/{institution.id}#suspension", status_code=303)


@router.post("/institutions/{institution_id}/suspend")
@allow(Role.admin)
def suspend(request: Request, institution_id: int, reason: str = Form(""), db: Session = Depends(get_db),
            user: User = Depends(current_user), at: datetime = Depends(now)):
    """Suspend the institution from certifying (no new sittings can be scheduled); audited."""
    return _suspension_change(request, db, institution_id, reason, user, at, lift=False)


@router.post("/institutions/{institution_id}/lift")
@allow(Role.admin)
def lift(request: Request, institution_id: int, reason: str = Form(""), db: Session = Depends(get_db),
         user: User = Depends(current_user), at: datetime = Depends(now)):
    """Lift the institution's suspension; audited."""
    return _suspension_change(request, db, institution_id, reason, user, at, lift=True)


# ---- certificate statistics -------------------------------------------------------------------------------


@router.get("/statistics")
@allow(*SUPERVISORS)
def certificate_statistics(request: Request, start: str = "", end: str = "", db: Session = Depends(get_db),
                           at: datetime = Depends(now)):
    """Certificates by occupation, level, institution kind and month of issue."""
    period = period_of(start, end, at.date())
    stats = statistics.certificate_statistics(db, period)
    _ = request.state.gettext
    kinds = [(_(kind), count) for kind, count in stats.by_institution_kind]
    names = LEVEL_NAMES_ZH if request.state.locale == "zh_CN" else LEVEL_NAMES_EN
    levels = [(names.get(level, level), count) for level, count in stats.by_level]
    return render(request, "quality/statistics.html", {
        "stats": stats, "period": period, "query": _query(period), "charts": {
            "month": _simple_chart("line", stats.by_month, _("Certificates issued")),
            "occupation": _simple_chart("bar", stats.by_occupation, _("Certificates")),
            "level": _simple_chart("bar", levels, _("Certificates")),
            "kind": _simple_chart("doughnut", kinds, _("Certificates"))}})


def _simple_chart(kind: str, pairs: list[tuple[str, int]], label: str) -> dict:
    palette = ["#2e6da4", "#e67e22", "#27ae60", "#8e44ad", "#c0392b", "#16a085", "#7f8c8d"]
    return {"type": kind, "data": {"labels": [name for name, _count in pairs], "datasets": [
        {"label": label, "data": [count for _name, count in pairs],
         "backgroundColor": palette if kind == "doughnut" else palette[0], "borderColor": palette[0]}]},
        "options": {"plugins": {"legend": {"display": kind == "doughnut"}}}}


# ---- archive completeness ------------------------------------------------------------------------------------


@router.get("/archive")
@allow(*SUPERVISORS)
def archive_sessions(request: Request, db: Session = Depends(get_db), at: datetime = Depends(now)):
    """Exam sessions, to inspect the completeness of each sitting's evidence archive."""
    return render(request, "quality/archive.html", {
        "summaries": administration.exam_session_summaries(db, at.date())})


@router.get("/archive/sessions/{exam_session_id}")
@allow(*SUPERVISORS)
def archive_session(request: Request, exam_session_id: int, db: Session = Depends(get_db)):
    """Each sitting of the exam session with every archive part: present, missing or not applicable."""
    exam_session = administration.get_exam_session(db, exam_session_id)
    rows = completeness.of_exam_session(db, exam_session_id)
    names = dict(db.exec(select(CandidateSession.id, Candidate.name)
                         .join(Candidate, Candidate.id == CandidateSession.candidate_id)
                         .where(CandidateSession.exam_session_id == exam_session_id)).all())
    return render(request, "quality/archive_session.html", {
        "exam_session": exam_session, "rows": rows, "names": names,
        "parts": rows[0].parts if rows else []})


@router.get("/archive/sittings/{sitting_id}/export")
@allow(*SUPERVISORS)
def archive_export(request: Request, sitting_id: int, db: Session = Depends(get_db),
                   user: User = Depends(current_user)):
    """Download the sitting's evidence archive (ZIP); the export is written to the audit log."""
    archive = bundle.export(db, sitting_id, str(request.base_url).rstrip("/"))
    bundle.record_export(db, sitting_id, archive.manifest_sha256, user.username)
    db.commit()
    return Response(archive.data, media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="sitting-{sitting_id}-archive.zip"',
        "X-Manifest-SHA256": archive.manifest_sha256})


# ---- complaints -----------------------------------------------------------------------------------------------


@router.get("/complaints")
@allow(*SUPERVISORS)
def complaint_list(request: Request, status: str = "", db: Session = Depends(get_db), at: datetime = Depends(now)):
    """Complaints and reports, newest first, overdue ones marked."""
    return render(request, "quality/complaints.html", {
        "lines": complaints.listing(db, at.date(), status), "status": status,
        "categories": complaints.CATEGORY_LABELS})


def _complaint_page(request: Request, db: Session, complaint_id: int, at: datetime, errors: dict | None = None,
                    status_code: int = 200):
    complaint = complaints.get(db, complaint_id)
    return render(request, "quality/complaint.html", {
        "line": complaints.line_of(db, complaint, at.date()), "categories": complaints.CATEGORY_LABELS,
        "institutions": db.exec(select(Institution).order_by(Institution.code)).all(),
        "handlers": complaints.handlers(db), "errors": errors or {}}, status_code=status_code)


@router.get("/complaints/{complaint_id}")
@allow(*SUPERVISORS)
def complaint_page(request: Request, complaint_id: int, db: Session = Depends(get_db), at: datetime = Depends(now)):
    """One complaint with the form for its next step."""
    return _complaint_page(request, db, complaint_id, at)


def _step(request: Request, db: Session, complaint_id: int, at: datetime, step):
    complaints.get(db, complaint_id)  # 404 before anything else
    try:
        step()
    except DeliveryError as exc:
        db.rollback()
        return _complaint_page(request, db, complaint_id, at, {"_form": message_of(request, exc)}, status_for(exc))
    db.commit()
    return RedirectResponse(f"/quality/complaints/{complaint_id}", status_code=303)


def _optional_id(value: str) -> int | None:
    return int(value) if value.strip().isdigit() else None


@router.post("/complaints/{complaint_id}/triage")
@allow(*SUPERVISORS)
def complaint_triage(request: Request, complaint_id: int, severity: str = Form(""), category: str = Form(""),
                     institution_id: str = Form(""), db: Session = Depends(get_db),
                     user: User = Depends(current_user), at: datetime = Depends(now)):
    """The preliminary look: category, severity and the institution concerned."""
    return _step(request, db, complaint_id, at, lambda: complaints.triage(
        db, complaint_id, severity, category, _optional_id(institution_id), user.username, at))


@router.post("/complaints/{complaint_id}/assign")
@allow(*SUPERVISORS)
def complaint_assign(request: Request, complaint_id: int, assignee: str = Form(""), db: Session = Depends(get_db),
                     user: User = Depends(current_user), at: datetime = Depends(now)):
    """Hand the complaint to a supervisor or administrator."""
    return _step(request, db, complaint_id, at, lambda: complaints.assign(db, complaint_id, assignee, user.username))


@router.post("/complaints/{complaint_id}/resolve")
@allow(*SUPERVISORS)
def complaint_resolve(request: Request, complaint_id: int, resolution: str = Form(""), outcome: str = Form("resolved"),
                      db: Session = Depends(get_db), user: User = Depends(current_user), at: datetime = Depends(now)):
    """Record the decision and the written answer, or dismiss with the reason."""
    return _step(request, db, complaint_id, at, lambda: complaints.resolve(
        db, complaint_id, resolution, user.username, at, dismiss=outcome == "dismissed"))
