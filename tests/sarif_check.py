"""SARIF validation for tests: the SARIF 2.1.0 schema when the shared copy is there (../shared/schemas), and in any
case the structure GitHub code scanning relies on, with every URI checked against RFC 3986's grammar.

A fresh clone has no ../shared: the structural checks still run there, and the caller says that the full schema
was not used (a skip that names what did run)."""

from __future__ import annotations

import json
import re
from typing import Any

from .helpers import SHARED

SCHEMA = SHARED / "schemas" / "sarif-schema-2.1.0.json"

# RFC 3986 relative-ref with a path (no scheme: the first segment holds no ":"), query and fragment allowed.
_PCHAR = r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})"
_SEG_NC = r"(?:[A-Za-z0-9\-._~!$&'()*+,;=@]|%[0-9A-Fa-f]{2})"
RELATIVE_REF = re.compile(rf"(?:{_SEG_NC}+(?:/{_PCHAR}*)*|/(?:{_PCHAR}+(?:/{_PCHAR}*)*)?|)"
                          rf"(?:\?(?:{_PCHAR}|[/?])*)?(?:#(?:{_PCHAR}|[/?])*)?")
ABSOLUTE_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s]*")

_TEXT = {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}}
# The part of SARIF 2.1.0 we write, as GitHub reads it (our own summary of the format, not the schema).
STRUCTURE: dict[str, Any] = {
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "version": {"const": "2.1.0"},
        "$schema": {"type": "string", "format": "uri"},
        "runs": {"type": "array", "minItems": 1, "items": {
            "type": "object",
            "required": ["tool", "results"],
            "properties": {
                "tool": {"type": "object", "required": ["driver"], "properties": {"driver": {
                    "type": "object", "required": ["name"],
                    "properties": {"name": {"type": "string"}, "rules": {"type": "array", "items": {
                        "type": "object", "required": ["id"],
                        "properties": {"id": {"type": "string"}, "shortDescription": _TEXT,
                                       "fullDescription": _TEXT, "helpUri": {"type": "string", "format": "uri"},
                                       "defaultConfiguration": {"type": "object", "properties": {
                                           "level": {"enum": ["none", "note", "warning", "error"]}}}}}}}}}},
                "results": {"type": "array", "items": {
                    "type": "object",
                    "required": ["message"],
                    "properties": {
                        "ruleId": {"type": "string"},
                        "ruleIndex": {"type": "integer", "minimum": 0},
                        "level": {"enum": ["none", "note", "warning", "error"]},
                        "message": _TEXT,
                        "locations": {"type": "array", "items": {"type": "object", "properties": {
                            "physicalLocation": {"type": "object", "properties": {
                                "artifactLocation": {"type": "object", "properties": {
                                    "uri": {"type": "string", "format": "uri-reference"},
                                    "uriBaseId": {"type": "string"}}},
                                "region": {"type": "object", "properties": {
                                    "startLine": {"type": "integer", "minimum": 1},
                                    "startColumn": {"type": "integer", "minimum": 1},
                                    "endLine": {"type": "integer", "minimum": 1},
                                    "endColumn": {"type": "integer", "minimum": 1}}}}}}}},
                        "partialFingerprints": {"type": "object", "additionalProperties": {"type": "string"}},
                    }}},
            }}},
    },
}


def _format_checker() -> Any:
    import jsonschema

    checker = jsonschema.FormatChecker()
    checker.checks("uri-reference")(lambda v: not isinstance(v, str) or bool(
        RELATIVE_REF.fullmatch(v) or ABSOLUTE_URI.fullmatch(v)))
    checker.checks("uri")(lambda v: not isinstance(v, str) or bool(ABSOLUTE_URI.fullmatch(v)))
    return checker


def validate_sarif(doc: Any) -> str | None:
    """Raise on an invalid document. None when the full SARIF schema validated it; else why it could not
    (the structural checks and the URI grammar passed)."""
    import jsonschema

    checker = _format_checker()
    jsonschema.Draft7Validator(STRUCTURE, format_checker=checker).validate(doc)
    if not SCHEMA.is_file():
        return f"{SCHEMA} is absent (a fresh clone): checked SARIF's structure and URI grammar, not the full schema"
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator(schema, format_checker=checker).validate(doc)
    return None
