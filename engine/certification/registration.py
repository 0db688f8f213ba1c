"""Registration (报名) by XLSX: all-or-nothing, with every problem named by row and column.

The first sheet's first row holds the headers, Chinese or English (see ``COLUMNS``);
columns may come in any order, unknown columns are ignored. Every row is checked —
resident ID (GB 11643 check character, real and past birth date), consistency of the
optional birth date and sex columns with the ID, numbers and yes/no values, eligibility
for the sitting's level (conditions as data: the occupation's own, else the defaults of
``eligibility``), duplicates within the file and against the database, and room
capacity — before anything is written. A file with any problem writes nothing; a dry
run checks and writes nothing either.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from engine import administration, audit
from engine.certification import eligibility, numbering
from engine.certification.errors import RegistrationFileError
from engine.certification.models import EligibilityRuleSet, Registration
from engine.errors import N_, DeliveryError, InvalidInputError, InvalidResidentIdError, NotFoundError
from engine.identity import parse_resident_id
from engine.models import Candidate, CandidateSession, ExamDefinition, ExamSession, Room
from itembank.levels import LADDER, Level

MAX_ROWS = 5000
# canonical column → accepted header spellings (compared case-insensitively, spaces removed)
COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("name", "姓名"),
    "resident_id": ("resident_id", "residentid", "id_number", "身份证号", "身份证号码", "证件号码"),
    "birth_date": ("birth_date", "出生日期"),
    "sex": ("sex", "性别"),
    "phone": ("phone", "手机", "手机号", "联系电话"),
    "employer": ("employer", "工作单位", "单位"),
    "years_in_occupation": ("years_in_occupation", "years", "从事本职业年限", "工作年限"),
    "prior_level": ("prior_level", "原证书等级", "原职业资格等级"),
    "prior_certificate": ("prior_certificate", "原证书编号"),
    "school_graduate": ("school_graduate", "技工院校毕业"),
    "apprenticeship": ("apprenticeship", "学徒"),
}
REQUIRED = ("name", "resident_id")
YES = {"yes", "y", "true", "1", "是", "√"}
NO = {"no", "n", "false", "0", "否", ""}
LEVEL_WORDS = {"五级": Level.level5, "初级工": Level.level5, "四级": Level.level4, "中级工": Level.level4,
               "三级": Level.level3, "高级工": Level.level3, "二级": Level.level2, "技师": Level.level2,
               "一级": Level.level1, "高级技师": Level.level1}
SEX_WORDS = {"男": "M", "女": "F", "m": "M", "f": "F", "male": "M", "female": "F"}


@dataclass(frozen=True)
class RowProblem:
    row: int  # the spreadsheet's row number (headers are row 1); 0 for the file as a whole
    column: str  # canonical column name, or "file" / "eligibility"
    message: str  # translatable template
    params: dict[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        where = f"row {self.row}, {self.column}" if self.row else self.column
        return f"{where}: {self.message % self.params if self.params else self.message}"


@dataclass(frozen=True)
class RegistrationRow:
    row: int
    name: str
    resident_id: str
    phone: str
    employer: str
    applicant: eligibility.Applicant
    prior_certificate: str
    condition: eligibility.Condition | None


@dataclass(frozen=True)
class ImportReport:
    rows: list[RegistrationRow]
    dry_run: bool
    enrolled: list[int]  # candidate session ids, empty on a dry run


def conditions_for(session: Session, definition: ExamDefinition) -> tuple[eligibility.Condition, ...] | None:
    """The occupation's stored conditions for the level, or None for the defaults."""
    stored = session.exec(select(EligibilityRuleSet).where(EligibilityRuleSet.occupation_id == definition.occupation_id,
                                                           EligibilityRuleSet.level == definition.level)).first()
    return None if stored is None else eligibility.conditions_from_data(stored.conditions)


def set_eligibility_rules(session: Session, occupation_id: int, level: str, conditions: list[dict[str, Any]],
                          actor: str) -> EligibilityRuleSet:
    """Store an occupation's own conditions for a level (validated first), audited."""
    try:
        level_value = Level(level)
    except ValueError:
        raise InvalidInputError(N_("unknown level '%(level)s'"), "level", level=level) from None
    parsed = eligibility.conditions_from_data(conditions)
    data = [c.as_data() for c in parsed]
    stored = session.exec(select(EligibilityRuleSet).where(EligibilityRuleSet.occupation_id == occupation_id,
                                                           EligibilityRuleSet.level == level_value)).first()
    stored = stored or EligibilityRuleSet(occupation_id=occupation_id, level=level_value, conditions=[])
    stored.conditions = data
    session.add(stored)
    session.flush()
    audit.record(session, actor, "eligibility.set", "occupation", occupation_id,
                 {"level": level_value.value, "conditions": data})
    return stored


