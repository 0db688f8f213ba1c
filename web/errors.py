"""Map domain errors to HTTP answers: an expected conflict is never a 500."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from engine import errors as engine_errors
from itembank import errors as itembank_errors

STATUS_OF: list[tuple[type[Exception], int]] = [
    (engine_errors.NotFoundError, 404),
    (itembank_errors.NotFoundError, 404),
    (engine_errors.InvalidInputError, 422),
    (itembank_errors.ItemValidationError, 422),
    (engine_errors.IllegalTransitionError, 409),
    (engine_errors.DeadlinePassedError, 409),
    (engine_errors.DuplicateError, 409),
    (itembank_errors.FrozenVersionError, 409),
]


class Forbidden(Exception):
    """The signed-in user's role may not use this route."""


class LoginRequired(Exception):
    """No one is signed in."""


class CsrfError(Exception):
    """A state-changing request without the form's CSRF token."""


def status_for(exc: Exception) -> int:
    for kind, status in STATUS_OF:
        if isinstance(exc, kind):
            return status
    return 500


def message_of(request: Request, exc: Exception) -> str:
    """The error's message in the user's language (templates carry ``%(name)s`` placeholders)."""
    template = getattr(exc, "template", None)
    if template is None:
        return str(exc)
    return request.state.gettext(template, **getattr(exc, "params", {}))


def install(app: FastAPI) -> None:
    from web.templating import render_error  # late import: templating needs the app's settings

    async def domain_error(request: Request, exc: Exception):
        return render_error(request, status_for(exc), message_of(request, exc))

    for kind, _status in STATUS_OF:
        app.add_exception_handler(kind, domain_error)

    async def forbidden(request: Request, exc: Exception):
        return render_error(request, 403, request.state.gettext("You are not allowed to open this page."))

    async def csrf(request: Request, exc: Exception):
        return render_error(request, 403, request.state.gettext(
            "The form has expired or did not come from this site (CSRF check failed). Reload the page and try again."))

    async def login_required(request: Request, exc: Exception):
        from fastapi.responses import RedirectResponse

        if request.headers.get("HX-Request"):
            return render_error(request, 401, request.state.gettext("Please sign in again."),
                                headers={"HX-Redirect": "/login"})
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    async def malformed(request: Request, exc: RequestValidationError):
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or 'request'}: {e['msg']}"
                             for e in exc.errors())
        return render_error(request, 422, request.state.gettext("Malformed request") + f" — {problems}")

    async def http_error(request: Request, exc: StarletteHTTPException):
        return render_error(request, exc.status_code, str(exc.detail))

    app.add_exception_handler(Forbidden, forbidden)
    app.add_exception_handler(CsrfError, csrf)
    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(RequestValidationError, malformed)
    app.add_exception_handler(StarletteHTTPException, http_error)
