"""Examiner pages for exam definitions: fixed or adaptive, their settings and previews.

* adaptive: the CAT settings (estimator, selection, exposure control, lengths, SE and
  classification stops, pretest count, blueprint level, item-type bounds, enemy sets,
  retake window) and a simulated run showing conditional SE and expected length by θ;
* fixed: a form assembled from the calibrated bank as a 0-1 program, previewed with
  its information curve and blueprint coverage, and made the exam's form on request;
* the result record of an adaptive sitting with the θ trail and its SE band.

Charts are server-rendered SVG (``svg_chart``): no script, printable, accessible text.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlmodel import Session, col, select

from engine.adaptive import preview as previews
from engine.adaptive import service as adaptive
from engine.adaptive.design import ADAPTIVE_TYPES
from engine.adaptive.models import AdaptiveSitting
from engine.errors import N_, InvalidInputError, NotFoundError
from engine.models import Candidate, CandidateSession, ExamDefinition, ExamSession, Result, Role, User
from web.auth import allow
from web.deps import current_user, get_db
from web.supervision_scope import on_duty
from web.templating import render

router = APIRouter()
AUTHORS = (Role.examiner, Role.admin)
SUPERVISORS = (Role.supervisor, Role.admin)
SETTING_FIELDS = ("min_length", "max_length", "se_stop", "estimator", "selection", "exposure", "exposure_k",
                  "exposure_rmax", "exposure_ceiling", "cut_theta", "classification", "alpha", "beta", "n_pretest",
                  "random_start", "blueprint_level", "enemies", "retake_window_days",
                  *[f"type_{side}_{t.value}" for t in ADAPTIVE_TYPES for side in ("min", "max")])
OPTIONAL = ("se_stop", "cut_theta", "exposure_ceiling", "enemies")  # empty means "none"


# ---- charts -------------------------------------------------------------------------


@dataclass(frozen=True)
class Chart:
    """An SVG line chart: polylines, an optional band, axis ticks, all in pixel coordinates."""

    width: int
    height: int
    lines: list[dict]  # {"points": "x,y x,y", "label", "class"}
    band: str | None  # polygon points
    x_ticks: list[tuple[float, str]]
    y_ticks: list[tuple[float, str]]
    x_label: str
    y_label: str
    marks: list[dict]  # {"x", "y", "label", "class"} single points
    guide: float | None  # y pixel of a horizontal guide (the cut)


def svg_chart(series: list[dict], x_label: str, y_label: str, band: tuple[list, list, list] | None = None,
              guide_y: float | None = None, width: int = 560, height: int = 240,
              marks: list[dict] | None = None) -> Chart:
    """Scale data series ``{"x": [...], "y": [...], "label", "class"}`` into one chart."""
    pad_l, pad_r, pad_t, pad_b = 48, 12, 10, 34
    xs = [x for s in series for x in s["x"]] + ([x for x in band[0]] if band else [])
    ys = [y for s in series for y in s["y"]] + ([y for y in band[1] + band[2]] if band else [])
    ys += [guide_y] if guide_y is not None else []
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys + [0.0]), max(ys)
    x1 = x1 if x1 > x0 else x0 + 1.0
    y1 = y1 if y1 > y0 else y0 + 1.0

    def px(x: float) -> float:
        return round(pad_l + (x - x0) / (x1 - x0) * (width - pad_l - pad_r), 1)

    def py(y: float) -> float:
        return round(height - pad_b - (y - y0) / (y1 - y0) * (height - pad_t - pad_b), 1)

    lines = [{"points": " ".join(f"{px(x)},{py(y)}" for x, y in zip(s["x"], s["y"], strict=True)),
              "label": s.get("label", ""), "class": s.get("class", "")} for s in series]
    polygon = None
    if band:
        upper = [f"{px(x)},{py(y)}" for x, y in zip(band[0], band[2], strict=True)]
        lower = [f"{px(x)},{py(y)}" for x, y in zip(reversed(band[0]), reversed(band[1]), strict=True)]
        polygon = " ".join(upper + lower)
    x_ticks = [(px(x0 + k * (x1 - x0) / 4), f"{x0 + k * (x1 - x0) / 4:.3g}") for k in range(5)]
    y_ticks = [(py(y0 + k * (y1 - y0) / 4), f"{y0 + k * (y1 - y0) / 4:.2g}") for k in range(5)]
    points = [{"x": px(m["x"]), "y": py(m["y"]), "label": m.get("label", ""), "class": m.get("class", "")}
              for m in marks or []]
    return Chart(width, height, lines, polygon, x_ticks, y_ticks, x_label, y_label, points,
                 py(guide_y) if guide_y is not None else None)


# ---- pages --------------------------------------------------------------------------


def _definition(db: Session, definition_id: int) -> ExamDefinition:
    definition = db.get(ExamDefinition, definition_id)
    if definition is None:
        raise NotFoundError(N_("exam definition %(id)s not found"), id=definition_id)
    return definition


def _form_values(config: adaptive.AdaptiveConfig) -> dict[str, str]:
    s = config.settings
    name, _, arg = s.exposure.partition(":")
    values = {k: "" if v is None else str(v) for k, v in s.to_dict().items()}
    values.update({"exposure": name, "exposure_k": arg if name == "randomesque" else "3",
                   "exposure_rmax": arg if name == "sympson-hetter" else "0.25",
                   "blueprint_level": config.blueprint_level, "retake_window_days": str(config.retake_window_days),
                   "enemies": "\n".join(", ".join(str(i) for i in group) for group in config.enemies)})
    for item_type, bounds in (config.type_bounds or {}).items():
        for side, value in bounds.items():
            values[f"type_{side}_{item_type}"] = str(value)
    return values


def _recent_sittings(db: Session, definition: ExamDefinition) -> list:
    return list(db.exec(
        select(CandidateSession, Candidate, AdaptiveSitting, Result)
        .join(ExamSession, col(ExamSession.id) == CandidateSession.exam_session_id)
        .join(Candidate, col(Candidate.id) == CandidateSession.candidate_id)
        .join(AdaptiveSitting, col(AdaptiveSitting.candidate_session_id) == CandidateSession.id)
        .join(Result, col(Result.candidate_session_id) == CandidateSession.id, isouter=True)
        .where(ExamSession.exam_definition_id == definition.id)
        .order_by(col(CandidateSession.id).desc()).limit(50)).all())


def _page(request: Request, db: Session, definition: ExamDefinition, values: dict | None = None,
          errors: dict | None = None, status_code: int = 200, **extra):
    config = adaptive.config_of(db, definition)
    try:
        fixed = previews.current_form(db, definition, config)
    except InvalidInputError:
        fixed = None  # no calibrated items yet: the page says the exam has no form to describe
    context = {"definition": definition, "values": values or _form_values(config), "errors": errors or {},
               "fixed": fixed, "fixed_chart": _form_chart(fixed) if fixed else None,
               "item_types": [t.value for t in ADAPTIVE_TYPES], "saved": adaptive.settings_row(db, definition),
               "sittings": _recent_sittings(db, definition), **extra}
    return render(request, "examiner/exams/exam.html", context, status_code=status_code)


@router.get("/examiner/exams")
@allow(*AUTHORS)
def exam_list(request: Request, db: Session = Depends(get_db)):
    """Every exam definition with its theory mode."""
    definitions = db.exec(select(ExamDefinition).order_by(ExamDefinition.code)).all()
    return render(request, "examiner/exams/list.html", {"definitions": definitions})


@router.get("/examiner/exams/{definition_id}")
@allow(*AUTHORS)
def exam_page(request: Request, definition_id: int, saved: bool = False, db: Session = Depends(get_db)):
    """The mode, the adaptive settings, and the fixed form with its curves."""
    return _page(request, db, _definition(db, definition_id), just_saved=saved)


@router.post("/examiner/exams/{definition_id}/settings")
@allow(*AUTHORS)
async def save_settings(request: Request, definition_id: int, db: Session = Depends(get_db),
                        user: User = Depends(current_user)):
    """Store the mode and the adaptive settings (validated as a whole; nothing partial is written)."""
    definition = _definition(db, definition_id)
    form = await request.form()
    values = {name: str(form.get(name, "")) for name in SETTING_FIELDS}
    mode = str(form.get("theory_mode", definition.theory_mode))
    try:
        config = adaptive.parse_config({k: v for k, v in values.items() if v != "" or k in OPTIONAL})
        adaptive.save_config(db, definition, mode, config, user.username)
    except InvalidInputError as exc:
        db.rollback()
        return _page(request, db, _definition(db, definition_id), values=values,
                     errors={exc.field or "settings": exc}, status_code=422)
    db.commit()
    return RedirectResponse(f"/examiner/exams/{definition_id}?saved=1", status_code=303)


@router.get("/examiner/exams/{definition_id}/preview")
@allow(*AUTHORS)
def adaptive_preview(request: Request, definition_id: int, db: Session = Depends(get_db)):
    """A simulated run of the stored adaptive settings: conditional SE and expected length by θ."""
    definition = _definition(db, definition_id)
    try:
        result = previews.adaptive_preview(db, definition, adaptive.config_of(db, definition))
    except InvalidInputError as exc:
        return _page(request, db, definition, errors={"preview": exc}, status_code=422)
    return _page(request, db, definition, simulation=result, simulation_charts=_simulation_charts(result))


@router.post("/examiner/exams/{definition_id}/assemble")
@allow(*AUTHORS)
def assemble(request: Request, definition_id: int, length: str = Form(""), db: Session = Depends(get_db)):
    """Assemble a fixed form of ``length`` items from the calibrated bank and show it (not yet stored)."""
    definition = _definition(db, definition_id)
    try:
        if not length.strip().isdigit():
            raise InvalidInputError(N_("the form length must be between 1 and %(n)s"), "length", n="…")
        assembled = previews.assemble(db, definition, adaptive.config_of(db, definition), int(length))
    except InvalidInputError as exc:
        return _page(request, db, definition, errors={"assemble": exc}, status_code=422, length=length)
    return _page(request, db, definition, assembled=assembled, assembled_chart=_form_chart(assembled),
                 length=length)


@router.post("/examiner/exams/{definition_id}/form")
@allow(*AUTHORS)
def use_form(request: Request, definition_id: int, item_ids: str = Form(""), db: Session = Depends(get_db),
             user: User = Depends(current_user)):
    """Make the assembled form the exam's fixed form (its ExamFormItem rows)."""
    definition = _definition(db, definition_id)
    try:
        ids = [int(part) for part in item_ids.split(",") if part.strip()]
    except ValueError:
        ids = []
    try:
        previews.apply_form(db, definition, ids, user.username)
    except InvalidInputError as exc:
        db.rollback()
        return _page(request, db, _definition(db, definition_id), status_code=422, errors={"assemble": exc})
    db.commit()
    return RedirectResponse(f"/examiner/exams/{definition_id}?saved=1", status_code=303)


