"""Fetch a row by primary key or raise ``NotFoundError`` with the caller's message."""

from __future__ import annotations

from typing import TypeVar

from sqlmodel import Session, SQLModel

from engine.errors import NotFoundError

Row = TypeVar("Row", bound=SQLModel)


def get_or_not_found(session: Session, model: type[Row], row_id: int, template: str) -> Row:
    """``template`` is an ``N_()``-marked message with an ``%(id)s`` placeholder."""
    row = session.get(model, row_id)
    if row is None:
        raise NotFoundError(template, id=row_id)
    return row
