"""Build registration spreadsheets in memory for the tests."""

from __future__ import annotations

import io

from openpyxl import Workbook

from engine.identity import check_character

HEADERS_ZH = ["姓名", "身份证号", "出生日期", "性别", "手机", "工作单位", "从事本职业年限", "原证书等级",
              "技工院校毕业"]


def resident_id(born: str, sequence: int, address: str = "370102") -> str:
    first17 = f"{address}{born}{sequence:03d}"
    return first17 + check_character(first17)


def workbook(headers: list[str], rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def good_row(index: int, years: object = 6) -> list[object]:
    """A level-4-eligible candidate (6 years in the occupation); odd sequence → male."""
    born = f"1990{1 + index % 12:02d}{1 + index % 28:02d}"
    return [f"考生{index:03d}", resident_id(born, 2 * index + 1), f"{born[:4]}-{born[4:6]}-{born[6:]}", "男",
            f"1380000{index:04d}", "济南电力公司", years, "", "否"]
