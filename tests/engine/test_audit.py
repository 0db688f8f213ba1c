"""The hash-chained audit log: appends chain, tampering is found, the CLI reports it."""

from __future__ import annotations

import threading

from sqlalchemy import text
from sqlmodel import Session, select

from engine import audit
from engine.models import AuditEntry


def _append(db_engine, n: int, actor: str = "tester") -> None:
    for i in range(n):
        with Session(db_engine) as session:
            audit.record(session, actor, "test.event", "thing", i, {"i": i, "名称": "测试"})
            session.commit()


class TestAuditChain:
    def test_untouched_chain_verifies(self, db_engine):
        _append(db_engine, 5)
        with Session(db_engine) as session:
            report = audit.verify(session)
        assert report.ok and report.entries == 5

    def test_each_entry_points_to_the_previous_hash(self, db_engine):
        _append(db_engine, 3)
        with Session(db_engine) as session:
            entries = session.exec(select(AuditEntry).order_by(AuditEntry.id)).all()
        assert entries[0].prev_hash == audit.GENESIS_HASH
        assert [e.prev_hash for e in entries[1:]] == [e.hash for e in entries[:-1]]

    def test_changed_payload_is_the_first_broken_link(self, db_engine):
        _append(db_engine, 4)
        with Session(db_engine) as session:
            third_id = session.exec(select(AuditEntry.id).order_by(AuditEntry.id).offset(2)).first()
            session.execute(text("UPDATE auditentry SET actor = 'mallory' WHERE id = :id"), {"id": third_id})
            session.commit()
            report = audit.verify(session)
        assert not report.ok and report.first_broken_id == third_id and report.entries == 2
        assert "does not match its hash" in report.problem

    def test_removed_middle_entry_breaks_the_chain(self, db_engine):
        _append(db_engine, 4)
        with Session(db_engine) as session:
            second_id = session.exec(select(AuditEntry.id).order_by(AuditEntry.id).offset(1)).first()
            session.execute(text("DELETE FROM auditentry WHERE id = :id"), {"id": second_id})
            session.commit()
            report = audit.verify(session)
        assert not report.ok and report.first_broken_id == second_id + 1

    def test_removed_last_entry_is_detected(self, db_engine):
        _append(db_engine, 3)
        with Session(db_engine) as session:
            session.execute(text("DELETE FROM auditentry WHERE id = (SELECT MAX(id) FROM auditentry)"))
            session.commit()
            report = audit.verify(session)
        assert not report.ok and "removed from the end" in report.problem

    def test_concurrent_writers_still_form_one_chain(self, db_engine):
        threads = [threading.Thread(target=_append, args=(db_engine, 15, f"w{k}")) for k in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with Session(db_engine) as session:
            report = audit.verify(session)
        assert report.ok and report.entries == 45


class TestAuditVerifyCommand:
    def test_reports_intact_and_broken_chains(self, db_engine, monkeypatch):
        from typer.testing import CliRunner

        from web import cli

        monkeypatch.setattr(cli, "make_engine", lambda _url: db_engine)
        _append(db_engine, 3)
        runner = CliRunner()
        ok = runner.invoke(cli.app, ["audit", "verify"])
        assert ok.exit_code == 0 and "intact: 3 entries" in ok.output
        with Session(db_engine) as session:
            session.execute(text("UPDATE auditentry SET action = 'x' WHERE id = (SELECT MIN(id) FROM auditentry)"))
            session.commit()
        broken = runner.invoke(cli.app, ["audit", "verify"])
        assert broken.exit_code == 1 and "BROKEN at entry" in broken.output
