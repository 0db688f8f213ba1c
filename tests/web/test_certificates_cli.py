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


class TestEligibilityCommand:
    def test_sets_an_occupations_conditions(self, runner, db_engine):
        result = runner.invoke(cli.app, ["candidates", "eligibility", "6-31-01-03", "level4",
                                         '[{"prior_level": "level5", "years": 2}]'])
        assert result.exit_code == 0, result.output
        assert '[{"years": 2.0, "prior_level": "level5"}]' in result.output

    @pytest.mark.parametrize("args, problem", [(["9-99", "level4", "[]"], "occupation 9-99 not found"),
                                               (["6-31-01-03", "level4", "{oops"], "not JSON"),
                                               (["6-31-01-03", "level4", '{"years": 1}'], "JSON list"),
                                               (["6-31-01-03", "level4", '[{"years": -1}]'], "malformed")])
    def test_bad_input_exits_2(self, runner, db_engine, args, problem):
        before = snapshot(db_engine)
        result = runner.invoke(cli.app, ["candidates", "eligibility", *args])
        assert result.exit_code == 2 and problem in result.output
        assert snapshot(db_engine) == before


class TestCertificateCommands:
    def test_issue_and_pdf(self, runner, db_engine, tmp_path):
        from engine.certification import service
        from tests.engine.certification.helpers import configure_numbering, with_scores

        with Session(db_engine, expire_on_commit=False) as session:
            configure_numbering(session)
            with_scores(session, "candidate", 90, 80)
            sitting = with_scores(session, "candidate2", 50, 80)
            session.commit()
        result = runner.invoke(cli.app, ["certificates", "issue", "--exam-session", str(sitting.exam_session_id)])
        assert result.exit_code == 0, result.output
        assert "issued S370137000001264000001 张伟" in result.output
        assert "not passed: 刘洋: theory score 50.0 is below the pass mark 60.0" in result.output
        out = tmp_path / "c.pdf"
        made = runner.invoke(cli.app, ["certificates", "pdf", "S370137000001264000001", "--base-url",
                                       "https://cert.example.org/", "-o", str(out)])
        assert made.exit_code == 0, made.output
        from tests.engine.certification.helpers import pdf_texts

        assert "https://cert.example.org/verify/S370137000001264000001" in pdf_texts(out.read_bytes())
        with Session(db_engine) as session:
            assert service.find_by_number(session, "S370137000001264000001") is not None

    @pytest.mark.parametrize("args, problem", [
        (["S370137000001264000009", "--base-url", "https://x", "-o", "c.pdf"], "no certificate"),
        (["S37", "--base-url", "https://x", "-o", "c.pdf"], "not a certificate number"),
        (["S370137000001264000009", "--base-url", "ftp://x", "-o", "c.pdf"], "must start with https://")])
    def test_pdf_refusals_exit_2(self, runner, tmp_path, args, problem):
        result = runner.invoke(cli.app, ["certificates", "pdf", *args])
        assert result.exit_code == 2 and problem in result.output

    def test_issue_for_an_unknown_exam_session_exits_2(self, runner):
        result = runner.invoke(cli.app, ["certificates", "issue", "--exam-session", "999"])
        assert result.exit_code == 2 and "exam session 999 not found" in result.output
