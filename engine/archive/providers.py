"""The archive's sections, one provider each (see ``sections.py`` for the registry).

Sections owned by other packages are added at the end of this module, one line each.
"""

from __future__ import annotations

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from engine import audit
from engine.adaptive.models import AdaptiveSitting, AdaptiveStep
from engine.archive.sections import (
    ArchiveFile,
    SittingContext,
    context_hook,
    json_file,
    register,
    row_dict,
    table_section,
)
from engine.certification import service as certification
from engine.certification.models import CertificateStatus, PartScoreRecord, Registration
from engine.certification.pdf import render_pdf, sheet_for
from engine.models import AuditEntry, ProctoringEvent, Response, SessionItem
from engine.practical.models import (
    Adjudication,
    PracticalAction,
    PracticalAttempt,
    PracticalTask,
    RaterAssignment,
    RaterScore,
)
from engine.proctoring.events import SUPERVISOR_ACTIONS
from engine.results.models import Appeal
from itembank.models import ItemVersion

# ---- identity and registration ---------------------------------------------------------------------


@register("identity", "the candidate's identity and registration (报名) record")
def identity(session: Session, ctx: SittingContext) -> list[ArchiveFile]:
    registration = session.exec(select(Registration).where(
        Registration.candidate_session_id == ctx.sitting_id)).first()
    return [json_file("identity/candidate.json", row_dict(ctx.candidate), "the candidate as registered"),
            json_file("identity/registration.json", row_dict(registration) if registration else None,
                      "what was declared at registration and the eligibility condition met")]


@register("sitting", "the sitting: exam definition, exam session, room, test center, institution, timing")
def sitting(session: Session, ctx: SittingContext) -> list[ArchiveFile]:
    value = {"candidate_session": row_dict(ctx.sitting, exclude=("connection_id",)),
             "exam_session": row_dict(ctx.exam_session), "exam_definition": row_dict(ctx.definition),
             "room": row_dict(ctx.room) if ctx.room else None,
             "test_center": row_dict(ctx.center) if ctx.center else None,
             "institution": row_dict(ctx.institution) if ctx.institution else None}
    return [json_file("sitting.json", value, "the sitting and where and when it took place", 1)]


# ---- check-in at the room -------------------------------------------------------------------------------

CHECK_IN_KIND = "identity_checked"  # the proctoring event the check-in desk records (engine/proctoring)


@register("checkin", "the identity check at the room: ID document inspected, photo matched, by whom and when",
          applies=lambda ctx: ctx.sitting.started_at is not None)
def checkin(session: Session, ctx: SittingContext) -> list[ArchiveFile]:
    rows = session.exec(select(ProctoringEvent).where(ProctoringEvent.candidate_session_id == ctx.sitting_id,
                                                      ProctoringEvent.kind == CHECK_IN_KIND)
                        .order_by(ProctoringEvent.id)).all()
    return [json_file("identity/checkin.json", [row_dict(r) for r in rows],
                      "every identity check of the sitting; the latest one counts")]


# ---- theory part -----------------------------------------------------------------------------------


def _started(ctx: SittingContext) -> bool:
    return ctx.sitting.started_at is not None


@register("items", "the exact item versions presented, with their keys and scoring rules", applies=_started)
def items(session: Session, ctx: SittingContext) -> list[ArchiveFile]:
    rows = session.exec(select(SessionItem, ItemVersion)
                        .join(ItemVersion, col(ItemVersion.id) == SessionItem.item_version_id)
                        .where(SessionItem.candidate_session_id == ctx.sitting_id)
                        .order_by(SessionItem.position)).all()
    value = [{**row_dict(presented), "item_version": row_dict(version)} for presented, version in rows]
    return [json_file("theory/items.json", value, "item versions presented, by position")]


@register("responses", "every stored answer with its timestamp and client sequence number", applies=_started,
          required=False)
def responses(session: Session, ctx: SittingContext) -> list[ArchiveFile]:
    rows = session.exec(select(Response).where(Response.candidate_session_id == ctx.sitting_id)
                        .order_by(Response.position)).all()
    # Unanswered sittings are possible (a candidate who never answered): not required.
    return [json_file("theory/responses.json", [row_dict(r) for r in rows], "answers by position")]


# ---- proctoring --------------------------------------------------------------------------------------


@register("proctoring", "proctoring events and supervisor actions", applies=_started)
def proctoring(session: Session, ctx: SittingContext) -> list[ArchiveFile]:
    rows = session.exec(select(ProctoringEvent).where(ProctoringEvent.candidate_session_id == ctx.sitting_id)
                        .order_by(ProctoringEvent.id)).all()
    events = [row_dict(r) for r in rows]
    actions = [e for e in events if e["kind"] in SUPERVISOR_ACTIONS]
    return [json_file("proctoring/events.json", events, "every proctoring event of the sitting"),
            json_file("proctoring/supervisor_actions.json", actions,
                      "warnings, pauses, extensions, terminations and incident flags with their reasons",
                      records=max(len(actions), 1) if events else 0)]


