"""Imports into the bank are all or nothing (with a dry run); exports re-import unchanged;
the XLSX/CSV template reports every problem by row and column."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime

import pytest
from openpyxl import Workbook, load_workbook
from sqlmodel import Session, func, select

from itembank.interchange import bank, package, xlsx
from itembank.interchange.model import ParsedItem, ReadResult
from itembank.models import Item, ItemStatus, ItemVersion

OCCUPATION = "6-31-01-03"


def _count(db: Session) -> int:
    return db.exec(select(func.count()).select_from(Item)).one()


def _record(entries: list):
    return lambda *args: entries.append(args)


def _sheet(rows: list[list[str]], header: list[str] | None = None) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(header or ["题号", "职业代码", "等级", "鉴定点代码", "题型", "题干", "选项A", "选项B", "选项C",
                            "选项D", "答案", "评分方式", "满分", "评分标准", "难度", "解析"])
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _good_row(n: int) -> list[str]:
    return [f"Q{n}", OCCUPATION, "4", "A-B-001", "单选", f"欧姆定律第{n}题：I=U/R 中 R 表示（　）。", "电阻", "电压",
            "电流", "功率", "A", "", "", "", "0.7", ""]


class TestXlsxTemplate:
    def test_every_kind_of_row_reads(self):
        rows = [_good_row(1),
                ["Q2", OCCUPATION, "四级", "A-B-001", "多选", "属于导体的是", "铜", "铝", "橡胶", "陶瓷", "A,B",
                 "部分得分", "", "", "", ""],
                ["Q3", OCCUPATION, "level4", "A-B-001", "判断", "铜是导体", "", "", "", "", "对", "", "", "", "", ""],
                ["Q4", OCCUPATION, "4", "A-B-001", "填空", "电流单位是____", "", "", "", "", "安培|A",
                 "", "", "", "", ""],
                ["Q5", OCCUPATION, "4", "A-B-001", "简答", "简述验电步骤", "", "", "", "", "", "", "3",
                 "3: 完整\n0：未答", "", ""]]
        result = xlsx.read_sheet(_sheet(rows), ".xlsx")
        assert result.problems == []
        got = {i.identifier: (i.item_type, i.key, i.scoring) for i in result.items}
        assert got == {"Q1": ("single", ["A"], {"mode": "all"}), "Q2": ("multiple", ["A", "B"], {"mode": "partial"}),
                       "Q3": ("truefalse", ["T"], {"mode": "all"}), "Q4": ("text", ["安培", "A"], None),
                       "Q5": ("extended", [], {"max_points": 3, "rubric": [{"points": 3, "description": "完整"},
                                                                           {"points": 0, "description": "未答"}]})}

    def test_english_headers_and_csv_work_too(self):
        text = ("id,occupation,level,point,type,stem,option_A,option_B,key\n"
                f"E1,{OCCUPATION},4,A-B-001,single,题,甲,乙,B\n")
        result = xlsx.read_sheet(text.encode("utf-8-sig"), ".csv")
        assert [(i.identifier, i.key) for i in result.items] == [("E1", ["B"])]

    def test_unknown_column_is_refused_whole(self):
        with pytest.raises(Exception, match="unknown column"):
            xlsx.read_sheet(_sheet([], header=["题干", "花絮"]), ".xlsx")

    def test_export_cells_starting_with_equals_stay_text(self):
        item = ParsedItem("x", "single", "=HYPERLINK(\"http://evil\")", [{"id": "A", "text": "=1+1"}], ["A"])
        book = load_workbook(io.BytesIO(xlsx.write_sheet([item], ".xlsx")))
        row = [c.value for c in next(book.active.iter_rows(min_row=2, max_row=2))]
        assert row[5] == '=HYPERLINK("http://evil")' and book.active.cell(2, 6).data_type == "s"


class TestImportIntoTheBank:
    def test_one_bad_row_among_many_writes_nothing_and_names_row_and_column(self, db, demo):
        rows = [_good_row(n) for n in range(1, 51)]
        rows[9][10] = "Z"  # row 11: key names no option
        rows[19][4] = "连线"  # row 21: unknown type
        rows[29][14] = "很难"  # row 31: difficulty not a number
        rows[39][3] = "NO-SUCH"  # row 41: unknown point
        before = _count(db)
        read = xlsx.read_sheet(_sheet(rows), ".xlsx")
        report = bank.import_items(db, read, "examiner", _record([]), column_of=xlsx.FIELD_COLUMNS)
        assert not report.ok and report.created == []
        refused = {line.identifier: line.detail for line in report.lines if line.outcome != "imported"}
        assert set(refused) == {"Q10", "row 21", "row 31", "Q40"}
        assert "答案 (key)" in refused["Q10"] and "题型 (type)" in refused["row 21"]
        assert "难度 (difficulty)" in refused["row 31"] and "NO-SUCH" in refused["Q40"]
        assert _count(db) == before

    def test_dry_run_reports_and_writes_nothing(self, db, demo):
        before = _count(db)
        read = xlsx.read_sheet(_sheet([_good_row(1), _good_row(2)]), ".xlsx")
        report = bank.import_items(db, read, "examiner", _record([]), dry_run=True)
        assert report.ok and [str(x) for x in report.lines] == ["imported Q1 (dry run)", "imported Q2 (dry run)"]
        assert _count(db) == before

    def test_a_thousand_rows_import_quickly_as_drafts_with_audit(self, db, demo):
        before = _count(db)
        entries: list = []
        started = time.perf_counter()
        read = xlsx.read_sheet(_sheet([_good_row(n) for n in range(1000)]), ".xlsx")
        report = bank.import_items(db, read, "examiner", _record(entries))
        db.commit()
        assert time.perf_counter() - started < 10
        assert report.ok and len(report.created) == 1000 and _count(db) == before + 1000
        assert {db.get(Item, i).status for i in report.created[:5]} == {ItemStatus.draft}
        assert entries[-1][0] == "bank.imported" and entries[-1][3]["count"] == 1000

    def test_items_without_a_place_need_occupation_and_level(self, db, demo):
        options = [{"id": "A", "text": "a"}, {"id": "B", "text": "b"}]
        read = ReadResult(items=[ParsedItem("q", "single", "题", options, ["A"])])
        report = bank.import_items(db, read, "examiner", _record([]))
        assert [str(x) for x in report.lines] == ["rejected q: no occupation: pass --occupation"]
        report = bank.import_items(db, read, "examiner", _record([]), bank.Place(OCCUPATION, "4"))
        assert report.ok


class TestExportReimport:
    def test_bank_exports_as_qti3_and_reimports_identically(self, db, demo):
        rows = bank.bank_items(db, OCCUPATION, "level4")
        assert len(rows) == 60
        data = package.write_package([package.Exported(p.identifier, p) for _i, _v, p in rows], "admin",
                                     datetime(2026, 1, 1, tzinfo=UTC))
        read = package.read_package(data)
        assert read.problems == []
        originals = {p.identifier: p for _i, _v, p in rows}
        for back in read.items:
            original = originals[back.identifier]
            for field in ("item_type", "stem", "options", "key", "scoring", "explanation", "difficulty",
                          "occupation_code", "level", "point_code"):
                assert getattr(back, field) == getattr(original, field), (back.identifier, field)
        report = bank.import_items(db, read, "examiner", _record([]))
        db.commit()
        assert report.ok and len(report.created) == 60
        copies = {version.stem for version in
                  db.exec(select(ItemVersion).where(ItemVersion.item_id.in_(report.created))).all()}
        assert copies == {p.stem for p in originals.values()}

    def test_xlsx_export_reimports(self, db, demo):
        rows = bank.bank_items(db, OCCUPATION)
        read = xlsx.read_sheet(xlsx.write_sheet([p for _i, _v, p in rows], ".xlsx"), ".xlsx")
        assert read.problems == [] and len(read.items) == len(rows)
        report = bank.import_items(db, read, "examiner", _record([]), dry_run=True)
        assert report.ok


class TestUsageData:
    def test_parameters_travel_in_usage_data_and_land_as_a_calibration(self, db, demo):
        from itembank.interchange import usage
        from itembank.models import CalibrationRun, ItemCalibration

        rows = bank.bank_items(db, OCCUPATION, "level4")[:3]
        stats = [usage.ItemStatistics(rows[0][2].identifier, n=120, p_value=0.71, point_biserial=0.42,
                                      model="2pl", a=1.25, d=(0.5,)),
                 usage.ItemStatistics(rows[1][2].identifier, n=120, p_value=0.55)]
        data = package.write_package([package.Exported(p.identifier, p) for _i, _v, p in rows], "admin",
                                     datetime(2026, 1, 1, tzinfo=UTC), statistics=stats)
        read = package.read_package(data)
        by_id = {item.identifier: item for item in read.items}
        assert by_id[rows[0][2].identifier].parameters == {"model": "2pl", "a": 1.25, "d": [0.5]}
        assert by_id[rows[1][2].identifier].parameters is None
        entries: list = []
        report = bank.import_items(db, read, "examiner", _record(entries))
        assert report.ok
        run = db.exec(select(CalibrationRun).where(CalibrationRun.source == "imported QTI usage data")).one()
        (stored,) = db.exec(select(ItemCalibration).where(ItemCalibration.calibration_run_id == run.id)).all()
        assert (stored.model, stored.a, stored.d) == ("2pl", 1.25, [0.5])
        assert entries[-1][0] == "calibration.imported"

    def test_usage_document_is_the_qti3_form(self):
        from itembank.interchange import usage

        xml = usage.write_usage([usage.ItemStatistics("i1", n=50, p_value=0.6, model="3pl", a=1.0, d=(0.2,), c=0.2)],
                                "ctx")
        assert 'xmlns="http://www.imsglobal.org/xsd/imsqti_usagedata_v3p0"' in xml
        assert '<ordinaryStatistic name="p-value"' in xml and 'caseCount="50"' in xml
        assert usage.read_parameters(xml.encode()) == {"i1": {"model": "3pl", "a": 1.0, "d": [0.2], "c": 0.2}}

    def test_bad_parameters_reject_the_item_and_nothing_is_written(self, db, demo):
        from itembank.interchange import usage

        rows = bank.bank_items(db, OCCUPATION, "level4")[:2]
        stats = [usage.ItemStatistics(rows[0][2].identifier, model="2pl", a=1.0, d=(0.1, 0.2))]
        read = package.read_package(package.write_package(
            [package.Exported(p.identifier, p) for _i, _v, p in rows], "admin", datetime(2026, 1, 1, tzinfo=UTC),
            statistics=stats))
        before = _count(db)
        report = bank.import_items(db, read, "examiner", _record([]))
        assert not report.ok and "IRT parameters" in str(report.lines[0]) and _count(db) == before
        bad = b'<usageData xmlns="http://www.imsglobal.org/xsd/imsqti_usagedata_v3p0"><ordinaryStatistic ' \
              b'name="irt-a" context="x"><targetObject identifier="i"/><value>steep</value></ordinaryStatistic>' \
              b'</usageData>'
        with pytest.raises(Exception, match="not a number"):
            usage.read_parameters(bad)
