"""The append-only, hash-chained audit log.

Each entry's hash is SHA-256 over the previous entry's hash and the entry's canonical
JSON, so changing, removing or reordering any entry breaks every later link.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from engine.lookup import in_transaction
from engine.models import AuditEntry, AuditHead
from itembank.timeutil import utcnow

GENESIS_HASH = "0" * 64


def canonical(entry_fields: dict[str, Any]) -> str:
    return json.dumps(entry_fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def entry_hash(prev_hash: str, at: datetime, actor: str, action: str, entity_type: str,
               entity_id: str, data: dict[str, Any]) -> str:
    body = canonical({"at": at.isoformat(), "actor": actor, "action": action,
                      "entity_type": entity_type, "entity_id": entity_id, "data": data})
    return hashlib.sha256(f"{prev_hash}|{body}".encode()).hexdigest()


def record(session: Session, actor: str, action: str, entity_type: str, entity_id: object,
           data: dict[str, Any] | None = None) -> AuditEntry:
    """Append one entry in the caller's transaction (it commits or rolls back with it)."""
    head = _locked_head(session)
    payload = json.loads(canonical(data or {}))  # store exactly what was hashed
    at = utcnow()
    digest = entry_hash(head.last_hash, at, actor, action, entity_type, str(entity_id), payload)
    entry = AuditEntry(at=at, actor=actor, action=action, entity_type=entity_type,
                       entity_id=str(entity_id), data=payload, prev_hash=head.last_hash, hash=digest)
    head.last_hash, head.count = digest, head.count + 1
    session.add(entry)
    session.add(head)
    session.flush()
    return entry


@dataclass(frozen=True)
class Pending:
    """One entry to append with ``record_many``."""

    actor: str
    action: str
    entity_type: str
    entity_id: object
    data: dict[str, Any]


def record_many(session: Session, entries: list[Pending]) -> None:
    """Append several entries in list order under one lock of the chain head.

    The same chain as calling ``record`` for each (``verify`` cannot tell them apart), but
    one head lock, one insert and one head update for a whole batch: a worker's group
    commit (web/group_commit.py) appends all its answers' entries with this.
    """
    if not entries:
        return
    head = _locked_head(session)
    last_hash, rows = head.last_hash, []
    for pending in entries:
        payload = json.loads(canonical(pending.data))
        at = utcnow()
        digest = entry_hash(last_hash, at, pending.actor, pending.action, pending.entity_type,
                            str(pending.entity_id), payload)
        rows.append({"at": at, "actor": pending.actor, "action": pending.action,
                     "entity_type": pending.entity_type, "entity_id": str(pending.entity_id), "data": payload,
                     "prev_hash": last_hash, "hash": digest})
        last_hash = digest
    session.execute(insert(AuditEntry), rows)  # ids ascend in list order: the chain's order
    head.last_hash, head.count = last_hash, head.count + len(rows)
    session.add(head)
    session.flush()


def lock_head(session: Session) -> None:
    """Take the chain head's lock now, for the rest of the transaction.

    A transaction that appends several entries among other writes (a group commit) takes
    it first: taken in the middle, after one job's entry and before another job's row
    locks, it deadlocks against a transaction that holds such a row and waits for the head.
    """
    _locked_head(session)


def _locked_head(session: Session) -> AuditHead:
    """The chain head, row-locked until commit (SQLite's BEGIN IMMEDIATE already serializes);
    read and locked once per transaction."""
    return in_transaction(session, "audit-head", lambda: _lock_head_row(session))


def _lock_head_row(session: Session) -> AuditHead:
    head = session.exec(select(AuditHead).where(AuditHead.id == 1).with_for_update()).first()
    if head is not None:
        return head
    # First entry ever: several writers may race to create the head; exactly one wins.
    insert_head = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert_head(AuditHead).values(id=1, last_hash=GENESIS_HASH, count=0).on_conflict_do_nothing())
    return session.exec(select(AuditHead).where(AuditHead.id == 1).with_for_update()).one()


@dataclass(frozen=True)
class ChainReport:
    entries: int
    ok: bool
    first_broken_id: int | None = None
    problem: str | None = None


def verify(session: Session, batch: int = 5000) -> ChainReport:
    """Walk the chain in id order; report the first entry whose link does not hold."""
    prev_hash, count, last_id = GENESIS_HASH, 0, 0
    while True:
        rows = session.exec(select(AuditEntry).where(AuditEntry.id > last_id)
                            .order_by(AuditEntry.id).limit(batch)).all()
        if not rows:
            break
        for entry in rows:
            problem = _link_problem(entry, prev_hash)
            if problem:
                return ChainReport(entries=count, ok=False, first_broken_id=entry.id, problem=problem)
            prev_hash, count, last_id = entry.hash, count + 1, entry.id
    head = session.get(AuditHead, 1)
    if head is not None and (head.last_hash != prev_hash or head.count != count):
        return ChainReport(entries=count, ok=False, problem="entries were removed from the end of the log")
    return ChainReport(entries=count, ok=True)


def _link_problem(entry: AuditEntry, prev_hash: str) -> str | None:
    if entry.prev_hash != prev_hash:
        return f"entry {entry.id} does not point to the previous entry's hash"
    expected = entry_hash(entry.prev_hash, entry.at, entry.actor, entry.action, entry.entity_type,
                          entry.entity_id, entry.data)
    if entry.hash != expected:
        return f"entry {entry.id} content does not match its hash"
    return None
