"""A Flux object judged as the API server judges it, with jsonschema (imported only when an object is judged).

On top of the CRD's own schema (`crd_compact.to_jsonschema`):
- `metadata` follows Kubernetes' ObjectMeta: its known fields only, names as DNS names, label and
  annotation keys as qualified names, label values as label values (the CRD itself says only `object`);
- a value holding a Flux substitution (`${VAR}`, `${VAR:=default}`) passes every check a scalar could
  fail (type, enum, pattern, format, bounds): Flux substitutes before the object is parsed;
- `null` passes every check: the API server prunes a null field before validating (so a required
  field that is null is missing);
- `metadata.name` is required, as the API server requires it;
- an unknown field and a missing required field are each their own error, at the key's own path;
- patterns run with Go's RE2 semantics (`goregex`), formats are Kubernetes' (`int32`, `int64`,
  `date-time`, `duration`); a format Kubernetes does not know is not checked, as there;
- a pattern from a repository's own CRD runs in Python's backtracking engine only when it is one of
  Flux's own (the shipped data's) or cannot backtrack badly (no repeated group holding a repetition or
  an alternation, `(a+)+`), and on values up to 4 KiB: a hostile CRD cannot make a run take forever.
Messages are built from the schema only, never from the value (it may be a secret).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from .compact import to_jsonschema

SUBSTITUTION = re.compile(r"\$\{[_A-Za-z][_A-Za-z0-9]*[^}]*\}")
SCALARS = frozenset({"string", "integer", "number", "boolean"})
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
LABEL_VALUE = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"
_NAME_PART = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_DNS_SUBDOMAIN = re.compile(DNS_SUBDOMAIN)
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_GO_DURATION = re.compile(r"^[-+]?(0|(\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+$")
GUARDED_LENGTH = 4096  # the longest value a pattern from a repository's CRD is run on
RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
STRING_FORMATS = {"date-time": _DATE_TIME.match, "duration": _GO_DURATION.match}

METADATA: dict[str, Any] = {
    "type": "object",
    "required": ["name"],  # what the API server needs to create it (`generateName` does not work under apply)
    "properties": {
        "name": {"type": "string", "maxLength": 253, "pattern": DNS_SUBDOMAIN},
        "generateName": {"type": "string"},
        "namespace": {"type": "string", "maxLength": 63, "pattern": DNS_LABEL},
        "labels": {"type": "object", "qualifiedKeys": True,
                   "additionalProperties": {"type": "string", "maxLength": 63, "pattern": LABEL_VALUE}},
        "annotations": {"type": "object", "qualifiedKeys": True, "additionalProperties": {"type": "string"}},
        "finalizers": {"type": "array", "items": {"type": "string"}},
        "ownerReferences": {"type": "array", "items": {"type": "object"}},
        "uid": {"type": "string"}, "resourceVersion": {"type": "string"}, "selfLink": {"type": "string"},
        "generation": {"type": "integer"}, "deletionGracePeriodSeconds": {"type": "integer"},
        "creationTimestamp": {}, "deletionTimestamp": {}, "managedFields": {"type": "array"},
    },
    "additionalProperties": False,
}


def is_substituted(value: Any) -> bool:
    return isinstance(value, str) and "${" in value and SUBSTITUTION.search(value) is not None


def qualified_name_problem(key: str) -> bool:
    """Whether `key` is no Kubernetes qualified name (`prefix/name`: label and annotation keys)."""
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        return True
    return len(name) > 63 or not _NAME_PART.match(name)


def root_schema(node: dict[str, Any], trusted: frozenset[str] | None = None,
                skipped: list[str] | None = None) -> dict[str, Any]:
    """The JSON Schema of a kind at one version, with Kubernetes' metadata (patterns guarded: `validator_for`)."""
    schema = to_jsonschema(node)
    if trusted is not None:
        _guard(schema, trusted, skipped if skipped is not None else [])
    schema.setdefault("properties", {})["metadata"] = METADATA
    schema["required"] = sorted({*schema.get("required", []), "metadata"})
    return schema


