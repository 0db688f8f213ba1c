"""Certificates: numbering profiles, part scores, outcomes, issue, revocation, look-ups.

Services flush and never commit; every change is written to the audit log in the
caller's transaction. A refusal raises before anything is added, so nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from engine import audit
from engine.certification import numbering
from engine.certification.errors import NotPassedError, NumberingNotConfiguredError
from engine.certification.models import (
    Certificate,
    CertificateSerial,
    CertificateStatus,
    NumberingProfile,
    PartScoreRecord,
)
from engine.certification.rules import DEFAULT_RULES, Outcome, Part, PartScore, ResultRule, decide
from engine.errors import N_, DuplicateError, IllegalTransitionError, InvalidInputError, NotFoundError
from engine.lookup import get_or_not_found
from engine.models import (
    Candidate,
    CandidateSession,
    ExamDefinition,
    ExamSession,
    Institution,
    Result,
    Room,
    TestCenter,
)
from itembank.levels import Level
from itembank.models import Occupation

SCHEME = numbering.NumberingScheme()
RECORDED_PARTS = (Part.practical, Part.review)  # the theory score is the sitting's Result


# ---- numbering profiles --------------------------------------------------------------------


def set_numbering_profile(session: Session, institution_id: int, body_code: str, province_code: str,
                          site_serial: str, kind_letter: str | None, actor: str) -> NumberingProfile:
    """Create or change an institution's filed codes; the fields are checked by composing a number."""
    institution = get_or_not_found(session, Institution, institution_id, N_("institution %(id)s not found"))
    letter = (kind_letter or "").strip().upper() or None
    numbering.compose(SCHEME, kind=institution.kind.value, body_code=body_code, province=province_code,
                      site_serial=site_serial, year=2000, level=Level.level5, serial=1,
                      kind_letter=letter)
    profile = session.exec(select(NumberingProfile).where(NumberingProfile.institution_id == institution_id)).first()
    profile = profile or NumberingProfile(institution_id=institution_id, body_code="", province_code="",
                                          site_serial="")
    profile.body_code, profile.province_code = body_code.strip(), province_code.strip()
    profile.site_serial, profile.kind_letter = site_serial.strip(), letter
    session.add(profile)
    session.flush()
    audit.record(session, actor, "numbering_profile.set", "institution", institution_id,
                 {"body_code": profile.body_code, "province_code": profile.province_code,
                  "site_serial": profile.site_serial, "kind_letter": letter})
    return profile


def numbering_profiles(session: Session) -> dict[int, NumberingProfile]:
    return {p.institution_id: p for p in session.exec(select(NumberingProfile)).all()}


# ---- part scores and outcomes ----------------------------------------------------------------


def record_part_score(session: Session, candidate_session_id: int, part: str, score: float, veto: bool,
                      actor: str) -> PartScoreRecord:
    """Store (or correct) a practical or comprehensive-review score of one sitting."""
    sitting = _sitting(session, candidate_session_id)
    try:
        part_value = Part(part)
    except ValueError:
        part_value = None
    if part_value not in RECORDED_PARTS:
        raise InvalidInputError(N_("part must be practical or review, got '%(part)s'"), "part", part=part)
    PartScore(part_value, score, veto)  # range check
    if session.exec(select(Certificate.id).where(Certificate.candidate_session_id == sitting.id)).first():
        raise IllegalTransitionError(N_("a certificate was issued for this sitting; its scores are closed"))
    record = session.exec(select(PartScoreRecord).where(PartScoreRecord.candidate_session_id == sitting.id,
                                                        PartScoreRecord.part == part_value)).first()
    previous = None if record is None else {"score": record.score, "veto": record.veto}
    record = record or PartScoreRecord(candidate_session_id=sitting.id, part=part_value, score=score,
                                       recorded_by=actor)
    record.score, record.veto, record.recorded_by = score, veto, actor
    session.add(record)
    session.flush()
    audit.record(session, actor, "part_score.recorded", "candidate_session", sitting.id,
                 {"part": part_value.value, "score": score, "veto": veto, "previous": previous})
    return record


@dataclass(frozen=True)
class SittingOutcome:
    sitting: CandidateSession
    candidate: Candidate
    definition: ExamDefinition
    rule: ResultRule
    scores: dict[Part, PartScore]
    outcome: Outcome
    certificate: Certificate | None


def rule_for(definition: ExamDefinition, rules: dict = DEFAULT_RULES) -> ResultRule:
    """The level's rule, with the theory mark taken from the exam definition (the more specific data)."""
    rule = rules[definition.level]
    if Part.theory not in rule.pass_marks:
        return rule
    return ResultRule(rule.level, {**rule.pass_marks, Part.theory: definition.pass_mark})


def outcome_of(session: Session, candidate_session_id: int) -> SittingOutcome:
    sitting = _sitting(session, candidate_session_id)
    return _outcomes(session, [sitting])[0]


