"""Locale choice and gettext catalogs (Babel), handed to templates per request."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from babel.support import NullTranslations, Translations
from starlette.requests import Request

from web.settings import SUPPORTED_LOCALES

TRANSLATIONS_DIR = Path(__file__).parent / "translations"
LOCALE_COOKIE = "skillcert_locale"
LOCALE_LABELS = {"zh_CN": "中文", "en": "English"}


@lru_cache
def translations(locale: str) -> NullTranslations:
    return Translations.load(str(TRANSLATIONS_DIR), [locale], domain="messages")


def locale_of(request: Request, default: str) -> str:
    chosen = request.cookies.get(LOCALE_COOKIE)
    return chosen if chosen in SUPPORTED_LOCALES else default


def gettext_callables(locale: str) -> dict:
    """New-style callables: ``_("%(n)s left", n=3)`` translates, then formats."""
    catalog = translations(locale)

    def gettext(message: str, **variables: object) -> str:
        text = catalog.gettext(message)
        return text % variables if variables else text

    def ngettext(singular: str, plural: str, num: int, **variables: object) -> str:
        return catalog.ngettext(singular, plural, num) % {"num": num, **variables}

    return {"gettext": gettext, "ngettext": ngettext, "_": gettext}
