"""CRD schemas in our own compact form, and from that form the JSON Schema CL112 validates with.

A CustomResourceDefinition's `openAPIV3Schema` is mostly prose (descriptions) around a few facts: field
names, types, required fields, enums, formats, patterns, bounds, and where unknown fields are kept
(`x-kubernetes-preserve-unknown-fields`). `compact_crd` keeps those facts and nothing else, in keys of
our own (below); the data shipped in `cloudlab_lint/data/flux-crds/` is this form of the current Flux
and flux-operator CRDs (`python -m cloudlab_lint.fluxschemagen`), and a repository's own
`gotk-components.yaml` CRDs go through the same function at run time.

The compact node (every key optional):
  type        object | array | string | integer | number | boolean (absent: any value)
  fields      {name: node}              the object's known fields
  required    [name, ...]
  values      node                      the value of every key of a map (`additionalProperties`)
  open        true                      unknown fields are kept (`x-kubernetes-preserve-unknown-fields`)
  embedded    true                      an embedded object (`x-kubernetes-embedded-resource`)
  intOrString true                      an integer or a string (`x-kubernetes-int-or-string`)
  items       node                      every item of a list
  enum, format, pattern, minLength, maxLength, minimum, maximum, exclusiveMinimum, exclusiveMaximum,
  multipleOf, minItems, maxItems, minProperties, maxProperties, uniqueItems   as in OpenAPI
  anyOf, oneOf, allOf: [node, ...], not: node                                  value validations

Pure functions of their input: no I/O, no jsonschema import.
"""

from __future__ import annotations

from typing import Any

TYPES = frozenset({"object", "array", "string", "integer", "number", "boolean"})
COPIED = ("enum", "format", "pattern", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum",
          "exclusiveMaximum", "multipleOf", "minItems", "maxItems", "minProperties", "maxProperties", "uniqueItems")
FLAGS = {"x-kubernetes-preserve-unknown-fields": "open", "x-kubernetes-embedded-resource": "embedded",
         "x-kubernetes-int-or-string": "intOrString"}
LOGIC = ("anyOf", "oneOf", "allOf")
MAX_DEPTH = 64  # CRD schemas are a dozen levels deep; a hostile one is refused, not recursed into


class CRDError(ValueError):
    """A CRD whose schema cannot be read (not a mapping, too deep); the reason, never the content."""


def served_versions(crd: Any) -> dict[str, Any]:
    """The openAPIV3Schema of each version an `apiextensions.k8s.io/v1` CRD serves."""
    spec = crd.get("spec") if isinstance(crd, dict) else None
    versions = spec.get("versions") if isinstance(spec, dict) else None
    out: dict[str, Any] = {}
    for version in versions if isinstance(versions, list) else []:
        if not isinstance(version, dict) or version.get("served") is False or not isinstance(version.get("name"), str):
            continue
        schema = version.get("schema")
        schema = schema.get("openAPIV3Schema") if isinstance(schema, dict) else None
        if isinstance(schema, dict):
            out[version["name"]] = schema
    return out


def crd_identity(crd: Any) -> tuple[str, str] | None:
    """(group, kind) of a CustomResourceDefinition document, or None when it is not one."""
    if not isinstance(crd, dict) or crd.get("kind") != "CustomResourceDefinition":
        return None
    if crd.get("apiVersion") != "apiextensions.k8s.io/v1":
        return None  # v1beta1 CRDs (Kubernetes < 1.16) keep their schema elsewhere: not read
    spec = crd.get("spec")
    names = spec.get("names") if isinstance(spec, dict) else None
    group = spec.get("group") if isinstance(spec, dict) else None
    kind = names.get("kind") if isinstance(names, dict) else None
    if isinstance(group, str) and isinstance(kind, str):
        return group, kind
    return None


