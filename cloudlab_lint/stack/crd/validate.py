"""A Flux object judged as the API server judges it (built only when an object is judged).

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

import math
import numbers
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
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


def validator_for(node: dict[str, Any], trusted: frozenset[str] | None = None,
                  skipped: list[str] | None = None) -> Validator:
    """The validator of the kind's compact schema (build once per kind and version per run).

    `trusted`: for a schema from the repository, the patterns run as they are; any other is guarded (see
    the module's docstring), and one that could backtrack badly is not checked but added to `skipped`."""
    return Validator(root_schema(node, trusted, skipped))


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
#
# What JSON Schema validators do (jsonschema's Draft 2020-12 semantics: each schema's keywords in their order,
# depth first), for the keywords `root_schema` writes and no other, with Kubernetes' rules where they differ.
# Written here rather than imported: jsonschema's import alone costs ~50 ms of a ~140 ms commit hook, and the
# compiled validators (jsonschema-rs, fastjsonschema) cannot take Kubernetes' rules for `type`, `required` and
# `additionalProperties` or report every problem at its own key. `tests/crd_reference.py` holds this to the
# jsonschema-based validator it replaced.


class SchemaError:
    """One problem, with the attributes of jsonschema's ValidationError that `describe` and CL112 read: the
    keyword that failed (`validator`) and its value, the schema holding it, the value it judged (`instance`)
    and that value's place in the object (`absolute_path`)."""

    __slots__ = ("validator", "validator_value", "schema", "instance", "absolute_path")

    def __init__(self, validator: str, validator_value: Any, schema: dict[str, Any], instance: Any,
                 absolute_path: tuple[Any, ...]) -> None:
        self.validator, self.validator_value, self.schema = validator, validator_value, schema
        self.instance, self.absolute_path = instance, absolute_path

    def __repr__(self) -> str:
        return f"SchemaError({self.validator!r} at {list(self.absolute_path)!r})"


class Validator:
    """Every problem of an object under one root schema (`validator_for`)."""

    __slots__ = ("schema",)

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema

    def iter_errors(self, instance: Any) -> Iterator[SchemaError]:
        return _errors(instance, self.schema, ())

    def is_valid(self, instance: Any) -> bool:
        return _valid(instance, self.schema)


Keyword = Callable[[str, Any, Any, dict[str, Any], tuple[Any, ...]], Iterator[SchemaError]]


def _errors(instance: Any, schema: dict[str, Any], path: tuple[Any, ...]) -> Iterator[SchemaError]:
    for keyword, value in schema.items():
        check = KEYWORDS.get(keyword)
        if check is not None:
            yield from check(keyword, value, instance, schema, path)


def _valid(instance: Any, schema: dict[str, Any]) -> bool:
    return next(_errors(instance, schema, ()), None) is None


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


IS_TYPE: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer()),
    "number": _is_number,
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def _type(keyword: str, types: Any, instance: Any, schema: dict[str, Any], path: tuple[Any, ...]
          ) -> Iterator[SchemaError]:
    if instance is None:
        return
    wanted = [types] if isinstance(types, str) else list(types)
    if is_substituted(instance) and any(t in SCALARS for t in wanted):
        return
    if not any(IS_TYPE[t](instance) for t in wanted):
        yield SchemaError(keyword, types, schema, instance, path)


def _scalar(fails: Callable[[Any, Any], bool]) -> Keyword:
    """A check of a value that passes when the value is null (pruned) or holds a substitution."""
    def keyword(name: str, want: Any, instance: Any, schema: dict[str, Any], path: tuple[Any, ...]
                ) -> Iterator[SchemaError]:
        if instance is not None and not is_substituted(instance) and fails(want, instance):
            yield SchemaError(name, want, schema, instance, path)
    return keyword


