"""Export one candidate sitting's evidence archive as a deterministic ZIP with a manifest.

The ZIP holds ``manifest.json`` (every file with its SHA-256, size, section and what it
contains; the sections with their completeness; the audit segment's ends; retention),
``manifest.sha256`` (the manifest's own digest) and the section files. Entries are
written in a fixed order with a fixed timestamp and no generation time, so exporting
the same sitting twice gives the same bytes, and so the same manifest digest, which the
export records in the audit log (``archive.exported``).
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass

from sqlmodel import Session, select

import engine.archive.providers  # noqa: F401  (registers the sections)
from engine import audit
from engine.archive import retention
from engine.archive.sections import CONTEXT_HOOKS, ArchiveFile, Section, SittingContext, dump_json, sections
from engine.certification import service as certification
from engine.certification.models import Certificate
from engine.errors import N_, NotFoundError
from engine.models import (
    AuditEntry,
    Candidate,
    CandidateSession,
    ExamDefinition,
    ExamSession,
    Institution,
    Result,
    Room,
    TestCenter,
)

FORMAT = "skillcert-evidence-archive/1"
MANIFEST = "manifest.json"
MANIFEST_DIGEST = "manifest.sha256"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time ZIP can hold: no export time in the bytes


def load_context(session: Session, sitting_id: int, verify_base: str = "", light: bool = False) -> SittingContext:
    sitting = session.get(CandidateSession, sitting_id)
    if sitting is None:
        raise NotFoundError(N_("exam sitting %(id)s not found"), id=sitting_id)
    exam_session = session.get(ExamSession, sitting.exam_session_id)
    definition = session.get(ExamDefinition, exam_session.exam_definition_id)
    room = session.get(Room, exam_session.room_id)
    center = session.get(TestCenter, room.test_center_id) if room else None
    institution = session.get(Institution, center.institution_id) if center else None
    result = session.exec(select(Result).where(Result.candidate_session_id == sitting_id)).first()
    certificate = session.exec(select(Certificate).where(Certificate.candidate_session_id == sitting_id)).first()
    ctx = SittingContext(sitting, session.get(Candidate, sitting.candidate_id), exam_session, definition, room,
                         center, institution, result, certificate)
    ctx.extra.update(verify_base=verify_base.rstrip("/"), light=light,
                     passed=certification.outcome_of(session, sitting_id).outcome.passed)
    for hook in CONTEXT_HOOKS:
        hook(session, ctx)
    return ctx


@dataclass(frozen=True)
class SectionStatus:
    section: Section
    applies: bool
    files: list[ArchiveFile]

    @property
    def records(self) -> int:
        return sum(f.records for f in self.files)

    @property
    def status(self) -> str:
        if not self.applies:
            return "not_applicable"
        if self.records > 0:
            return "present"
        return "missing" if self.section.required else "none"  # an optional part with nothing to hold

    @property
    def incomplete(self) -> bool:
        return self.section.required and self.status == "missing"


def collect(session: Session, ctx: SittingContext) -> list[SectionStatus]:
    return [SectionStatus(section, section.applies(ctx), section.provider(session, ctx)) for section in sections()]


def build_manifest(ctx: SittingContext, statuses: list[SectionStatus],
                   rules: Mapping[str, int | None]) -> dict:
    files = sorted(((f, s.section.name) for s in statuses for f in s.files), key=lambda pair: pair[0].path)
    sat_on = ctx.exam_session.starts_at.date()
    entries = next((f for f, _ in files if f.path == "audit/entries.json"), None)
    return {
        "format": FORMAT,
        "hash_algorithm": "sha256",
        "sitting": {"candidate_session_id": ctx.sitting_id, "exam_session_id": ctx.exam_session.id,
                    "candidate_id": ctx.candidate.id, "exam_definition": ctx.definition.code,
                    "institution": ctx.institution.code if ctx.institution else None,
                    "sat_on": sat_on.isoformat()},
        "files": [{"path": f.path, "sha256": hashlib.sha256(f.data).hexdigest(), "size": len(f.data),
                   "section": name, "contains": f.description, "records": f.records} for f, name in files],
        "sections": [{"name": s.section.name, "title": s.section.title, "required": s.section.required,
                      "status": s.status} for s in statuses],
        "audit": {"rule": "audit/HASHING.txt", "genesis_hash": audit.GENESIS_HASH,
                  "entries": entries.records if entries else 0},
        "retention": {s.section.name: {"years": retention.years_for(s.section.name, rules),
                                       "keep_until": _until(retention.keep_until(s.section.name, sat_on, rules))}
                      for s in statuses},
    }


def _until(day) -> str:
    return day.isoformat() if day else "permanent"


@dataclass(frozen=True)
class Export:
    data: bytes
    manifest: dict
    manifest_sha256: str


def export(session: Session, sitting_id: int, verify_base: str = "",
           rules: Mapping[str, int | None] | None = None) -> Export:
    """Build the archive; reads only (the caller records the export, see ``record_export``)."""
    ctx = load_context(session, sitting_id, verify_base)
    statuses = collect(session, ctx)
    manifest = build_manifest(ctx, statuses, retention.policy(rules))
    manifest_bytes = dump_json(manifest)
    digest = hashlib.sha256(manifest_bytes).hexdigest()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        _write(archive, MANIFEST, manifest_bytes)
        _write(archive, MANIFEST_DIGEST, f"{digest}  {MANIFEST}\n".encode())
        for archived in sorted((f for s in statuses for f in s.files), key=lambda f: f.path):
            _write(archive, archived.path, archived.data)
    return Export(buffer.getvalue(), manifest, digest)


def _write(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    info.create_system = 3  # fixed, whatever the exporting machine
    archive.writestr(info, data, compresslevel=9)


def recorded_export(session: Session, sitting_id: int, manifest_sha256: str) -> AuditEntry | None:
    """The audit entry that recorded exporting an archive with this manifest digest, if any.

    A forger can rewrite files and re-hash the manifest offline, but cannot put the new
    digest into the database's hash chain: this ties an archive to its origin."""
    entries = session.exec(select(AuditEntry).where(AuditEntry.action == "archive.exported",
                                                    AuditEntry.entity_type == "candidate_session",
                                                    AuditEntry.entity_id == str(sitting_id))
                           .order_by(AuditEntry.id)).all()
    return next((e for e in entries if e.data.get("manifest_sha256") == manifest_sha256), None)


def record_export(session: Session, sitting_id: int, manifest_sha256: str, actor: str) -> None:
    """Access to archives is logged: who exported which sitting, and the manifest's digest."""
    audit.record(session, actor, "archive.exported", "candidate_session", sitting_id,
                 {"manifest_sha256": manifest_sha256})
