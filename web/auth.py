"""Who may do what: role declarations on every route, sign-in, CSRF and login throttling.

Every endpoint carries ``@allow(...)`` or ``@public``; the app-wide ``authorize``
dependency refuses any route that declares nothing (fail closed).
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
import time
from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread
from fastapi import Request
from limits import parse
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from starlette.requests import HTTPConnection

from engine.models import Role, User
from web.errors import CsrfError, Forbidden, LoginRequired

F = TypeVar("F", bound=Callable[..., Any])
ROLES_ATTR = "__allowed_roles__"
PUBLIC = frozenset({"public"})
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


def allow(*roles: Role) -> Callable[[F], F]:
    """Declare the roles a route admits."""

    def mark(endpoint: F) -> F:
        setattr(endpoint, ROLES_ATTR, frozenset(roles))
        return endpoint

    return mark


def public(endpoint: F) -> F:
    """Declare a route open to anyone, signed in or not."""
    setattr(endpoint, ROLES_ATTR, PUBLIC)
    return endpoint


def declared_roles(endpoint: Callable[..., Any]) -> frozenset | None:
    return getattr(endpoint, ROLES_ATTR, None)


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def check_csrf(request: Request) -> None:
    expected = request.session.get("csrf")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        sent = (await request.form()).get(CSRF_FIELD)
    if not expected or not isinstance(sent, str) or not hmac.compare_digest(expected, sent):
        raise CsrfError()


def signed_in_user(request: Request, session: Session) -> User | None:
    user_id = request.session.get("uid")
    if user_id is None:
        return None
    user = session.get(User, user_id)
    if user is None or not user.active or request.session.get("role") != user.role:
        request.session.clear()
        return None
    return user


class SignedInUsers:
    """The accounts session cookies name, remembered per worker for ``TTL`` seconds.

    Every request and socket needs the signed-in account; reading it each time cost a
    thread hop and a transaction per request, the largest single cost under load. Misses
    that arrive together (a room pressing start) are read in one query. An account
    deactivated or given another role is refused within ``TTL`` seconds on every worker.
    Each request gets its own detached copy, so none can change another's.
    """

    TTL = 2.0
    LIMIT = 50_000

    def __init__(self) -> None:
        self._users: dict[int, tuple[float, dict]] = {}
        self._wanted: dict[int, list[asyncio.Future]] = {}
        self._loader: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def get(self, user_id: int) -> User | None:
        found = self._users.get(user_id)
        if found is None or time.monotonic() - found[0] > self.TTL:
            return None
        return User(**found[1])

    def put(self, user: User) -> None:
        if len(self._users) > self.LIMIT:
            self._users.clear()
        self._users[user.id] = (time.monotonic(), user.model_dump())

    async def fetch(self, db: Engine, user_id: int) -> User | None:
        user = self.get(user_id)
        if user is not None:
            return user
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._loader is None or self._loader.done():
            if self._loop is not loop:  # a test client runs a loop per request
                self._loop, self._wanted = loop, {}
            self._loader = loop.create_task(self._load_wanted(db, loop))
        wanted = loop.create_future()
        self._wanted.setdefault(user_id, []).append(wanted)
        return await wanted

    async def _load_wanted(self, db: Engine, loop: asyncio.AbstractEventLoop) -> None:
        await asyncio.sleep(0)  # let the misses of this moment join
        while self._wanted and self._loop is loop:  # a loader of an earlier loop leaves the rest alone
            wanted, self._wanted = self._wanted, {}
            try:
                users = await anyio.to_thread.run_sync(_read_users, db, list(wanted))
            except Exception as exc:  # noqa: BLE001 — each waiting request learns why
                for futures in wanted.values():
                    for future in futures:
                        if not future.done():
                            future.set_exception(exc)
                continue
            for user_id, futures in wanted.items():
                if user_id in users:
                    self.put(users[user_id])
                for future in futures:
                    if not future.done():
                        future.set_result(self.get(user_id) if user_id in users else None)


def _read_users(db: Engine, user_ids: list[int]) -> dict[int, User]:
    from web.db import read_only  # a read: on SQLite it needs no write lock at all

    with Session(read_only(db), expire_on_commit=False) as session:
        return {user.id: user for user in session.exec(select(User).where(col(User.id).in_(user_ids))).all()}


async def resolve_user(connection: HTTPConnection) -> User | None:
    """The signed-in account of a request or socket, or None (and the session cleared)."""
    user_id = connection.session.get("uid")
    if not isinstance(user_id, int):
        return None
    user = await connection.app.state.signed_in.fetch(connection.app.state.db, user_id)
    if user is None or not user.active or connection.session.get("role") != user.role:
        connection.session.clear()
        return None
    return user


async def authorize(request: Request) -> None:
    """App-wide dependency: enforce the route's declared roles and CSRF."""
    endpoint = request.scope.get("endpoint")
    roles = declared_roles(endpoint) if endpoint else None
    if roles is None:
        raise Forbidden()  # an undeclared route is closed to everyone
    if request.method in UNSAFE_METHODS:
        await check_csrf(request)
    user = request.state.user
    if roles is PUBLIC:
        return
    if user is None:
        raise LoginRequired()
    if user.role not in roles:
        raise Forbidden()


def sign_in(request: Request, user: User) -> None:
    request.session.clear()  # a fresh session on sign-in defeats session fixation
    request.session.update({"uid": user.id, "role": user.role.value, "csrf": secrets.token_urlsafe(32)})


def sign_out(request: Request) -> None:
    request.session.clear()


class LoginThrottle:
    """Failed sign-ins allowed per user name and per client address (moving window)."""

    def __init__(self, limit: str, redis_url: str | None = None):
        storage = storage_from_string(redis_url) if redis_url else MemoryStorage()
        self._limiter = MovingWindowRateLimiter(storage)
        self._limit = parse(limit)

    def _keys(self, username: str, client: str) -> tuple[str, str]:
        return (f"user:{username.strip().lower()}", f"addr:{client}")

    def allowed(self, username: str, client: str) -> bool:
        return all(self._limiter.test(self._limit, "login", key) for key in self._keys(username, client))

    def failed(self, username: str, client: str) -> None:
        for key in self._keys(username, client):
            self._limiter.hit(self._limit, "login", key)

    def reset(self) -> None:
        self._limiter.storage.reset()
