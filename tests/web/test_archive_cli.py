"""``skillcert archive export / verify / completeness`` through the real command line."""

from __future__ import annotations

import io
import zipfile

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from engine.models import AuditEntry, CandidateSession
from tests.engine.archive.conftest import finish_sitting
from web import cli, cli_archive


@pytest.fixture
def runner(db_engine, demo, monkeypatch) -> CliRunner:
    monkeypatch.setattr(cli_archive, "make_engine", lambda _url: db_engine)
    return CliRunner()


@pytest.fixture
def sitting_id(db_engine, demo) -> int:
    with Session(db_engine, expire_on_commit=False) as session:
        found = finish_sitting(session)
        session.commit()
    return found


def test_export_then_verify(runner, db_engine, sitting_id, tmp_path):
    out = tmp_path / "sitting.zip"
    result = runner.invoke(cli.app, ["archive", "export", str(sitting_id), "--out", str(out), "--actor", "督导员"])
    assert result.exit_code == 0, result.output
    assert "manifest sha256" in result.output and "incomplete" not in result.output
    with Session(db_engine) as session:
        logged = session.exec(select(AuditEntry).where(AuditEntry.action == "archive.exported")).one()
    assert logged.actor == "督导员" and logged.data["manifest_sha256"] in result.output
    verified = runner.invoke(cli.app, ["archive", "verify", str(out)])
    assert verified.exit_code == 0 and "archive intact" in verified.output
    assert logged.data["manifest_sha256"] in verified.output


def test_a_tampered_archive_fails_naming_the_file(runner, sitting_id, tmp_path):
    out = tmp_path / "sitting.zip"
    assert runner.invoke(cli.app, ["archive", "export", str(sitting_id), "-o", str(out)]).exit_code == 0
    with zipfile.ZipFile(out) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
    size = len(contents["results/theory.json"])
    contents["results/theory.json"] = contents["results/theory.json"].replace(b'"passed": true', b'"passed": false')
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in contents.items():
            archive.writestr(name, data)
    out.write_bytes(buffer.getvalue())
    result = runner.invoke(cli.app, ["archive", "verify", str(out)])
    assert result.exit_code == 1
    assert f"tampered: results/theory.json: size {size + 1} bytes, the manifest says {size}" in result.output


def test_bad_input_exits_2(runner, tmp_path):
    result = runner.invoke(cli.app, ["archive", "export", "9999", "--out", str(tmp_path / "x.zip")])
    assert result.exit_code == 2 and "exam sitting 9999 not found" in result.output
    assert not (tmp_path / "x.zip").exists()
    result = runner.invoke(cli.app, ["archive", "verify", str(tmp_path / "absent.zip")])
    assert result.exit_code == 2 and "cannot read" in result.output


def test_completeness_lists_each_sitting(runner, db_engine, sitting_id):
    with Session(db_engine) as session:
        exam_session_id = session.get(CandidateSession, sitting_id).exam_session_id
    result = runner.invoke(cli.app, ["archive", "completeness", "--exam-session", str(exam_session_id)])
    assert result.exit_code == 0 and "3 of 3 sittings complete" in result.output


def test_a_resealed_forgery_is_not_registered(runner, sitting_id, tmp_path):
    """Rewriting a file and re-hashing the manifest fools the offline check, not the database's record."""
    import hashlib
    import json

    out = tmp_path / "sitting.zip"
    assert runner.invoke(cli.app, ["archive", "export", str(sitting_id), "-o", str(out)]).exit_code == 0
    genuine = runner.invoke(cli.app, ["archive", "verify", str(out), "--registered"])
    assert genuine.exit_code == 0 and "registered: exported by cli" in genuine.output
    with zipfile.ZipFile(out) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
    contents["results/part_scores.json"] = contents["results/part_scores.json"].replace(b"75.0", b"95.0")
    manifest = json.loads(contents["manifest.json"])
    for entry in manifest["files"]:
        entry["sha256"] = hashlib.sha256(contents[entry["path"]]).hexdigest()
        entry["size"] = len(contents[entry["path"]])
    contents["manifest.json"] = json.dumps(manifest).encode()
    contents["manifest.sha256"] = f"{hashlib.sha256(contents['manifest.json']).hexdigest()}  manifest.json\n".encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in contents.items():
            archive.writestr(name, data)
    out.write_bytes(buffer.getvalue())
    assert runner.invoke(cli.app, ["archive", "verify", str(out)]).exit_code == 0  # offline it holds together
    forged = runner.invoke(cli.app, ["archive", "verify", str(out), "--registered"])
    assert forged.exit_code == 1 and f"never exported sitting {sitting_id}" in forged.output
