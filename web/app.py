"""The FastAPI application: middleware, routers, static files, background sweeper."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path

import anyio.to_thread
from fastapi import Depends, FastAPI, Request
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.middleware.sessions import SessionMiddleware

from engine import delivery
from engine.practical import service as practical
from itembank.timeutil import utcnow
from web import errors, ws, ws_practical
from web.auth import LoginThrottle, SignedInUsers, authorize, resolve_user
from web.bus import make_bus
from web.db import make_engine
from web.deps import get_db, load_user
from web.group_commit import worker_writer, write
from web.i18n import gettext_callables, locale_of
from web.routes import (
    admin,
    admin_scheduling,
    appeals,
    auth,
    candidate,
    candidate_adaptive,
    candidate_answers,
    candidate_practical,
    certificates,
    complaints,
    examiner,
    examiner_exams,
    examiner_scenarios,
    quality,
    rating,
    supervisor,
    survey,
    verify,
)
from web.settings import Settings, get_settings

log = logging.getLogger("skillcert")
STATIC_DIR = Path(__file__).parent / "static"
SESSION_COOKIE = "skillcert_session"


def create_app(settings: Settings | None = None, db: Engine | None = None,
               clock: Callable[[], datetime] = utcnow) -> FastAPI:
    settings = settings or get_settings()
    secret = settings.resolved_secret_key()  # refuses to start without a safe key
    app = FastAPI(title="skillcert", lifespan=_lifespan, docs_url=None, redoc_url=None, openapi_url=None,
                  dependencies=[Depends(load_user), Depends(authorize)])
    app.state.settings = settings
    app.state.db = db or make_engine(settings.resolved_database_url)
    app.state.clock = clock
    app.state.login_throttle = LoginThrottle(settings.login_rate_limit, settings.redis_url)
    app.state.bus = make_bus(settings.redis_url)
    app.state.writer = worker_writer(app.state.db)
    app.state.signed_in = SignedInUsers()

    app.add_middleware(RequestContext, default_locale=settings.default_locale)
    app.add_middleware(SessionMiddleware, secret_key=secret, session_cookie=SESSION_COOKIE,
                       same_site="lax", https_only=settings.secure_cookies, max_age=12 * 3600)
    app.dependency_overrides[get_db] = _request_session
    app.dependency_overrides[load_user] = _load_user
    errors.install(app)
    for module in (auth, candidate, examiner, supervisor, admin, certificates, verify, admin_scheduling, appeals,
                   survey, candidate_practical, examiner_scenarios, rating, candidate_adaptive, examiner_exams,
                   quality, complaints):
        app.include_router(module.router)
    # Sockets authorize themselves (web/ws.py): the app-wide dependencies read a Request.
    # So does the answer route: the batch that stores it checks the account (candidate_answers.py).
    # It comes first: routes are matched in order, and it is the most frequent request.
    app.router.routes[:0] = candidate_answers.router.routes
    app.router.routes.extend(ws.router.routes)
    app.router.routes.extend(ws_practical.router.routes)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


SECURITY_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin"),
                    (b"x-frame-options", b"DENY")]


class RequestContext:
    """Per request: no user yet, the locale and its translations; security headers on every
    response. Plain ASGI: a ``BaseHTTPMiddleware`` costs a task group and a stream per request."""

    def __init__(self, app, default_locale: str) -> None:
        self.app, self.default_locale = app, default_locale

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        request.state.user = None
        request.state.locale = locale_of(request, self.default_locale)
        request.state.i18n = gettext_callables(request.state.locale)
        request.state.gettext = request.state.i18n["gettext"]

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _value in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *[(name, value) for name, value in SECURITY_HEADERS if name not in present]]
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _request_session(request: Request) -> AsyncIterator[Session]:
    """``web.deps.get_db``, closed on the event loop instead of in a worker thread.

    A route that reads after its commit holds SQLite's write lock until the session
    closes; closing here releases it without waiting for a free worker thread, which under
    a start storm are all busy waiting for that very lock (see ``_load_user``).
    """
    with Session(request.app.state.db, expire_on_commit=False) as session:
        request.state.db = session
        yield session


async def _load_user(request: Request) -> None:
    """``web.deps.load_user`` without the request's session (``web.auth.resolve_user``).

    With SQLite every transaction takes the write lock at its first statement (BEGIN
    IMMEDIATE). Looking the user up in the request's session would take the lock in the
    dependency's worker thread and keep it until the route runs in another one; with every
    worker busy waiting for that lock, the route never gets a thread (seen as a total stall
    under a start storm of a few hundred candidates).
    """
    request.state.user = await resolve_user(request)


REQUEST_THREADS = 12  # sync routes at once: more threads only fight over the GIL


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI):
    anyio.to_thread.current_default_thread_limiter().total_tokens = REQUEST_THREADS
    await app.state.bus.start()
    sweeper = asyncio.create_task(_sweep_overdue_sittings(app))
    try:
        yield
    finally:
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper
        await app.state.writer.close()
        await app.state.bus.close()


async def _sweep_overdue_sittings(app: FastAPI) -> None:
    """Submit sittings at their deadline even when no browser is left to ask."""
    interval = app.state.settings.expiry_sweep_seconds
    while True:
        try:  # in the worker's group commit, beside the answers it may refuse
            await write(app, lambda session: _sweep(session, app.state.clock()))
        except Exception:  # a failed sweep must not end the loop; the next one retries
            log.exception("overdue-sitting sweep failed")
        await asyncio.sleep(interval)


def _sweep(session: Session, now: datetime) -> int:
    """Theory sittings and practical attempts past their deadline, settled in ``session``."""
    return delivery.expire_overdue(session, now) + practical.settle_overdue(session, now)


def _sweep_once(app: FastAPI) -> int:
    """One sweep in a transaction of its own (tests call it directly)."""
    with Session(app.state.db, expire_on_commit=False) as session:
        count = _sweep(session, app.state.clock())
        session.commit()
        return count
