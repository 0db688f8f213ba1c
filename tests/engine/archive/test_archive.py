"""Evidence archive: export, offline verification, tampering, completeness, on both databases."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from engine import audit
from engine.adaptive.models import AdaptiveSitting, AdaptiveStep
from engine.archive import bundle, completeness, retention
from engine.archive.sections import SECTIONS, table_section
from engine.archive.verify import verify_archive
from engine.certification.models import Certificate
from engine.errors import InvalidInputError, NotFoundError
from engine.models import (
    AuditEntry,
    CandidateSession,
    ExamDefinition,
    ExamSession,
    ProctoringEvent,
    Response,
    SessionItem,
    User,
)
from engine.practical.models import PracticalAttempt, PracticalTask, RaterAssignment, RaterScore
from itembank.models import ItemVersion
from tests.engine.archive.conftest import finish_sitting


def export(db_engine, sitting_id: int) -> bundle.Export:
    with Session(db_engine) as session:
        return bundle.export(session, sitting_id)


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def rezip(contents: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in contents.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def with_manifest_resealed(contents: dict[str, bytes]) -> dict[str, bytes]:
    """What a careful forger does: fix every file hash in the manifest and the manifest digest."""
    manifest = json.loads(contents["manifest.json"])
    for entry in manifest["files"]:
        data = contents[entry["path"]]
        entry["sha256"], entry["size"] = hashlib.sha256(data).hexdigest(), len(data)
    raw = json.dumps(manifest).encode()
    return {**contents, "manifest.json": raw,
            "manifest.sha256": f"{hashlib.sha256(raw).hexdigest()}  manifest.json\n".encode()}


class TestExport:
    def test_round_trip_verifies_and_holds_every_part(self, db_engine, finished):
        archive = export(db_engine, finished)
        report = verify_archive(archive.data)
        assert report.ok, report.problems
        sections = {s["name"]: s["status"] for s in archive.manifest["sections"]}
        assert sections == {"identity": "present", "checkin": "present", "sitting": "present", "items": "present",
                            "responses": "present", "proctoring": "present", "results": "present",
                            "certificate": "present", "audit": "present", "practical": "present",
                            "cat_trail": "not_applicable", "rater_forms": "not_applicable", "appeals": "none"}
        files = members(archive.data)
        assert set(files) == {f["path"] for f in archive.manifest["files"]} | {"manifest.json", "manifest.sha256"}
        for entry in archive.manifest["files"]:
            assert hashlib.sha256(files[entry["path"]]).hexdigest() == entry["sha256"]
            assert entry["size"] == len(files[entry["path"]]) and entry["contains"]
        assert files["manifest.sha256"].decode().split()[0] == hashlib.sha256(files["manifest.json"]).hexdigest()

    def test_contents_match_the_database(self, db_engine, finished):
        files = members(export(db_engine, finished).data)
        with Session(db_engine) as session:
            presented = session.exec(select(SessionItem).where(SessionItem.candidate_session_id == finished)).all()
            answers = session.exec(select(Response).where(Response.candidate_session_id == finished)).all()
            events = session.exec(select(ProctoringEvent).where(ProctoringEvent.candidate_session_id == finished)).all()
            certificate = session.exec(select(Certificate)).one()
            audit_count = len(session.exec(select(AuditEntry).where(AuditEntry.entity_type == "candidate_session",
                                                                    AuditEntry.entity_id == str(finished))).all())
        items = json.loads(files["theory/items.json"])
        assert [i["item_version_id"] for i in items] == [p.item_version_id for p in presented]
        assert all(i["item_version"]["id"] == i["item_version_id"] and i["item_version"]["stem"] for i in items)
        responses = json.loads(files["theory/responses.json"])
        assert [(r["position"], r["answer"]) for r in responses] == [(a.position, a.answer) for a in answers]
        assert all(r["answered_at"] for r in responses)
        assert len(json.loads(files["proctoring/events.json"])) == len(events)
        actions = json.loads(files["proctoring/supervisor_actions.json"])
        assert [a["data"]["reason"] for a in actions if a["kind"] == "warned"] == ["looked away"]
        assert json.loads(files["certificate/certificate.json"])["number"] == certificate.number
        assert files["certificate/certificate.pdf"].startswith(b"%PDF")
        entries = json.loads(files["audit/entries.json"])
        actions = {e["action"] for e in entries}
        assert {"session.enrolled", "session.started", "response.recorded", "session.submitted",
                "result.recorded", "part_score.recorded", "certificate.issued", "candidate.created"} <= actions
        assert len([e for e in entries if e["entity_type"] == "candidate_session"]) == audit_count

    def test_export_is_deterministic_even_after_it_is_recorded(self, db_engine, finished):
        first = export(db_engine, finished)
        with Session(db_engine) as session:
            bundle.record_export(session, finished, first.manifest_sha256, "auditor")
            session.commit()
        second = export(db_engine, finished)
        assert second.data == first.data and second.manifest_sha256 == first.manifest_sha256
        with Session(db_engine) as session:
            logged = session.exec(select(AuditEntry).where(AuditEntry.action == "archive.exported")).one()
        assert logged.data == {"manifest_sha256": first.manifest_sha256} and logged.actor == "auditor"

    def test_unknown_sitting_is_refused(self, db_engine, demo):
        with Session(db_engine) as session, pytest.raises(NotFoundError, match="exam sitting 9999 not found"):
            bundle.export(session, 9999)

    def test_retention_lands_in_the_manifest(self, db_engine, finished):
        with Session(db_engine) as session:
            archive = bundle.export(session, finished, rules={"proctoring": 3})
        sat_on = archive.manifest["sitting"]["sat_on"]
        kept = archive.manifest["retention"]
        assert kept["proctoring"]["years"] == 3
        assert kept["proctoring"]["keep_until"] == str(int(sat_on[:4]) + 3) + sat_on[4:]
        assert kept["responses"]["keep_until"] == str(int(sat_on[:4]) + 5) + sat_on[4:]
        assert kept["certificate"] == {"years": None, "keep_until": "permanent"}


class TestTampering:
    """One export per backend, then every kind of tampering on copies of it (seeding is the slow part)."""

    def test_every_tampering_is_detected_and_named(self, db_engine, finished):
        original = members(export(db_engine, finished).data)
        self.editing_any_file(original)
        self.missing_and_extra_files(original)
        self.a_resealed_manifest_does_not_hide_an_edited_audit_entry(original)
        self.a_removed_chain_link(original)
        self.a_relinked_chain(original)

    @staticmethod
    def editing_any_file(original: dict[str, bytes]) -> None:
        for path, data in original.items():
            changed = bytearray(data)
            changed[len(changed) // 2] ^= 0x01
            report = verify_archive(rezip({**original, path: bytes(changed)}))
            assert not report.ok, path
            assert any(path in str(problem) for problem in report.problems), (path, report.problems)

    @staticmethod
    def missing_and_extra_files(original: dict[str, bytes]) -> None:
        without = {k: v for k, v in original.items() if k != "theory/responses.json"}
        report = verify_archive(rezip(without))
        assert [(p.kind, p.path) for p in report.problems] == [("missing", "theory/responses.json")]
        report = verify_archive(rezip({**original, "theory/notes.txt": b"added later"}))
        assert [(p.kind, p.path) for p in report.problems] == [("extra", "theory/notes.txt")]

    @staticmethod
    def a_resealed_manifest_does_not_hide_an_edited_audit_entry(original: dict[str, bytes]) -> None:
        entries = json.loads(original["audit/entries.json"])
        target = next(e for e in entries if e["action"] == "result.recorded")
        target["data"]["score"] = 59.5  # was 100: every answer right
        forged = with_manifest_resealed({**original, "audit/entries.json": json.dumps(entries).encode()})
        report = verify_archive(rezip(forged))
        assert [str(p) for p in report.problems] == [
            f"audit: audit/entries.json: entry {target['id']} (result.recorded) content does not match its hash"]

    @staticmethod
    def a_removed_chain_link(original: dict[str, bytes]) -> None:
        links = json.loads(original["audit/chain.json"])
        removed = links.pop(len(links) // 2)
        forged = with_manifest_resealed({**original, "audit/chain.json": json.dumps(links).encode()})
        problems = [str(p) for p in verify_archive(rezip(forged)).problems]
        assert f"audit: audit/chain.json: entries {removed[0]} to {removed[0]} are missing from the chain" in problems

    @staticmethod
    def a_relinked_chain(original: dict[str, bytes]) -> None:
        links = json.loads(original["audit/chain.json"])
        links[3][1] = "f" * 64
        forged = with_manifest_resealed({**original, "audit/chain.json": json.dumps(links).encode()})
        problems = [str(p) for p in verify_archive(rezip(forged)).problems]
        assert f"audit: audit/chain.json: broken link: entry {links[3][0]} does not point to entry {links[2][0]}" \
            in problems

    def test_not_a_zip(self):
        assert [str(p) for p in verify_archive(b"PK not really").problems] == ["format: -: not a ZIP archive"]


class TestDatabaseAuditTampering:
    def test_an_edited_audit_row_is_named(self, db_engine, finished):
        with Session(db_engine) as session:
            assert audit.verify(session).ok
            target = session.exec(select(AuditEntry).where(AuditEntry.action == "result.recorded")).one()
            original = {"data": json.dumps(target.data), "actor": target.actor, "action": target.action}
        for column, value in [("data", '{"score": 100}'), ("actor", "someone-else"), ("action", "result.deleted")]:
            with db_engine.begin() as conn:
                conn.execute(text(f"UPDATE auditentry SET {column} = :value WHERE id = :id"),
                             {"value": value, "id": target.id})
            with Session(db_engine) as session:
                report = audit.verify(session)
            assert not report.ok and report.first_broken_id == target.id, column
            assert report.problem == f"entry {target.id} content does not match its hash"
            with db_engine.begin() as conn:  # put it back: the chain holds again
                conn.execute(text(f"UPDATE auditentry SET {column} = :value WHERE id = :id"),
                             {"value": original[column], "id": target.id})
            with Session(db_engine) as session:
                assert audit.verify(session).ok, column

    def test_the_cli_names_the_edited_row(self, db_engine, finished, monkeypatch):
        from typer.testing import CliRunner

        from web import cli

        monkeypatch.setattr(cli, "make_engine", lambda _url: db_engine)
        with Session(db_engine) as session:
            target = session.exec(select(AuditEntry).where(AuditEntry.action == "certificate.issued")).one().id
        with db_engine.begin() as conn:
            conn.execute(text("UPDATE auditentry SET entity_id = '999' WHERE id = :id"), {"id": target})
        result = CliRunner().invoke(cli.app, ["audit", "verify"])
        assert result.exit_code == 1
        assert f"BROKEN at entry {target}" in result.output
        assert f"entry {target} content does not match its hash" in result.output


class TestCompleteness:
    def test_a_finished_certified_sitting_is_complete(self, db_engine, finished):
        with Session(db_engine) as session:
            found = completeness.of_sitting(session, finished)
        assert found.complete and found.missing == []

    def test_a_passed_sitting_without_its_certificate_is_incomplete(self, db_engine, demo):
        with Session(db_engine, expire_on_commit=False) as session:
            sitting_id = finish_sitting(session)
            session.exec(text("DELETE FROM auditentry WHERE action = 'certificate.issued'"))
            session.exec(text("DELETE FROM certificate"))
            session.commit()
            found = completeness.of_sitting(session, sitting_id)
        assert found.missing == ["certificate"]

    def test_a_failed_sitting_needs_no_certificate(self, db_engine, demo):
        with Session(db_engine, expire_on_commit=False) as session:
            sitting_id = finish_sitting(session, right=False)
            session.commit()
            parts = {p.name: p.status for p in completeness.of_sitting(session, sitting_id).parts}
        assert parts["certificate"] == "not_applicable" and parts["results"] == "present"

    def test_a_started_sitting_without_proctoring_record_is_incomplete(self, db_engine, demo):
        with Session(db_engine, expire_on_commit=False) as session:
            sitting_id = finish_sitting(session)
            session.exec(text("DELETE FROM proctoringevent"))
            session.commit()
            assert completeness.of_sitting(session, sitting_id).missing == ["checkin", "proctoring"]

    def test_scheduled_sittings_of_an_exam_session(self, db_engine, demo):
        with Session(db_engine) as session:
            exam_session_id = session.exec(select(CandidateSession.exam_session_id)).first()
            rows = completeness.of_exam_session(session, exam_session_id)
        assert len(rows) == 3 and all(row.complete for row in rows)
        assert {p.name: p.status for p in rows[0].parts}["items"] == "not_applicable"


class TestOtherPackagesSections:
    def test_cat_trail_of_an_adaptive_sitting(self, db_engine, finished):
        with Session(db_engine) as session:
            sitting = session.get(CandidateSession, finished)
            definition = session.get(ExamDefinition, session.get(ExamSession, sitting.exam_session_id)
                                     .exam_definition_id)
            definition.theory_mode = "adaptive"
            session.add(definition)
            session.commit()
            assert completeness.of_sitting(session, finished).missing == ["cat_trail"]
            adaptive = AdaptiveSitting(candidate_session_id=finished, seed=42, design={"stop": "se"}, exposure={})
            session.add(adaptive)
            session.flush()
            presented = session.exec(select(SessionItem).where(SessionItem.candidate_session_id == finished)).first()
            version = session.get(ItemVersion, presented.item_version_id)
            session.add(AdaptiveStep(adaptive_sitting_id=adaptive.id, position=1, item_id=version.item_id,
                                     item_version_id=version.id, theta_before=0.0, se_before=1.0, score=1,
                                     theta=0.4, se=0.8))
            session.commit()
        files = members(export(db_engine, finished).data)
        assert json.loads(files["theory/cat_sitting.json"])["seed"] == 42
        assert [(s["theta_before"], s["theta"]) for s in json.loads(files["theory/cat_steps.json"])] == [(0.0, 0.4)]

    def test_rater_forms_of_a_rated_task(self, db_engine, finished):
        with Session(db_engine) as session:
            sitting = session.get(CandidateSession, finished)
            definition_id = session.get(ExamSession, sitting.exam_session_id).exam_definition_id
            task = PracticalTask(exam_definition_id=definition_id, position=9, kind="rated", title="接线",
                                 rubric={"criteria": [{"id": "c1", "text": "接线正确", "points": 100}], "vetoes": []},
                                 created_by="examiner")
            session.add(task)
            session.commit()
            assert "rater_forms" in completeness.of_sitting(session, finished).missing
            attempt = PracticalAttempt(candidate_session_id=finished, task_id=task.id, status="scored", score=80.0)
            session.add(attempt)
            session.flush()
            examiner = session.exec(select(User).where(User.username == "examiner")).one()
            assignment = RaterAssignment(attempt_id=attempt.id, rater_user_id=examiner.id, role="rater",
                                         assigned_by="admin")
            session.add(assignment)
            session.flush()
            session.add(RaterScore(assignment_id=assignment.id, scores={"c1": 80}, vetoes=[], total=80.0))
            session.commit()
            assert completeness.of_sitting(session, finished).complete
        files = members(export(db_engine, finished).data)
        assert [f["total"] for f in json.loads(files["practical/rater_forms.json"])] == [80.0]


class TestRegistry:
    def test_one_line_adds_a_table_section(self, db_engine, finished):
        try:
            table_section("extra_events", "proctoring events again, as a stand-in section", ProctoringEvent,
                          "extra/events.json")
            archive = export(db_engine, finished)
        finally:
            SECTIONS.pop("extra_events", None)
        assert {"name": "extra_events", "title": "proctoring events again, as a stand-in section",
                "required": True, "status": "present"} in archive.manifest["sections"]
        assert verify_archive(archive.data).ok


class TestRetention:
    def test_overrides_parse(self):
        assert retention.parse_overrides(" proctoring=3, audit=permanent ,") == {"proctoring": 3, "audit": None}

    @pytest.mark.parametrize("text_value,problem", [("proctoring", "is not kind=years"),
                                                    ("proctoring=0", "1 to 100 years"),
                                                    ("proctoring=forever", "1 to 100 years")])
    def test_bad_overrides_are_refused(self, text_value, problem):
        with pytest.raises(InvalidInputError, match=problem):
            retention.parse_overrides(text_value)