def _not_multiple(by: Any, value: Any) -> bool:
    if isinstance(value, float) and not math.isfinite(value):
        return True  # `.inf` and `.nan` are multiples of nothing (jsonschema raised on them)
    if isinstance(by, float):
        try:
            quotient = value / by
            return int(quotient) != quotient
        except OverflowError:  # a value too large for a float: exact arithmetic instead (jsonschema raised)
            from fractions import Fraction

            return (Fraction(value) / Fraction(by)).denominator != 1
    return bool(value % by)


def _pattern(keyword: str, pattern: str, instance: Any, schema: dict[str, Any], path: tuple[Any, ...]
             ) -> Iterator[SchemaError]:
    if not isinstance(instance, str) or is_substituted(instance):
        return
    if keyword == "guardedPattern" and len(instance) > GUARDED_LENGTH:
        return
    from ..goregex import GoRegexError, compile_go

    try:
        regex = compile_go(pattern)
    except GoRegexError:
        return  # a pattern Go would refuse: the CRD itself would not install
    if not regex.search(instance):
        yield SchemaError(keyword, pattern, schema, instance, path)


def _format(keyword: str, fmt: Any, instance: Any, schema: dict[str, Any], path: tuple[Any, ...]
            ) -> Iterator[SchemaError]:
    if instance is None or is_substituted(instance):
        return
    if fmt in RANGES and isinstance(instance, int) and not isinstance(instance, bool):
        low, high = RANGES[fmt]
        if not low <= instance <= high:
            yield SchemaError(keyword, fmt, schema, instance, path)
    elif fmt in STRING_FORMATS and isinstance(instance, str) and not STRING_FORMATS[fmt](instance):
        yield SchemaError(keyword, fmt, schema, instance, path)


def _required(keyword: str, required: list[str], instance: Any, schema: dict[str, Any], path: tuple[Any, ...]
              ) -> Iterator[SchemaError]:
    if not isinstance(instance, dict):
        return
    for name in required:
        if instance.get(name) is None:  # a null field is pruned before the API server validates: missing
            yield SchemaError(keyword, required, schema, instance, (*path, name))


def _properties(keyword: str, properties: dict[str, Any], instance: Any, schema: dict[str, Any],
                path: tuple[Any, ...]) -> Iterator[SchemaError]:
    if not isinstance(instance, dict):
        return
    for name, sub in properties.items():
        if name in instance:
            yield from _errors(instance[name], sub, (*path, name))


def _additional(keyword: str, extra: Any, instance: Any, schema: dict[str, Any], path: tuple[Any, ...]
                ) -> Iterator[SchemaError]:
    if not isinstance(instance, dict):
        return
    known = schema.get("properties", {})
    for key, value in instance.items():
        if key in known:
            continue
        if extra is False:
            yield SchemaError(keyword, extra, schema, instance, (*path, key))
        elif isinstance(extra, dict):
            yield from _errors(value, extra, (*path, key))


def _items(keyword: str, items: dict[str, Any], instance: Any, schema: dict[str, Any], path: tuple[Any, ...]
           ) -> Iterator[SchemaError]:
    if isinstance(instance, list):
        for index, item in enumerate(instance):
            yield from _errors(item, items, (*path, index))


def _qualified_keys(keyword: str, wanted: Any, instance: Any, schema: dict[str, Any], path: tuple[Any, ...]
                    ) -> Iterator[SchemaError]:
    if not isinstance(instance, dict):
        return
    for key in instance:
        if not is_substituted(key) and qualified_name_problem(str(key)):
            yield SchemaError(keyword, wanted, schema, instance, (*path, key))


def _all_of(keyword: str, subs: list[dict[str, Any]], instance: Any, schema: dict[str, Any],
            path: tuple[Any, ...]) -> Iterator[SchemaError]:
    for sub in subs:
        yield from _errors(instance, sub, path)


def _any_of(keyword: str, subs: list[dict[str, Any]], instance: Any, schema: dict[str, Any],
            path: tuple[Any, ...]) -> Iterator[SchemaError]:
    if not any(_valid(instance, sub) for sub in subs):
        yield SchemaError(keyword, subs, schema, instance, path)


