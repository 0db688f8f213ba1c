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
        assert 'by="admin"' in manifest and 'items="60"' in manifest
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
