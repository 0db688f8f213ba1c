"""``skillcert items import / export / score``: one line per item, exit 2 and nothing written
on any refusal, exports admin-only and audited."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from engine.models import AuditEntry
from itembank.models import Item, ItemVersion
from web import cli

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "data" / "qti"


@pytest.fixture
def runner(db_engine, monkeypatch) -> CliRunner:
    monkeypatch.setattr(cli, "make_engine", lambda _url: db_engine)
    return CliRunner()


def _items(db_engine) -> int:
    with Session(db_engine) as session:
        return session.exec(select(func.count()).select_from(Item)).one()


def _first(db_engine, item_type: str) -> tuple[Item, ItemVersion]:
    with Session(db_engine) as session:
        item = session.exec(select(Item).where(Item.item_type == item_type).order_by(Item.id)).first()
        version = session.exec(select(ItemVersion).where(ItemVersion.item_id == item.id)).first()
        return item, version


class TestScore:
    def test_scores_the_key_and_a_wrong_answer(self, runner, demo, db_engine):
        item, version = _first(db_engine, "multiple")
        right = runner.invoke(cli.app, ["items", "score", str(item.id), "--response", json.dumps(version.key)])
        assert right.exit_code == 0 and right.output.strip() == "1 / 1"
        wrong = runner.invoke(cli.app, ["items", "score", str(item.id), "--response", json.dumps(version.key[:1])])
        assert wrong.output.strip() == "0 / 1"

    @pytest.mark.parametrize("args,message", [
        (["99999", "--response", '["A"]'], "not found"),
        (["1", "--response", "[A"], "not JSON"),
        (["1", "--response", '["Q"]'], "does not fit"),
    ])
    def test_bad_input_exits_2(self, runner, demo, args, message):
        result = runner.invoke(cli.app, ["items", "score", *args])
        assert result.exit_code == 2 and message in result.output


@pytest.mark.skipif(not SAMPLES.is_dir(), reason="QTI samples not present")
class TestImport:
    def test_single_qti_item_imports_as_a_draft(self, runner, demo, db_engine):
        before = _items(db_engine)
        result = runner.invoke(cli.app, ["items", "import", str(SAMPLES / "qti2-ims-examples/2_2/choice.xml"),
                                         "--occupation", "6-31-01-03", "--level", "4", "--as", "examiner"])
        assert result.exit_code == 0, result.output
        assert result.output.startswith("imported choice (item ") and _items(db_engine) == before + 1

    def test_unsupported_item_exits_2_and_writes_nothing(self, runner, demo, db_engine):
        before = _items(db_engine)
        result = runner.invoke(cli.app, ["items", "import", str(SAMPLES / "qti2-ims-examples/2_1/hotspot.xml"),
                                         "--occupation", "6-31-01-03", "--level", "4"])
        assert result.exit_code == 2 and "unsupported hotspot: hotspotInteraction" in result.output
        assert _items(db_engine) == before

    def test_package_with_one_bad_item_writes_none(self, runner, demo, db_engine, tmp_path):
        folder = SAMPLES / "qti3-conformance/Basic/T4-T7"
        archive_path = tmp_path / "t4.zip"
        with zipfile.ZipFile(archive_path, "w") as archive:
            for file in folder.rglob("*"):
                if file.is_file():
                    archive.write(file, file.relative_to(folder).as_posix())
        before = _items(db_engine)
        result = runner.invoke(cli.app, ["items", "import", str(archive_path), "--occupation", "6-31-01-03",
                                         "--level", "4"])
        assert result.exit_code == 2
        assert "rejected t1-test-entry-item2: no correct response" in result.output
        assert _items(db_engine) == before

    def test_unknown_level_and_file_type_exit_2(self, runner, demo, tmp_path):
        assert runner.invoke(cli.app, ["items", "import", str(SAMPLES / "qti2-ims-examples/2_2/choice.xml"),
                                       "--level", "99"]).exit_code == 2
        odd = tmp_path / "bank.doc"
        odd.write_bytes(b"x")
        result = runner.invoke(cli.app, ["items", "import", str(odd)])
        assert result.exit_code == 2 and "unknown file type" in result.output


class TestExport:
    def test_admin_exports_a_package_that_reimports_and_is_audited(self, runner, demo, db_engine, tmp_path):
        out = tmp_path / "bank.zip"
        result = runner.invoke(cli.app, ["items", "export", "--format", "qti3", "--occupation", "6-31-01-03",
                                         "--level", "4", "--out", str(out), "--as", "admin"])
        assert result.exit_code == 0, result.output
        assert "exported 60 item(s)" in result.output
        with zipfile.ZipFile(io.BytesIO(out.read_bytes())) as archive:
            manifest = archive.read("imsmanifest.xml").decode()
            usage = archive.read("usagedata.xml").decode()
        assert 'by="admin"' in manifest and 'items="60"' in manifest
        assert 'type="imsqti_usagedata_xmlv3p0"' in manifest and "imsqti_usagedata_v3p0" in usage
        with Session(db_engine) as session:
            entry = session.exec(select(AuditEntry).where(AuditEntry.action == "bank.exported")).one()
        assert entry.actor == "admin" and len(entry.data["items"]) == 60
        before = _items(db_engine)
        again = runner.invoke(cli.app, ["items", "import", str(out), "--dry-run"])
        assert again.exit_code == 0 and again.output.count("imported item-") == 60
        assert _items(db_engine) == before

    @pytest.mark.parametrize("who", ["examiner", "candidate", "nobody"])
    def test_non_admins_cannot_export(self, runner, demo, tmp_path, who):
        out = tmp_path / "bank.xlsx"
        result = runner.invoke(cli.app, ["items", "export", "--format", "xlsx", "--out", str(out), "--as", who])
        assert result.exit_code == 2 and "only admins" in result.output and not out.exists()

    def test_xlsx_export_then_import_round_trip(self, runner, demo, db_engine, tmp_path):
        out = tmp_path / "bank.xlsx"
        assert runner.invoke(cli.app, ["items", "export", "--format", "xlsx", "--out", str(out),
                                       "--as", "admin"]).exit_code == 0
        result = runner.invoke(cli.app, ["items", "import", str(out), "--dry-run"])
        assert result.exit_code == 0 and result.output.count("(dry run)") == 60


class TestTaxonomySheets:
    def _nodes(self, db_engine, code: str) -> int:
        from itembank.models import AppraisalNode, Occupation

        with Session(db_engine) as session:
            occupation = session.exec(select(Occupation).where(Occupation.code == code)).first()
            if occupation is None:
                return 0
            return session.exec(select(func.count()).select_from(AppraisalNode)
                                .where(AppraisalNode.occupation_id == occupation.id)).one()

    def test_export_then_import_as_a_new_occupation(self, runner, demo, db_engine, tmp_path):
        sheet = tmp_path / "tree.xlsx"
        exported = runner.invoke(cli.app, ["items", "taxonomy-export", "--occupation", "6-31-01-03", "--level", "4",
                                           "--out", str(sheet)])
        assert exported.exit_code == 0 and "exported 34 appraisal node(s)" in exported.output
        dry = runner.invoke(cli.app, ["items", "taxonomy-import", str(sheet), "--occupation", "6-31-01-99",
                                      "--name", "维修电工", "--level", "3", "--dry-run"])
        assert dry.exit_code == 0 and "would import 34" in dry.output and self._nodes(db_engine, "6-31-01-99") == 0
        done = runner.invoke(cli.app, ["items", "taxonomy-import", str(sheet), "--occupation", "6-31-01-99",
                                       "--name", "维修电工", "--level", "3"])
        assert done.exit_code == 0, done.output
        assert self._nodes(db_engine, "6-31-01-99") == 34
        again = runner.invoke(cli.app, ["items", "taxonomy-import", str(sheet), "--occupation", "6-31-01-99",
                                        "--level", "3"])
        assert again.exit_code == 2 and "already has an appraisal tree" in again.output

    def test_every_bad_row_is_named_and_nothing_is_written(self, runner, demo, db_engine, tmp_path):
        sheet = tmp_path / "tree.csv"
        sheet.write_text("代码,名称,比重,重要程度\nA,基本要求,100,\nA-A,职业道德,100,\nA-A-001,,,\n"
                         "B-A,孤儿,,\nA-A-002,守则,,W\nA-A-002,重复,,X\n", encoding="utf-8")
        result = runner.invoke(cli.app, ["items", "taxonomy-import", str(sheet), "--occupation", "X-1",
                                         "--name", "测试", "--level", "4"])
        assert result.exit_code == 2
        assert "rejected row 4, 名称 (name): empty" in result.output
        assert "rejected row 5, 代码 (code): the parent B is not above this row" in result.output
        assert "rejected row 6, 重要程度 (importance)" in result.output
        assert "rejected row 7, 代码 (code): A-A-002 appears twice" not in result.output  # row 6 was refused
        assert self._nodes(db_engine, "X-1") == 0

    def test_weights_that_do_not_add_up_are_refused(self, runner, demo, db_engine, tmp_path):
        sheet = tmp_path / "tree.csv"
        sheet.write_text("code,name,weight\nA,甲,60\nB,乙,30\n", encoding="utf-8")
        result = runner.invoke(cli.app, ["items", "taxonomy-import", str(sheet), "--occupation", "X-2",
                                         "--name", "测试", "--level", "4"])
        assert result.exit_code == 2 and "weights add up to 90" in result.output
        assert self._nodes(db_engine, "X-2") == 0
