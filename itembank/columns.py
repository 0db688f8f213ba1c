"""Column types shared by the domain tables."""

from __future__ import annotations

import sqlalchemy as sa


def enum_type(enum: type) -> sa.Enum:
    """Enums stored as plain strings: adding a member later needs no ALTER TYPE."""
    return sa.Enum(enum, native_enum=False, length=24, validate_strings=True,
                   values_callable=lambda members: [m.value for m in members])
