"""Examiner pages around the bank: image uploads for rich items, the quality dashboard,
bank export (admins only, audited). Included into ``web.routes.examiner.router``."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import Response
from sqlmodel import Session

from engine.models import Role, User
from itembank import images
from itembank.errors import ItemValidationError
from web.auth import allow
from web.deps import current_user, get_db
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
