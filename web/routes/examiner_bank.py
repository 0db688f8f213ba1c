"""Examiner pages around the bank: image uploads for rich items, the quality dashboard,
bank export (admins only, audited). Included into ``web.routes.examiner.router``."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlmodel import Session

from engine.models import Role, User
from engine.quality.bank_health import live_responses
from itembank import images
from itembank.errors import ItemValidationError
from web.auth import allow
from web.deps import current_user, get_db
from web.labels import N_
from web.templating import render

router = APIRouter()
AUTHORS = (Role.examiner, Role.admin)


@router.post("/images")
@allow(*AUTHORS)
async def upload_image(request: Request, image: UploadFile = File(...), db: Session = Depends(get_db),
                       user: User = Depends(current_user)):
    """Store an image by its content hash and show the markup that places it in a stem."""
    data = await image.read(images.MAX_IMAGE_BYTES + 1)
    try:
        stored = images.store(db, request.app.state.settings.data_dir, data, user.username)
    except ItemValidationError as exc:
        db.rollback()
        return render(request, "examiner/image_uploaded.html", {"errors": exc.errors}, status_code=422,
                      block="image_result")
    db.commit()
    return render(request, "examiner/image_uploaded.html", {"image": stored, "url": images.url_of(stored),
                                                            "errors": {}}, block="image_result")


@router.get("/images/{sha256}")
@allow(*AUTHORS)
def show_image(request: Request, sha256: str, db: Session = Depends(get_db)):
    """The stored bytes with their sniffed type; never rendered as anything else."""
    image, data = images.load(db, request.app.state.settings.data_dir, sha256)
    return Response(data, media_type=image.media_type, headers={
        "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'",
        "Cache-Control": "private, max-age=31536000, immutable"})


# ---- the quality dashboard ----------------------------------------------------------------


@router.get("/quality")
@allow(*AUTHORS)
def quality_dashboard(request: Request, occupation: str = "", level: str = "", db: Session = Depends(get_db)):
    """Classical and IRT statistics, misfit, DIF, exposure and thin appraisal points, with flags."""
    from itembank import quality, service
    from itembank.levels import Level

    occupations = service.occupations(db)
    chosen = next((o for o in occupations if str(o.id) == occupation), occupations[0] if occupations else None)
    wanted = level if level in {lv.value for lv in Level} else _first_level(db, chosen)
    report = None
    if chosen is not None and wanted:
        responses, sittings, exposures = live_responses(db, chosen.id, wanted)
        report = quality.quality_report(db, chosen.id, wanted, responses, sittings, exposures)
    return render(request, "examiner/quality.html", {
        "report": report, "occupations": occupations, "chosen": chosen, "level": wanted, "levels": list(Level)})


def _first_level(db: Session, occupation) -> str | None:
    from sqlmodel import select

    from itembank.models import Item

    if occupation is None:
        return None
    found = db.exec(select(Item.level).where(Item.occupation_id == occupation.id).order_by(Item.id)).first()
    return found.value if found is not None else None


# ---- export (admins only) ------------------------------------------------------------------

EXPORT_TYPES = {"qti3": ("application/zip", "zip"), "xlsx": (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"), "csv": ("text/csv", "csv")}


@router.post("/export")
@allow(Role.admin)
def export_bank(request: Request, format: str = Form("qti3"), occupation: str = Form(""), level: str = Form(""),
                db: Session = Depends(get_db), user: User = Depends(current_user)):
    """Download the bank (or one occupation/level) as a QTI 3.0 package or the XLSX/CSV template."""
    from engine import audit
    from itembank.interchange import bank, package, xlsx
    from itembank.timeutil import utcnow

    if format not in EXPORT_TYPES:
        raise ItemValidationError({"format": N_("unknown export format")})
    wanted_level = bank.parse_level(level) if level else None
    rows = bank.bank_items(db, occupation or None, wanted_level)
    if format == "qti3":
        root = request.app.state.settings.data_dir
        data = package.write_package([package.Exported(p.identifier, p) for _i, _v, p in rows], user.username,
                                     utcnow(), lambda sha: images.stored_bytes(root, sha),
                                     statistics=usage_statistics(db, rows))
    else:
        data = xlsx.write_sheet([p for _i, _v, p in rows], "." + format)
    audit.record(db, user.username, "bank.exported", "bank", "items", {
        "format": format, "occupation": occupation or None, "level": wanted_level,
        "items": [item.id for item, _v, _p in rows]})
    db.commit()
    media_type, suffix = EXPORT_TYPES[format]
    return Response(data, media_type=media_type, headers={
        "Content-Disposition": f'attachment; filename="itembank.{suffix}"', "Cache-Control": "no-store"})


def usage_statistics(db: Session, rows) -> list:
    """Classical statistics from live sittings and the latest IRT parameters of each exported
    item, for the package's QTI usage-data file."""
    from itembank import quality
    from itembank.interchange.usage import ItemStatistics

    classical = {}
    for occupation_id, level in {(item.occupation_id, item.level.value) for item, _v, _p in rows}:
        responses, sittings, exposures = live_responses(db, occupation_id, level)
        report = quality.quality_report(db, occupation_id, level, responses, sittings, exposures)
        classical.update({row.item_id: row for row in report.items})
    out = []
    for item, _version, parsed in rows:
        row, calibration = classical.get(item.id), quality.latest_calibration(db, item.id)
        se_a = (calibration.se or {}).get("a") if calibration else None
        out.append(ItemStatistics(
            parsed.identifier, n=row.n if row and row.n else None, p_value=row.p_value if row else None,
            point_biserial=row.point_biserial if row else None, model=calibration.model if calibration else None,
            a=calibration.a if calibration else None, d=tuple(calibration.d) if calibration else (),
            c=calibration.c if calibration else None, se_a=se_a if isinstance(se_a, int | float) else None))
    return out
