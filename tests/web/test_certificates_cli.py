"""``skillcert candidates import``: exit 0 and enrol, or exit 2 listing every problem and writing nothing."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from engine.models import CandidateSession, ExamSession
from tests.engine.certification.xlsx import HEADERS_ZH, good_row, workbook
from tests.web.test_bad_input import snapshot
from web import cli, cli_certificates


@pytest.fixture
def runner(db_engine, demo, monkeypatch) -> CliRunner:
    monkeypatch.setattr(cli_certificates, "make_engine", lambda _url: db_engine)
    return CliRunner()


@pytest.fixture
def exam_session_id(db_engine) -> str:
    with Session(db_engine) as session:
        return str(session.exec(select(ExamSession.id)).first())


def enrolled(db_engine) -> int:
    with Session(db_engine) as session:
        return len(session.exec(select(CandidateSession)).all())


class TestCandidatesImport:
    def test_imports_a_valid_file(self, runner, db_engine, exam_session_id, tmp_path):
        file = tmp_path / "报名.xlsx"
        file.write_bytes(workbook(HEADERS_ZH, [good_row(1), good_row(2)]))
        result = runner.invoke(cli.app, ["candidates", "import", str(file), "--exam-session", exam_session_id])
        assert result.exit_code == 0, result.output
        assert f"imported 2 candidates into exam session {exam_session_id}" in result.output
        assert enrolled(db_engine) == 5

    def test_dry_run_writes_nothing(self, runner, db_engine, exam_session_id, tmp_path):
        file = tmp_path / "batch.xlsx"
        file.write_bytes(workbook(HEADERS_ZH, [good_row(1)]))
        before = snapshot(db_engine)
        result = runner.invoke(cli.app, ["candidates", "import", str(file), "--exam-session", exam_session_id,
                                         "--dry-run"])
        assert result.exit_code == 0 and "dry run: 1 candidates are valid" in result.output
        assert snapshot(db_engine) == before

    def test_problems_exit_2_with_every_row_named(self, runner, db_engine, exam_session_id, tmp_path):
        bad = good_row(2)
        bad[2] = "1980-01-01"
        file = tmp_path / "bad.xlsx"
        file.write_bytes(workbook(HEADERS_ZH, [good_row(1), bad, good_row(3, years=1)]))
        before = snapshot(db_engine)
        result = runner.invoke(cli.app, ["candidates", "import", str(file), "--exam-session", exam_session_id])
        assert result.exit_code == 2
        assert "2 problems; nothing was imported" in result.output
        assert "row 3, birth_date: birth date 1980-01-01 does not match the resident ID" in result.output
        assert "row 4, eligibility: not eligible for level4" in result.output
        assert snapshot(db_engine) == before

    def test_unknown_exam_session_and_missing_file_exit_2(self, runner, tmp_path):
        file = tmp_path / "one.xlsx"
        file.write_bytes(workbook(HEADERS_ZH, [good_row(1)]))
        missing = runner.invoke(cli.app, ["candidates", "import", str(file), "--exam-session", "999"])
        assert missing.exit_code == 2 and "exam session 999 not found" in missing.output
        unreadable = runner.invoke(cli.app, ["candidates", "import", str(tmp_path / "nope.xlsx"),
                                             "--exam-session", "1"])
        assert unreadable.exit_code == 2 and "cannot read" in unreadable.output
