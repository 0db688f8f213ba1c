"""The supervisors' live roster, read in a handful of set-based queries.

A room of 500 candidates watched by twenty supervisors must not cost ten queries per
row per supervisor: ``lines`` reads any set of rows of one exam session with one query
per kind of fact (sittings and candidates, answers, items, incidents, last commands,
check-ins, anomaly inputs), whatever the number of rows. The live socket (web/ws.py)
renders a changed row once per worker and shares it among every supervisor of the room.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, func, select

from engine import delivery
from engine.administration import RosterLine, mask_resident_id
from engine.errors import N_, NotFoundError
from engine.models import (
    AuditEntry,
    Candidate,
    CandidateSession,
    CandidateSessionStatus,
    ExamSession,
    ProctoringEvent,
    Response,
    Result,
    SessionItem,
)
from engine.proctoring import anomalies, service
from engine.proctoring.events import SHOWN_TO_CANDIDATE, EventKind, ProctorEvent

# Events the anomaly rules read (heartbeats are never events; commands are not evidence).
ANOMALY_INPUTS = [k.value for k in (EventKind.connected, EventKind.disconnected, EventKind.second_connection_opened,
                                    EventKind.second_tab_opened, EventKind.page_hidden, EventKind.window_blurred)]


@dataclass(frozen=True)
class LiveLine(RosterLine):
    """A roster row plus what the control room adds: identity check-in and break allowance."""

    checked_in: str = "no"  # no / verified / mismatch
    break_minutes: int = 0
    workstation_moves: int = 0

    @property
    def needs_attention(self) -> bool:
        return super().needs_attention or self.checked_in == "mismatch"


def lines(session: Session, exam_session_id: int, now: datetime,
          sitting_ids: list[int] | None = None) -> list[LiveLine]:
    """Rows of one exam session (all, or only ``sitting_ids``), ordered by candidate name."""
    if session.get(ExamSession, exam_session_id) is None:
        raise NotFoundError(N_("exam session %(id)s not found"), id=exam_session_id)
    query = (select(CandidateSession, Candidate).join(Candidate, col(Candidate.id) == CandidateSession.candidate_id)
             .where(CandidateSession.exam_session_id == exam_session_id).order_by(Candidate.name, CandidateSession.id))
    if sitting_ids is not None:
        if not sitting_ids:
            return []
        query = query.where(col(CandidateSession.id).in_(sitting_ids))
    rows = session.exec(query).all()
    facts = _Facts.read(session, [sitting.id for sitting, _candidate in rows])
    return [facts.line(sitting, candidate, now) for sitting, candidate in rows]


def line(session: Session, sitting_id: int, now: datetime) -> LiveLine:
    sitting = service.get_sitting(session, sitting_id)
    found = lines(session, sitting.exam_session_id, now, [sitting_id])
    return found[0]


def presence_map(session: Session, exam_session_id: int, now: datetime) -> dict[int, str]:
    """Only what changes without an event (a page that stopped beating): one narrow query."""
    rows = session.exec(select(CandidateSession).where(CandidateSession.exam_session_id == exam_session_id)).all()
    return {sitting.id: service.presence(sitting, now) for sitting in rows}


class _Facts:
    """Everything the rows need, read for all of them at once."""

    def __init__(self) -> None:
        self.answered: dict[int, int] = defaultdict(int)
        self.total: dict[int, int] = defaultdict(int)
        self.scores: dict[int, float] = {}
        self.incidents: dict[int, int] = defaultdict(int)
        self.events: dict[int, list[ProctorEvent]] = defaultdict(list)
        self.answer_times: dict[int, list[tuple[int, datetime]]] = defaultdict(list)
        self.commands: dict[int, service.CommandState] = {}
        self.check_ins: dict[int, str] = {}
        self.moves: dict[int, int] = defaultdict(int)
        self.breaks: dict[int, int] = {}

    @classmethod
    def read(cls, session: Session, ids: list[int]) -> _Facts:
        facts = cls()
        if not ids:
            return facts
        for sid, answer in session.exec(select(Response.candidate_session_id, Response.answer)
                                        .where(col(Response.candidate_session_id).in_(ids))).all():
            facts.answered[sid] += 1 if answer else 0
        for sid, count in session.exec(select(SessionItem.candidate_session_id, func.count())
                                       .where(col(SessionItem.candidate_session_id).in_(ids))
                                       .group_by(SessionItem.candidate_session_id)).all():
            facts.total[sid] = count
        for sid, score in session.exec(select(Result.candidate_session_id, Result.score)
                                       .where(col(Result.candidate_session_id).in_(ids))).all():
            facts.scores[sid] = score
        facts._read_events(session, ids)
        for audit_entry in session.exec(select(AuditEntry.entity_id, AuditEntry.at).where(
                AuditEntry.action == "response.recorded", col(AuditEntry.entity_id).in_([str(i) for i in ids]),
                AuditEntry.entity_type == "candidate_session")).all():
            facts.answer_times[int(audit_entry[0])].append((0, audit_entry[1]))
        facts.breaks = _break_minutes(session, ids)
        return facts

    def _read_events(self, session: Session, ids: list[int]) -> None:
        shown = [k.value for k in SHOWN_TO_CANDIDATE]
        watched = ANOMALY_INPUTS + shown + [EventKind.incident_flagged.value, EventKind.identity_checked.value,
                                            EventKind.workstation_authorized.value]
        last_command: dict[int, ProctoringEvent] = {}
        for event in session.exec(select(ProctoringEvent).where(
                col(ProctoringEvent.candidate_session_id).in_(ids), col(ProctoringEvent.kind).in_(watched))
                .order_by(ProctoringEvent.id)).all():
            sid, kind = event.candidate_session_id, event.kind
            if kind in ANOMALY_INPUTS:
                self.events[sid].append(ProctorEvent(EventKind(kind), event.at, dict(event.data)))
            elif kind in shown:
                last_command[sid] = event
            elif kind == EventKind.incident_flagged.value:
                self.incidents[sid] += 1
            elif kind == EventKind.identity_checked.value:
                self.check_ins[sid] = "verified" if event.data.get("verified") else "mismatch"
            elif kind == EventKind.workstation_authorized.value:
                self.moves[sid] += 1
        if not last_command:
            return
        acks: dict[int, set[str]] = defaultdict(set)
        for ref, kind in session.exec(select(ProctoringEvent.ref_id, ProctoringEvent.kind).where(
                col(ProctoringEvent.ref_id).in_([e.id for e in last_command.values()]))).all():
            acks[ref].add(kind)
        for sid, event in last_command.items():
            got = acks.get(event.id, set())
            state = ("applied" if EventKind.command_applied.value in got
                     else "delivered" if EventKind.command_delivered.value in got else "issued")
            self.commands[sid] = service.CommandState(event.id, event.kind, state)

    def line(self, sitting: CandidateSession, candidate: Candidate, now: datetime) -> LiveLine:
        started = sitting.status != CandidateSessionStatus.scheduled
        codes: tuple[str, ...] = ()
        if started and sitting.started_at is not None:
            timings = anomalies.answer_timings(self.answer_times.get(sitting.id, []), sitting.started_at)
            codes = tuple(a.code for a in anomalies.evaluate(self.events.get(sitting.id, []), timings))
        return LiveLine(
            sitting.id, candidate.name, mask_resident_id(candidate.resident_id), sitting.status,
            self.answered.get(sitting.id, 0), self.total.get(sitting.id, 0), delivery.seconds_left(sitting, now),
            self.scores.get(sitting.id),
            presence=service.presence(sitting, now),
            deadline_ms=int(sitting.deadline.timestamp() * 1000) if sitting.deadline else None,
            accommodation_minutes=sitting.accommodation_minutes if started else candidate.extra_time_minutes,
            extension_minutes=sitting.extension_minutes, incidents=self.incidents.get(sitting.id, 0),
            anomalies=codes, command=self.commands.get(sitting.id),
            checked_in=self.check_ins.get(sitting.id, "no"), break_minutes=self.breaks.get(sitting.id, 0),
            workstation_moves=self.moves.get(sitting.id, 0))


def _break_minutes(session: Session, sitting_ids: list[int]) -> dict[int, int]:
    from engine.proctoring.models import Accommodation

    rows = session.exec(select(CandidateSession.id, Accommodation.break_minutes)
                        .join(Accommodation, col(Accommodation.candidate_id) == CandidateSession.candidate_id)
                        .where(col(CandidateSession.id).in_(sitting_ids))).all()
    return {sid: minutes for sid, minutes in rows if minutes}
