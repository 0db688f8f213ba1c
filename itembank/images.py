"""Images for rich items: type-sniffed from their bytes, size-limited, stored once by SHA-256.

Files live at ``<data dir>/item-images/<first two hex>/<sha256>``; the ``ItemImage`` row
holds the sniffed media type. SVG is refused: it is a document that can carry scripts.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from sqlmodel import Session

from itembank.errors import N_, ItemValidationError, NotFoundError
from itembank.models import ItemImage
from itembank.sanitize import IMAGE_PREFIX

MAX_IMAGE_BYTES = 2 * 1024 * 1024
SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
)


def sniff(data: bytes) -> str | None:
    """The media type the bytes really are (never what the file name or browser claims)."""
    for magic, offset, media_type in SIGNATURES:
        if data[offset:offset + len(magic)] == magic:
            return media_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def image_path(root: Path, sha256: str) -> Path:
    return root / "item-images" / sha256[:2] / sha256


def store(session: Session, root: Path, data: bytes, uploader: str) -> ItemImage:
    """Validate and store; the same bytes uploaded twice are one file and one row."""
    if not data:
        raise ItemValidationError({"image": N_("the file is empty")})
    if len(data) > MAX_IMAGE_BYTES:
        raise ItemValidationError({"image": N_("images may be at most 2 MB")})
    media_type = sniff(data)
    if media_type is None:
        raise ItemValidationError({"image": N_("only PNG, JPEG, GIF and WebP images are accepted")})
    digest = hashlib.sha256(data).hexdigest()
    existing = session.get(ItemImage, digest)
    if existing is not None:
        return existing
    path = image_path(root, digest)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    partial.write_bytes(data)
    os.replace(partial, path)  # readers never see half a file
    image = ItemImage(sha256=digest, media_type=media_type, size=len(data), uploaded_by=uploader)
    session.add(image)
    session.flush()
    return image


def load(session: Session, root: Path, sha256: str) -> tuple[ItemImage, bytes]:
    image = session.get(ItemImage, sha256) if len(sha256) == 64 else None
    path = image_path(root, sha256)
    if image is None or not path.is_file():
        raise NotFoundError(f"image {sha256} not found")
    return image, path.read_bytes()


def url_of(image: ItemImage) -> str:
    return IMAGE_PREFIX + image.sha256


def stored_bytes(root: Path, sha256: str) -> bytes | None:
    """The stored file's bytes, or None (for exports: a missing file is left out)."""
    path = image_path(root, sha256)
    return path.read_bytes() if len(sha256) == 64 and path.is_file() else None
