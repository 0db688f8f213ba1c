"""``skillcert scenario replay SESSION_ID`` on both databases: identical replays exit 0, a
tampered log exits 1 naming the mismatch, nothing to replay exits 2."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

import web.db
from engine.practical.models import PracticalAction
from tests.engine.practical.helpers import model_ticket, perform, started
from web import cli


@pytest.fixture
def runner(db_engine, demo, monkeypatch) -> CliRunner:
    monkeypatch.setattr(web.db, "make_engine", lambda _url: db_engine)
    return CliRunner()


def finished_attempt(db_engine, ticket):
    with Session(db_engine, expire_on_commit=False) as session:
        attempt, start = started(session)
        perform(session, attempt, ticket, start)
        session.commit()
        return attempt


def test_replay_reproduces_the_stored_sheet(runner, db_engine, tmp_path):
    attempt = finished_attempt(db_engine, model_ticket())
    out = tmp_path / "sheets.json"
    result = runner.invoke(cli.app, ["scenario", "replay", str(attempt.candidate_session_id), "--out", str(out),
                                     "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert f"attempt {attempt.id}: replay identical; stored total 100, replayed 100" in result.output
    written = json.loads(out.read_text("utf-8"))
    assert written[0]["matches"] is True and written[0]["sheet"]["total"] == 100


def test_a_changed_log_is_a_mismatch(runner, db_engine):
    attempt = finished_attempt(db_engine, model_ticket())
    with Session(db_engine) as session:
        row = session.exec(select(PracticalAction).where(PracticalAction.attempt_id == attempt.id,
                                                         PracticalAction.action == "receive_work_end")).one()
        row.t = 210.0  # the work-end report came ten seconds later than it did
        session.add(row)
        session.commit()
    result = runner.invoke(cli.app, ["scenario", "replay", str(attempt.candidate_session_id)])
    assert result.exit_code == 1
    assert f"attempt {attempt.id}: replay MISMATCH (score sheet differs, run differs)" in result.output


def test_nothing_to_replay_is_invalid_input(runner, db_engine):
    result = runner.invoke(cli.app, ["scenario", "replay", "999999"])
    assert result.exit_code == 2 and "no finished simulation attempt" in result.output