@router.get("/examiner/sittings/{sitting_id}/adaptive")
@allow(*AUTHORS)
def sitting_record(request: Request, sitting_id: int, db: Session = Depends(get_db)):
    """An adaptive sitting's result record: θ trail with its SE band, every step."""
    summary = adaptive.summary(db, sitting_id)
    if summary is None:
        raise NotFoundError(N_("exam sitting %(id)s not found"), id=sitting_id)
    sitting = db.get(CandidateSession, sitting_id)
    candidate = db.get(Candidate, sitting.candidate_id)
    result = db.exec(select(Result).where(Result.candidate_session_id == sitting_id)).first()
    return render(request, "examiner/exams/sitting.html", {
        "summary": summary, "sitting": sitting, "candidate": candidate, "result": result,
        "trail_chart": _trail_chart(summary)})


@router.get("/supervisor/sittings/{sitting_id}/adaptive", dependencies=[Depends(on_duty)])
@allow(*SUPERVISORS)
def supervisor_summary(request: Request, sitting_id: int, db: Session = Depends(get_db)):
    """θ, SE and items used so far, for the supervisor's sitting page (loaded into it by htmx)."""
    return render(request, "examiner/exams/_supervisor_summary.html", {"summary": adaptive.summary(db, sitting_id)})


# ---- chart data ---------------------------------------------------------------------


