"""Load rule files: the built-in `rules/` (shipped in the wheel) and a team's rule dirs."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .model import Help, Rule, Scope, Severity, scope_from_data
from .record import record, replace


class CatalogError(RuntimeError):
    pass


def builtin_rules_dir() -> Path:
    """`cloudlab_lint/rules` in an installed wheel; the top-level `rules/` in a source checkout."""
    # The package is always a plain folder (wheel or checkout); importlib.resources would cost ~10 ms a run.
    packaged = Path(__file__).resolve().parent / "rules"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "rules"


def schema_path() -> Path:
    return builtin_rules_dir() / "schema" / "rule.schema.json"


@record
class Catalog:
    rules: tuple[Rule, ...]

    def get(self, rule_id: str) -> Rule | None:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        return None

    def by_id(self) -> dict[str, Rule]:
        return {r.id: r for r in self.rules}

    def resolve(self, wanted: str) -> Rule | None:
        """A rule by its id or its name: both are public, users write either (as in inline suppressions)."""
        for rule in self.rules:
            if wanted in (rule.id, rule.name):
                return rule
        return None


def _load_yaml(path: Path, text: str | None = None) -> Any:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(path.read_text(encoding="utf-8") if text is None else text, Loader=loader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise CatalogError(f"{path}: cannot read rule file: {str(exc).splitlines()[0]}") from None


def rule_from_data(data: Mapping[str, Any], source: str, *, builtin: bool) -> Rule:
    help_ = data["help"]
    tags = tuple(data.get("tags", ()))
    return Rule(
        id=data["id"], name=data["name"], severity=Severity(data["severity"]),
        short=data["short"].strip(), full=" ".join(data["full"].split()),
        help=Help(help_["why"].strip(), help_["fix"].strip(), help_.get("example", "").rstrip()),
        check=data["check"], hook=data.get("hook", "cloudlab-lint"), tags=tags,
        params=dict(data.get("params") or {}), security_severity=data.get("security_severity"),
        precision=data.get("precision", "high"), requires=data.get("requires"),
        fixable=bool(data.get("fixable", False)), source=source, builtin=builtin,
        scope=scope_from_data(data.get("scope") or {}),
    )


def validate_rule_data(data: Any, path: Path) -> None:
    """Validate one rule file against rules/schema/rule.schema.json (imports jsonschema)."""
    import jsonschema

    schema = json.loads(schema_path().read_text(encoding="utf-8"))
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(data))
    if error is not None:
        where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
        raise CatalogError(f"{path}: {where}: {error.message}")


# A team rule that declares no scope takes its kind's: its own, or that of the built-in rule reading the same model.
KIND_SCOPE: dict[str, str | dict[str, Any]] = {
    "manifest-schema": {"judges": "files", "uses": ["manifests"]}, "required-ignore": "CL001",
    "forbidden-command": "CL201"}


def _kind_scope(check: str, builtin: Mapping[str, Rule]) -> Scope:
    like = KIND_SCOPE[check]
    if isinstance(like, dict):
        return scope_from_data(like)
    return builtin[like].scope if like in builtin else Scope()

MAX_KEPT = 4 << 20  # rules.json is ~100 KB: a bigger one is not ours


# The built-in rules' data as JSON, shipped with the package (`python -m cloudlab_lint.gen` writes it): a run
# without a kept copy (`--all`, `--no-cache`, CI) reads one JSON file instead of parsing every rule's YAML, as
# long as it is keyed by the rule files' content (else they are parsed, as before).
SHIPPED = Path(__file__).resolve().parent / "data" / "rules.json"


def shipped_rules_json() -> str:
    """What `SHIPPED` must hold: the content key of the built-in rule files and their parsed data."""
    files = list(_rule_files(builtin_rules_dir()))
    texts = [path.read_bytes() for path in files]
    data = [_load_yaml(path) for path in files]
    text = json.dumps({"key": _content_key(files, texts), "data": data}, ensure_ascii=False)
    if json.loads(text)["data"] != data:  # only what JSON keeps exactly may stand for the YAML
        raise CatalogError("rules/: a rule's data does not survive JSON; it cannot be shipped as rules.json")
    return text + "\n"


def _builtin_data(cache: Path | None, write: bool) -> list[tuple[Path, Any]]:
    files = list(_rule_files(builtin_rules_dir()))
    texts = [path.read_bytes() for path in files]
    key = _content_key(files, texts)
    if cache is None:
        try:
            raw: bytes | None = SHIPPED.read_bytes()
        except OSError:
            raw = None
        shipped = _valid_data(raw, key, files) if raw is not None else None
        if shipped is not None:
            return list(zip(files, shipped, strict=True))
        return [(path, _load_yaml(path)) for path in files]
    kept = _kept_data(cache, key, files)
    if kept is not None:
        return list(zip(files, kept, strict=True))
    data = [_load_yaml(path, text.decode("utf-8", "replace")) for path, text in zip(files, texts, strict=True)]
    if write:
        try:
            text = json.dumps({"key": key, "data": data})
            if json.loads(text)["data"] == data:  # only what JSON keeps exactly
                from .runner.keptfile import write_kept

                write_kept(cache, text)
        except (TypeError, ValueError):
            pass
    return list(zip(files, data, strict=True))


def _content_key(files: list[Path], texts: list[bytes]) -> str:
    """What the kept parse was built from: this version and every rule file's name and bytes (not their stat,
    which a copy or a checkout can keep while the content changes)."""
    try:  # BLAKE2 without hashlib, whose import loads OpenSSL (a few ms of a hook run)
        from _blake2 import blake2b
    except ImportError:
        from hashlib import blake2b
    from . import __version__

    h = blake2b(digest_size=16)
    h.update(__version__.encode() + b"\0")
    for path, text in zip(files, texts, strict=True):
        h.update(path.name.encode("utf-8", "surrogateescape") + b"\0" + len(text).to_bytes(8, "big") + text)
    return h.hexdigest()


def _kept_data(cache: Path, key: str, files: list[Path]) -> list[Any] | None:
    """The kept rule data when it is keyed by these files' content and every entry is a rule of the right file;
    None when absent, stale or damaged in any way (then parsed again and replaced)."""
    from .runner.keptfile import read_kept

    raw = read_kept(cache, MAX_KEPT)
    return _valid_data(raw, key, files) if raw is not None else None


def _valid_data(raw: bytes, key: str, files: list[Path]) -> list[Any] | None:
    """The rule data of a kept or shipped JSON file, when it is keyed by `key` and every entry is a rule of the
    right file; else None."""
    if len(raw) > MAX_KEPT:
        return None
    try:
        kept = json.loads(raw.decode("utf-8"))
        if not (isinstance(kept, dict) and kept.get("key") == key and isinstance(kept.get("data"), list)
                and len(kept["data"]) == len(files)):
            return None
        if not all(_entry_ok(data, path.stem) for path, data in zip(files, kept["data"], strict=True)):
            return None
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return None  # truncated, of another shape, or not ours
    return kept["data"]


_TEXT = ("id", "name", "short", "full", "check")
_OPTIONAL = {"hook": str, "precision": str, "security_severity": str, "fixable": bool, "params": dict, "tags": list,
             "scope": dict}


def _entry_ok(data: Any, stem: str) -> bool:
    """Whether a kept entry is what `rule_from_data` takes, for the rule file named `stem` (`CL005-no-...`)."""
    if not (isinstance(data, dict) and all(isinstance(data.get(k), str) for k in _TEXT)):
        return False
    help_ = data.get("help")
    return (stem == f"{data['id']}-{data['name']}" and data.get("severity") in ("error", "warning", "note")
            and isinstance(help_, dict) and isinstance(help_.get("why"), str) and isinstance(help_.get("fix"), str)
            and isinstance(help_.get("example", ""), str) and data.get("requires") in (None, "history", "github")
            and all(data.get(k) is None or isinstance(data[k], t) for k, t in _OPTIONAL.items())
            and all(isinstance(t, str) for t in data.get("tags") or ())
            and _scope_ok(data.get("scope")))


def _scope_ok(scope: Any) -> bool:
    if scope is None:
        return True
    lists = ("rejudge_all", "triggers", "uses")
    return (scope.get("judges") in ("files", "tree") and isinstance(scope.get("untracked", False), bool)
            and isinstance(scope.get("prefilter", ""), str)
            and all(isinstance(scope.get(k, []), list) and all(isinstance(x, str) for x in scope.get(k, []))
                    for k in lists) and set(scope) <= {"judges", "untracked", "prefilter", *lists})


def _rule_files(folder: Path) -> Iterable[Path]:
    return sorted(p for p in folder.glob("*.y*ml") if p.is_file())


def load_catalog(rule_dirs: Iterable[Path] = (), *, validate_builtin: bool = False,
                 cache: Path | None = None, write_cache: bool = False) -> Catalog:
    """The built-in rules plus the team's rules (always schema-validated) from `rule_dirs`.

    `cache`: a file holding the built-in rules' data as JSON, used while the rule files are unchanged
    (`write_cache`: written when it is not), so a commit hook need not parse 26 YAML files, nor import
    PyYAML when nothing else needs it."""
    rules: dict[str, Rule] = {}
    for path, data in _builtin_data(None if validate_builtin else cache, write_cache):
        if validate_builtin:
            validate_rule_data(data, path)
        rule = rule_from_data(data, f"rules/{path.name}", builtin=True)
        rules[rule.id] = rule
    for folder in rule_dirs:
        if not folder.is_dir():
            raise CatalogError(f"{folder}: rule_dirs entry is not a folder")
        for path in _rule_files(folder):
            data = _load_yaml(path)
            validate_rule_data(data, path)
            if data.get("check") == "manifest-schema":  # offline, linear: checked before anything runs it
                from .teamschema import problem

                why = problem((data.get("params") or {}).get("schema"), path.parent)
                if why:
                    raise CatalogError(f"{path}: params.schema: {why}")
            rule = rule_from_data(data, str(path), builtin=False)
            if "scope" not in data and data["check"] in KIND_SCOPE:
                rule = replace(rule, scope=_kind_scope(data["check"], rules))
            if rule.id in rules:
                raise CatalogError(f"{path}: rule id {rule.id} is already used by {rules[rule.id].source}")
            rules[rule.id] = rule
    return Catalog(tuple(sorted(rules.values(), key=lambda r: r.id)))


def _kind(value: Any) -> str | None:
    """The JSON type of a parameter value (None: the default says nothing)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    for kind, name in ((str, "string"), (list, "list"), (dict, "mapping")):
        if isinstance(value, kind):
            return name
    return type(value).__name__