# ---- results and certificate -------------------------------------------------------------------------


def _scored(ctx: SittingContext) -> bool:
    return ctx.result is not None


@register("results", "theory result, practical and review part scores, and the pass decision", applies=_scored)
def results(session: Session, ctx: SittingContext) -> list[ArchiveFile]:
    parts = session.exec(select(PartScoreRecord).where(PartScoreRecord.candidate_session_id == ctx.sitting_id)
                         .order_by(PartScoreRecord.part)).all()
    outcome = certification.outcome_of(session, ctx.sitting_id).outcome
    decision = {"passed": outcome.passed,
                "shortfalls": [s.message % s.params for s in outcome.shortfalls]}
    return [json_file("results/theory.json", row_dict(ctx.result) if ctx.result else None, "the theory result"),
            json_file("results/part_scores.json", [row_dict(p) for p in parts],
                      "practical and comprehensive-review scores", records=len(parts) or 1),
            json_file("results/decision.json", decision, "the pass decision under the level's rule", 1)]


def _passed(ctx: SittingContext) -> bool:
    if ctx.certificate is not None:
        return True
    return bool(ctx.extra.get("passed"))


@register("certificate", "the certificate record and its PDF", applies=_passed)
def certificate(session: Session, ctx: SittingContext) -> list[ArchiveFile]:
    cert = ctx.certificate
    if cert is None:
        return [json_file("certificate/certificate.json", None, "no certificate was issued")]
    if ctx.extra.get("light"):  # the completeness check needs the record, not the printed sheet
        return [json_file("certificate/certificate.json", row_dict(cert), "the certificate record")]
    body = ctx.institution.name if ctx.institution else ""
    pdf = render_pdf(sheet_for(cert, body, ctx.extra.get("verify_base", "") + f"/verify/{cert.number}"))
    status = "revoked" if cert.status == CertificateStatus.revoked else "issued"
    return [json_file("certificate/certificate.json", row_dict(cert), f"the certificate record ({status})"),
            ArchiveFile("certificate/certificate.pdf", pdf, "the certificate as printed (reproducible PDF)")]


# ---- audit chain -------------------------------------------------------------------------------------


HASHING_RULE = f"""How to verify the audit entries of this archive without the database
======================================================================

Every audit entry's hash is SHA-256 (hex) of the UTF-8 bytes of

    prev_hash + "|" + body

where body is the canonical JSON of the object

    {{"at": <at, ISO 8601 exactly as in the file>, "actor": ..., "action": ...,
     "entity_type": ..., "entity_id": <string>, "data": {{...}}}}

written with keys sorted, no spaces (separators "," and ":"), non-ASCII characters
kept as they are (not escaped). The first entry of the whole log has prev_hash
{audit.GENESIS_HASH}.

entries.json holds every entry about this sitting in full. chain.json holds the links
(id, prev_hash, hash) of every entry of the log from the first to the last of those, so
that the sitting's entries can be shown to lie on one unbroken chain: each link's
prev_hash equals the hash of the link before it, and each full entry's recomputed hash
equals the hash at its id in chain.json. Entries about other candidates appear in
chain.json by their hashes only.
"""

AuditSubjects = list[tuple[str, str]]
AUDIT_SUBJECTS: list = []  # callables (ctx) -> [(entity_type, entity_id)], one line per owner package


def audit_subject(selector) -> None:
    AUDIT_SUBJECTS.append(selector)


audit_subject(lambda ctx: [("candidate_session", str(ctx.sitting_id)), ("candidate", str(ctx.candidate.id))])
audit_subject(lambda ctx: [("result", str(ctx.result.id))] if ctx.result else [])
audit_subject(lambda ctx: [("certificate", str(ctx.certificate.id))] if ctx.certificate else [])

ARCHIVE_ACTIONS = "archive."  # exports of the archive itself are left out, so an export is reproducible


def sitting_audit_entries(session: Session, ctx: SittingContext) -> list[AuditEntry]:
    subjects = [subject for selector in AUDIT_SUBJECTS for subject in selector(ctx)]
    if not subjects:
        return []
    matches = or_(*(and_(AuditEntry.entity_type == kind, AuditEntry.entity_id == ident) for kind, ident in subjects))
    return list(session.exec(select(AuditEntry).where(matches, ~col(AuditEntry.action).startswith(ARCHIVE_ACTIONS))
                             .order_by(AuditEntry.id)).all())


def entry_record(entry: AuditEntry) -> dict:
    return {"id": entry.id, "at": entry.at.isoformat(), "actor": entry.actor, "action": entry.action,
            "entity_type": entry.entity_type, "entity_id": entry.entity_id, "data": entry.data,
            "prev_hash": entry.prev_hash, "hash": entry.hash}


