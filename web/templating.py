"""Jinja2 rendering: whole pages or, for htmx requests, the named block only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2_fragments.fastapi import Jinja2Blocks

from itembank.levels import LEVEL_NAMES_EN, LEVEL_NAMES_ZH
from itembank.sanitize import clean_html
from web.auth import CSRF_HEADER, csrf_token
from web.i18n import LOCALE_LABELS

templates = Jinja2Blocks(directory=str(Path(__file__).parent / "templates"))
templates.env.add_extension("jinja2.ext.i18n")
templates.env.policies["ext.i18n.trimmed"] = True
templates.env.newstyle_gettext = True  # type: ignore[attr-defined]
# Templates ship with the code: checking every file's mtime on each render cost more than
# the roster rows themselves under load. A deployment restarts to change them.
templates.env.auto_reload = False
# Item text is stored sanitized; ``rich`` sanitizes again at render time before ``|safe``.
templates.env.globals["rich"] = clean_html


def _level_name(request: Request, level: str) -> str:
    names = LEVEL_NAMES_ZH if request.state.locale == "zh_CN" else LEVEL_NAMES_EN
    return names.get(level, level)


def base_context(request: Request) -> dict[str, Any]:
    return {
        "request": request,
        "user": request.state.user,
        "locale": request.state.locale,
        "locale_labels": LOCALE_LABELS,
        "csrf_token": csrf_token(request),
        "csrf_header": CSRF_HEADER,
        "level_name": lambda level: _level_name(request, level),
        **request.state.i18n,
    }


def render(request: Request, template: str, context: dict[str, Any] | None = None, *,
           block: str | None = None, status_code: int = 200, headers: dict[str, str] | None = None
           ) -> HTMLResponse:
    """Render ``template``; with ``block`` and an htmx request, only that block."""
    full = {**base_context(request), **(context or {})}
    if block and request.headers.get("HX-Request") and not request.headers.get("HX-Boosted"):
        return templates.TemplateResponse(request, template, full, block_name=block,
                                          status_code=status_code, headers=headers)
    return templates.TemplateResponse(request, template, full, status_code=status_code, headers=headers)


def render_error(request: Request, status_code: int, message: str,
                 headers: dict[str, str] | None = None) -> HTMLResponse:
    return render(request, "error.html", {"status_code": status_code, "message": message},
                  block="error", status_code=status_code, headers=headers)
