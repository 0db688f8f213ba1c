"""The certificate as PDF (reportlab) with a QR code (segno) to the public verification page.

Chinese text uses reportlab's built-in CID font STSong-Light (no font files to ship);
the QR code is drawn as vector squares from segno's matrix, so no image library is
needed. Output is byte-for-byte reproducible (``invariant``): the same certificate
gives the same file, which keeps archive hashes stable.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

import segno
from reportlab.lib.colors import HexColor, black, white
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

from engine.certification.models import Certificate, CertificateStatus
from itembank.levels import LEVEL_NAMES_ZH

FONT = "STSong-Light"
TITLE = "职业技能等级证书"
ID_TYPE = "居民身份证"
QUERY_NOTE = "可通过扫描二维码或访问以下地址查询本证书"
ACCENT = HexColor("#8a1c1c")


@dataclass(frozen=True)
class CertificateSheet:
    """Everything printed on the certificate."""

    number: str
    holder_name: str
    resident_id: str
    occupation: str
    work_type: str
    level: str  # written as on paper, e.g. 四级/中级工
    body_name: str
    issued_on: date
    verify_url: str
    revoked: bool = False


def sheet_for(certificate: Certificate, body_name: str, verify_url: str) -> CertificateSheet:
    return CertificateSheet(number=certificate.number, holder_name=certificate.holder_name,
                            resident_id=certificate.resident_id, occupation=certificate.occupation_name,
                            work_type="--", level=LEVEL_NAMES_ZH.get(certificate.level, certificate.level),
                            body_name=body_name, issued_on=certificate.issued_on, verify_url=verify_url,
                            revoked=certificate.status == CertificateStatus.revoked)


def _register_font() -> None:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))


def render_pdf(sheet: CertificateSheet) -> bytes:
    """One landscape A4 page: title, the holder's fields, the QR code and the query address."""
    _register_font()
    buffer = io.BytesIO()
    width, height = landscape(A4)
    canvas = Canvas(buffer, pagesize=(width, height), invariant=True)
    canvas.setTitle(f"{TITLE} {sheet.number}")
    canvas.setAuthor(sheet.body_name)
    canvas.setStrokeColor(ACCENT)
    canvas.setLineWidth(3)
    canvas.rect(12 * mm, 12 * mm, width - 24 * mm, height - 24 * mm)
    canvas.setFillColor(ACCENT)
    canvas.setFont(FONT, 30)
    canvas.drawCentredString(width / 2, height - 40 * mm, TITLE)
    canvas.setFillColor(black)
    _fields(canvas, sheet, x=40 * mm, top=height - 62 * mm)
    _qr(canvas, sheet.verify_url, x=width - 80 * mm, y=52 * mm, size=45 * mm)
    canvas.setFont(FONT, 9)
    canvas.drawString(40 * mm, 30 * mm, QUERY_NOTE)
    canvas.drawString(40 * mm, 24 * mm, sheet.verify_url)
    if sheet.revoked:
        _revoked_stamp(canvas, width, height)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _fields(canvas: Canvas, sheet: CertificateSheet, x: float, top: float) -> None:
    lines = [("姓　　名", sheet.holder_name), ("证件类型", ID_TYPE), ("证件号码", sheet.resident_id),
             ("职业名称", sheet.occupation), ("工　　种", sheet.work_type), ("等　　级", sheet.level),
             ("证书编号", sheet.number), ("发证机构", sheet.body_name),
             ("发证日期", f"{sheet.issued_on.year}年{sheet.issued_on.month}月{sheet.issued_on.day}日")]
    for index, (label, value) in enumerate(lines):
        y = top - index * 11 * mm
        canvas.setFont(FONT, 13)
        canvas.drawString(x, y, f"{label}：")
        canvas.drawString(x + 30 * mm, y, value)


def _qr(canvas: Canvas, url: str, x: float, y: float, size: float) -> None:
    code = segno.make(url, error="m", micro=False)
    rows = list(code.matrix_iter(scale=1, border=2))
    cell = size / len(rows)
    canvas.setFillColor(white)
    canvas.rect(x, y, size, size, stroke=0, fill=1)
    canvas.setFillColor(black)
    for row_index, row in enumerate(rows):
        for col_index, dark in enumerate(row):
            if dark:
                canvas.rect(x + col_index * cell, y + size - (row_index + 1) * cell, cell, cell, stroke=0, fill=1)


def _revoked_stamp(canvas: Canvas, width: float, height: float) -> None:
    canvas.saveState()
    canvas.setFillColor(ACCENT)
    canvas.setFont(FONT, 60)
    canvas.translate(width / 2, height / 2)
    canvas.rotate(20)
    canvas.drawCentredString(0, 0, "已撤销 REVOKED")
    canvas.restoreState()
