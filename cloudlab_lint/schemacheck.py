"""A JSON Schema validator for the small subset our config schema uses.

Importing jsonschema costs ~0.2 s, more than the rest of a commit-hook run;
`.cloudlab-lint.yaml` is read on every commit. This validator covers exactly
the keywords config.SCHEMA uses (and refuses any other, so the schema cannot
outgrow it silently); a test checks it agrees with jsonschema on generated
configs. Team rule files, read only when a team has some, still use jsonschema.
"""

from __future__ import annotations

import re
from typing import Any

from .record import record

SUPPORTED = {"type", "enum", "properties", "additionalProperties", "propertyNames", "items", "minItems",
             "minLength", "minimum", "pattern", "description", "$schema", "$id", "title"}
TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
}


@record
class SchemaError:
    path: tuple[str | int, ...]
    message: str
    keyword: str
    instance: Any = None


def validate(instance: Any, schema: dict[str, Any]) -> list[SchemaError]:
    """Every error, sorted by the path of the failing value (the first is the one to show)."""
    errors: list[SchemaError] = []
    _check(instance, schema, (), errors)
    return sorted(errors, key=lambda e: [str(p) for p in e.path])


def _check(value: Any, schema: dict[str, Any], path: tuple[str | int, ...], errors: list[SchemaError]) -> None:
    unknown = set(schema) - SUPPORTED
    if unknown:
        raise ValueError(f"schemacheck does not support {sorted(unknown)}")
    wanted = schema.get("type")
    if wanted is not None and not TYPES[wanted](value):
        errors.append(SchemaError(path, f"{value!r} is not of type {wanted!r}", "type", value))
        return
    if "enum" in schema and value not in schema["enum"]:
        errors.append(SchemaError(path, f"{value!r} is not one of {schema['enum']!r}", "enum", value))
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            errors.append(SchemaError(path, f"{value!r} should be non-empty", "minLength", value))
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(SchemaError(path, f"{value!r} does not match {schema['pattern']!r}", "pattern", value))
    if isinstance(value, int | float) and not isinstance(value, bool) and "minimum" in schema:
        if value < schema["minimum"]:
            errors.append(SchemaError(path, f"{value!r} is less than the minimum of {schema['minimum']!r}",
                                      "minimum", value))
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            errors.append(SchemaError(path, f"{value!r} should be non-empty", "minItems", value))
        if "items" in schema:
            for index, item in enumerate(value):
                _check(item, schema["items"], (*path, index), errors)
    if isinstance(value, dict):
        _check_object(value, schema, path, errors)


def _check_object(value: dict, schema: dict[str, Any], path: tuple[str | int, ...], errors: list[SchemaError]) -> None:
    properties = schema.get("properties", {})
    names = schema.get("propertyNames")
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        if names is not None:
            _check(key, names, (*path, key), errors)
        if key in properties:
            _check(item, properties[key], (*path, key), errors)
        elif extra is False:
            errors.append(SchemaError((*path, key), "unknown key", "additionalProperties", value))
        elif isinstance(extra, dict):
            _check(item, extra, (*path, key), errors)