def outcomes_for_exam_session(session: Session, exam_session_id: int) -> list[SittingOutcome]:
    if session.get(ExamSession, exam_session_id) is None:
        raise NotFoundError(N_("exam session %(id)s not found"), id=exam_session_id)
    sittings = session.exec(select(CandidateSession).where(CandidateSession.exam_session_id == exam_session_id)
                            .order_by(CandidateSession.id)).all()
    return sorted(_outcomes(session, list(sittings)), key=lambda o: o.candidate.name)


def _outcomes(session: Session, sittings: list[CandidateSession]) -> list[SittingOutcome]:
    ids = [s.id for s in sittings]
    theory = {r.candidate_session_id: r for r in session.exec(
        select(Result).where(col(Result.candidate_session_id).in_(ids))).all()}
    recorded: dict[int, list[PartScoreRecord]] = {}
    for record in session.exec(select(PartScoreRecord).where(col(PartScoreRecord.candidate_session_id).in_(ids))):
        recorded.setdefault(record.candidate_session_id, []).append(record)
    certificates = {c.candidate_session_id: c for c in session.exec(
        select(Certificate).where(col(Certificate.candidate_session_id).in_(ids))).all()}
    outcomes = []
    for sitting in sittings:
        definition = _definition(session, sitting)
        scores = {r.part: PartScore(r.part, r.score, r.veto) for r in recorded.get(sitting.id, [])}
        if sitting.id in theory:
            scores[Part.theory] = PartScore(Part.theory, theory[sitting.id].score)
        rule = rule_for(definition)
        outcomes.append(SittingOutcome(sitting, session.get(Candidate, sitting.candidate_id), definition, rule,
                                       scores, decide(rule, scores), certificates.get(sitting.id)))
    return outcomes


# ---- issue and revoke ----------------------------------------------------------------------------


def issue(session: Session, candidate_session_id: int, actor: str, today: date) -> Certificate:
    """Issue the certificate of a passed sitting; refuse, writing nothing, for anything else."""
    found = outcome_of(session, candidate_session_id)
    if found.certificate is not None:
        raise DuplicateError(N_("certificate %(number)s was already issued for this sitting"), "candidate_session",
                             number=found.certificate.number)
    if not found.outcome.passed:
        reasons = "; ".join(s.message % s.params for s in found.outcome.shortfalls)
        refusal = NotPassedError(N_("%(name)s did not pass, so no certificate is issued: %(reasons)s"),
                                 "candidate_session", name=found.candidate.name, reasons=reasons)
        refusal.shortfalls = found.outcome.shortfalls  # for showing each reason translated
        raise refusal
    institution = _institution(session, found.sitting)
    number = _next_number(session, institution, found.definition, today)
    occupation = session.get(Occupation, found.definition.occupation_id)
    certificate = Certificate(number=number, candidate_id=found.candidate.id, candidate_session_id=found.sitting.id,
                              institution_id=institution.id, holder_name=found.candidate.name,
                              resident_id=found.candidate.resident_id, occupation_code=occupation.code,
                              occupation_name=occupation.name, level=found.definition.level, issued_on=today,
                              issued_by=actor)
    session.add(certificate)
    try:
        session.flush()
    except IntegrityError:  # a concurrent issue for the same sitting committed first
        raise DuplicateError(N_("a certificate was issued for this sitting at the same time"),
                             "candidate_session") from None
    audit.record(session, actor, "certificate.issued", "certificate", certificate.id,
                 {"number": number, "candidate_session": found.sitting.id,
                  "scores": {p.value: s.score for p, s in found.scores.items()}})
    return certificate


@dataclass(frozen=True)
class IssueReport:
    issued: list[Certificate]
    not_passed: list[SittingOutcome]
    already: list[SittingOutcome]


def issue_for_exam_session(session: Session, exam_session_id: int, actor: str, today: date) -> IssueReport:
    """Issue every passed, not yet certified sitting of an exam session."""
    outcomes = outcomes_for_exam_session(session, exam_session_id)
    issued = [issue(session, o.sitting.id, actor, today) for o in outcomes
              if o.outcome.passed and o.certificate is None]
    return IssueReport(issued, [o for o in outcomes if not o.outcome.passed],
                       [o for o in outcomes if o.certificate is not None])


def revoke(session: Session, certificate_id: int, reason: str, actor: str, now: datetime) -> Certificate:
    certificate = get_certificate(session, certificate_id)
    reason = reason.strip()
    if not reason:
        raise InvalidInputError(N_("give the reason for revoking the certificate"), "reason")
    if len(reason) > 500:
        raise InvalidInputError(N_("the reason is longer than 500 characters"), "reason")
    if certificate.status == CertificateStatus.revoked:
        raise IllegalTransitionError(N_("certificate %(number)s is already revoked"), number=certificate.number)
    certificate.status, certificate.revoked_at = CertificateStatus.revoked, now
    certificate.revoked_by, certificate.revoke_reason = actor, reason
    session.add(certificate)
    session.flush()
    audit.record(session, actor, "certificate.revoked", "certificate", certificate.id,
                 {"number": certificate.number, "reason": reason})
    return certificate


