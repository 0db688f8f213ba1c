"""Structural validation against the published JSON Schema.

The schema in ``simulations/schema/scenario.schema.json`` is the one examiners' editors
use; we validate with the same file so the two cannot drift. This checker implements
the subset of JSON Schema 2020-12 that file uses (type, properties, required,
additionalProperties, propertyNames, min/maxProperties, enum, const, numeric bounds,
string length and pattern, items, prefixItems, min/maxItems, oneOf, local $ref),
and reports the first problem with the path of the offending field so the loader can
name its line. It avoids a dependency on ``jsonschema`` for one well-known file.
"""

from __future__ import annotations

import difflib
import json
import re
from functools import lru_cache
from importlib import resources
from typing import Any

from simulations.scenario.loader import FieldPath

Schema = dict[str, Any]


class SchemaViolation(Exception):
    def __init__(self, path: FieldPath, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


@lru_cache(maxsize=1)
def scenario_schema() -> Schema:
    """The published scenario JSON Schema."""
    text = resources.files("simulations.schema").joinpath("scenario.schema.json").read_text("utf-8")
    schema: Schema = json.loads(text)
    return schema


def validate(document: Any, schema: Schema | None = None) -> None:
    """Raise :class:`SchemaViolation` on the first structural problem in ``document``."""
    root = schema or scenario_schema()
    _Validator(root).check(document, root, ())


_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


class _Validator:
    def __init__(self, root: Schema) -> None:
        self.root = root

    def deref(self, schema: Schema) -> Schema:
        while "$ref" in schema:
            ref = schema["$ref"]
            if not ref.startswith("#/"):
                raise ValueError(f"only local $ref supported: {ref}")
            node: Any = self.root
            for part in ref[2:].split("/"):
                node = node[part]
            schema = node
        return schema

    def check(self, value: Any, schema: Schema, path: FieldPath) -> None:
        schema = self.deref(schema)
        if "oneOf" in schema:
            self.check_one_of(value, schema["oneOf"], path)
        self.check_type(value, schema, path)
        if "enum" in schema and value not in schema["enum"]:
            options = ", ".join(str(o) for o in schema["enum"])
            raise SchemaViolation(path, f"{value!r} is not one of: {options}")
        if "const" in schema and value != schema["const"]:
            raise SchemaViolation(path, f"must be {schema['const']!r}")
        if isinstance(value, dict):
            self.check_object(value, schema, path)
        elif isinstance(value, list):
            self.check_array(value, schema, path)
        elif isinstance(value, str):
            self.check_string(value, schema, path)
        elif _TYPES["number"](value):
            self.check_number(value, schema, path)

    def check_type(self, value: Any, schema: Schema, path: FieldPath) -> None:
        expected = schema.get("type")
        if expected is None:
            return
        names = [expected] if isinstance(expected, str) else list(expected)
        if not any(_TYPES[name](value) for name in names):
            raise SchemaViolation(path, f"expected {' or '.join(names)}, got {_describe(value)}")

    def check_one_of(self, value: Any, options: list[Schema], path: FieldPath) -> None:
        candidates = [self.deref(o) for o in options]
        if isinstance(value, dict):
            keyed = [
                o
                for o in candidates
                if set(o.get("required", ())) and set(o.get("required", ())) <= set(value)
            ]
            # pick the form whose distinguishing key is present, to give a precise message
            keyed.sort(key=lambda o: -len(o.get("required", ())))
            if keyed:
                self.check(value, keyed[0], path)
                return
        errors: list[SchemaViolation] = []
        for option in candidates:
            try:
                self.check(value, option, path)
                return
            except SchemaViolation as exc:
                errors.append(exc)
        keys = [o["required"][0] for o in candidates if o.get("required")]
        if isinstance(value, dict) and keys:
            raise SchemaViolation(path, f"expected one of the forms: {', '.join(keys)}")
        raise errors[-1] if errors else SchemaViolation(path, "no form matches")

    def check_object(self, value: dict[str, Any], schema: Schema, path: FieldPath) -> None:
        props: dict[str, Schema] = schema.get("properties", {})
        for key in schema.get("required", ()):
            if key not in value:
                raise SchemaViolation(path, f"missing required field '{key}'")
        self.check_size(len(value), schema, "minProperties", "maxProperties", "fields", path)
        names = schema.get("propertyNames")
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            child = path + (key,)
            if names is not None:
                self.check(key, names, child)
            if key in props:
                self.check(item, props[key], child)
            elif extra is False:
                raise SchemaViolation(child, _unknown_field(key, list(props)))
            elif isinstance(extra, dict):
                self.check(item, extra, child)

    def check_array(self, value: list[Any], schema: Schema, path: FieldPath) -> None:
        self.check_size(len(value), schema, "minItems", "maxItems", "items", path)
        prefix = schema.get("prefixItems", [])
        for i, item in enumerate(value):
            if i < len(prefix):
                self.check(item, prefix[i], path + (i,))
            elif "items" in schema:
                self.check(item, schema["items"], path + (i,))

    def check_string(self, value: str, schema: Schema, path: FieldPath) -> None:
        self.check_size(len(value), schema, "minLength", "maxLength", "characters", path)
        pattern = schema.get("pattern")
        if pattern and not re.search(pattern, value):
            raise SchemaViolation(
                path,
                f"{value!r} is not a valid name here (letters, digits, _; must match {pattern})",
            )

    def check_number(self, value: float, schema: Schema, path: FieldPath) -> None:
        if "minimum" in schema and value < schema["minimum"]:
            raise SchemaViolation(path, f"{value} is below the minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            raise SchemaViolation(path, f"{value} is above the maximum {schema['maximum']}")
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            raise SchemaViolation(
                path, f"{value} must be greater than {schema['exclusiveMinimum']}"
            )

    @staticmethod
    def check_size(
        size: int, schema: Schema, low: str, high: str, what: str, path: FieldPath
    ) -> None:
        if low in schema and size < schema[low]:
            raise SchemaViolation(path, f"needs at least {schema[low]} {what}")
        if high in schema and size > schema[high]:
            raise SchemaViolation(path, f"allows at most {schema[high]} {what}")


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value!r}"
    return "a list" if isinstance(value, list) else "a mapping"


def _unknown_field(key: str, known: list[str]) -> str:
    hint = difflib.get_close_matches(key, known, n=1)
    if hint:
        return f"unknown field '{key}'; did you mean '{hint[0]}'?"
    return f"unknown field '{key}' (allowed: {', '.join(known)})"
