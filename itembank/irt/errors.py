"""Exceptions of the psychometric core.

Tree::

    IRTError                      base of everything raised by ``itembank.irt``
    ├── DataError                 malformed responses (names the row and/or column)
    ├── ModelError                unknown model name or parameters inconsistent with a model
    ├── OptionsError              an options dataclass received an invalid value
    └── EstimationError           estimation cannot proceed (e.g. no free parameters)

    ConvergenceWarning            (a ``UserWarning``) EM stopped at the cycle cap
"""

from __future__ import annotations


class IRTError(Exception):
    """Base class of all errors raised by :mod:`itembank.irt`."""


class DataError(IRTError, ValueError):
    """Malformed response data; the message names the offending row and/or column."""

    def __init__(self, message: str, *, row: int | None = None, column: str | None = None):
        where = []
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        prefix = (", ".join(where) + ": ") if where else ""
        super().__init__(prefix + message)
        self.row = row
        self.column = column


class ModelError(IRTError, ValueError):
    """Unknown model, or item parameters that do not fit the declared model."""


class OptionsError(IRTError, ValueError):
    """An options dataclass was given an invalid value."""


class EstimationError(IRTError, RuntimeError):
    """Estimation cannot proceed with the given data and options."""


class ConvergenceWarning(UserWarning):
    """EM reached its cycle cap before the convergence criterion was met."""
