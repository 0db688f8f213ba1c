"""Public certificate verification (证书查询): by number, or by name together with the ID number.

The number look-up is a GET (the certificate's QR code opens ``/verify/{number}``); the
name + ID look-up is a POST, so the ID number stays out of URLs, logs and browser
history, and the page never echoes it back.

Shows only what confirms authenticity: masked name and ID, occupation, level, date of
issue and status. Every look-up counts against a per-address budget (moving window,
``SKILLCERT_VERIFY_RATE_LIMIT``, default 10/minute; Redis when configured, so the budget
holds across workers), which makes enumerating numbers or ID numbers impractical.
"""

from __future__ import annotations

import os
import time

from fastapi import APIRouter, Depends, Form, Request
from limits import parse
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlmodel import Session

from engine.certification import service
from web.auth import public
from web.deps import get_db
from web.templating import render

router = APIRouter(prefix="/verify")
DEFAULT_LIMIT = "10/minute"
PRIVATE_HEADERS = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}


class VerifyThrottle:
    """Look-ups allowed per client address (moving window)."""

    def __init__(self, limit: str, redis_url: str | None = None):
        storage = storage_from_string(redis_url) if redis_url else MemoryStorage()
        self._limiter = MovingWindowRateLimiter(storage)
        self._limit = parse(limit)

    def take(self, client: str) -> bool:
        """Count one look-up; False when the address has used its budget."""
        return self._limiter.hit(self._limit, "verify", client)

    def retry_after(self, client: str) -> int:
        reset_at, _remaining = self._limiter.get_window_stats(self._limit, "verify", client)
        return max(1, int(reset_at - time.time()) + 1)


def _throttle(request: Request) -> VerifyThrottle:
    state = request.app.state
    if getattr(state, "verify_throttle", None) is None:
        limit = os.environ.get("SKILLCERT_VERIFY_RATE_LIMIT", DEFAULT_LIMIT)
        state.verify_throttle = VerifyThrottle(limit, state.settings.redis_url)
    return state.verify_throttle


def _page(request: Request, context: dict, status_code: int = 200, headers: dict | None = None):
    return render(request, "verify/verify.html", context, block="verify_result", status_code=status_code,
                  headers={**PRIVATE_HEADERS, **(headers or {})})


def _lookup(request: Request, db: Session, number: str, name: str, resident_id: str):
    values = {"number": number}  # the name and ID number are never echoed back
    client = request.client.host if request.client else "unknown"
    throttle = _throttle(request)
    if not throttle.take(client):
        message = request.state.gettext("Too many look-ups from your address. Wait a minute and try again.")
        return _page(request, {"values": values, "error": message}, 429,
                     {"Retry-After": str(throttle.retry_after(client))})
    if number.strip():
        found = service.find_by_number(db, number)
        certificates = [found] if found else []
    else:
        certificates = service.find_by_holder(db, name, resident_id)
    status_code = 200 if certificates else 404
    return _page(request, {"values": values, "searched": True,
                           "results": [service.public_view(c) for c in certificates]}, status_code)


@router.get("")
@public
def verify(request: Request, number: str = "", db: Session = Depends(get_db)):
    """The look-up form; with a number, the result."""
    if not number.strip():
        return _page(request, {"values": {}})
    return _lookup(request, db, number[:40], "", "")


@router.post("")
@public
def verify_holder(request: Request, name: str = Form(""), resident_id: str = Form(""),
                  db: Session = Depends(get_db)):
    """Look up by name together with the resident ID number (both must match)."""
    return _lookup(request, db, "", name[:120], resident_id[:18])


@router.get("/{number}")
@public
def verify_number(request: Request, number: str, db: Session = Depends(get_db)):
    """The page the certificate's QR code opens."""
    return _lookup(request, db, number[:40], "", "")