@register("audit", "the audit-chain entries of the sitting, the chain links between them and the hashing rule")
def audit_chain(session: Session, ctx: SittingContext) -> list[ArchiveFile]:
    entries = sitting_audit_entries(session, ctx)
    links: list[list] = []
    if entries:
        rows = session.exec(select(AuditEntry.id, AuditEntry.prev_hash, AuditEntry.hash)
                            .where(AuditEntry.id >= entries[0].id, AuditEntry.id <= entries[-1].id)
                            .order_by(AuditEntry.id)).all()
        links = [[row[0], row[1], row[2]] for row in rows]
    return [json_file("audit/entries.json", [entry_record(e) for e in entries], "audit entries of the sitting"),
            json_file("audit/chain.json", links, "chain links (id, prev_hash, hash) spanning those entries"),
            ArchiveFile("audit/HASHING.txt", HASHING_RULE.encode(), "the hashing rule, for offline checking")]


# ---- sections of other packages (one line each) ---------------------------------------------------


@register("cat_trail", "the adaptive (CAT) trail: seed, frozen design, every served item with the estimates",
          applies=lambda ctx: ctx.definition.theory_mode == "adaptive" and ctx.sitting.started_at is not None)
def cat_trail(session: Session, ctx: SittingContext) -> list[ArchiveFile]:
    adaptive = session.exec(select(AdaptiveSitting).where(AdaptiveSitting.candidate_session_id == ctx.sitting_id)
                            ).first()
    steps = session.exec(select(AdaptiveStep).where(AdaptiveStep.adaptive_sitting_id == adaptive.id)
                         .order_by(AdaptiveStep.position)).all() if adaptive else []
    return [json_file("theory/cat_sitting.json", row_dict(adaptive) if adaptive else None,
                      "seed, design, exposure snapshot and final estimate"),
            json_file("theory/cat_steps.json", [row_dict(s) for s in steps],
                      "each served item: estimate before, score, estimate after, timing")]


@context_hook
def practical_tasks(session: Session, ctx: SittingContext) -> None:
    tasks = session.exec(select(PracticalTask).where(PracticalTask.exam_definition_id == ctx.definition.id)).all()
    ctx.extra["practical_kinds"] = {str(task.kind) for task in tasks}


def _attempts(session: Session, ctx: SittingContext) -> list[PracticalAttempt]:
    return list(session.exec(select(PracticalAttempt).where(PracticalAttempt.candidate_session_id == ctx.sitting_id)
                             .order_by(PracticalAttempt.task_id)).all())


@register("practical", "simulation action logs and practical score sheets",
          applies=lambda ctx: bool(ctx.extra.get("practical_kinds")) and ctx.sitting.started_at is not None)
def practical(session: Session, ctx: SittingContext) -> list[ArchiveFile]:
    attempts = _attempts(session, ctx)
    ids = [a.id for a in attempts]
    actions = session.exec(select(PracticalAction).where(col(PracticalAction.attempt_id).in_(ids))
                           .order_by(PracticalAction.attempt_id, PracticalAction.seq)).all() if ids else []
    return [json_file("practical/attempts.json", [row_dict(a) for a in attempts],
                      "each practical task attempt with its score sheet, veto and trace fingerprint"),
            json_file("practical/actions.json", [row_dict(a) for a in actions],
                      "every simulator action in order, on the server clock", records=len(actions) or len(ids))]


@register("rater_forms", "rater assignments, each rater's form and the chief rater's adjudication",
          applies=lambda ctx: "rated" in ctx.extra.get("practical_kinds", ()) and ctx.sitting.started_at is not None)
def rater_forms(session: Session, ctx: SittingContext) -> list[ArchiveFile]:
    ids = [a.id for a in _attempts(session, ctx)]
    assignments = session.exec(select(RaterAssignment).where(col(RaterAssignment.attempt_id).in_(ids))
                               .order_by(RaterAssignment.id)).all() if ids else []
    forms = session.exec(select(RaterScore).where(col(RaterScore.assignment_id).in_([a.id for a in assignments]))
                         .order_by(RaterScore.id)).all() if assignments else []
    decisions = session.exec(select(Adjudication).where(col(Adjudication.attempt_id).in_(ids))
                             .order_by(Adjudication.id)).all() if ids else []
    return [json_file("practical/rater_assignments.json", [row_dict(a) for a in assignments], "who rated what"),
            json_file("practical/rater_forms.json", [row_dict(f) for f in forms], "each rater's scores and vetoes"),
            json_file("practical/adjudications.json", [row_dict(d) for d in decisions],
                      "the chief rater's decisions where raters disagreed", records=0)]


table_section("appeals", "score review requests (成绩复核) and their outcomes", Appeal, "results/appeals.json",
              required=False)
audit_subject(lambda ctx: [("appeal", str(i)) for i in ctx.extra.get("appeal_ids", ())])


@context_hook
def appeal_ids(session: Session, ctx: SittingContext) -> None:
    ctx.extra["appeal_ids"] = list(session.exec(select(Appeal.id).where(
        Appeal.candidate_session_id == ctx.sitting_id).order_by(Appeal.id)).all())