def compact_crd(crd: Any) -> dict[str, Any]:
    """{version: compact node} for every version the CRD serves; `status` is left out (no one writes it)."""
    out = {}
    for version, schema in served_versions(crd).items():
        node = compact(schema)
        fields = node.get("fields")
        if isinstance(fields, dict) and "status" in fields:
            fields["status"] = {}
        out[version] = node
    return out


def compact(schema: Any, depth: int = 0) -> dict[str, Any]:
    """The compact node of one OpenAPI v3 schema node."""
    if depth > MAX_DEPTH:
        raise CRDError(f"schema nested deeper than {MAX_DEPTH} levels")
    if not isinstance(schema, dict):
        raise CRDError("a schema node is not a mapping")
    node: dict[str, Any] = {}
    kind = schema.get("type")
    if kind in TYPES:
        node["type"] = kind
    for key, flag in FLAGS.items():
        if schema.get(key) is True:
            node[flag] = True
    for key in COPIED:
        if key in schema and _well_formed(key, schema[key]):
            node[key] = schema[key]
    props = schema.get("properties")
    if isinstance(props, dict):
        node["fields"] = {str(name): compact(sub, depth + 1) for name, sub in props.items()}
    required = schema.get("required")
    if isinstance(required, list):
        node["required"] = [str(r) for r in required]
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        node["values"] = compact(extra, depth + 1)
    elif extra is True:
        node["values"] = {}
    items = schema.get("items")
    if isinstance(items, dict):
        node["items"] = compact(items, depth + 1)
    for key in LOGIC:
        if isinstance(schema.get(key), list):
            node[key] = [compact(sub, depth + 1) for sub in schema[key]]
    plain = ({"type": "integer"}, {"type": "string"})
    if node.get("intOrString") and all(sub in plain for sub in node.get("anyOf", [])):
        node.pop("anyOf", None)  # what controller-gen writes beside the flag: the same constraint again
    if isinstance(schema.get("not"), dict):
        node["not"] = compact(schema["not"], depth + 1)
    return node


def _well_formed(key: str, value: Any) -> bool:
    """Whether a copied keyword's value has the form OpenAPI gives it (a hostile CRD's other forms are dropped:
    they would make the validator fail, not judge)."""
    if key == "enum":
        return isinstance(value, list)
    if key in ("format", "pattern"):
        return isinstance(value, str)
    if key == "uniqueItems":
        return isinstance(value, bool)
    if not isinstance(value, int | float) or isinstance(value, bool) or value != value:  # NaN
        return False
    return value > 0 if key == "multipleOf" else True


# -- compact -> JSON Schema ------------------------------------------------------------------

EMBEDDED_FIELDS = ("apiVersion", "kind", "metadata")


def to_jsonschema(node: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    """The JSON Schema of a compact node, as the API server judges an object: a field no schema names is
    unknown (structural schemas prune it) unless the node keeps unknown fields."""
    if depth > MAX_DEPTH:
        raise CRDError(f"schema nested deeper than {MAX_DEPTH} levels")
    out: dict[str, Any] = {}
    if node.get("intOrString"):
        out["type"] = ["integer", "string"]
    elif "type" in node:
        out["type"] = node["type"]
    for key in COPIED:
        if key in node:
            out[key] = node[key]
    if "items" in node:
        out["items"] = to_jsonschema(node["items"], depth + 1)
    for key in LOGIC:
        if key in node:
            out[key] = [to_jsonschema(sub, depth + 1) for sub in node[key]]
    if "not" in node:
        out["not"] = to_jsonschema(node["not"], depth + 1)
    if node.get("required"):
        out["required"] = list(node["required"])
    fields = node.get("fields")
    if fields:
        out["properties"] = {name: to_jsonschema(sub, depth + 1) for name, sub in fields.items()}
    if "values" in node:
        out["additionalProperties"] = to_jsonschema(node["values"], depth + 1)
    elif node.get("type") == "object" and not node.get("open"):
        if node.get("embedded"):
            props = out.setdefault("properties", {})
            for name in EMBEDDED_FIELDS:
                props.setdefault(name, {})
        out["additionalProperties"] = False
    return out
