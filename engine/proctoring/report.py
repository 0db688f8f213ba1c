"""The incident report of one sitting (考场情况报告) as PDF, with reportlab.

What a certification body shows afterwards: who sat where and when, the identity
check-in, every supervisor action with its reason, incidents (违纪), anomalies with their
evidence, workstation moves, and the full timeline (answers by position and time only,
never their content). Chinese text uses reportlab's built-in CID font STSong-Light, as
the certificate does (engine/certification/pdf.py). The file is reproducible
(``invariant``): the same record gives the same bytes.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from sqlmodel import Session

from engine import administration
from engine.models import Candidate, ExamDefinition
from engine.proctoring import analysis, roster, service
from engine.proctoring.anomalies import Anomaly
from engine.proctoring.events import SUPERVISOR_ACTIONS

FONT = "STSong-Light"
TITLE = "考场情况报告 Incident report"
MAX_TIMELINE = 2000  # rows; a sitting of a few hours has a few hundred


@dataclass(frozen=True)
class IncidentReport:
    sitting_id: int
    candidate_name: str
    masked_id: str
    exam: str
    exam_session: str
    status: str
    started_at: datetime | None
    submitted_at: datetime | None
    submit_reason: str | None
    score: float | None
    line: roster.LiveLine
    actions: list[service.TimelineEntry]
    anomalies: list[Anomaly]
    timeline: list[service.TimelineEntry]
    generated_at: datetime
    generated_by: str


def gather(session: Session, sitting_id: int, now: datetime, actor: str) -> IncidentReport:
    """Everything the report prints, read in one transaction."""
    sitting = service.get_sitting(session, sitting_id)
    candidate = session.get(Candidate, sitting.candidate_id)
    exam_session = administration.get_exam_session(session, sitting.exam_session_id)
    definition = session.get(ExamDefinition, exam_session.exam_definition_id)
    line = roster.line(session, sitting_id, now)
    timeline = service.timeline(session, sitting)
    action_kinds = {k.value for k in SUPERVISOR_ACTIONS}
    return IncidentReport(
        sitting_id=sitting.id, candidate_name=candidate.name if candidate else "",
        masked_id=line.masked_id, exam=f"{definition.code} {definition.title}" if definition else "",
        exam_session=exam_session.title, status=sitting.status.value, started_at=sitting.started_at,
        submitted_at=sitting.submitted_at, submit_reason=sitting.submit_reason, score=line.score, line=line,
        actions=[e for e in timeline if e.kind in action_kinds],
        anomalies=service.anomalies_of(session, sitting) + analysis.anomalies_of(session, sitting),
        timeline=timeline[:MAX_TIMELINE], generated_at=now, generated_by=actor)


def _register_font() -> None:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC") if at else "—"


def _detail(detail: dict) -> str:
    return json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)[:400]


def incident_report_pdf(report: IncidentReport) -> bytes:
    _register_font()
    body = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12, wordWrap="CJK")
    heading = ParagraphStyle("heading", parent=body, fontSize=12, leading=16, spaceBefore=8, spaceAfter=4)
    title = ParagraphStyle("title", parent=body, fontSize=16, leading=22, spaceAfter=6)

    def p(text: object, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(str(text)), style)

    def table(rows: list[list[object]], widths: list[float]) -> Table:
        grid = Table([[p(cell) for cell in row] for row in rows], colWidths=widths, repeatRows=1)
        grid.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                                  ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
                                  ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        return grid

    line = report.line
    story = [p(TITLE, title),
             table([["项目 Field", "内容 Value"],
                    ["考生 Candidate", f"{report.candidate_name} ({report.masked_id})"],
                    ["考试 Exam", report.exam], ["场次 Exam session", report.exam_session],
                    ["考生场次 Sitting", report.sitting_id], ["状态 Status", report.status],
                    ["开始 Started", _when(report.started_at)],
                    ["交卷 Handed in", f"{_when(report.submitted_at)} {report.submit_reason or ''}"],
                    ["成绩 Score", "—" if report.score is None else f"{report.score:.1f}"],
                    ["身份核验 Identity check-in", line.checked_in],
                    ["延时 Extra time", f"+{line.accommodation_minutes} min accommodation (incl. "
                                        f"{line.break_minutes} min breaks), +{line.extension_minutes} min extended"],
                    ["违纪 Incidents", line.incidents], ["换机 Workstation moves", line.workstation_moves]],
                   [45 * mm, 125 * mm]),
             p("监考操作 Supervisor actions", heading)]
    story.append(table([["时间 Time", "操作 Action", "人员 By", "说明 Details"]]
                       + [[_when(e.at), e.kind, e.actor, _detail(e.detail)] for e in report.actions],
                       [35 * mm, 30 * mm, 25 * mm, 80 * mm]) if report.actions else p("无 None"))
    story.append(p("异常提示 Anomalies (evidence for a person to weigh, never a penalty)", heading))
    story.append(table([["代码 Code", "程度 Severity", "证据 Evidence"]]
                       + [[a.code, a.severity, _detail(a.evidence)] for a in report.anomalies],
                       [35 * mm, 20 * mm, 115 * mm]) if report.anomalies else p("无 None"))
    story.append(p("时间线 Timeline (answers by position and time only)", heading))
    story.append(table([["时间 Time", "事件 Event", "来源 By", "说明 Details"]]
                       + [[_when(e.at), e.kind, e.actor, _detail(e.detail)] for e in report.timeline],
                       [35 * mm, 35 * mm, 25 * mm, 75 * mm]) if report.timeline else p("无 None"))
    story += [Spacer(1, 6 * mm),
              p(f"生成 Generated {_when(report.generated_at)} by {report.generated_by}")]
    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm,
                                 bottomMargin=16 * mm, title=f"Incident report {report.sitting_id}",
                                 author="skillcert", invariant=True)
    document.build(story)
    return buffer.getvalue()
