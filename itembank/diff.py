"""What changed between two versions of an item, field by field (difflib, character level:
Chinese has no spaces to split words on, and a changed character is what a reviewer looks for)."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass

from itembank.models import ItemVersion


@dataclass(frozen=True)
class Segment:
    kind: str  # "same", "removed" or "added"
    text: str


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: str
    new: str
    segments: tuple[Segment, ...]


def _fields(version: ItemVersion) -> dict[str, str]:
    return {
        "stem": version.stem,
        "options": "\n".join(f"{o['id']}. {o['text']}" for o in version.options),
        "key": ", ".join(version.key),
        "scoring": json.dumps(version.scoring, ensure_ascii=False, sort_keys=True) if version.scoring else "",
        "difficulty": "" if version.difficulty is None else f"{version.difficulty:g}",
        "explanation": version.explanation,
        "source": version.source,
    }


def segments(old: str, new: str) -> tuple[Segment, ...]:
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    out: list[Segment] = []
    for tag, a1, a2, b1, b2 in matcher.get_opcodes():
        if tag == "equal":
            out.append(Segment("same", old[a1:a2]))
            continue
        if a2 > a1:
            out.append(Segment("removed", old[a1:a2]))
        if b2 > b1:
            out.append(Segment("added", new[b1:b2]))
    return tuple(out)


def version_diff(old: ItemVersion, new: ItemVersion) -> list[FieldChange]:
    """The fields whose text differs, in editor order, each with its inline segments."""
    before, after = _fields(old), _fields(new)
    return [FieldChange(name, before[name], after[name], segments(before[name], after[name]))
            for name in before if before[name] != after[name]]
