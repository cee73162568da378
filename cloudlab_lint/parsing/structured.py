"""TOML and JSON with the line of the first error."""

from __future__ import annotations

import json
import re
from typing import Any

from . import ParseError

MAX_DEPTH = 200


def load_toml(text: str) -> dict[str, Any]:
    import tomllib  # on the first TOML file only: a run that reads none never imports it

    _check_depth(text, "[{")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line, col = (int(match.group(1)), int(match.group(2))) if match else (1, 1)
        if "(at end of document)" in str(exc):  # an unclosed string or table: point at the last line
            line, col = max(1, len(text.splitlines())), 1
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc)).replace(
            "(at end of document)", "at the end of the file")
        raise ParseError(f"invalid TOML: {message}", line, col) from None
    except RecursionError:
        raise ParseError(f"TOML nesting deeper than {MAX_DEPTH} levels") from None
    # Dotted keys nest without brackets (`[a.a.a…]`, `a.a.a… = 1`): measure the result.
    if text.count(".") >= MAX_DEPTH and _data_depth(data) > MAX_DEPTH:
        raise ParseError(f"TOML nesting deeper than {MAX_DEPTH} levels (dotted keys)")
    return data


def _data_depth(data: Any) -> int:
    """How deep dicts and lists nest, without recursion (so it cannot overflow itself)."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        value, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_DEPTH:
            break
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
    return deepest


def load_json(text: str) -> Any:
    _check_depth(text, "[{")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"invalid JSON: {exc.msg}", exc.lineno, exc.colno) from None
    except RecursionError:
        raise ParseError(f"JSON nesting deeper than {MAX_DEPTH} levels") from None


def _check_depth(text: str, openers: str) -> None:
    """Refuse absurd nesting before the recursive parsers see it (cheap: counts brackets)."""
    if text.count(openers[0]) + text.count(openers[1]) < MAX_DEPTH:
        return
    depth, line = 0, 1
    in_string = None
    escaped = False
    for ch in text:
        if ch == "\n":
            line += 1
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == in_string:
                in_string = None
            continue
        if ch in "\"'":
            in_string = ch
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise ParseError(f"nesting deeper than {MAX_DEPTH} levels", line)
        elif ch in "]}":
            depth -= 1
