"""The periodic evaluation report (定期评估报告) of one institution as PDF (reportlab).

Chinese text uses reportlab's built-in CID font STSong-Light, as the certificate does, so
no font file is shipped; the output is reproducible (``invariant``) for the same data.
"""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from engine.quality.indicators import Indicators
from itembank.levels import LEVEL_NAMES_ZH

FONT = "STSong-Light"
KIND_ZH = {"enterprise": "用人单位（企业自主评价）", "social_org": "社会培训评价组织", "school": "技工院校"}
OUTLIER = colors.HexColor("#fde2e1")


def _font() -> None:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def _num(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _table(rows: list[list[str]], widths: list[float], highlight: list[int] = ()) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1)
    style = [("FONT", (0, 0), (-1, -1), FONT, 9), ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
             ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")), ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]
    style += [("BACKGROUND", (0, row), (-1, row), OUTLIER) for row in highlight]
    table.setStyle(TableStyle(style))
    return table


def render_report(found: Indicators, generated_on: str) -> bytes:
    _font()
    title = ParagraphStyle("title", fontName=FONT, fontSize=16, leading=22, spaceAfter=6)
    heading = ParagraphStyle("heading", fontName=FONT, fontSize=12, leading=16, spaceBefore=10, spaceAfter=4)
    body = ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=14)
    institution, period = found.institution, found.period
    story = [Paragraph(f"职业技能等级认定机构定期评估报告：{escape(institution.name)}", title),
             Paragraph(f"机构代码 {institution.code}，{KIND_ZH.get(institution.kind, institution.kind)}；"
                       f"评估期 {period.start.isoformat()} 至 {period.end.isoformat()}（不含）；"
                       f"生成日期 {generated_on}", body)]
    if found.suspended:
        story.append(Paragraph("<b>状态：已暂停认定资格</b>", body))
    story += [Paragraph("一、主要指标", heading), _table(_summary_rows(found), [70 * mm, 45 * mm, 45 * mm])]
    story += [Paragraph("二、分职业、等级通过率与全省比较", heading),
              Paragraph("比较对象为同职业同等级其他机构的合并通过率 p0；z = (p - p0) / sqrt(p0 (1 - p0) / n)，"
                        "|z| &gt;= 2 且考生数不少于 10 时标为异常（底色标出）。", body), Spacer(1, 3 * mm)]
    rows = [["职业", "等级", "考生数", "通过率", "全省其他机构", "z"]]
    for group in found.groups:
        rows.append([group.occupation, LEVEL_NAMES_ZH.get(group.level, group.level), str(group.n), _pct(group.rate),
                     _pct(group.others_rate), _num(group.z)])
    story.append(_table(rows, [40 * mm, 30 * mm, 20 * mm, 25 * mm, 30 * mm, 20 * mm],
                        [i + 1 for i, g in enumerate(found.groups) if g.outlier]))
    story += [Paragraph("三、成绩分布（理论 / 实操，每 10 分一档）", heading),
              _table([["分段"] + [f"{10 * i}–" for i in range(10)], ["理论"] + [str(c) for c in found.theory_histogram],
                      ["实操"] + [str(c) for c in found.practical_histogram]], [18 * mm] + [15 * mm] * 10)]
    if found.bank_health:
        story += [Paragraph("四、题库质量", heading)]
        rows = [["职业", "等级", "试题数", "被标记", "覆盖不足的鉴定点", "α"]]
        rows += [[h.occupation, LEVEL_NAMES_ZH.get(h.level, h.level), str(h.items), str(h.flagged),
                  str(h.thin_points), _num(h.alpha)] for h in found.bank_health]
        story.append(_table(rows, [40 * mm, 30 * mm, 20 * mm, 20 * mm, 35 * mm, 20 * mm]))
    outliers = "、".join(_outliers_zh(found)) or "无"
    story += [Paragraph("五、结论提示", heading), Paragraph(f"需关注的异常指标：{escape(outliers)}", body)]
    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=16 * mm, rightMargin=16 * mm, topMargin=16 * mm,
                                 bottomMargin=16 * mm, title=f"定期评估报告 {institution.code}",
                                 author="skillcert", invariant=True)
    document.build(story)
    return buffer.getvalue()


def _outliers_zh(found: Indicators) -> list[str]:
    names = ["通过率（总体）"] if found.overall.outlier else []
    names += [f"{g.occupation}{LEVEL_NAMES_ZH.get(g.level, g.level)}通过率" for g in found.groups if g.outlier]
    names += [name for name, value in (("异常标记", found.anomalies), ("违纪事件", found.incidents)) if value.outlier]
    return names


def _summary_rows(found: Indicators) -> list[list[str]]:
    satisfaction = found.satisfaction
    return [
        ["指标", "本机构", "全省其他机构"],
        ["考生人次", str(found.candidates), "—"],
        ["通过率（已出成绩）", _pct(found.overall.rate), _pct(found.overall.others_rate)],
        ["异常标记 / 百名考生", _num(found.anomalies.per_100, 1), _num(found.anomalies.others_per_100, 1)],
        ["违纪事件 / 百名考生", _num(found.incidents.per_100, 1), _num(found.incidents.others_per_100, 1)],
        ["成绩复核申请（维持/更正/待处理）",
         f"{found.appeals.get('upheld', 0)}/{found.appeals.get('corrected', 0)}/{found.appeals.get('open', 0)}", "—"],
        ["投诉举报", str(sum(found.complaints.values())), "—"],
        ["满意度（1–5，答卷数）", f"{_num(satisfaction.get('mean'))}（{satisfaction.get('answers', 0)}）", "—"],
        ["档案完整率", _pct(found.archive_share), "—"],
    ]
