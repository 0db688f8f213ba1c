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


class DeliveryError(Exception):
    """Base of exam delivery errors."""


class NotFoundError(DeliveryError):
    pass


class InvalidInputError(DeliveryError):
    def __init__(self, message: str, field: str | None = None):
        self.field = field
        super().__init__(message)


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