# Parameters that are regular expressions: run with RE2 (linear time), so a config must hold RE2 syntax.
REGEX_PARAMS = frozenset({"pin_pattern", "phase_pattern", "decisions_column"})


def _check_regex(value: Any, where: str) -> None:
    from .stack.goregex import GoRegexError, compile_re2

    try:
        compile_re2(str(value))
    except GoRegexError as exc:
        raise CatalogError(f"{where}: not a regular expression RE2 can run ({exc}); look-arounds and "
                           "back-references are not supported") from None


def with_overrides(catalog: Catalog, overrides: Mapping[str, Mapping[str, Any]], where: str) -> Catalog:
    """Apply the config's `rules:` section (enabled, severity, params) by rule id or name."""
    out = catalog.by_id()
    for written, change in overrides.items():
        rule = catalog.resolve(written)
        if rule is None:
            raise CatalogError(f"{where}: rules.{written}: unknown rule id or name")
        rule_id = written
        params = dict(rule.params)
        for key, value in (change.get("params") or {}).items():
            if key not in params:
                known = ", ".join(sorted(params)) or "none"
                raise CatalogError(f"{where}: rules.{rule_id}.params.{key}: unknown parameter (known: {known})")
            expected = _kind(params[key])
            if expected and _kind(value) != expected and not (expected == "number" and _kind(value) == "integer"):
                raise CatalogError(f"{where}: rules.{rule_id}.params.{key}: expected {expected}, got {_kind(value)}")
            if key in REGEX_PARAMS:
                _check_regex(value, f"{where}: rules.{rule_id}.params.{key}")
            params[key] = value
        out[rule.id] = replace(
            rule, params=params, enabled=change.get("enabled", rule.enabled),
            severity=Severity(change["severity"]) if "severity" in change else rule.severity,
        )
    return Catalog(tuple(sorted(out.values(), key=lambda r: r.id)))


def check_ignores(catalog: Catalog, ignore: Mapping[str, Iterable[str]], where: str) -> None:
    """Every rule the config's per-path `ignore` names exists (a typo would silently ignore nothing)."""
    for glob, names in ignore.items():
        for name in names:
            if catalog.resolve(name) is None:
                raise CatalogError(f"{where}: ignore.{glob}: unknown rule id or name {name!r}")