def _form_chart(fixed: previews.FixedPreview) -> dict:
    p = fixed.preview
    theta = [float(t) for t in p.theta]
    return {"information": svg_chart([{"x": theta, "y": [float(v) for v in p.information], "class": "info"}],
                                     "θ", "I(θ)", marks=[{"x": fixed.cut_theta, "y": 0.0, "label": "cut",
                                                          "class": "cut"}]),
            "se": svg_chart([{"x": theta, "y": [min(float(v), 2.0) for v in p.se], "class": "se"}], "θ", "SE(θ)")}


def _simulation_charts(result: previews.AdaptivePreview) -> dict:
    bins = result.report["by_theta"]
    mid = [((b["low"] if b["low"] is not None else -3.5) + (b["high"] if b["high"] is not None else 3.5)) / 2
           for b in bins]
    return {"se": svg_chart([{"x": mid, "y": [b["mean_se"] for b in bins], "class": "se", "label": "SE"},
                             {"x": mid, "y": [b["rmse"] for b in bins], "class": "rmse", "label": "RMSE"}],
                            "θ", "SE / RMSE"),
            "length": svg_chart([{"x": mid, "y": [b["mean_length"] for b in bins], "class": "length"}],
                                "θ", N_("items"))}


def _trail_chart(summary: adaptive.Summary) -> Chart | None:
    points = [s for s in summary.trail if s["theta"] is not None and not s["pretest"]]
    if not points:
        return None
    steps = [0] + list(range(1, len(points) + 1))
    first = summary.trail[0]
    theta = [first["theta_before"]] + [p["theta"] for p in points]
    se = [first["se_before"]] + [p["se"] for p in points]
    return svg_chart([{"x": steps, "y": theta, "class": "theta", "label": "θ"}], N_("step"), "θ",
                     band=(steps, [t - s for t, s in zip(theta, se, strict=True)],
                           [t + s for t, s in zip(theta, se, strict=True)]),
                     guide_y=summary.cut_theta,
                     marks=[{"x": k, "y": t, "class": "right" if p["score"] else "wrong"}
                            for k, t, p in zip(steps[1:], theta[1:], points, strict=True)])
