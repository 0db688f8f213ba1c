"""Proctoring services: store the event stream, apply supervisor commands, read timelines.

Services flush and never commit (the caller commits, then publishes to the event bus).
Every supervisor action and every integrity event is also written to the audit log.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, update
from sqlmodel import Session, col, select

from engine import audit, delivery
from engine.errors import N_, InvalidInputError, NotFoundError
from engine.lifecycle import Command
from engine.models import AuditEntry, CandidateSession, CandidateSessionStatus, ProctoringEvent
from engine.proctoring import anomalies
from engine.proctoring.commands import CommandKind, SupervisorCommand
from engine.proctoring.events import CLIENT_EVENTS, SHOWN_TO_CANDIDATE, EventKind, ProctorEvent

PRESENCE_TIMEOUT = timedelta(seconds=35)  # three missed heartbeats (every 10 s) and a margin
HEARTBEAT_WRITE_EVERY = timedelta(seconds=15)  # presence is written at most this often
MAX_DETAIL_KEYS = 8
MAX_DETAIL_TEXT = 200
# Audit actions of a sitting that belong in its timeline, with nothing of the answer's content.
TIMELINE_AUDIT_ACTIONS = {"session.started", "response.recorded", "response.refused", "item.flagged",
                          "item.unflagged", "session.submitted"}


def append(session: Session, sitting_id: int, kind: EventKind, actor: str, now: datetime,
           data: dict[str, Any] | None = None, ref_id: int | None = None) -> ProctoringEvent:
    event = ProctoringEvent(candidate_session_id=sitting_id, at=now, kind=kind.value, actor=actor,
                            ref_id=ref_id, data=json.loads(audit.canonical(data or {})))
    session.add(event)
    session.flush()
    return event


# ---- what the candidate's page reports ------------------------------------------------


def record_client_event(session: Session, sitting: CandidateSession, kind: str, detail: object,
                        actor: str, now: datetime) -> ProctoringEvent:
    """Store an integrity event from the page as evidence; refuse unknown kinds and odd details."""
    try:
        event_kind = EventKind(kind)
    except ValueError:
        event_kind = None
    if event_kind not in CLIENT_EVENTS:
        raise InvalidInputError(N_("unknown integrity event '%(kind)s'"), "kind", kind=str(kind)[:40])
    data = _clean_detail(detail)
    event = append(session, sitting.id, event_kind, actor, now, data)
    audit.record(session, actor, f"proctoring.{event_kind.value}", "candidate_session", sitting.id, data)
    return event


def _clean_detail(detail: object) -> dict[str, Any]:
    if detail is None:
        return {}
    if not isinstance(detail, dict) or len(detail) > MAX_DETAIL_KEYS:
        raise InvalidInputError(N_("event detail must be an object of at most %(n)s fields"), "detail",
                                n=MAX_DETAIL_KEYS)
    clean: dict[str, Any] = {}
    for key, value in detail.items():
        if not isinstance(key, str) or len(key) > 40:
            raise InvalidInputError(N_("event detail has an invalid field name"), "detail")
        number = isinstance(value, (int, float)) and abs(value) < 2**53
        short_text = isinstance(value, str) and len(value) <= MAX_DETAIL_TEXT
        if isinstance(value, bool) or value is None or number or short_text:
            clean[key] = value
        else:
            raise InvalidInputError(N_("event detail field '%(name)s' is not a short text or number"), "detail",
                                    name=key)
    return clean


# ---- connections -------------------------------------------------------------------------


@dataclass(frozen=True)
class Connected:
    event: ProctoringEvent
    superseded: str | None  # the connection this one replaced while it was still alive


def connect(session: Session, sitting: CandidateSession, connection_id: str, actor: str, now: datetime,
            ip: str | None = None, user_agent: str | None = None) -> Connected:
    """A page opened its socket; the newest page is the one that may act (failover, second tab).

    ``connection_id`` is ``<tab>.<random>``: the same browser tab moving to the next
    question reconnects with the same tab part, which is not a second connection.
    """
    superseded = None
    if (sitting.connection_id and tab_of(sitting.connection_id) != tab_of(connection_id)
            and is_online(sitting, now)):
        superseded = sitting.connection_id
        append(session, sitting.id, EventKind.second_connection_opened, actor, now,
               {"previous": superseded, "connection": connection_id, "ip": ip})
    sitting.connection_id, sitting.last_seen_at = connection_id, now
    session.add(sitting)
    event = append(session, sitting.id, EventKind.connected, actor, now,
                   {"connection": connection_id, "ip": ip, "user_agent": (user_agent or "")[:MAX_DETAIL_TEXT]})
    return Connected(event, superseded)


def tab_of(connection_id: str) -> str:
    return connection_id.split(".", 1)[0]


def disconnect(session: Session, sitting: CandidateSession, connection_id: str, actor: str,
               now: datetime) -> ProctoringEvent:
    if sitting.connection_id == connection_id:
        sitting.connection_id = None
        session.add(sitting)
    return append(session, sitting.id, EventKind.disconnected, actor, now, {"connection": connection_id})


def heartbeat(session: Session, sitting: CandidateSession, now: datetime) -> bool:
    """Note that the page is alive; writes only every few heartbeats. True when it wrote."""
    if sitting.last_seen_at is not None and now - sitting.last_seen_at < HEARTBEAT_WRITE_EVERY:
        return False
    sitting.last_seen_at = now
    session.add(sitting)
    session.flush()
    return True


def record_presence(session: Session, beats: dict[int, str], now: datetime) -> None:
    """Heartbeats of many pages at once (``{sitting id: connection id}``), in two statements.

    A page still beating on a sitting that has no connection (its worker restarted and
    forgot it) becomes the sitting's connection again.
    """
    if not beats:
        return
    table = CandidateSession.__table__  # Core statements: no ORM objects loaded for a presence write
    session.execute(update(table).where(table.c.id.in_(list(beats))).values(last_seen_at=now))
    session.execute(update(table).where(table.c.id == bindparam("sid"), table.c.connection_id.is_(None))
                    .values(connection_id=bindparam("connection")),
                    [{"sid": sid, "connection": connection} for sid, connection in beats.items()])


def is_online(sitting: CandidateSession, now: datetime) -> bool:
    return (sitting.connection_id is not None and sitting.last_seen_at is not None
            and now - sitting.last_seen_at <= PRESENCE_TIMEOUT)


def presence(sitting: CandidateSession, now: datetime) -> str:
    if is_online(sitting, now):
        return "online"
    return "never" if sitting.last_seen_at is None else "offline"


# ---- supervisor commands -----------------------------------------------------------------

_LIFECYCLE_OF = {CommandKind.warn: Command.warn, CommandKind.flag: Command.flag_incident}


def issue(session: Session, sitting: CandidateSession, command: SupervisorCommand, actor: str,
          now: datetime) -> ProctoringEvent:
    """Apply a supervisor's command to the sitting and record it with its reason."""
    if command.kind == CommandKind.pause:
        delivery.pause(session, sitting, actor, now)
    elif command.kind == CommandKind.resume:
        delivery.resume(session, sitting, actor, now)
    elif command.kind == CommandKind.update:
        delivery.extend(session, sitting, command.minutes, actor, now)
    elif command.kind == CommandKind.terminate:
        delivery.terminate(session, sitting, actor, now)
    else:
        delivery.check_command(sitting, _LIFECYCLE_OF[command.kind])
    data = {**command.as_data(), **sitting_clock(sitting, now)}
    event = append(session, sitting.id, command.event_kind, actor, now, data)
    audit.record(session, actor, f"proctoring.{command.event_kind.value}", "candidate_session", sitting.id,
                 {**command.as_data(), "event": event.id})
    return event