def import_registrations(session: Session, content: bytes, exam_session_id: int, actor: str, today: date,
                         dry_run: bool = False, source: str = "") -> ImportReport:
    """Check every row; on any problem raise RegistrationFileError listing them all, writing nothing."""
    exam_session = session.get(ExamSession, exam_session_id)
    if exam_session is None:
        raise NotFoundError(N_("exam session %(id)s not found"), id=exam_session_id)
    definition = session.get(ExamDefinition, exam_session.exam_definition_id)
    problems: list[RowProblem] = []
    rows = _checked_rows(_read_sheet(content, problems), definition, conditions_for(session, definition), today,
                         problems)
    _check_against_database(session, exam_session, rows, problems)
    if problems:
        raise RegistrationFileError(N_("the registration file has %(n)s problems; nothing was imported"),
                                    sorted(problems, key=lambda p: (p.row, p.column)), "file", n=len(problems))
    if dry_run:
        return ImportReport(rows, True, [])
    enrolled = [_enrol(session, exam_session_id, row, actor, today, source) for row in rows]
    audit.record(session, actor, "registration.imported", "exam_session", exam_session_id,
                 {"rows": len(rows), "source": source[:200]})
    return ImportReport(rows, False, enrolled)


def _enrol(session: Session, exam_session_id: int, row: RegistrationRow, actor: str, today: date,
           source: str) -> int:
    sitting = administration.enrol(session, exam_session_id, row.name, row.resident_id, actor, today=today)
    session.add(Registration(candidate_session_id=sitting.id, phone=row.phone, employer=row.employer,
                             years_in_occupation=row.applicant.years_in_occupation,
                             prior_level=row.applicant.prior_level, prior_certificate=row.prior_certificate,
                             school_graduate=row.applicant.school_graduate,
                             apprenticeship=row.applicant.apprenticeship,
                             condition_met=row.condition.as_data() if row.condition else None,
                             source_file=source[:200]))
    session.flush()
    return sitting.id


# ---- reading the sheet --------------------------------------------------------------------------------


def _read_sheet(content: bytes, problems: list[RowProblem]) -> list[tuple[int, dict[str, object]]]:
    """(row number, {canonical column: cell value}) for every non-empty row under the headers."""
    from openpyxl import load_workbook  # only the import path needs the XLSX reader

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 — zipfile, XML and openpyxl errors all mean "not an XLSX file"
        problems.append(RowProblem(0, "file", N_("not a readable XLSX file: %(problem)s"),
                                   {"problem": type(exc).__name__}))
        return []
    sheet = workbook.worksheets[0]
    lines = sheet.iter_rows(values_only=True)
    headers = next(lines, None) or ()
    columns = _columns(headers, problems)
    if columns is None:
        return []
    rows = []
    for number, line in enumerate(lines, start=2):
        if all(cell is None or str(cell).strip() == "" for cell in line):
            continue
        if len(rows) >= MAX_ROWS:
            problems.append(RowProblem(0, "file", N_("more than %(n)s rows; split the file"), {"n": MAX_ROWS}))
            break
        rows.append((number, {name: line[index] if index < len(line) else None for name, index in columns.items()}))
    workbook.close()
    if not rows and not problems:
        problems.append(RowProblem(0, "file", N_("the file has no candidate rows")))
    return rows


def _columns(headers: tuple, problems: list[RowProblem]) -> dict[str, int] | None:
    spelling = {alias.lower(): name for name, aliases in COLUMNS.items() for alias in aliases}
    columns: dict[str, int] = {}
    for index, header in enumerate(headers):
        name = spelling.get(str(header or "").strip().replace(" ", "").lower())
        if name and name not in columns:
            columns[name] = index
    missing = [name for name in REQUIRED if name not in columns]
    for name in missing:
        problems.append(RowProblem(1, name, N_("the required column %(column)s is missing "
                                               "(accepted headers: %(headers)s)"),
                                   {"column": name, "headers": ", ".join(COLUMNS[name])}))
    return None if missing else columns


# ---- checking rows ---------------------------------------------------------------------------------------


def _checked_rows(rows: list[tuple[int, dict[str, object]]], definition: ExamDefinition,
                  conditions: tuple[eligibility.Condition, ...] | None, today: date,
                  problems: list[RowProblem]) -> list[RegistrationRow]:
    checked, first_row_of = [], {}
    for number, cells in rows:
        found: list[RowProblem] = []
        row = _row(number, cells, definition.level, conditions, today, found)
        if row is not None:
            if row.resident_id in first_row_of:
                found.append(RowProblem(number, "resident_id",
                                        N_("resident ID %(id)s appears already in row %(first)s"),
                                        {"id": row.resident_id, "first": first_row_of[row.resident_id]}))
            first_row_of.setdefault(row.resident_id, number)
        problems.extend(found)
        if row is not None and not found:
            checked.append(row)
    return checked


