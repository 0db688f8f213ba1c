"""Exceptions of the adaptive-testing core.

Tree::

    CATError                      base of everything raised by ``engine.cat``
    ├── CATOptionsError           an options dataclass received an invalid value
    ├── BlueprintError            a blueprint is malformed or cannot be met by the bank
    └── IllegalResponseError      a response does not answer the item the session served
"""

from __future__ import annotations


class CATError(Exception):
    """Base class of all errors raised by :mod:`engine.cat`."""


class CATOptionsError(CATError, ValueError):
    """An options dataclass was given an invalid value."""


class BlueprintError(CATError, ValueError):
    """A blueprint is malformed, or no test from the available items can meet it."""


class IllegalResponseError(CATError, ValueError):
    """A response answers an item other than the one the session served (or it has ended)."""
