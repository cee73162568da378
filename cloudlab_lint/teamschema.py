"""A team rule's JSON Schema (`manifest-schema`), made safe to run on a stranger's pull request.

- Offline: a `$ref` resolves only inside the schema itself (`#/$defs/x`) or to a file beside the rule (`x.json`,
  `schemas/x.yaml#/y`), read through the repository like every other file. jsonschema would otherwise fetch
  `https://...` (with no timeout: a silent server hangs the run) or `file:///dev/zero`, and the README promises
  offline. A `$ref` anywhere else is a configuration error (exit 2, one line) when the rule is loaded.
- Linear: `pattern` and `patternProperties` run with RE2, as every regex from the repository does; one RE2
  cannot run is a configuration error too.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REF_KEYS = ("$ref", "$dynamicRef", "$recursiveRef")


def _walk(node: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    if depth > 200:
        raise ValueError("the schema is nested deeper than 200 levels")
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value, depth + 1)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value, depth + 1)


def local_path(ref: str) -> str | None:
    """The file a `$ref` names relative to the rule's folder ("" for a reference inside the schema itself);
    None when it points anywhere else (a URL, an absolute path, out through `..`)."""
    parts = urlsplit(ref)
    if parts.scheme or parts.netloc or "\\" in parts.path or "\0" in ref:
        return None
    if not parts.path:
        return ""
    path = posixpath.normpath(parts.path)
    if parts.path.startswith("/") or path == ".." or path.startswith("../"):
        return None
    return path


def problem(schema: Any, folder: Path | None = None) -> str | None:
    """Why this schema cannot be run offline and in linear time, or None (`folder`: the rule's, where the files
    it references must be)."""
    from .stack.goregex import GoRegexError, compile_re2

    try:
        nodes = list(_walk(schema))
    except ValueError as exc:
        return str(exc)
    absolute_id = any(isinstance(n.get(k), str) and urlsplit(n[k]).scheme for n in nodes for k in ("$id", "id"))
    for node in nodes:
        for key in REF_KEYS:
            ref = node.get(key)
            if not isinstance(ref, str):
                continue
            path = local_path(ref)
            if path is None:
                return f"`{key}: {ref}` points outside the rule's folder (team rules are offline: only `#...` " \
                       "and files beside the rule)"
            if path and absolute_id:
                return f"`{key}: {ref}` would resolve against the schema's absolute `$id`, not the rule's folder"
            if path and folder is not None and not _inside(folder, path):
                return f"`{key}: {ref}`: no such file beside the rule (or it leads out of the rule's folder)"
        patterns = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
        if isinstance(node.get("patternProperties"), dict):
            patterns += [p for p in node["patternProperties"] if isinstance(p, str)]
        for pattern in patterns:
            try:
                compile_re2(pattern)
            except GoRegexError as exc:
                return f"pattern `{pattern}` is not a regular expression RE2 can run ({exc})"
    return None


def _inside(folder: Path, path: str) -> bool:
    target = os.path.realpath(folder / path)
    return os.path.isfile(target) and Path(target).is_relative_to(os.path.realpath(folder))


def read_beside(folder: Path, path: str, repo: Any) -> Any:
    """The parsed JSON or YAML file `path` beside a rule in `folder`: through the repository when the folder is
    in it; None when absent, unreadable or outside the folder."""
    if not _inside(folder, path):
        return None
    target = Path(os.path.realpath(folder / path))
    try:
        rel = target.relative_to(repo.real_root).as_posix()
    except ValueError:  # a rule folder given with --config, outside the repository
        text = target.read_text(encoding="utf-8", errors="replace") if target.stat().st_size < 4 << 20 else None
    else:
        text = repo.read_text(rel, strict=False)
    if text is None:
        return None
    import yaml

    try:
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # JSON is YAML
    except yaml.YAMLError:
        return None


def validator_for(schema: dict[str, Any], read: Callable[[str], Any]) -> Any:
    """A jsonschema validator for `schema`: `$ref` files come from `read(relative path)` (None when absent),
    nothing from the network; patterns run with RE2."""
    import jsonschema
    import referencing
    import referencing.exceptions
    import referencing.jsonschema

    base = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    base.check_schema(schema)

    def retrieve(uri: str) -> referencing.Resource:
        path = local_path(uri)
        contents = read(path) if path else None
        if contents is None:
            raise referencing.exceptions.NoSuchResource(ref=uri)
        return referencing.Resource.from_contents(contents, default_specification=referencing.jsonschema.DRAFT202012)

    registry: Any = referencing.Registry(retrieve=retrieve)  # type: ignore[call-arg]
    cls = jsonschema.validators.extend(base, {"pattern": _pattern, "patternProperties": _pattern_properties,
                                              "additionalProperties": _additional_properties})
    return cls(schema, registry=registry)


def _search(pattern: str, text: str) -> bool:
    from .stack.goregex import compile_re2

    return compile_re2(pattern).search(text)


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[Any]:
    from jsonschema import ValidationError

    if validator.is_type(instance, "string") and not _search(pattern, instance):
        yield ValidationError(f"does not match {pattern!r}")


def _pattern_properties(validator: Any, properties: dict[str, Any], instance: Any, schema: Any) -> Iterator[Any]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in properties.items():
        for key, value in instance.items():
            if _search(pattern, str(key)):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(validator: Any, extra: Any, instance: Any, schema: Any) -> Iterator[Any]:
    from jsonschema import ValidationError

    if not validator.is_type(instance, "object"):
        return
    known = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    extras = [k for k in instance if k not in known and not any(_search(p, str(k)) for p in patterns)]
    if validator.is_type(extra, "object"):
        for key in extras:
            yield from validator.descend(instance[key], extra, path=key)
    elif extra is False and extras:
        yield ValidationError(f"{len(extras)} propert{'y is' if len(extras) == 1 else 'ies are'} not allowed")
