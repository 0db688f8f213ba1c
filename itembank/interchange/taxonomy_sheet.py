"""The appraisal-element breakdown as a sheet (XLSX or CSV), laid out like the national
standard's table: one node per row, codes that nest by their dash-separated segments
(``A`` module → ``A-B`` element → ``A-B-001`` point), weights in percent, X/Y/Z importance.

Headers (Chinese or English): 代码 ``code``, 名称 ``name``, 英文名称 ``name_en``,
比重 ``weight``, 重要程度 ``importance``. Every problem is reported by row and column and
nothing is written unless the whole sheet is sound.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, select

from itembank import taxonomy
from itembank.errors import InterchangeError, ItemValidationError
from itembank.interchange.xlsx import read_rows
from itembank.levels import Level
from itembank.models import AppraisalNode, Occupation

HEADERS = {"代码": "code", "code": "code", "名称": "name", "name": "name", "英文名称": "name_en",
           "name_en": "name_en", "比重": "weight", "weight": "weight", "重要程度": "importance",
           "importance": "importance"}
TITLES = (("code", "代码"), ("name", "名称"), ("name_en", "英文名称"), ("weight", "比重"), ("importance", "重要程度"))


@dataclass
class TreeRead:
    tree: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    count: int = 0


def read_tree(data: bytes, suffix: str) -> TreeRead:
    rows = read_rows(data, suffix)
    if not rows:
        raise InterchangeError("the sheet is empty")
    header = [HEADERS.get(str(h).strip().casefold(), HEADERS.get(str(h).strip())) for h in rows[0]]
    if "code" not in header or "name" not in header:
        raise InterchangeError("row 1 needs the 代码 (code) and 名称 (name) columns")
    result, by_code = TreeRead(), {}
    for number, row in enumerate(rows[1:], start=2):
        cells = {name: str(value).strip() for name, value in zip(header, row, strict=False) if name}
        if not any(cells.values()):
            continue
        node = _node(number, cells, by_code, result.problems)
        if node is None:
            continue
        by_code[node["code"]] = node
        parent_code = node["code"].rpartition("-")[0]
        (by_code[parent_code]["children"] if parent_code else result.tree).append(node)
        result.count += 1
    return result


def _node(number: int, cells: dict[str, str], by_code: dict, problems: list[str]) -> dict[str, Any] | None:
    code, name = cells.get("code", ""), cells.get("name", "")
    found = []
    if not code:
        found.append("代码 (code): empty")
    elif code in by_code:
        found.append(f"代码 (code): {code} appears twice")
    elif code.count("-") > 2:
        found.append(f"代码 (code): {code} is deeper than module → element → point")
    elif "-" in code and code.rpartition("-")[0] not in by_code:
        found.append(f"代码 (code): the parent {code.rpartition('-')[0]} is not above this row")
    if not name:
        found.append("名称 (name): empty")
    weight = None
    if cells.get("weight"):
        try:
            weight = float(cells["weight"].rstrip("%"))
        except ValueError:
            found.append(f"比重 (weight): {cells['weight']!r} is not a number")
    importance = cells.get("importance", "").upper() or None
    if importance not in (None, "X", "Y", "Z"):
        found.append(f"重要程度 (importance): {cells['importance']!r} is not X, Y or Z")
    problems.extend(f"row {number}, {problem}" for problem in found)
    if found:
        return None
    return {"code": code, "name": name, "name_en": cells.get("name_en", ""), "weight": weight,
            "importance": importance, "children": []}


def import_sheet(session: Session, read: TreeRead, occupation_code: str, occupation_name: str, level: Level
                 ) -> dict[str, AppraisalNode]:
    """Create the occupation if new and the tree for ``level``; refuses an existing tree."""
    if read.problems:
        raise ItemValidationError({"sheet": "; ".join(read.problems)})
    occupation = session.exec(select(Occupation).where(Occupation.code == occupation_code)).first()
    if occupation is not None and session.exec(select(AppraisalNode).where(
            AppraisalNode.occupation_id == occupation.id, AppraisalNode.level == level)).first() is not None:
        raise ItemValidationError({"level": f"{occupation_code} already has an appraisal tree for {level.value}"})
    if occupation is None and not occupation_name:
        raise ItemValidationError({"occupation": f"new occupation {occupation_code}: give its name"})
    occupation = taxonomy.get_or_create_occupation(session, occupation_code, occupation_name or occupation_code)
    return taxonomy.import_tree(session, occupation, level, read.tree)


def export_rows(session: Session, occupation_code: str, level: str) -> list[list[str]]:
    occupation = session.exec(select(Occupation).where(Occupation.code == occupation_code)).first()
    if occupation is None:
        raise InterchangeError(f"unknown occupation {occupation_code!r}")
    nodes = session.exec(select(AppraisalNode).where(AppraisalNode.occupation_id == occupation.id,
                                                     AppraisalNode.level == level)).all()
    ordered = sorted(nodes, key=lambda n: [part.zfill(6) for part in n.code.split("-")])
    rows = [[title for _name, title in TITLES]]
    for node in ordered:
        rows.append([node.code, node.name, node.name_en, "" if node.weight is None else f"{node.weight:g}",
                     node.importance.value if node.importance else ""])
    return rows
