"""The team rule kinds: checks a team's own rule files name, with parameters, and no Python of their own.

- `manifest-schema`: a JSON Schema for the Kubernetes documents a rule selects (docs/team-rules.md).
- `forbidden-command`: commands or actions no CI job may run, followed as CL201 follows them.
- `required-ignore`: more probe paths the committed ignore rules must cover, as CL001 judges them.

Each reuses a family's machinery, imported when a rule of its kind runs: a configuration with one team
rule imports only what that rule needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..model import Hit, Location
from . import Context, check

# -- manifest-schema -----------------------------------------------------------------------


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


@check("manifest-schema")
def manifest_schema(ctx: Context) -> Iterator[Hit]:
    """A team's JSON Schema for the Kubernetes documents it selects by apiVersion, kind and path glob."""
    import fnmatch
    from pathlib import Path

    from ..globs import match_any
    from ..teamschema import read_beside, validator_for
    from .flux_common import dig

    params = ctx.params
    schema = params.get("schema")
    if not isinstance(schema, dict):
        raise ValueError(f"{ctx.rule.id}: params.schema must be a JSON Schema mapping")
    apis, kinds, globs = _as_list(params.get("apiVersion")), _as_list(params.get("kind")), _as_list(params.get("path"))
    folder = Path(ctx.rule.source).parent
    # Offline ($ref only to files beside the rule, read through the repository) and RE2 patterns.
    validator = validator_for(schema, lambda rel: read_beside(folder, rel, ctx.repo))
    for path in ctx.files:
        if not path.endswith((".yaml", ".yml")) or (globs and not match_any(path, globs)):
            continue
        for doc in ctx.repo.yaml(path) or []:
            data = doc.data
            if not isinstance(data, dict):
                continue
            api, kind = str(data.get("apiVersion", "")), str(data.get("kind", ""))
            if apis and not any(fnmatch.fnmatchcase(api, a) for a in apis):
                continue
            if kinds and kind not in kinds:
                continue
            name = dig(data, "metadata", "name") or "?"
            for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
                field, line = _where(data, list(error.absolute_path), doc.line)
                if error.validator == "required":
                    missing = [r for r in error.validator_value if isinstance(error.instance, dict)
                               and r not in error.instance]
                    field = ".".join([*map(str, error.absolute_path), missing[0]]) if missing else field
                yield Hit(f"{kind} `{name}`: `{field or '(document)'}` {_describe(error)}", Location(path, line),
                          key=f"{ctx.rule.id}:{kind}/{name}:{field}:{error.validator}")


def _where(data: Any, keys: list[Any], default: int) -> tuple[str, int]:
    node, line = data, getattr(data, "line", default)
    for key in keys:
        if isinstance(node, dict) and key in node:
            line = node.key_line(key) if hasattr(node, "key_line") else line
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            line = node.line_of(key) if hasattr(node, "line_of") else line
            node = node[key]
        else:
            break
    return ".".join(str(k) for k in keys), line


def _describe(error: Any) -> str:
    """The failed constraint in words, from the schema only: never the document's value (it may be a secret)."""
    kind, want = error.validator, error.validator_value
    if kind == "required":
        return "is required"
    if kind == "type":
        return f"must be of type {want}"
    if kind == "enum":
        return f"must be one of {', '.join(map(str, want))}"
    if kind == "const":
        return f"must be {want}"
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength",
                "minItems", "maxItems", "minProperties", "maxProperties", "multipleOf"):
        return f"fails {kind} {want}"
    if kind == "pattern":
        return f"must match the pattern `{want}`"
    if kind == "additionalProperties":
        return "has properties the schema does not allow"
    return f"fails the schema's `{kind}`"


# -- forbidden-command ---------------------------------------------------------------------


@check("forbidden-command")
def forbidden_command(ctx: Context) -> Iterator[Hit]:
    """A team's own commands that no CI job may run, with the CL201 machinery."""
    from .pipeline import _specs, forbidden_hits

    reason = ctx.params.get("reason")
    yield from forbidden_hits(ctx, _specs(ctx.params.get("commands")), list(ctx.params.get("actions") or []),
                              f" ({reason})" if reason else "")


# -- required-ignore -----------------------------------------------------------------------


@check("required-ignore")
def required_ignore(ctx: Context) -> Iterator[Hit]:
    """More probe paths that the committed ignore rules must cover (the CL001 machinery, the team's probes)."""
    from .hygiene import coverage_hits

    probes = [str(p) for p in ctx.params.get("probes", [])]
    yield from coverage_hits(ctx, probes, [str(p) for p in ctx.params.get("must_commit", [])])
