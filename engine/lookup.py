"""Fetch a row by primary key or raise ``NotFoundError`` with the caller's message; remember a
value for the rest of the current transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlmodel import Session, SQLModel

from engine.errors import NotFoundError

Row = TypeVar("Row", bound=SQLModel)
T = TypeVar("T")
_MEMO = "skillcert_transaction_memo"


def get_or_not_found(session: Session, model: type[Row], row_id: int, template: str) -> Row:
    """``template`` is an ``N_()``-marked message with an ``%(id)s`` placeholder."""
    row = session.get(model, row_id)
    if row is None:
        raise NotFoundError(template, id=row_id)
    return row


def in_transaction(session: Session, key: object, compute: Callable[[], T]) -> T:
    """``compute()`` once per transaction of ``session`` (a group commit runs many starts in
    one): what a transaction read or locked stays valid until it ends, and a new transaction
    computes again."""
    memo = session.info.get(_MEMO)
    transaction = session.get_transaction()
    if transaction is not None and memo is not None and memo[0] is transaction and key in memo[1]:
        return memo[1][key]
    value = compute()
    transaction = session.get_transaction()  # computing may have begun it
    if transaction is not None:  # nothing is remembered outside a transaction
        if memo is None or memo[0] is not transaction:
            memo = session.info[_MEMO] = (transaction, {})
        memo[1][key] = value
    return value
