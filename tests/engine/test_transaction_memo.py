"""``engine.lookup.in_transaction``: a value lives exactly as long as the transaction it was read in."""

from __future__ import annotations

from sqlmodel import select

from engine import audit
from engine.lookup import in_transaction
from engine.models import AuditHead


def test_a_value_is_computed_once_per_transaction_and_again_after_commit(db, demo):
    calls = []

    def compute():
        calls.append(1)
        return db.exec(select(AuditHead)).first()

    first = in_transaction(db, "head", compute)
    assert in_transaction(db, "head", compute) is first and len(calls) == 1
    assert in_transaction(db, "other key", compute) is first and len(calls) == 2
    db.commit()
    in_transaction(db, "head", compute)
    assert len(calls) == 3, "a new transaction computes again"


def test_nothing_is_remembered_outside_a_transaction(db, demo):
    db.commit()
    calls = []
    assert in_transaction(db, "pure", lambda: calls.append(1) or 7) == 7
    assert in_transaction(db, "pure", lambda: calls.append(1) or 7) == 7
    assert len(calls) == 2


def test_appends_across_commits_still_chain(db, demo):
    audit.record(db, "a", "x.one", "thing", 1, {})
    db.commit()
    audit.record(db, "a", "x.two", "thing", 1, {})  # a new transaction locks and reads the head again
    audit.record(db, "a", "x.three", "thing", 1, {})
    db.commit()
    assert audit.verify(db).ok
