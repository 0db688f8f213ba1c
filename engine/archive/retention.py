"""How long each kind of archived record is kept (documented in docs/archive.md).

Defaults follow common practice for electronic exam records (at least five years);
certificate data and the audit chain are kept permanently (``None``), because a
certificate can be verified, and revoked, for as long as it exists. A deployment
changes them with ``SKILLCERT_ARCHIVE_RETENTION`` (e.g. ``proctoring=3,responses=10``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from engine.errors import N_, InvalidInputError

DEFAULT_YEARS = 5
RETENTION_YEARS: dict[str, int | None] = {
    "identity": 5,
    "sitting": 5,
    "checkin": 5,
    "items": 5,
    "responses": 5,
    "cat_trail": 5,
    "proctoring": 5,
    "practical": 5,
    "rater_forms": 5,
    "results": 5,
    "certificate": None,
    "audit": None,
}
ENV_VAR = "SKILLCERT_ARCHIVE_RETENTION"


def parse_overrides(text: str) -> dict[str, int | None]:
    """``kind=years`` pairs separated by commas; ``permanent`` keeps forever. Bad input raises."""
    overrides: dict[str, int | None] = {}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        kind, _, value = pair.partition("=")
        kind, value = kind.strip(), value.strip()
        if not kind or not value:
            raise InvalidInputError(N_("retention setting '%(pair)s' is not kind=years"), "retention", pair=pair)
        if value == "permanent":
            overrides[kind] = None
        elif value.isdigit() and 1 <= int(value) <= 100:
            overrides[kind] = int(value)
        else:
            raise InvalidInputError(N_("retention for %(kind)s must be 1 to 100 years or 'permanent'"),
                                    "retention", kind=kind)
    return overrides


def policy(overrides: Mapping[str, int | None] | None = None) -> dict[str, int | None]:
    return {**RETENTION_YEARS, **(overrides or {})}


def years_for(kind: str, rules: Mapping[str, int | None]) -> int | None:
    return rules.get(kind, DEFAULT_YEARS)


def keep_until(kind: str, sat_on: date, rules: Mapping[str, int | None]) -> date | None:
    """The last day the record must be kept; None means permanently."""
    years = years_for(kind, rules)
    if years is None:
        return None
    try:
        return sat_on.replace(year=sat_on.year + years)
    except ValueError:  # 29 February into a non-leap year
        return sat_on.replace(year=sat_on.year + years, day=28)
