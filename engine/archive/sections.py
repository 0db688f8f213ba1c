"""The registry of archive sections: one small provider function per kind of evidence.

A provider takes the database session and the sitting's ``SittingContext`` and returns
the files of its section. A section that another package owns (the CAT trail, practical
logs, check-in) is added with one ``register(...)`` or ``table_section(...)`` line in
``engine/archive/providers.py``; export, verification and the completeness check pick
it up without further changes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, SQLModel, col, select

from engine.certification.models import Certificate
from engine.models import (
    Candidate,
    CandidateSession,
    ExamDefinition,
    ExamSession,
    Institution,
    Result,
    Room,
    TestCenter,
)


@dataclass(frozen=True)
class ArchiveFile:
    """One file of the archive; ``records`` counts what it holds (0 means the evidence is absent)."""

    path: str
    data: bytes
    description: str
    records: int = 1


@dataclass
class SittingContext:
    """The sitting and the rows around it, loaded once for every provider."""

    sitting: CandidateSession
    candidate: Candidate
    exam_session: ExamSession
    definition: ExamDefinition
    room: Room | None
    center: TestCenter | None
    institution: Institution | None
    result: Result | None
    certificate: Certificate | None
    extra: dict[str, Any] = field(default_factory=dict)  # for providers that share a look-up

    @property
    def sitting_id(self) -> int:
        assert self.sitting.id is not None
        return self.sitting.id


Provider = Callable[[Session, SittingContext], list[ArchiveFile]]
Applies = Callable[[SittingContext], bool]


def always(_ctx: SittingContext) -> bool:
    return True


@dataclass(frozen=True)
class Section:
    name: str
    title: str  # what the section contains, in the manifest and on the completeness page
    provider: Provider
    applies: Applies = always  # whether this sitting is expected to have the section at all
    required: bool = True  # a required, applicable section without records makes the archive incomplete


SECTIONS: dict[str, Section] = {}
ContextHook = Callable[[Session, SittingContext], None]
CONTEXT_HOOKS: list[ContextHook] = []  # fill ``ctx.extra`` with what ``applies`` functions need to know


def context_hook(hook: ContextHook) -> ContextHook:
    CONTEXT_HOOKS.append(hook)
    return hook


def register(name: str, title: str, applies: Applies = always, required: bool = True
             ) -> Callable[[Provider], Provider]:
    """Decorator adding a provider to the registry (names are unique; re-registering replaces)."""

    def add(provider: Provider) -> Provider:
        SECTIONS[name] = Section(name, title, provider, applies, required)
        return provider

    return add


def sections() -> list[Section]:
    return list(SECTIONS.values())


# ---- helpers for providers -----------------------------------------------------------------


def dump_json(value: Any) -> bytes:
    """Stable JSON: sorted keys, UTF-8, two-space indent, one final newline."""
    return (json.dumps(value, sort_keys=True, ensure_ascii=False, indent=2, default=str) + "\n").encode()


def row_dict(row: SQLModel, exclude: Sequence[str] = ()) -> dict[str, Any]:
    return row.model_dump(mode="json", exclude=set(exclude))


def json_file(path: str, value: Any, description: str, records: int | None = None) -> ArchiveFile:
    if records is None:
        records = len(value) if isinstance(value, list) else int(value is not None)
    return ArchiveFile(path, dump_json(value), description, records)


def table_section(name: str, title: str, model: type[SQLModel], path: str, key: str = "candidate_session_id",
                  applies: Applies = always, required: bool = True, order_by: str = "id") -> None:
    """Register a section holding every row of ``model`` whose ``key`` column is the sitting id."""

    def provider(session: Session, ctx: SittingContext) -> list[ArchiveFile]:
        rows = session.exec(select(model).where(getattr(model, key) == ctx.sitting_id)
                            .order_by(col(getattr(model, order_by)))).all()
        return [json_file(path, [row_dict(r) for r in rows], title)]

    register(name, title, applies, required)(provider)
