"""Resident identity numbers (GB 11643-1999): 17 digits plus a check character."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from engine.errors import N_, InvalidResidentIdError

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"


@dataclass(frozen=True)
class ResidentId:
    number: str  # normalized: upper-case check character
    birth_date: date
    sex: str  # "M" for an odd sequence number, "F" for even


def check_character(first17: str) -> str:
    """The check character for 17 digits: "10X98765432"[Σ digit·weight mod 11]."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def parse_resident_id(raw: str, today: date | None = None) -> ResidentId:
    """Validate an 18-character resident ID; raise InvalidResidentIdError naming the fault."""
    number = raw.strip().upper()
    if len(number) != 18:
        raise InvalidResidentIdError(N_("resident ID must have 18 characters, got %(n)s"), "resident_id", n=len(number))
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise InvalidResidentIdError(N_("resident ID must be 17 digits followed by a digit or X"), "resident_id")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidResidentIdError(N_("resident ID birth date %(date)s is not a real date"), "resident_id",
                                     date=number[6:14]) from None
    if born > (today or date.today()):
        raise InvalidResidentIdError(N_("resident ID birth date %(date)s is in the future"), "resident_id",
                                     date=born.isoformat())
    expected = check_character(number[:17])
    if number[17] != expected:
        raise InvalidResidentIdError(N_("resident ID check character is %(found)s, expected %(expected)s"),
                                     "resident_id", found=number[17], expected=expected)
    return ResidentId(number=number, birth_date=born, sex="M" if int(number[16]) % 2 else "F")
