"""What readers produce: items ready for the service's validation, and per-item outcomes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ParsedItem:
    identifier: str
    item_type: str
    stem: str
    options: list[dict[str, str]] = field(default_factory=list)
    key: list[str] = field(default_factory=list)
    scoring: dict[str, Any] | None = None
    title: str = ""
    explanation: str = ""
    difficulty: float | None = None
    # Where the item belongs, when the file says so (our own exports, the XLSX template).
    occupation_code: str | None = None
    level: str | None = None
    point_code: str | None = None
    row: int | None = None  # the spreadsheet row it came from
    # IRT parameters calibrated elsewhere (from QTI usage data): model, a, d, c.
    parameters: dict[str, Any] | None = None
    source: str = ""  # 出处
    tags: list[str] = field(default_factory=list)
    enemy_sets: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ImportLine:
    """One item's outcome: ``imported``, ``rejected`` (a problem with the item) or
    ``unsupported`` (an interaction type the bank does not hold)."""

    identifier: str
    outcome: str
    detail: str = ""

    def __str__(self) -> str:
        if self.outcome == "imported":
            return f"imported {self.identifier}" + (f" ({self.detail})" if self.detail else "")
        return f"{self.outcome} {self.identifier}: {self.detail}"


@dataclass
class ReadResult:
    items: list[ParsedItem] = field(default_factory=list)
    problems: list[ImportLine] = field(default_factory=list)
    images: dict[str, bytes] = field(default_factory=dict)  # SHA-256 → bytes, for the image store
