"""Certification errors, placed in the exam-delivery error tree so the web layer maps them.

DeliveryError (engine.errors)
├── InvalidInputError
│   ├── InvalidCertificateNumberError   a number that breaks the numbering rule → 422
│   └── RegistrationFileError           an import file with problems (every row listed) → 422
└── IllegalTransitionError
    ├── NotPassedError                  a certificate for a result that did not pass → 409
    └── NumberingNotConfiguredError     the body has no numbering profile yet → 409
"""

from __future__ import annotations

from engine.errors import IllegalTransitionError, InvalidInputError


class InvalidCertificateNumberError(InvalidInputError):
    pass


class RegistrationFileError(InvalidInputError):
    """Carries ``problems``: every (row, column, message) found, not only the first."""

    def __init__(self, template: str, problems: list, field: str | None = None, **params: object):
        self.problems = problems
        super().__init__(template, field, **params)


class NotPassedError(IllegalTransitionError):
    """``shortfalls`` holds every reason (rules.Shortfall), each a translatable template."""

    shortfalls: tuple = ()


class NumberingNotConfiguredError(IllegalTransitionError):
    pass