def validator_for(node: dict[str, Any], trusted: frozenset[str] | None = None, skipped: list[str] | None = None) -> Any:
    """A jsonschema validator of the kind's compact schema (build once per kind and version per run).

    `trusted`: for a schema from the repository, the patterns run as they are; any other is guarded (see
    the module's docstring), and one that could backtrack badly is not checked but added to `skipped`."""
    return _validator_class()(root_schema(node, trusted, skipped))


def _guard(schema: Any, trusted: frozenset[str], skipped: list[str]) -> None:
    if isinstance(schema, list):
        for item in schema:
            _guard(item, trusted, skipped)
        return
    if not isinstance(schema, dict):
        return
    pattern = schema.get("pattern")
    if isinstance(pattern, str) and pattern not in trusted:
        del schema["pattern"]
        if may_backtrack(pattern):
            skipped.append(pattern)
        else:
            schema["guardedPattern"] = pattern
    for key, value in schema.items():
        if key not in ("enum", "const"):
            _guard(value, trusted, skipped)


def may_backtrack(pattern: str) -> bool:
    """Whether a regex repeats a group that holds a repetition or an alternation (`(a+)+`, `(a|aa)*`): the
    shapes that take exponential time in a backtracking engine. Escapes and classes are skipped over."""
    stack = [False]  # per open group: whether it holds a repetition or an alternation
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":
            i = _class_end(pattern, i)
            continue
        if c == "(":
            stack.append(False)
        elif c == ")" and len(stack) > 1:
            inner = stack.pop()
            repeats = _repeats(pattern, i + 1)
            if inner and repeats:
                return True
            stack[-1] = stack[-1] or inner or repeats
        elif c == "|" or c in "*+" or c == "{" and _repeats(pattern, i):
            stack[-1] = True
        i += 1
    return False


_BOUND = re.compile(r"\{(\d*)(,?)(\d*)\}")


def _repeats(pattern: str, i: int) -> bool:
    """Whether the quantifier at `i` (if any) repeats: `*`, `+`, `{n,}`, `{n,m}` with m > 1."""
    if pattern[i:i + 1] in ("*", "+"):
        return True
    bound = _BOUND.match(pattern, i)
    if not bound:
        return False
    low, comma, high = bound.groups()
    top = high if comma else low
    return not top or int(top) > 1


def _class_end(pattern: str, i: int) -> int:
    j = i + 1
    if pattern[j:j + 1] == "^":
        j += 1
    if pattern[j:j + 1] == "]":
        j += 1
    while j < len(pattern) and pattern[j] != "]":
        j += 2 if pattern[j] == "\\" else 1
    return j + 1


# -- the keywords, as the API server applies them ----------------------------------------------

_CLASS: list[Any] = []


def _validator_class() -> Any:
    if _CLASS:
        return _CLASS[0]
    from jsonschema import Draft202012Validator, validators

    base = Draft202012Validator.VALIDATORS
    scalar_checks = {k: _skipping(base[k]) for k in (
        "enum", "const", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
        "multipleOf")}
    cls = validators.extend(Draft202012Validator, {
        **scalar_checks, "type": _type, "pattern": _pattern, "format": _format, "required": _required,
        "additionalProperties": _additional, "qualifiedKeys": _qualified_keys, "guardedPattern": _guarded_pattern,
    })
    _CLASS.append(cls)
    return cls


def _error(*, path: tuple[Any, ...] = ()) -> Any:
    from jsonschema.exceptions import ValidationError

    return ValidationError("", path=path)  # the message is the caller's to write (see `describe`)


def _skipping(check: Any) -> Any:
    def keyword(validator: Any, value: Any, instance: Any, schema: Any) -> Iterator[Any]:
        if instance is None or is_substituted(instance):
            return
        if any(True for _ in check(validator, value, instance, schema)):
            yield _error()  # not the default error: its message quotes the value
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
    from ..goregex import GoRegexError, compile_go

    try:
        regex = compile_go(pattern)
    except GoRegexError:
        return  # a pattern Go would refuse: the CRD itself would not install
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
        if instance.get(name) is None:  # a null field is pruned before the API server validates: missing
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


