"""Item bank errors.

ItemBankError
├── ItemValidationError   an item's content is invalid (carries field → message)
├── FrozenVersionError    attempt to change an administered item version
├── NotFoundError         an occupation, node or item that does not exist
├── IllegalTransitionError  a workflow command the item's status does not allow
├── SelfReviewError       an author tried to approve or reject their own item
└── InterchangeError      an import file that cannot be read at all (not a per-item problem)
"""

from __future__ import annotations


def N_(message: str) -> str:
    """Mark a message for translation (extracted by ``make i18n-extract``; the web layer translates)."""
    return message


class ItemBankError(Exception):
    """Base of item bank errors."""


class ItemValidationError(ItemBankError):
    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{field}: {msg}" for field, msg in errors.items()))


class FrozenVersionError(ItemBankError):
    pass


class NotFoundError(ItemBankError):
    pass


class _Templated(ItemBankError):
    """An error whose message is a translatable template with ``%(name)s`` parameters."""

    def __init__(self, template: str, **params: object):
        self.template, self.params = template, params
        super().__init__(template % params)


class IllegalTransitionError(_Templated):
    pass


class SelfReviewError(_Templated):
    pass


class InterchangeError(ItemBankError):
    pass
