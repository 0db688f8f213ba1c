"""Sign-in, sign-out, language switch and the role-based home page."""

from __future__ import annotations

from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import PlainTextResponse, RedirectResponse
from sqlmodel import Session, text

from engine.accounts import authenticate
from engine.models import Role
from web.auth import public, sign_in, sign_out
from web.deps import get_db
from web.i18n import LOCALE_COOKIE
from web.settings import SUPPORTED_LOCALES
from web.templating import render

router = APIRouter()

HOME_OF = {Role.candidate: "/candidate", Role.examiner: "/examiner/items",
           Role.supervisor: "/supervisor", Role.admin: "/admin"}


def _safe_next(target: str | None) -> str | None:
    """Only same-site paths: an open redirect would let a phishing link borrow our login."""
    if not target or not target.startswith("/") or target.startswith("//") or urlparse(target).netloc:
        return None
    return target


@router.get("/")
@public
def home(request: Request):
    """Send the signed-in user to their role's start page."""
    user = request.state.user
    return RedirectResponse(HOME_OF[user.role] if user else "/login", status_code=303)


@router.get("/login")
@public
def login_form(request: Request, next: str | None = None):
    """The sign-in form."""
    return render(request, "auth/login.html", {"next": _safe_next(next) or ""})


@router.post("/login")
@public
def login(request: Request, username: str = Form(max_length=80), password: str = Form(max_length=200),
          next: str = Form(default=""), db: Session = Depends(get_db)):
    """Check the password; throttle repeated failures."""
    throttle = request.app.state.login_throttle
    client = request.client.host if request.client else "unknown"
    _ = request.state.gettext
    if not throttle.allowed(username, client):
        return render(request, "auth/login.html", {"next": next, "username": username, "error": _(
            "Too many failed sign-in attempts. Wait a minute and try again.")}, status_code=429)
    user = authenticate(db, username, password)
    if user is None:
        throttle.failed(username, client)
        return render(request, "auth/login.html", {"next": next, "username": username,
                                                   "error": _("Wrong user name or password.")}, status_code=401)
    db.commit()  # a password rehash, if any
    sign_in(request, user)
    return RedirectResponse(_safe_next(next) or HOME_OF[user.role], status_code=303)


@router.post("/logout")
@public
def logout(request: Request):
    """Sign out."""
    sign_out(request)
    return RedirectResponse("/login", status_code=303)


@router.post("/locale")
@public
def switch_locale(request: Request, locale: str = Form(), next: str = Form(default="/")):
    """Switch the interface language (kept in a cookie)."""
    if locale not in SUPPORTED_LOCALES:
        return render(request, "error.html", {"status_code": 422, "message": f"unsupported locale {locale!r}"},
                      status_code=422)
    response = RedirectResponse(_safe_next(next) or "/", status_code=303)
    response.set_cookie(LOCALE_COOKIE, locale, max_age=365 * 24 * 3600, httponly=True, samesite="lax",
                        secure=request.app.state.settings.secure_cookies)
    return response


@router.get("/healthz")
@public
def health(db: Session = Depends(get_db)):
    """Liveness and database reachability, for load balancers."""
    db.exec(text("SELECT 1"))
    return PlainTextResponse("ok")