def _one_of(keyword: str, subs: list[dict[str, Any]], instance: Any, schema: dict[str, Any],
            path: tuple[Any, ...]) -> Iterator[SchemaError]:
    if sum(1 for sub in subs if _valid(instance, sub)) != 1:
        yield SchemaError(keyword, subs, schema, instance, path)


def _not(keyword: str, sub: dict[str, Any], instance: Any, schema: dict[str, Any], path: tuple[Any, ...]
         ) -> Iterator[SchemaError]:
    if _valid(instance, sub):
        yield SchemaError(keyword, sub, schema, instance, path)


def _sized(kind: type, fails: Callable[[Any, int], bool]) -> Keyword:
    """A bound on the size of a list or a mapping (null and substitutions need no exception: they are neither)."""
    def keyword(name: str, want: Any, instance: Any, schema: dict[str, Any], path: tuple[Any, ...]
                ) -> Iterator[SchemaError]:
        if isinstance(instance, kind) and fails(want, instance):
            yield SchemaError(name, want, schema, instance, path)
    return keyword


_TRUE, _FALSE = object(), object()


def _unbool(value: Any) -> Any:
    """True and 1 (False and 0) are different values in JSON."""
    if value is True:
        return _TRUE
    if value is False:
        return _FALSE
    return value


def _equal(one: Any, two: Any) -> bool:
    """JSON equality: a boolean is no number, lists and mappings compared item by item so."""
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return bool(one == two)
    if isinstance(one, Sequence) and isinstance(two, Sequence):
        return len(one) == len(two) and all(_equal(a, b) for a, b in zip(one, two, strict=True))
    if isinstance(one, Mapping) and isinstance(two, Mapping):
        return len(one) == len(two) and all(key in two and _equal(value, two[key]) for key, value in one.items())
    return bool(_unbool(one) == _unbool(two))


def _repeats_an_item(items: list[Any]) -> bool:
    try:
        ordered = sorted(_unbool(i) for i in items)
        return any(_equal(a, b) for a, b in zip(ordered, ordered[1:], strict=False))
    except (NotImplementedError, TypeError):  # values of kinds that do not order: each against the others
        seen: list[Any] = []
        for item in items:
            item = _unbool(item)
            if any(_equal(other, item) for other in seen):
                return True
            seen.append(item)
        return False


KEYWORDS: dict[str, Keyword] = {
    "type": _type,
    "enum": _scalar(lambda want, v: all(not _equal(each, v) for each in want)),
    "const": _scalar(lambda want, v: not _equal(v, want)),
    "minLength": _scalar(lambda want, v: isinstance(v, str) and len(v) < want),
    "maxLength": _scalar(lambda want, v: isinstance(v, str) and len(v) > want),
    "minimum": _scalar(lambda want, v: _is_number(v) and v < want),
    "maximum": _scalar(lambda want, v: _is_number(v) and v > want),
    "exclusiveMinimum": _scalar(lambda want, v: _is_number(v) and v <= want),
    "exclusiveMaximum": _scalar(lambda want, v: _is_number(v) and v >= want),
    "multipleOf": _scalar(lambda want, v: _is_number(v) and _not_multiple(want, v)),
    "pattern": _pattern,
    "guardedPattern": _pattern,
    "format": _format,
    "required": _required,
    "properties": _properties,
    "additionalProperties": _additional,
    "items": _items,
    "qualifiedKeys": _qualified_keys,
    "allOf": _all_of,
    "anyOf": _any_of,
    "oneOf": _one_of,
    "not": _not,
    "minItems": _sized(list, lambda want, v: len(v) < want),
    "maxItems": _sized(list, lambda want, v: len(v) > want),
    "minProperties": _sized(dict, lambda want, v: len(v) < want),
    "maxProperties": _sized(dict, lambda want, v: len(v) > want),
    "uniqueItems": _sized(list, lambda want, v: bool(want) and _repeats_an_item(v)),
}


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
