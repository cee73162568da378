"""CL112's validator against its reference: jsonschema with Kubernetes' rules (`crd_reference.py`).

Every problem, in the same order, with the same keyword, keyword value, schema, value and CL112 message: on
objects drawn from every shipped kind's schema (valid values, wrong ones, nulls, substitutions, unknown fields),
and on schemas of any shape a repository's CRD can give (anyOf, oneOf, allOf, not, bounds, unique items,
guarded and skipped patterns). Floats are finite here: on `.inf` and `.nan` under `multipleOf` jsonschema raised
(`test_multiple_of_infinity_and_nan`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudlab_lint.checks.flux_crd import _message
from cloudlab_lint.parsing.yamlx import load_documents
from cloudlab_lint.stack.crd.compact import COPIED, to_jsonschema
from cloudlab_lint.stack.crd.schemas import DATA
from cloudlab_lint.stack.crd.validate import KEYWORDS, METADATA, root_schema, validator_for

from .crd_reference import reference_validator

SHIPPED = sorted((path.parent.name, path.stem, version)
                 for path in DATA.glob("*/*.json")
                 for version in json.loads(path.read_text(encoding="utf-8"))["versions"])
STRINGS = ["", "x", "main", "${VAR}", "prefix-${A:=b}", "${VAR:-1m}", "10m", "1h30m", "5", "ten minutes",
           "2026-01-31T12:00:00Z", "31/01/2026", "Not_A_Name", "app.kubernetes.io/name", "bad key", "-x",
           "https://example.com", "oci://ghcr.io/x", "ssh://git@x", "a" * 70, "Delete", "enabled", "rollback"]
KEYS = ["interval", "intervall", "dependson", "spec", "name", "x", "$patch", "${KEY}", "app.kubernetes.io/part-of",
        "bad key", "0"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.sampled_from([0, 1, 2**31, -1]),
                    st.floats(allow_nan=False, allow_infinity=False, width=32), st.sampled_from(STRINGS))
junk = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.sampled_from(KEYS), inner, max_size=3), max_leaves=6)


def _shaped(node: dict[str, Any], draw: Any, depth: int = 0) -> Any:
    """A value for a compact node: mostly of its shape (fields it names, items, its enum), sometimes anything."""
    if depth > 8 or draw(st.integers(0, 7)) == 0:
        return draw(junk)
    if node.get("enum") and draw(st.booleans()):
        return draw(st.sampled_from(node["enum"]))
    kind = node.get("type")
    if "fields" in node or "values" in node or kind == "object":
        fields = node.get("fields", {})
        out = {name: _shaped(fields[name], draw, depth + 1)
               for name in draw(st.lists(st.sampled_from(sorted(fields)), unique=True, max_size=10))} if fields else {}
        for key in draw(st.lists(st.sampled_from(KEYS), unique=True, max_size=2)):
            out[key] = _shaped(node.get("values", {}), draw, depth + 1)
        return out
    if kind == "array" or "items" in node:
        size = draw(st.sampled_from([0, 1, 2, node.get("maxItems", 2) + 1]))
        items = [_shaped(node.get("items", {}), draw, depth + 1) for _ in range(min(size, 3))]
        return items + items[-1:] * (size - len(items))  # past maxItems (up to 1,001) by repeating the last
    if node.get("intOrString"):
        return draw(st.one_of(st.integers(-5, 5), st.sampled_from(STRINGS)))
    if kind == "string" and draw(st.booleans()):  # at and past its bounds
        return "a" * draw(st.sampled_from([0, node.get("minLength", 1) - 1, node.get("maxLength", 0) + 1]))
    strategies = {"string": st.sampled_from(STRINGS), "integer": st.integers(-(2**33), 2**33),
                  "number": st.one_of(st.integers(-9, 9), st.floats(-1e6, 1e6, width=32)), "boolean": st.booleans()}
    return draw(strategies.get(kind, scalars))


metadata = st.fixed_dictionaries({}, optional={
    "name": st.sampled_from(STRINGS), "namespace": st.sampled_from(STRINGS), "uid": scalars,
    "labels": st.dictionaries(st.sampled_from(KEYS), scalars, max_size=3),
    "annotations": st.dictionaries(st.sampled_from(KEYS), scalars, max_size=3),
    "finalizers": st.one_of(st.lists(scalars, max_size=2), scalars), "labls": junk,
    "ownerReferences": st.lists(junk, max_size=2), "generation": scalars})


def _seen(errors: Any) -> list[tuple[Any, ...]]:
    return [(tuple(e.absolute_path), e.validator, e.validator_value, e.schema, e.instance, _message(e))
            for e in errors]


def _agree(node: dict[str, Any], doc: Any, trusted: frozenset[str] | None = None) -> list[tuple[Any, ...]]:
    ours_skipped: list[str] = []
    theirs_skipped: list[str] = []
    ours = validator_for(node, trusted, ours_skipped)
    theirs = reference_validator(node, trusted, theirs_skipped)
    found = _seen(ours.iter_errors(doc))
    assert found == _seen(theirs.iter_errors(doc)), doc
    assert ours.is_valid(doc) is theirs.is_valid(doc) is (not found)
    assert ours_skipped == theirs_skipped
    return found


def _bundled(group: str, kind: str, version: str) -> dict[str, Any]:
    return json.loads((DATA / group / f"{kind}.json").read_text(encoding="utf-8"))["versions"][version]


@settings(deadline=None, max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SHIPPED), st.data())
def test_agrees_with_jsonschema_on_every_shipped_kind(shipped: tuple[str, str, str], data: st.DataObject) -> None:
    group, kind, version = shipped
    node = _bundled(group, kind, version)
    doc = _shaped(node, data.draw)
    if isinstance(doc, dict):
        doc.update({"apiVersion": f"{group}/{version}", "kind": kind})
        doc["metadata"] = data.draw(st.one_of(metadata, junk))
    _agree(node, doc)


WRONG_TYPE = {"object": "x", "array": "x", "string": 5, "integer": "x", "number": "x", "boolean": "x"}


def _constraints(node: dict[str, Any], path: tuple[str, ...] = ()
                 ) -> Iterator[tuple[tuple[str, ...], Any, str, tuple[str, ...]]]:
    """(path, a value that breaks one constraint there, its keyword, where below the path the error is) for every
    constraint of a compact schema; a path step is a field name, `[]` (a list's item) or `{}` (a map's value)."""
    kind = node.get("type")
    if kind == "object" and not node.get("open") and "values" not in node:
        yield path, {"intervall": 1}, "additionalProperties", ("intervall",)
    for name in node.get("required", []):
        yield path, {}, "required", (name,)
    breaking = {"type": WRONG_TYPE.get(kind) if not node.get("intOrString") else None,
                "enum": "not-one-of-them" if node.get("enum") and kind == "string" else None,
                "pattern": "!! no pattern matches this !!" if "pattern" in node else None,
                "minLength": "" if node.get("minLength", 0) > 0 else None,
                "maxLength": "a" * (node["maxLength"] + 1) if "maxLength" in node else None,
                "minItems": [] if node.get("minItems", 0) > 0 else None,
                "maxItems": [None] * (node["maxItems"] + 1) if "maxItems" in node else None,
                "maximum": node["maximum"] + 1 if "maximum" in node else None}
    for keyword, value in breaking.items():
        if value is not None:
            yield path, value, keyword, ()
    for name, sub in node.get("fields", {}).items():
        if path or name != "metadata":  # Kubernetes' own (`METADATA`) stands in for the CRD's
            yield from _constraints(sub, (*path, name))
    if "items" in node:
        yield from _constraints(node["items"], (*path, "[]"))
    if "values" in node:
        yield from _constraints(node["values"], (*path, "{}"))


def _placed(path: tuple[str, ...], value: Any) -> tuple[Any, tuple[Any, ...]]:
    """An object holding `value` at `path`, and that place as an error's path."""
    for step in reversed(path):
        value = [value] if step == "[]" else {"key" if step == "{}" else step: value}
    return value, tuple(0 if step == "[]" else "key" if step == "{}" else step for step in path)


