"""The reference CL112's validator is held to: jsonschema's Draft 2020-12 validator extended with Kubernetes'
rules, as `stack/crd/validate.py` judged Flux objects before it validated without jsonschema (its import alone
cost ~50 ms of a commit hook). Same schema (`root_schema`), same rules; only the machinery differs, so the two
must report the same problems in the same order (`test_flux_crd_schema.py`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError

from cloudlab_lint.stack.crd.validate import (
    GUARDED_LENGTH,
    RANGES,
    SCALARS,
    STRING_FORMATS,
    is_substituted,
    qualified_name_problem,
    root_schema,
)
from cloudlab_lint.stack.goregex import GoRegexError, compile_go


def reference_validator(node: dict[str, Any], trusted: frozenset[str] | None = None,
                        skipped: list[str] | None = None) -> Any:
    return _CLASS(root_schema(node, trusted, skipped))


def _error(*, path: tuple[Any, ...] = ()) -> ValidationError:
    return ValidationError("", path=path)


def _skipping(check: Any) -> Any:
    def keyword(validator: Any, value: Any, instance: Any, schema: Any) -> Iterator[Any]:
        if instance is None or is_substituted(instance):
            return
        if any(True for _ in check(validator, value, instance, schema)):
            yield _error()
    return keyword


def _type(validator: Any, types: Any, instance: Any, schema: Any) -> Iterator[Any]:
    if instance is None:
        return
    wanted = [types] if isinstance(types, str) else list(types)
    if is_substituted(instance) and any(t in SCALARS for t in wanted):
        return
    if not any(validator.is_type(instance, t) for t in wanted):
        yield _error()


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[Any]:
    if not isinstance(instance, str) or is_substituted(instance):
        return
    try:
        regex = compile_go(pattern)
    except GoRegexError:
        return
    if not regex.search(instance):
        yield _error()


def _guarded_pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[Any]:
    if isinstance(instance, str) and len(instance) <= GUARDED_LENGTH:
        yield from _pattern(validator, pattern, instance, schema)


def _format(validator: Any, fmt: str, instance: Any, schema: Any) -> Iterator[Any]:
    if instance is None or is_substituted(instance):
        return
    if fmt in RANGES and isinstance(instance, int) and not isinstance(instance, bool):
        low, high = RANGES[fmt]
        if not low <= instance <= high:
            yield _error()
    elif fmt in STRING_FORMATS and isinstance(instance, str) and not STRING_FORMATS[fmt](instance):
        yield _error()


def _required(validator: Any, required: list[str], instance: Any, schema: Any) -> Iterator[Any]:
    if not isinstance(instance, dict):
        return
    for name in required:
        if instance.get(name) is None:
            yield _error(path=(name,))


def _additional(validator: Any, extra: Any, instance: Any, schema: Any) -> Iterator[Any]:
    if not isinstance(instance, dict):
        return
    known = schema.get("properties", {})
    for key, value in instance.items():
        if key in known:
            continue
        if extra is False:
            yield _error(path=(key,))
        elif isinstance(extra, dict):
            yield from validator.descend(value, extra, path=key)


def _qualified_keys(validator: Any, wanted: Any, instance: Any, schema: Any) -> Iterator[Any]:
    if not isinstance(instance, dict):
        return
    for key in instance:
        if not is_substituted(key) and qualified_name_problem(str(key)):
            yield _error(path=(key,))


_BASE = Draft202012Validator.VALIDATORS
_CLASS = validators.extend(Draft202012Validator, {
    **{k: _skipping(_BASE[k]) for k in ("enum", "const", "minLength", "maxLength", "minimum", "maximum",
                                         "exclusiveMinimum", "exclusiveMaximum", "multipleOf")},
    "type": _type, "pattern": _pattern, "format": _format, "required": _required,
    "additionalProperties": _additional, "qualifiedKeys": _qualified_keys, "guardedPattern": _guarded_pattern,
})
