"""Suspension of an institution from certifying (the exit mechanism, 退出机制).

While an institution has a suspension that has not been lifted, no new exam session may
be scheduled in its rooms (``engine.administration`` and the scheduling service ask
``is_suspended``). Suspending and lifting each need a reason and are audited.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from engine import audit
from engine.errors import N_, IllegalTransitionError, InvalidInputError, NotFoundError
from engine.models import Institution
from engine.quality.models import InstitutionSuspension

REASON_LIMIT = 1000


class InstitutionSuspendedError(IllegalTransitionError):
    """Scheduling refused because the institution is suspended (409)."""


def active_suspension(db: Session, institution_id: int) -> InstitutionSuspension | None:
    return db.exec(select(InstitutionSuspension).where(InstitutionSuspension.institution_id == institution_id,
                                                       col(InstitutionSuspension.lifted_at).is_(None))
                   .order_by(col(InstitutionSuspension.id).desc())).first()


def is_suspended(db: Session, institution_id: int) -> bool:
    return active_suspension(db, institution_id) is not None


def suspended_ids(db: Session) -> set[int]:
    return set(db.exec(select(InstitutionSuspension.institution_id)
                       .where(col(InstitutionSuspension.lifted_at).is_(None))).all())


def refuse_if_suspended(db: Session, institution_id: int) -> None:
    """Raise ``InstitutionSuspendedError`` naming the institution and the reason."""
    found = active_suspension(db, institution_id)
    if found is not None:
        institution = db.get(Institution, institution_id)
        raise InstitutionSuspendedError(
            N_("institution %(code)s is suspended from certifying (%(reason)s); no new sittings can be scheduled"),
            "institution", code=institution.code if institution else institution_id, reason=found.reason)


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise InvalidInputError(N_("give the reason"), "reason")
    if len(reason) > REASON_LIMIT:
        raise InvalidInputError(N_("the reason is longer than %(limit)s characters"), "reason", limit=REASON_LIMIT)
    return reason


def suspend(db: Session, institution_id: int, reason: str, actor: str, now: datetime) -> InstitutionSuspension:
    institution = db.get(Institution, institution_id)
    if institution is None:
        raise NotFoundError(N_("institution %(id)s not found"), id=institution_id)
    reason = _reason(reason)
    if is_suspended(db, institution_id):
        raise IllegalTransitionError(N_("institution %(code)s is already suspended"), code=institution.code)
    suspension = InstitutionSuspension(institution_id=institution_id, reason=reason, suspended_by=actor,
                                       suspended_at=now)
    db.add(suspension)
    db.flush()
    audit.record(db, actor, "institution.suspended", "institution", institution_id, {"reason": reason})
    return suspension


def lift(db: Session, institution_id: int, reason: str, actor: str, now: datetime) -> InstitutionSuspension:
    institution = db.get(Institution, institution_id)
    if institution is None:
        raise NotFoundError(N_("institution %(id)s not found"), id=institution_id)
    reason = _reason(reason)
    suspension = active_suspension(db, institution_id)
    if suspension is None:
        raise IllegalTransitionError(N_("institution %(code)s is not suspended"), code=institution.code)
    suspension.lifted_at, suspension.lifted_by, suspension.lift_reason = now, actor, reason
    db.add(suspension)
    db.flush()
    audit.record(db, actor, "institution.suspension_lifted", "institution", institution_id,
                 {"reason": reason, "suspension": suspension.id})
    return suspension


def history(db: Session, institution_id: int) -> list[InstitutionSuspension]:
    return list(db.exec(select(InstitutionSuspension).where(InstitutionSuspension.institution_id == institution_id)
                        .order_by(col(InstitutionSuspension.id).desc())).all())