@pytest.mark.parametrize("shipped", SHIPPED, ids=["/".join(s) for s in SHIPPED])
def test_every_constraint_of_every_shipped_schema_broken_once(shipped: tuple[str, str, str]) -> None:
    """Each constraint a shipped schema holds, broken alone, is found, and reported by both validators alike."""
    node = _bundled(*shipped)
    cases = list(_constraints(node))
    assert len(cases) > 3
    for path, value, keyword, below in cases:
        doc, where = _placed(path, value)
        if isinstance(doc, dict):
            doc["metadata"] = {"name": "x"}
        found = {(e[0], e[1]) for e in _agree(node, doc)}
        assert ((*where, *below), keyword) in found, (shipped, path, keyword, found)


LOGIC_KEYS = ["a", "b", "c"]
leaf = st.fixed_dictionaries({}, optional={
    "type": st.sampled_from(["object", "array", "string", "integer", "number", "boolean"]),
    "enum": st.lists(st.one_of(scalars, st.lists(scalars, max_size=2)), min_size=1, max_size=3),
    "format": st.sampled_from(["int32", "int64", "date-time", "duration", "email"]),
    "pattern": st.sampled_from(["^[a-z]+$", "^(a+)+$", r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$", "(?<=x)", "x"]),
    "minLength": st.integers(0, 3), "maxLength": st.integers(0, 3), "minimum": st.integers(-3, 3),
    "maximum": st.floats(-3, 3), "exclusiveMinimum": st.integers(-3, 3), "exclusiveMaximum": st.integers(-3, 3),
    "multipleOf": st.sampled_from([2, 3, 0.5, 0.1, 1e-300]), "minItems": st.integers(0, 2),
    "maxItems": st.integers(0, 2), "minProperties": st.integers(0, 2), "maxProperties": st.integers(0, 2),
    "uniqueItems": st.booleans(), "intOrString": st.just(True), "open": st.just(True), "embedded": st.just(True),
})


def _extend(inner: Any) -> Any:
    return st.tuples(leaf, st.fixed_dictionaries({}, optional={
        "fields": st.dictionaries(st.sampled_from(LOGIC_KEYS), inner, max_size=3),
        "required": st.lists(st.sampled_from(LOGIC_KEYS), max_size=2), "items": inner, "values": inner,
        "anyOf": st.lists(inner, max_size=3), "oneOf": st.lists(inner, max_size=3),
        "allOf": st.lists(inner, max_size=2), "not": inner})).map(lambda pair: {**pair[0], **pair[1]})


compact_nodes = st.recursive(leaf, _extend, max_leaves=8)
any_value = st.recursive(st.one_of(scalars, st.sampled_from([1.0, 0.5, 2**70, True, False, 0])), lambda inner: st.lists(
    inner, max_size=3) | st.dictionaries(st.sampled_from([*LOGIC_KEYS, "metadata", "x"]), inner, max_size=3),
    max_leaves=8)


@settings(deadline=None, max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(compact_nodes, st.sampled_from([None, frozenset(), frozenset({"^(a+)+$"})]), st.data())
def test_agrees_with_jsonschema_on_schemas_of_any_shape(node: dict[str, Any], trusted: frozenset[str] | None,
                                                        data: st.DataObject) -> None:
    doc = data.draw(st.one_of(any_value, st.builds(lambda: _shaped(node, data.draw))))
    _agree(node, doc, trusted)


def test_agrees_on_objects_read_from_yaml() -> None:
    """Through our own reader, as CL112 sees a file: key positions kept, `${VAR}` a string, `1.0` a float."""
    text = """apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: Bad_Name, labels: {"bad key": x, ok: "${LABEL}"}}
spec:
  interval: ${INTERVAL}
  timeout: 1.0
  maxHistory: 1.0
  chart: {spec: {chart: x, verison: 1, sourceRef: {kind: Nope, name: ~}}}
  install: {remediation: {retries: "3"}}
  upgrade: {remediation: {strategy: rolback}}
  driftDetection: {mode: enabled, ignore: [{paths: [1]}]}
"""
    (doc,) = load_documents(text)
    found = _agree(_bundled("helm.toolkit.fluxcd.io", "HelmRelease", "v2"), doc.data)
    assert [(e[0], e[1]) for e in found] == [  # `maxHistory: 1.0` is an integer, as JSON Schema says
        (("metadata", "name"), "pattern"), (("metadata", "labels", "bad key"), "qualifiedKeys"),
        (("spec", "chart", "spec", "sourceRef", "name"), "required"),
        (("spec", "chart", "spec", "sourceRef", "kind"), "enum"),
        (("spec", "chart", "spec", "verison"), "additionalProperties"),
        (("spec", "driftDetection", "ignore", 0, "paths", 0), "type"),
        (("spec", "install", "remediation", "retries"), "type"), (("spec", "timeout"), "type"),
        (("spec", "upgrade", "remediation", "strategy"), "enum")]
    assert "did you mean `version`?" in found[4][5] and "did you mean `rollback`?" in found[8][5]


def test_multiple_of_infinity_and_nan() -> None:
    """Where jsonschema raised (an infinite or NaN quotient, an integer too large for a float), a value that is
    no multiple is an error and one that is, is not."""
    check = validator_for({"type": "object", "fields": {"n": {"type": "number", "multipleOf": 0.5},
                                                         "m": {"type": "number", "multipleOf": 2}}})
    for value in (float("inf"), float("-inf"), float("nan")):
        found = [(e.absolute_path, e.validator) for e in check.iter_errors({"metadata": {"name": "x"}, "n": value,
                                                                              "m": value})]
        assert found == [(("n",), "multipleOf"), (("m",), "multipleOf")]
    assert not list(check.iter_errors({"metadata": {"name": "x"}, "n": 2**80, "m": 2**80}))
    assert [e.validator for e in check.iter_errors({"metadata": {"name": "x"}, "n": 10**400 + 1,
                                                    "m": 10**400 + 1})] == ["multipleOf"]


def _keywords(schema: Any) -> set[str]:
    if isinstance(schema, list):
        return {k for item in schema for k in _keywords(item)}
    if not isinstance(schema, dict):
        return set()
    found = set(schema)
    for key, value in schema.items():
        if key == "properties":
            found |= {k for sub in value.values() for k in _keywords(sub)}
        elif key in ("items", "additionalProperties", "not", "anyOf", "oneOf", "allOf"):
            found |= _keywords(value)
    return found


def test_every_keyword_the_schemas_can_hold_is_one_the_validator_knows() -> None:
    """The validator ignores a keyword it does not know, as JSON Schema does: none that `to_jsonschema`,
    `root_schema` and the guard can write may be one (`type` and the flags aside, every compact key at once)."""
    child = {"type": "string", "pattern": "^(a+)+$"}
    node: dict[str, Any] = {"type": "object", **{key: 1 for key in COPIED}, "enum": ["a"], "format": "int32",
                            "pattern": "^a$", "uniqueItems": True, "fields": {"a": child}, "required": ["a"],
                            "values": child, "items": child, "anyOf": [child], "oneOf": [child], "allOf": [child],
                            "not": child, "intOrString": True, "embedded": True}
    written = _keywords(root_schema(node)) | _keywords(root_schema(node, frozenset(), [])) | _keywords(METADATA)
    assert written | _keywords(to_jsonschema({"type": "object"})) <= set(KEYWORDS), written - set(KEYWORDS)
    assert {"guardedPattern", "qualifiedKeys", "properties", "additionalProperties"} <= written
