"""Request-scoped dependencies: the database session, the clock, the signed-in user."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from fastapi import Depends, Request
from sqlmodel import Session

from engine.models import User
from web.auth import signed_in_user


def get_db(request: Request) -> Iterator[Session]:
    """One session per request. Routes commit explicitly before they acknowledge anything;
    whatever was not committed is rolled back when the session closes."""
    with Session(request.app.state.db, expire_on_commit=False) as session:
        request.state.db = session
        yield session


def now(request: Request) -> datetime:
    return request.app.state.clock()


def current_user(request: Request) -> User:
    user = request.state.user
    assert user is not None, "authorize() admits only signed-in users to this route"
    return user


def load_user(request: Request, db: Session = Depends(get_db)) -> None:
    request.state.user = signed_in_user(request, db)
