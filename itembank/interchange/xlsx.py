"""The examiners' spreadsheet template (XLSX or CSV): one item per row.

Headers may be Chinese or English (``题干`` or ``stem``); the first row holds them. Keys:
choice items ``AC`` or ``A,C``; true/false ``T``/``F`` (or 对/错, 正确/错误, √/×); text
entry: accepted answers separated by ``|``; extended items: no key, ``满分`` (max points)
and ``评分标准`` (one ``points: description`` per line). Metadata: ``出处`` (source), ``标签``
(tags) and ``敌对组`` (enemy sets), several names separated by ``|``, commas or semicolons.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from itembank.errors import InterchangeError
from itembank.interchange.model import ImportLine, ParsedItem, ReadResult
from itembank.service import labels

OPTION_LETTERS = "ABCDEF"


@dataclass(frozen=True)
class Column:
    name: str  # the field
    header: str  # the template's Chinese header
    alias: str  # the English header


COLUMNS = (
    Column("identifier", "题号", "id"),
    Column("occupation", "职业代码", "occupation"),
    Column("level", "等级", "level"),
    Column("point", "鉴定点代码", "point"),
    Column("item_type", "题型", "type"),
    Column("stem", "题干", "stem"),
    *(Column(f"option_{x}", f"选项{x}", f"option_{x}") for x in OPTION_LETTERS),
    Column("key", "答案", "key"),
    Column("mode", "评分方式", "scoring"),
    Column("max_points", "满分", "max_points"),
    Column("rubric", "评分标准", "rubric"),
    Column("difficulty", "难度", "difficulty"),
    Column("explanation", "解析", "explanation"),
    Column("source", "出处", "source"),
    Column("tags", "标签", "tags"),
    Column("enemy_sets", "敌对组", "enemy_sets"),
)
BY_HEADER = {h.casefold(): c for c in COLUMNS for h in (c.header, c.alias, c.name)}
TYPES = {"单选": "single", "单选题": "single", "single": "single", "多选": "multiple", "多选题": "multiple",
         "multiple": "multiple", "判断": "truefalse", "判断题": "truefalse", "truefalse": "truefalse",
         "填空": "text", "填空题": "text", "text": "text", "简答": "extended", "简答题": "extended",
         "论述": "extended", "extended": "extended"}
TYPE_HEADERS = {"single": "单选", "multiple": "多选", "truefalse": "判断", "text": "填空", "extended": "简答"}
TRUE_FALSE = {"t": "T", "true": "T", "对": "T", "正确": "T", "√": "T", "f": "F", "false": "F", "错": "F",
              "错误": "F", "×": "F"}
MODES = {"": "all", "全对得分": "all", "all": "all", "部分得分": "partial", "partial": "partial"}
# The service's field names as the columns an examiner sees in error messages.
FIELD_COLUMNS = {"stem": "题干 (stem)", "options": "选项 (options)", "key": "答案 (key)",
                 "scoring": "评分方式/满分/评分标准 (scoring)", "difficulty": "难度 (difficulty)",
                 "item_type": "题型 (type)", "level": "等级 (level)", "appraisal_point_id": "鉴定点代码 (point)",
                 "occupation_id": "职业代码 (occupation)", "source": "出处 (source)", "tags": "标签 (tags)",
                 "enemy_sets": "敌对组 (enemy_sets)"}


def read_rows(data: bytes, suffix: str) -> list[list[str]]:
    if suffix == ".csv":
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InterchangeError("the CSV file is not UTF-8") from None
        return [row for row in csv.reader(io.StringIO(text))]
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise InterchangeError(f"not an XLSX workbook: {exc.__class__.__name__}") from None
    sheet = book.worksheets[0]
    return [["" if cell is None else str(cell) for cell in row] for row in sheet.iter_rows(values_only=True)]


def read_sheet(data: bytes, suffix: str) -> ReadResult:
    rows = read_rows(data, suffix)
    if not rows:
        raise InterchangeError("the sheet is empty")
    header = [BY_HEADER.get(str(h).strip().casefold()) for h in rows[0]]
    unknown = [str(h) for h, c in zip(rows[0], header, strict=False) if c is None and str(h).strip()]
    if unknown:
        raise InterchangeError(f"unknown column(s) in row 1: {', '.join(unknown)}")
    if not any(c and c.name == "stem" for c in header):
        raise InterchangeError("row 1 has no 题干 (stem) column")
    result = ReadResult()
    for number, row in enumerate(rows[1:], start=2):
        cells = {c.name: str(v).strip() for c, v in zip(header, row, strict=False) if c is not None}
        if not any(cells.values()):
            continue
        parsed = _row(number, cells)
        if isinstance(parsed, ImportLine):
            result.problems.append(parsed)
        else:
            result.items.append(parsed)
    return result


def _row(number: int, cells: dict[str, str]) -> ParsedItem | ImportLine:
    label = f"row {number}"
    problems = []
    item_type = TYPES.get(cells.get("item_type", "").casefold())
    if item_type is None:
        problems.append(f"题型 (type): unknown type {cells.get('item_type', '')!r}")
    difficulty = None
    if cells.get("difficulty"):
        try:
            difficulty = float(cells["difficulty"])
        except ValueError:
            problems.append(f"难度 (difficulty): {cells['difficulty']!r} is not a number")
    key, options, scoring = [], [], None
    if item_type in ("single", "multiple", "truefalse"):
        options = [{"id": x, "text": cells.get(f"option_{x}", "")} for x in OPTION_LETTERS
                   if cells.get(f"option_{x}")]
        raw = cells.get("key", "")
        if item_type == "truefalse":
            key = [TRUE_FALSE[raw.casefold()]] if raw.casefold() in TRUE_FALSE else []
            if not key:
                problems.append(f"答案 (key): {raw!r} is not T or F")
        else:
            key = [k for k in raw.upper().replace(",", "").replace("，", "").replace(" ", "")]
        mode = MODES.get(cells.get("mode", "").casefold())
        if mode is None:
            problems.append(f"评分方式 (scoring): {cells.get('mode')!r} is not 全对得分 or 部分得分")
        scoring = {"mode": mode or "all"}
    elif item_type == "text":
        key = [a for a in cells.get("key", "").split("|") if a.strip()]
    elif item_type == "extended":
        scoring = _rubric(cells, problems)
    if problems:
        return ImportLine(label, "rejected", "; ".join(problems))
    return ParsedItem(identifier=cells.get("identifier") or label, item_type=item_type or "",
                      stem=cells.get("stem", ""),
                      options=options, key=key, scoring=scoring, explanation=cells.get("explanation", ""),
                      difficulty=difficulty, occupation_code=cells.get("occupation") or None,
                      level=cells.get("level") or None, point_code=cells.get("point") or None, row=number,
                      source=cells.get("source", ""), tags=labels(cells.get("tags", "")),
                      enemy_sets=labels(cells.get("enemy_sets", "")))


def _rubric(cells: dict[str, str], problems: list[str]) -> dict:
    raw = cells.get("max_points", "").removesuffix(".0")
    if not raw.isdigit():
        problems.append(f"满分 (max_points): {cells.get('max_points', '')!r} is not a whole number")
    levels = []
    for line in cells.get("rubric", "").splitlines():
        if not line.strip():
            continue
        points, _, description = line.replace("：", ":").partition(":")
        if not points.strip().isdigit():
            problems.append(f"评分标准 (rubric): {line!r} is not \"points: description\"")
            continue
        levels.append({"points": int(points), "description": description.strip()})
    return {"max_points": int(raw) if raw.isdigit() else 0, "rubric": levels}


def item_row(item: ParsedItem) -> list[str]:
    """One item as template cells, in ``COLUMNS`` order."""
    scoring = item.scoring or {}
    options = {o["id"]: o["text"] for o in item.options} if item.item_type in ("single", "multiple") else {}
    key = "|".join(item.key) if item.item_type == "text" else "".join(item.key)
    values = {"identifier": item.identifier, "occupation": item.occupation_code or "", "level": item.level or "",
              "point": item.point_code or "", "item_type": TYPE_HEADERS.get(item.item_type, item.item_type),
              "stem": item.stem, "key": key,
              "mode": "部分得分" if scoring.get("mode") == "partial" else "",
              "max_points": str(scoring.get("max_points", "")) if item.item_type == "extended" else "",
              "rubric": "\n".join(f"{lv['points']}: {lv['description']}" for lv in scoring.get("rubric", [])),
              "difficulty": "" if item.difficulty is None else f"{item.difficulty:g}",
              "explanation": item.explanation, "source": item.source, "tags": "|".join(item.tags),
              "enemy_sets": "|".join(item.enemy_sets)}
    values.update({f"option_{x}": options.get(x, "") for x in OPTION_LETTERS})
    return [values[c.name] for c in COLUMNS]


def write_sheet(items: list[ParsedItem], suffix: str) -> bytes:
    header = [c.header for c in COLUMNS]
    return rows_to_file([header, *(item_row(item) for item in items)], suffix, "题库 items")


def rows_to_file(rows: list[list], suffix: str, sheet_title: str) -> bytes:
    """Rows as a UTF-8 CSV (with BOM, for Excel) or a one-sheet XLSX whose cells are all text."""
    if suffix == ".csv":
        buffer = io.StringIO()
        csv.writer(buffer).writerows(rows)
        return buffer.getvalue().encode("utf-8-sig")
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet(sheet_title)
    for row in rows:
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value)
            cell.data_type = "s"  # "=..." stays text: an export never carries live formulas
            cells.append(cell)
        sheet.append(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
