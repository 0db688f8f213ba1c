"""Certificate numbers (证书编号): 1 letter + 21 digits, or 2 letters + 20 digits. Pure.

Positions of the ordinary number (22 characters)::

    S 3701 37 000001 26 4 000123
    │ │    │  │      │  │ └ 17–22 serial within body, site, year and level (6 digits)
    │ │    │  │      │  └── 16    level digit: 1 = 一级/高级技师 … 5 = 五级/初级工
    │ │    │  │      └───── 14–15 year of issue (2 digits)
    │ │    │  └──────────── 8–13  evaluation site serial (6 digits)
    │ │    └─────────────── 6–7   province code (Shandong 37)
    │ └──────────────────── 2–5   body code (4 digits)
    └────────────────────── 1     body kind letter: Y employer, S social organization;
                                  technical schools: configurable (no published letter)

Positions here count the letter as 1 and the digits after it, as domain.md does.
特级技师 (principal technician) numbers carry a second letter (``T`` by default) in
place of the level digit: 2 letters + 20 digits. Which digit the national rule drops
was not found, so this is a documented choice, kept in ``NumberingScheme``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from engine.certification.errors import InvalidCertificateNumberError
from engine.errors import N_
from itembank.levels import Level

LEVEL_DIGITS: dict[Level, int] = {Level.level1: 1, Level.level2: 2, Level.level3: 3, Level.level4: 4,
                                  Level.level5: 5}
BODY_KIND_LETTERS = {"enterprise": "Y", "social_org": "S"}
_ORDINARY = re.compile(r"^([A-Z])(\d{4})(\d{2})(\d{6})(\d{2})([1-5])(\d{6})$")
_TWO_LETTER = re.compile(r"^([A-Z])([A-Z])(\d{4})(\d{2})(\d{6})(\d{2})(\d{6})$")


@dataclass(frozen=True)
class NumberingScheme:
    """Letters that are policy, not rule: the school letter and the principal-level letter."""

    kind_letters: dict[str, str] = field(default_factory=lambda: dict(BODY_KIND_LETTERS))
    second_letters: dict[Level, str] = field(default_factory=lambda: {Level.principal: "T"})

    def letter_for(self, kind: str, override: str | None = None) -> str:
        letter = (override or self.kind_letters.get(kind, "")).strip().upper()
        if not re.fullmatch(r"[A-Z]", letter):
            raise InvalidCertificateNumberError(
                N_("no certificate letter is configured for bodies of kind %(kind)s"), "kind_letter", kind=kind)
        return letter


@dataclass(frozen=True)
class CertificateNumber:
    letter: str
    body_code: str  # 4 digits
    province: str  # 2 digits
    site_serial: str  # 6 digits
    year: int  # full year; two digits are written
    level: Level
    serial: int
    second_letter: str | None = None  # only for levels without a digit (特级技师)

    @property
    def prefix(self) -> str:
        """Everything before the serial: serials count up within one prefix."""
        return str(self)[:-6]

    def __str__(self) -> str:
        middle = f"{self.body_code}{self.province}{self.site_serial}{self.year % 100:02d}"
        if self.second_letter:
            return f"{self.letter}{self.second_letter}{middle}{self.serial:06d}"
        return f"{self.letter}{middle}{LEVEL_DIGITS[self.level]}{self.serial:06d}"


def _digits(value: str, count: int, name: str) -> str:
    value = value.strip()
    if not (len(value) == count and value.isdigit()):
        raise InvalidCertificateNumberError(N_("%(name)s must be %(count)s digits, got '%(value)s'"), name,
                                            name=name, count=count, value=value)
    return value


def compose(scheme: NumberingScheme, *, kind: str, body_code: str, province: str, site_serial: str,
            year: int, level: Level, serial: int, kind_letter: str | None = None) -> CertificateNumber:
    """Build a number, checking every field; levels with neither a digit nor a letter are refused."""
    if not 1 <= serial <= 999_999:
        raise InvalidCertificateNumberError(N_("certificate serial %(serial)s is outside 1–999999"), "serial",
                                            serial=serial)
    second = scheme.second_letters.get(level)
    if level not in LEVEL_DIGITS and second is None:
        raise InvalidCertificateNumberError(N_("no certificate numbering rule for level %(level)s"), "level",
                                            level=level.value)
    return CertificateNumber(letter=scheme.letter_for(kind, kind_letter),
                             body_code=_digits(body_code, 4, "body_code"),
                             province=_digits(province, 2, "province_code"),
                             site_serial=_digits(site_serial, 6, "site_serial"), year=year, level=level,
                             serial=serial, second_letter=second)


def parse(raw: str, scheme: NumberingScheme | None = None, century: int = 2000) -> CertificateNumber:
    """Read a number back into its fields, or raise naming why it is not one."""
    number = raw.strip().upper()
    scheme = scheme or NumberingScheme()
    if match := _ORDINARY.fullmatch(number):
        letter, body, province, site, year, digit, serial = match.groups()
        level = next(lv for lv, d in LEVEL_DIGITS.items() if d == int(digit))
        return CertificateNumber(letter, body, province, site, century + int(year), level, int(serial))
    if match := _TWO_LETTER.fullmatch(number):
        letter, second, body, province, site, year, serial = match.groups()
        levels = [lv for lv, sl in scheme.second_letters.items() if sl == second]
        if levels:
            return CertificateNumber(letter, body, province, site, century + int(year), levels[0], int(serial),
                                     second_letter=second)
    raise InvalidCertificateNumberError(
        N_("'%(number)s' is not a certificate number (1 letter + 21 digits, or 2 letters + 20 digits)"),
        "number", number=raw.strip()[:40])
