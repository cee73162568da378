"""`.cloudlab-lint.yaml`: read, validated against a JSON Schema, turned into a Config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .record import factory, record
from .schemacheck import SchemaError, validate

CONFIG_NAME = ".cloudlab-lint.yaml"

# The schema users' editors read too (`# yaml-language-server: $schema=...`); its $id is written by the generator.
SCHEMA_FILE = Path(__file__).resolve().parent / "config.schema.json"
SCHEMA: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


class ConfigError(RuntimeError):
    pass


@record
class Config:
    gitops_root: str = "kubernetes"
    clusters: tuple[str, ...] | None = None  # None: found automatically
    chain: tuple[str, ...] = ("flux-system", "infrastructure", "apps")
    chain_set: bool = False  # flux.chain written in the config (then judged in every cluster)
    layout: dict[str, str] = factory(lambda: {"infrastructure": "infrastructure", "apps": "apps"})
    exclude: tuple[str, ...] = ()
    ignore: dict[str, tuple[str, ...]] = factory(dict)  # glob -> rule ids or names not reported under it
    baseline: Path | None = None
    rules: dict[str, dict[str, Any]] = factory(dict)
    rule_dirs: tuple[Path, ...] = ()
    max_file_size: int = 5 * 1024 * 1024
    source: str | None = None


def _where(error: SchemaError) -> str:
    path = ".".join(str(p) for p in error.path)
    if error.keyword == "additionalProperties":
        return f"{path}: unknown key"
    if len(error.path) == 2 and error.path[0] == "rules" and error.keyword in ("pattern", "type") \
            and error.instance == error.path[1]:
        return f"{path}: not a rule id or name"
    return f"{path or '(top level)'}: {error.message}"


def load_config(path: Path, root: Path, data_bytes: bytes | None = None) -> Config:
    """The config at `path`, or from `data_bytes` when given (a commit hook reads the staged config)."""
    shown = path.name if path.parent == root else str(path)
    try:
        text = (path.read_bytes() if data_bytes is None else data_bytes).decode("utf-8")
    except OSError as exc:
        raise ConfigError(f"{shown}: cannot read config: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{shown}: config is not valid UTF-8") from None
    from .parsing import ParseError
    from .parsing.yamlx import load_documents

    try:
        docs = load_documents(text)
    except ParseError as exc:
        raise ConfigError(f"{shown}:{exc.line}: {exc.message}") from None
    data = docs[0].data if docs else {}
    if data is None:
        data = {}
    errors = validate(data, SCHEMA)
    if errors:
        raise ConfigError(f"{shown}: {_where(errors[0])}")
    flux = data.get("flux", {})
    layout = {"infrastructure": "infrastructure", "apps": "apps", **flux.get("layout", {})}
    default = Config()  # a record's defaults are not class attributes (its fields are slots)
    return Config(
        gitops_root=data.get("gitops_root", "kubernetes").strip("/") or ".",
        clusters=tuple(c.strip("/") for c in flux["clusters"]) if "clusters" in flux else None,
        chain=tuple(flux.get("chain", default.chain)),
        chain_set="chain" in flux,
        layout=layout,
        exclude=tuple(data.get("exclude", ())),
        ignore={glob: tuple(rules) for glob, rules in data.get("ignore", {}).items()},
        baseline=(root / data["baseline"]) if "baseline" in data else None,
        rules={k: dict(v) for k, v in data.get("rules", {}).items()},
        rule_dirs=tuple((root / d).resolve() for d in data.get("rule_dirs", ())),
        max_file_size=data.get("max_file_size", default.max_file_size),
        source=shown,
    )