def _row(number: int, cells: dict[str, object], level: Level,
         conditions: tuple[eligibility.Condition, ...] | None, today: date,
         found: list[RowProblem]) -> RegistrationRow | None:
    def problem(column: str, message: str, **params: object) -> None:
        found.append(RowProblem(number, column, message, params))

    name = _text(cells.get("name"))
    if not name:
        problem("name", N_("name is required"))
    elif len(name) > 120:
        problem("name", N_("name is longer than %(limit)s characters"), limit=120)
    try:
        identity = parse_resident_id(_text(cells.get("resident_id")), today)
    except InvalidResidentIdError as exc:
        problem("resident_id", exc.template, **exc.params)
        identity = None
    if identity is not None:
        _consistency(cells, identity.birth_date, identity.sex, problem)
    years = _years(cells.get("years_in_occupation"), problem)
    prior = _level(cells.get("prior_level"), problem)
    school, apprentice = _yes_no(cells, "school_graduate", problem), _yes_no(cells, "apprenticeship", problem)
    prior_certificate = _text(cells.get("prior_certificate")).upper()
    if prior_certificate:
        try:
            numbering.parse(prior_certificate)
        except DeliveryError as exc:
            problem("prior_certificate", exc.template, **exc.params)
    if found or identity is None:
        return None
    applicant = eligibility.Applicant(years, prior, school, apprentice)
    verdict = eligibility.check(level, applicant, conditions)
    if not verdict.eligible:
        problem("eligibility", verdict.message, **verdict.params)
        return None
    return RegistrationRow(number, name, identity.number, _text(cells.get("phone"))[:30],
                           _text(cells.get("employer"))[:200], applicant, prior_certificate, verdict.met)


def _consistency(cells: dict[str, object], born: date, sex: str, problem) -> None:
    raw_birth = cells.get("birth_date")
    if raw_birth not in (None, ""):
        stated = _date(raw_birth)
        if stated is None:
            problem("birth_date", N_("birth date '%(value)s' is not a date such as 1990-03-15"), value=_text(raw_birth))
        elif stated != born:
            problem("birth_date", N_("birth date %(stated)s does not match the resident ID (%(born)s)"),
                    stated=stated.isoformat(), born=born.isoformat())
    raw_sex = _text(cells.get("sex")).lower()
    if raw_sex:
        stated_sex = SEX_WORDS.get(raw_sex)
        if stated_sex is None:
            problem("sex", N_("sex '%(value)s' is not 男/女 or M/F"), value=raw_sex)
        elif stated_sex != sex:
            problem("sex", N_("sex %(stated)s does not match the resident ID (%(sex)s)"), stated=stated_sex, sex=sex)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _date(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value).replace("/", "-").replace(".", "-")
    for candidate in (text, f"{text[:4]}-{text[4:6]}-{text[6:8]}" if len(text) == 8 and text.isdigit() else ""):
        try:
            return date.fromisoformat(candidate)
        except ValueError:
            continue
    return None


def _years(value: object, problem) -> float:
    text = _text(value)
    if not text:
        return 0.0
    try:
        years = float(text)
    except ValueError:
        years = -1.0
    if not 0 <= years <= 70:
        problem("years_in_occupation", N_("years in the occupation must be a number from 0 to 70, got '%(value)s'"),
                value=text)
        return 0.0
    return years


def _level(value: object, problem) -> Level | None:
    text = _text(value)
    if not text:
        return None
    if text.isdigit() and 1 <= int(text) <= 5:
        return Level(f"level{text}")
    for word, level in LEVEL_WORDS.items():
        if text.split("/")[0] == word or text == word:
            return level
    try:
        level = Level(text.lower())
    except ValueError:
        level = None
    if level not in LADDER:
        problem("prior_level", N_("prior level '%(value)s' is not a level such as 五级 or level5"), value=text)
        return None
    return level


def _yes_no(cells: dict[str, object], column: str, problem) -> bool:
    text = _text(cells.get(column)).lower()
    if text in YES:
        return True
    if text not in NO:
        problem(column, N_("'%(value)s' is not yes/no (是/否)"), value=text)
    return False


def _check_against_database(session: Session, exam_session: ExamSession, rows: list[RegistrationRow],
                            problems: list[RowProblem]) -> None:
    numbers = [row.resident_id for row in rows]
    known = {c.resident_id: c for c in session.exec(select(Candidate).where(col(Candidate.resident_id).in_(numbers)))}
    enrolled = set(session.exec(select(CandidateSession.candidate_id)
                                .where(CandidateSession.exam_session_id == exam_session.id)).all())
    for row in rows:
        candidate = known.get(row.resident_id)
        if candidate is None:
            continue
        if candidate.id in enrolled:
            problems.append(RowProblem(row.row, "resident_id", N_("%(name)s is already enrolled in this exam session"),
                                       {"name": candidate.name}))
        elif candidate.name != row.name:
            problems.append(RowProblem(row.row, "name", N_("resident ID %(id)s is registered under another name"),
                                       {"id": row.resident_id}))
    room = session.get(Room, exam_session.room_id)
    if room is not None and len(enrolled) + len(rows) > room.capacity:
        problems.append(RowProblem(0, "file", N_("room %(room)s holds %(capacity)s candidates: %(enrolled)s are "
                                                 "enrolled and the file adds %(rows)s"),
                                   {"room": room.name, "capacity": room.capacity, "enrolled": len(enrolled),
                                    "rows": len(rows)}))