def sitting_clock(sitting: CandidateSession, now: datetime) -> dict[str, Any]:
    """What a page needs to show the server's time: status, deadline, frozen time left."""
    return {"status": sitting.status.value,
            "deadline_ms": int(sitting.deadline.timestamp() * 1000) if sitting.deadline else None,
            "paused": sitting.status == CandidateSessionStatus.paused,
            "seconds_left": delivery.seconds_left(sitting, now)}


def acknowledge(session: Session, sitting_id: int, command_event_id: int, kind: EventKind, actor: str,
                now: datetime) -> ProctoringEvent | None:
    """Record that a command reached (delivered) or was shown on (applied) the candidate's page.

    Idempotent: a second acknowledgement of the same kind writes nothing and returns None.
    """
    command = session.get(ProctoringEvent, command_event_id)
    if command is None or command.candidate_session_id != sitting_id or command.kind not in SHOWN_TO_CANDIDATE:
        raise NotFoundError(N_("command %(id)s not found for this sitting"), id=command_event_id)
    if session.exec(select(ProctoringEvent.id).where(ProctoringEvent.ref_id == command_event_id,
                                                     ProctoringEvent.kind == kind.value)).first():
        return None
    return append(session, sitting_id, kind, actor, now, {"command": command.kind}, ref_id=command_event_id)


