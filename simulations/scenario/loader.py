"""Read a scenario YAML file into plain data plus a map from field paths to line numbers.

PyYAML's composer gives every node a ``start_mark``; we build Python values ourselves
from the node tree so that each value's line is remembered under its path, e.g.
``("actions", "open_QF1", "effects", "QF1") -> 42``. Anchors, aliases, custom tags and
duplicate keys are refused: scenario files are data written by examiners, and aliases
would allow "billion laughs" expansion.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from simulations.errors import ScenarioError

FieldPath = tuple[str | int, ...]
MAX_FILE_BYTES = 512 * 1024


def format_path(path: FieldPath) -> str:
    """``("actions", "open", "effects", 0)`` -> ``actions.open.effects[0]``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


@dataclass
class SourceMap:
    """Where each field of a scenario document was written."""

    file: str
    lines: dict[FieldPath, int] = field(default_factory=dict)

    def line_of(self, path: FieldPath) -> int | None:
        """The line of ``path``, or of its nearest recorded ancestor."""
        for cut in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:cut]))
            if line is not None:
                return line
        return None

    def error(self, path: FieldPath, message: str) -> ScenarioError:
        return ScenarioError(
            message, file=self.file, line=self.line_of(path), field=format_path(path)
        )


@dataclass
class LoadedDocument:
    data: Any
    source: SourceMap
    sha256: str = ""  # of the file's text: identifies the exact scenario a session ran


_SCALARS = yaml.SafeLoader("")
_SCALAR_TAGS = frozenset(
    "tag:yaml.org,2002:" + name for name in ("str", "int", "float", "bool", "null")
)


def load_text(text: str, file: str = "<scenario>") -> LoadedDocument:
    """Parse YAML ``text``; raise :class:`ScenarioError` with a line on any problem."""
    source = SourceMap(file)
    if len(text.encode("utf-8", "replace")) > MAX_FILE_BYTES:
        raise ScenarioError(
            f"file larger than {MAX_FILE_BYTES // 1024} KiB", file=file, line=None, field=""
        )
    try:
        _check_nesting(text, file)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise ScenarioError(
            f"YAML syntax error: {exc.problem}", file=file, line=line, field=""
        ) from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"YAML error: {exc}", file=file, line=None, field="") from None
    if node is None:
        raise ScenarioError("the file is empty", file=file, line=1, field="")
    data = _build(node, (), source, set())
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return LoadedDocument(data, source, digest)


MAX_NESTING = 40


def _check_nesting(text: str, file: str) -> None:
    """Refuse absurdly deep documents before PyYAML's recursive composer sees them."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_NESTING:
                mark = event.start_mark
                line = mark.line + 1 if mark is not None else None
                raise ScenarioError(
                    f"the document is nested more than {MAX_NESTING} levels deep",
                    file=file,
                    line=line,
                    field="",
                )
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


def load_file(path: str | Path) -> LoadedDocument:
    """Read and parse the scenario file at ``path``."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ScenarioError(
            f"cannot read file: {exc.strerror}", file=str(path), line=None, field=""
        ) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError(
            f"file larger than {MAX_FILE_BYTES // 1024} KiB", file=str(path), line=None, field=""
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ScenarioError("file is not UTF-8 text", file=str(path), line=None, field="") from None
    return load_text(text, str(path))


def _build(node: yaml.Node, path: FieldPath, source: SourceMap, seen: set[int]) -> Any:
    source.lines.setdefault(path, node.start_mark.line + 1)
    if getattr(node, "anchor", None) or id(node) in seen:
        raise source.error(path, "YAML anchors and aliases are not allowed")
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        return _build_mapping(node, path, source, seen)
    if isinstance(node, yaml.SequenceNode):
        _check_tag(node, "tag:yaml.org,2002:seq", path, source)
        return [_build(item, path + (i,), source, seen) for i, item in enumerate(node.value)]
    return _build_scalar(node, path, source)


def _build_mapping(
    node: yaml.MappingNode, path: FieldPath, source: SourceMap, seen: set[int]
) -> dict[str, Any]:
    _check_tag(node, "tag:yaml.org,2002:map", path, source)
    result: dict[str, Any] = {}
    for key_node, value_node in node.value:
        key = _build_scalar(key_node, path, source)
        if not isinstance(key, (str, int)) or isinstance(key, bool):
            raise source.error(path, f"keys must be names, got {key!r}")
        key = str(key)
        if key in result:
            line = key_node.start_mark.line + 1
            raise ScenarioError(
                f"duplicate key {key!r}",
                file=source.file,
                line=line,
                field=format_path(path + (key,)),
            )
        child = path + (key,)
        source.lines[child] = key_node.start_mark.line + 1
        result[key] = _build(value_node, child, source, seen)
    return result


def _build_scalar(node: yaml.Node, path: FieldPath, source: SourceMap) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        raise source.error(path, "keys must be plain names")
    if node.tag not in _SCALAR_TAGS:
        raise source.error(path, f"YAML tag {node.tag!r} is not allowed")
    try:
        return _SCALARS.construct_object(node)
    except (yaml.YAMLError, ValueError) as exc:
        raise source.error(
            path, f"bad value {node.value!r}: {getattr(exc, 'problem', exc)}"
        ) from None


def _check_tag(node: yaml.Node, expected: str, path: FieldPath, source: SourceMap) -> None:
    if node.tag != expected:
        raise source.error(path, f"YAML tag {node.tag!r} is not allowed")
