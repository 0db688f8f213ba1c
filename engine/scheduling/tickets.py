"""Admission tickets (准考证) as PDF, one A5 page per candidate, with a QR code.

The QR code carries ``skillcert-ticket:<ticket number>``, which the supervisor scans at
the door to find the sitting (``service.find_ticket``). Same drawing approach as the
certificate (reportlab's built-in CID font, segno's matrix as vector squares), and
reproducible byte for byte.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

from reportlab.lib.colors import black
from reportlab.lib.pagesizes import A5
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from sqlmodel import Session, col, select

from engine import administration
from engine.certification.pdf import ACCENT, FONT, _qr, _register_font
from engine.errors import N_, IllegalTransitionError, NotFoundError
from engine.models import Candidate, CandidateSession, ExamDefinition, Room, TestCenter
from engine.scheduling.models import RoomLayout, SeatAssignment
from itembank.levels import LEVEL_NAMES_ZH
from itembank.models import Occupation

TITLE = "职业技能等级认定 准考证"
QR_PREFIX = "skillcert-ticket:"
NOTES = ("请携带本人有效居民身份证和本准考证，提前30分钟到达考场。", "开考后15分钟不得入场；按座位号就座。")


@dataclass(frozen=True)
class TicketSheet:
    ticket_number: str
    name: str
    resident_id: str
    occupation: str
    level: str
    exam_title: str
    starts_at: datetime
    center: str
    address: str
    room: str
    seat: str
    standardized: bool

    @property
    def qr_text(self) -> str:
        return QR_PREFIX + self.ticket_number


def ticket_sheets(session: Session, exam_session_id: int, candidate_session_id: int | None = None
                  ) -> list[TicketSheet]:
    """Every seated candidate's ticket of a sitting (or one candidate's), by ticket number."""
    exam_session = administration.get_exam_session(session, exam_session_id)
    definition = session.get(ExamDefinition, exam_session.exam_definition_id)
    occupation = session.get(Occupation, definition.occupation_id)
    room = session.get(Room, exam_session.room_id)
    center = session.get(TestCenter, room.test_center_id)
    layout = session.get(RoomLayout, room.id)
    query = (select(SeatAssignment, Candidate)
             .join(CandidateSession, col(CandidateSession.id) == SeatAssignment.candidate_session_id)
             .join(Candidate, col(Candidate.id) == CandidateSession.candidate_id)
             .where(SeatAssignment.exam_session_id == exam_session_id))
    if candidate_session_id is not None:
        query = query.where(SeatAssignment.candidate_session_id == candidate_session_id)
    rows = session.exec(query.order_by(SeatAssignment.ticket_number)).all()
    if not rows:
        if candidate_session_id is not None:
            raise NotFoundError(N_("no admission ticket: this candidate has no seat yet"))
        raise IllegalTransitionError(N_("no admission tickets: assign seats first"))
    level = LEVEL_NAMES_ZH.get(definition.level, definition.level.value)
    return [TicketSheet(ticket_number=seat.ticket_number, name=candidate.name, resident_id=candidate.resident_id,
                        occupation=occupation.name, level=level, exam_title=exam_session.title,
                        starts_at=exam_session.starts_at, center=center.name, address=center.address,
                        room=room.name, seat=seat.seat, standardized=bool(layout and layout.standardized))
            for seat, candidate in rows]


def render_tickets(sheets: list[TicketSheet]) -> bytes:
    """One A5 page per ticket."""
    _register_font()
    buffer = io.BytesIO()
    width, height = A5
    canvas = Canvas(buffer, pagesize=(width, height), invariant=True)
    canvas.setTitle(TITLE)
    for sheet in sheets:
        _page(canvas, sheet, width, height)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _page(canvas: Canvas, sheet: TicketSheet, width: float, height: float) -> None:
    canvas.setStrokeColor(ACCENT)
    canvas.setLineWidth(2)
    canvas.rect(8 * mm, 8 * mm, width - 16 * mm, height - 16 * mm)
    canvas.setFillColor(ACCENT)
    canvas.setFont(FONT, 18)
    canvas.drawCentredString(width / 2, height - 24 * mm, TITLE)
    canvas.setFillColor(black)
    when = sheet.starts_at.strftime("%Y-%m-%d %H:%M") + " (UTC)"
    lines = [("准考证号", sheet.ticket_number), ("姓　　名", sheet.name), ("证件号码", sheet.resident_id),
             ("职业等级", f"{sheet.occupation} {sheet.level}"), ("考　　试", sheet.exam_title),
             ("时　　间", when), ("考　　点", sheet.center), ("地　　址", sheet.address),
             ("考　　场", sheet.room + ("（标准化考场）" if sheet.standardized else "")), ("座 位 号", sheet.seat)]
    top = height - 40 * mm
    for index, (label, value) in enumerate(lines):
        canvas.setFont(FONT, 10)
        canvas.drawString(16 * mm, top - index * 8 * mm, f"{label}：{value}")
    _qr(canvas, sheet.qr_text, x=width - 48 * mm, y=height - 72 * mm, size=34 * mm)
    canvas.setFont(FONT, 8)
    for index, note in enumerate(NOTES):
        canvas.drawString(16 * mm, 24 * mm - index * 6 * mm, note)