def _next_number(session: Session, institution: Institution, definition: ExamDefinition, today: date) -> str:
    profile = session.exec(select(NumberingProfile).where(NumberingProfile.institution_id == institution.id)).first()
    if profile is None:
        raise NumberingNotConfiguredError(
            N_("institution %(code)s has no certificate numbering profile; set its body code first"),
            "institution", code=institution.code)
    fields = dict(kind=institution.kind.value, body_code=profile.body_code, province=profile.province_code,
                  site_serial=profile.site_serial, year=today.year, level=definition.level,
                  kind_letter=profile.kind_letter)
    prefix = numbering.compose(SCHEME, serial=1, **fields).prefix
    counter = _locked_serial(session, prefix)
    counter.last += 1
    session.add(counter)
    return str(numbering.compose(SCHEME, serial=counter.last, **fields))


def _locked_serial(session: Session, prefix: str) -> CertificateSerial:
    """The prefix's counter, row-locked until commit; concurrent first issues race safely."""
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(CertificateSerial).values(prefix=prefix, last=0).on_conflict_do_nothing())
    return session.exec(select(CertificateSerial).where(CertificateSerial.prefix == prefix)
                        .with_for_update().execution_options(populate_existing=True)).one()


# ---- look-ups ----------------------------------------------------------------------------------------


def get_certificate(session: Session, certificate_id: int) -> Certificate:
    return get_or_not_found(session, Certificate, certificate_id, N_("certificate %(id)s not found"))


def certificates(session: Session, limit: int = 500) -> list[Certificate]:
    return list(session.exec(select(Certificate).order_by(col(Certificate.id).desc()).limit(limit)).all())


def institution_name(session: Session, certificate: Certificate) -> str:
    institution = session.get(Institution, certificate.institution_id)
    return institution.name if institution else ""


def find_by_number(session: Session, raw: str) -> Certificate | None:
    """The certificate with this number, or None; a malformed number raises (422)."""
    number = str(numbering.parse(raw, SCHEME))
    return session.exec(select(Certificate).where(Certificate.number == number)).first()


def find_by_holder(session: Session, name: str, resident_id: str) -> list[Certificate]:
    """Certificates of the person with exactly this name and resident ID (both must match)."""
    name, number = name.strip(), resident_id.strip().upper()
    if not name or not number:
        raise InvalidInputError(N_("enter both the name and the resident ID number"), "name")
    return list(session.exec(select(Certificate).where(Certificate.holder_name == name,
                                                       Certificate.resident_id == number)
                             .order_by(Certificate.issued_on)).all())


@dataclass(frozen=True)
class PublicCertificate:
    """What the public verification page may show, and nothing else."""

    number: str
    masked_name: str
    masked_resident_id: str
    occupation: str
    level: str
    issued_on: date
    status: str


def mask_name(name: str) -> str:
    """Keep the family name's first character: 张伟 → 张*, 欧阳娜娜 → 欧***."""
    name = name.strip()
    return name[:1] + "*" * max(len(name) - 1, 1) if len(name) > 1 else "*"


def mask_resident_id(number: str) -> str:
    """First 3 and last 2 characters: no birth date, no sequence number."""
    return number[:3] + "*" * (len(number) - 5) + number[-2:] if len(number) > 5 else "*" * len(number)


def public_view(certificate: Certificate) -> PublicCertificate:
    return PublicCertificate(number=certificate.number, masked_name=mask_name(certificate.holder_name),
                             masked_resident_id=mask_resident_id(certificate.resident_id),
                             occupation=certificate.occupation_name, level=certificate.level.value,
                             issued_on=certificate.issued_on, status=certificate.status.value)


# ---- helpers -------------------------------------------------------------------------------------------


def _sitting(session: Session, candidate_session_id: int) -> CandidateSession:
    return get_or_not_found(session, CandidateSession, candidate_session_id, N_("exam sitting %(id)s not found"))


def _definition(session: Session, sitting: CandidateSession) -> ExamDefinition:
    exam_session = session.get(ExamSession, sitting.exam_session_id)
    return session.get(ExamDefinition, exam_session.exam_definition_id)


def _institution(session: Session, sitting: CandidateSession) -> Institution:
    row = session.exec(
        select(Institution)
        .join(TestCenter, col(TestCenter.institution_id) == Institution.id)
        .join(Room, col(Room.test_center_id) == TestCenter.id)
        .join(ExamSession, col(ExamSession.room_id) == Room.id)
        .where(ExamSession.id == sitting.exam_session_id)).one()
    return row