def pending_commands(session: Session, sitting_id: int) -> list[ProctoringEvent]:
    """Commands for the candidate's page not yet delivered (queued while the page was away)."""
    delivered = select(ProctoringEvent.ref_id).where(ProctoringEvent.candidate_session_id == sitting_id,
                                                     ProctoringEvent.kind == EventKind.command_delivered.value)
    return list(session.exec(select(ProctoringEvent).where(
        ProctoringEvent.candidate_session_id == sitting_id,
        col(ProctoringEvent.kind).in_([k.value for k in SHOWN_TO_CANDIDATE]),
        col(ProctoringEvent.id).not_in(delivered)).order_by(ProctoringEvent.id)).all())


@dataclass(frozen=True)
class CommandState:
    event_id: int
    kind: str
    state: str  # issued / delivered / applied


def last_command_state(session: Session, sitting_id: int) -> CommandState | None:
    last = session.exec(select(ProctoringEvent).where(
        ProctoringEvent.candidate_session_id == sitting_id,
        col(ProctoringEvent.kind).in_([k.value for k in SHOWN_TO_CANDIDATE]))
        .order_by(col(ProctoringEvent.id).desc())).first()
    if last is None:
        return None
    acks = set(session.exec(select(ProctoringEvent.kind).where(ProctoringEvent.ref_id == last.id)).all())
    state = ("applied" if EventKind.command_applied.value in acks
             else "delivered" if EventKind.command_delivered.value in acks else "issued")
    return CommandState(last.id, last.kind, state)


def incident_count(session: Session, sitting_id: int) -> int:
    return len(session.exec(select(ProctoringEvent.id).where(
        ProctoringEvent.candidate_session_id == sitting_id,
        ProctoringEvent.kind == EventKind.incident_flagged.value)).all())


# ---- reading the record --------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str
    actor: str
    detail: dict[str, Any]


def events_of(session: Session, sitting_id: int) -> list[ProctoringEvent]:
    return list(session.exec(select(ProctoringEvent).where(ProctoringEvent.candidate_session_id == sitting_id)
                             .order_by(ProctoringEvent.id)).all())


def timeline(session: Session, sitting: CandidateSession) -> list[TimelineEntry]:
    """Everything that happened in a sitting, in order; answers by position and time only."""
    entries = [TimelineEntry(e.at, e.kind, e.actor, dict(e.data)) for e in events_of(session, sitting.id)]
    for entry in _sitting_audit(session, sitting.id):
        if entry.action in TIMELINE_AUDIT_ACTIONS:
            detail = {k: v for k, v in entry.data.items() if k in ("position", "reason", "deadline", "items")}
            entries.append(TimelineEntry(entry.at, entry.action, entry.actor, detail))
    return sorted(entries, key=lambda e: e.at)


def _sitting_audit(session: Session, sitting_id: int) -> list[AuditEntry]:
    return list(session.exec(select(AuditEntry).where(AuditEntry.entity_type == "candidate_session",
                                                      AuditEntry.entity_id == str(sitting_id))
                             .order_by(AuditEntry.id)).all())


def anomalies_of(session: Session, sitting: CandidateSession) -> list[anomalies.Anomaly]:
    """Run the anomaly rules over the sitting's stored events and answer times."""
    events = [ProctorEvent(EventKind(e.kind), e.at, dict(e.data)) for e in events_of(session, sitting.id)]
    answered = [(int(a.data.get("position", 0)), a.at) for a in _sitting_audit(session, sitting.id)
                if a.action == "response.recorded"]
    timings = anomalies.answer_timings(answered, sitting.started_at) if sitting.started_at else []
    return anomalies.evaluate(events, timings)


def get_sitting(session: Session, sitting_id: int) -> CandidateSession:
    sitting = session.get(CandidateSession, sitting_id)
    if sitting is None:
        raise NotFoundError(N_("exam sitting %(id)s not found"), id=sitting_id)
    return sitting


def sittings_in(session: Session, exam_session_id: int, statuses: tuple[CandidateSessionStatus, ...]
                ) -> list[CandidateSession]:
    return list(session.exec(select(CandidateSession).where(
        CandidateSession.exam_session_id == exam_session_id,
        col(CandidateSession.status).in_([s.value for s in statuses])).order_by(CandidateSession.id)).all())
