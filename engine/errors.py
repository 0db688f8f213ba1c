"""Exam delivery errors; ``web/errors.py`` maps each to an HTTP status.

DeliveryError
├── NotFoundError          the thing asked for does not exist (or is not yours) → 404
├── InvalidInputError      a value is malformed or out of range → 422
│   └── InvalidResidentIdError
├── IllegalTransitionError a command not allowed in the session's current state → 409
├── DeadlinePassedError    an answer after the server deadline → 409
├── DuplicateError         a unique thing that already exists → 409
└── AuditChainError        the audit chain does not verify
"""

from __future__ import annotations


def N_(template: str) -> str:
    """Mark a message template for translation (extracted by ``make i18n-extract``)."""
    return template


class DeliveryError(Exception):
    """Base of exam delivery errors.

    ``template`` is an English message with ``%(name)s`` placeholders filled from
    ``params``; the web layer shows it translated. ``field`` names the form field at fault.
    """

    def __init__(self, template: str, field: str | None = None, **params: object):
        self.template, self.field, self.params = template, field, params
        super().__init__(template % params if params else template)


class NotFoundError(DeliveryError):
    pass


class InvalidInputError(DeliveryError):
    pass


class InvalidResidentIdError(InvalidInputError):
    pass


class IllegalTransitionError(DeliveryError):
    pass


class DeadlinePassedError(DeliveryError):
    pass


class DuplicateError(DeliveryError):
    pass


class AuditChainError(DeliveryError):
    pass