# -- messages ------------------------------------------------------------------------------------

_DURATION = "a Go duration such as 30s, 10m or 1h30m"
PATTERN_WORDS = {
    r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$": _DURATION,
    r"^([0-9]+(\.[0-9]+)?(ms|s|m))+$": "a Go duration in ms, s or m, such as 30s or 5m",
    DNS_SUBDOMAIN: "a lowercase RFC 1123 DNS subdomain (letters, digits, `-` and `.`)",
    DNS_LABEL: "a lowercase RFC 1123 DNS label (letters, digits and `-`)",
    LABEL_VALUE: "a label value (letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit)",
}
_URL_PATTERN = re.compile(r"^\^\(?([a-z]+(?:\|[a-z]+)*)\)?://(?:\.\*)?\$?$")  # `^(http|https)://.*$`
FORMAT_WORDS = {"int32": "a 32-bit integer", "int64": "a 64-bit integer", "duration": _DURATION,
                "date-time": "an RFC 3339 date-time such as 2024-01-31T12:00:00Z"}
TYPE_WORDS = {"object": "a mapping", "array": "a list", "string": "a string", "integer": "an integer",
              "number": "a number", "boolean": "true or false", "null": "null"}


def describe(error: Any) -> str:
    """What is wrong, in words, from the schema alone (never the document's value)."""
    keyword, want = error.validator, error.validator_value
    if keyword == "additionalProperties":
        return "is not a field of this object: the API server drops it without a word"
    if keyword == "required":
        return "is required"
    if keyword == "type":
        wanted = [want] if isinstance(want, str) else list(want)
        return "must be " + " or ".join(TYPE_WORDS.get(t, t) for t in wanted)
    if keyword == "enum":
        shown = ", ".join(f"`{_short(v)}`" for v in want[:MAX_LISTED])
        return "must be one of " + shown + (f" (or {len(want) - MAX_LISTED} more)" if len(want) > MAX_LISTED else "")
    if keyword == "const":
        return f"must be `{_short(want)}`"
    if keyword in ("pattern", "guardedPattern"):
        if want in PATTERN_WORDS:
            return "must be " + PATTERN_WORDS[want]
        schemes = _URL_PATTERN.match(want)
        if schemes:
            listed = [f"`{s}://`" for s in schemes.group(1).split("|")]
            return "must be a URL starting with " + (" or ".join([", ".join(listed[:-1]), listed[-1]])
                                                     if len(listed) > 1 else listed[0])
        return f"must match the pattern `{_short(want)}`"
    if keyword == "format":
        return f"must be {FORMAT_WORDS.get(want, want)}"
    if keyword == "qualifiedKeys":
        return ("is not a valid key: an optional DNS subdomain and `/`, then at most 63 letters, digits, `-`, `_` "
                "or `.`, starting and ending with a letter or digit")
    bounds = {"minLength": "at least {} characters long", "maxLength": "at most {} characters long",
              "minimum": "at least {}", "maximum": "at most {}", "exclusiveMinimum": "more than {}",
              "exclusiveMaximum": "less than {}", "multipleOf": "a multiple of {}", "minItems": "at least {} items",
              "maxItems": "at most {} items", "minProperties": "at least {} fields",
              "maxProperties": "at most {} fields"}
    if keyword in bounds:
        if keyword == "minLength" and want == 1:
            return "must not be empty"
        verb = "must have " if keyword.endswith(("Items", "Properties")) else "must be "
        return verb + bounds[keyword].format(want)
    if keyword == "uniqueItems":
        return "must not repeat an item"
    return f"does not satisfy the schema's `{keyword}`"


MAX_LISTED = 20  # enum values a message names: a repository's CRD may hold any number
MAX_SHOWN = 120  # characters of one schema value a message shows


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "…"
