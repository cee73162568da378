"""SOPS: detection by content, `.sops.yaml` as SOPS reads it, and which files must be SOPS files.

The file model is beside it: `file.py` (loading, what SOPS would encrypt), `document.py` (leaves and
metadata) and `formats.py` (SOPS' reading of each format; the text is parsed in `parsing/`).
Facts relied on (spec/facts.md a7): creation rules are tried in order and the
first match wins; a rule without `path_regex` matches every path; `path_regex`
is an unanchored Go RE2 search on the path relative to the config's folder;
key sources are comma-separated strings or lists; `key_groups`, when non-empty,
replace the rule's own keys; unknown keys are ignored (non-strict YAML).
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Container
from typing import TYPE_CHECKING, Any

from ...record import record
from ...views import SOPS_CONFIG
from ..goregex import GoRegexError, compile_go
from ..refs import is_public_key_name, is_template_name

if TYPE_CHECKING:
    from ...repo import Repo

# Markers of the metadata SOPS writes: YAML `sops:` block, JSON/binary `"sops": {`, INI `[sops]`, dotenv `sops_`.
_SOPS_MARKER = r'(?m)^sops:\s*$|"sops"\s*:\s*\{|^\[sops\]\s*$|^sops_(?:mac|version|lastmodified)='

CONFIG_NAME = ".sops.yaml"
RULE_KEYS = ("unencrypted_suffix", "encrypted_suffix", "unencrypted_regex", "encrypted_regex",
             "unencrypted_comment_regex", "encrypted_comment_regex")
NAME_PATTERNS = ("*.sops.*",)
SECRET_FIELDS = ("data", "stringData")


@functools.cache
def _re(pattern: str) -> re.Pattern[str]:
    """Compiled on first use: every run imports this module (CL002), few need all its patterns."""
    return re.compile(pattern)


Recipient = tuple[str, str]  # (kind, id) in the normal form shared by config and file metadata


def is_sops_text(text: str) -> bool:
    """Whether the text carries SOPS metadata (any format SOPS writes)."""
    # Every marker spells `sops`: two substring tests (C speed) settle nearly every file before the
    # multiline regex, which is the slow part (called several times per file by several rules).
    return "sops" in text and ("ENC[AES256_GCM" in text or "lastmodified" in text) \
        and bool(_re(_SOPS_MARKER).search(text))


# -- recipients in one normal form -----------------------------------------------------------


def norm_pgp(fp: str) -> str:
    return "".join(str(fp).split()).upper()


def norm_kms(arn: str) -> str:
    return str(arn).strip().split("+", 1)[0]  # config form `arn+role`: the role is not the key


def azure_id(vault_url: str, name: str, version: str) -> str:
    return f"{str(vault_url).strip().rstrip('/')}/keys/{name}/{version}".rstrip("/")


def vault_id(address: str, engine: str, key: str) -> str:
    return f"{str(address).strip().rstrip('/')}/v1/{str(engine).strip('/')}/keys/{key}"


def _split(value: Any) -> list[str]:
    """A key source: comma-separated string or list; empty items skipped (as SOPS does)."""
    if value is None:
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    return [str(i).strip() for i in items if i is not None and str(i).strip()]


# -- .sops.yaml --------------------------------------------------------------------------------


@record
class CreationRule:
    index: int  # 0-based position in creation_rules
    line: int
    path_regex: str | None
    regex_error: str | None  # why path_regex is not valid RE2 (SOPS fails when it reaches the rule)
    recipients: frozenset[Recipient]
    age: tuple[tuple[str, int], ...]  # every age entry with its line (validated by CL004)
    conflicting: tuple[str, ...]  # more than one of RULE_KEYS set: SOPS refuses to use the rule

    def matches(self, path: str) -> bool:
        if self.path_regex is None:
            return True
        if self.regex_error is not None:
            return False
        return bool(compile_go(self.path_regex).search(path))


@record
class SopsConfig:
    rules: tuple[CreationRule, ...]
    path: str = CONFIG_NAME  # repository-relative

    def match(self, path: str) -> CreationRule | None:
        """The rule SOPS would use for `path` (relative to the config's folder): first match wins."""
        for rule in self.rules:
            if rule.matches(path):
                return rule
        return None


def _recipients(source: Any, *, group: bool = False) -> tuple[set[Recipient], list[tuple[str, int]]]:
    """Recipients named by a rule or a key group (`group`: the key-group spelling of kms/azure/gcp/vault)."""
    out: set[Recipient] = set()
    ages: list[tuple[str, int]] = []
    if not isinstance(source, dict):
        return out, ages

    def line(key: str) -> int:
        return source.line_of(key) if hasattr(source, "line_of") else 1

    for key in _split(source.get("age")):
        out.add(("age", key))
        ages.append((key, line("age")))
    for fp in _split(source.get("pgp")):
        out.add(("pgp", norm_pgp(fp)))
    for item in source.get("kms") or [] if group else _split(source.get("kms")):
        arn = item.get("arn") if isinstance(item, dict) else item
        if arn:
            out.add(("kms", norm_kms(arn)))
    for item in source.get("gcp_kms") or [] if group else _split(source.get("gcp_kms")):
        rid = item.get("resource_id") if isinstance(item, dict) else item
        if rid:
            out.add(("gcp_kms", str(rid).strip()))
    for item in source.get("azure_keyvault") or [] if group else _split(source.get("azure_keyvault")):
        if isinstance(item, dict):
            out.add(("azure_kv", azure_id(item.get("vaultUrl", ""), item.get("key", ""), item.get("version", ""))))
        elif item:
            out.add(("azure_kv", str(item).strip().rstrip("/")))
    for uri in _split(source.get("hc_vault" if group else "hc_vault_transit_uri")):
        out.add(("hc_vault", uri.rstrip("/")))
    for item in source.get("hckms") or []:
        kid = item.get("key_id") if isinstance(item, dict) else item
        if kid:
            out.add(("hckms", str(kid).strip()))
    return out, ages


def _rule(index: int, data: Any, line: int) -> CreationRule:
    data = data if isinstance(data, dict) else {}
    regex = data.get("path_regex")
    regex = None if regex is None else str(regex)
    error = None
    if regex is not None:
        try:
            compile_go(regex)
        except GoRegexError as exc:
            error = str(exc)
    groups = data.get("key_groups")
    if isinstance(groups, list) and groups:
        recipients: set[Recipient] = set()
        ages: list[tuple[str, int]] = []
        for group in groups:
            members = [group] + [m for m in (group.get("merge") or []) if isinstance(m, dict)] \
                if isinstance(group, dict) else []
            for member in members:
                r, a = _recipients(member, group=True)
                recipients |= r
                ages += a
    else:
        recipients_set, ages = _recipients(data)
        recipients = recipients_set
    conflicting = tuple(k for k in RULE_KEYS if data.get(k) not in (None, ""))
    return CreationRule(index, line, regex, error, frozenset(recipients), tuple(ages),
                        conflicting if len(conflicting) > 1 else ())


def parse_sops_config(text: str) -> SopsConfig | None:
    """`.sops.yaml` from text; None when it has no `creation_rules` (SOPS then treats it as absent) or is not YAML."""
    from ...parsing import ParseError
    from ...parsing.yamlx import load_documents

    try:
        docs = load_documents(text)
    except ParseError:
        return None
    found = config_of(docs, CONFIG_NAME)
    return found[0] if found else None


def config_of(docs: list[Any] | None, path: str) -> list[SopsConfig] | None:
    """`views.SOPS_CONFIG`: the config of `.sops.yaml`'s documents, as a list of none (no `creation_rules`: SOPS
    then treats the file as absent) or one; None when the file does not parse."""
    if docs is None:
        return None
    data = docs[0].data if docs else None
    if not isinstance(data, dict) or not isinstance(data.get("creation_rules"), list):
        return []
    rules = data["creation_rules"]
    return [SopsConfig(tuple(_rule(i, r, rules.line_of(i) if hasattr(rules, "line_of") else 1)
                             for i, r in enumerate(rules)))]


def sops_config(repo: Repo) -> SopsConfig | None:
    """The root `.sops.yaml` (tracked), read once per run (kept between commit hooks by its content, as the view
    `views.SOPS_CONFIG`); None when absent, unparsable (reported as CL000) or without creation rules."""

    def build() -> SopsConfig | None:
        if not repo.exists(CONFIG_NAME):
            return None
        found = repo.view(CONFIG_NAME, SOPS_CONFIG)
        return found[0] if found else None

    return repo.cached(("sops-config", CONFIG_NAME), build)


# -- what must be a SOPS file ------------------------------------------------------------------


def literal_secret_line(text: str, secret_fields: tuple[str, ...] = SECRET_FIELDS, path: str = "secret.yaml",
                        files: Container[str] = ()) -> int | None:
    """Line of the first literal value under the data/stringData of a Kubernetes Secret in `text` (the
    manifest `path`: YAML or JSON, Lists flattened, any spelling of the kind); None if there is none.
    `files`: the tracked paths, to tell a Helm chart's `templates/` (skipped) from any other folder."""
    from ..kinds import text_objects
    from ..refs import is_chart_template

    if is_chart_template(path, files):
        return None
    return first_literal_in(text_objects(text, path, "Secret"), secret_fields)


def first_literal_in(secrets: list[Any], secret_fields: tuple[str, ...] = SECRET_FIELDS) -> int | None:
    """Line of the first literal value in the data/stringData of these Secret objects. Literal: not empty
    and not only references (`refs.is_reference`: `${VAR}`, `op://...`, ...); a `data` value counts by
    what it decodes to as well."""
    for doc in secrets:
        data = doc.data
        for field in secret_fields:
            values = data.get(field)
            if not isinstance(values, dict):
                continue
            for key, value in values.items():
                if value is None or isinstance(value, (dict, list)):
                    continue
                if not _literal(field, value):
                    continue
                return values.key_line(key) if hasattr(values, "key_line") else doc.line
    return None


def _literal(field: str, value: Any) -> bool:
    from ..refs import is_reference

    if is_reference(value):
        return False
    if field == "data" and isinstance(value, str):
        import base64
        import binascii

        try:
            decoded = base64.b64decode("".join(value.split()), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return True
        return not is_reference(decoded)
    return True


def required_by_path(path: str, config: SopsConfig | None,
                     name_patterns: tuple[str, ...] = NAME_PATTERNS) -> str | None:
    name = path.rpartition("/")[2]  # PurePosixPath(path).name for a repository path, without its cost
    if name in (CONFIG_NAME, ".sops.yml") or is_template_name(name) or is_public_key_name(name):
        return None  # a template is rendered before SOPS sees it; a public key is public
    if config is not None:
        rule = config.match(path)
        if rule is not None and rule.path_regex is not None:
            return f"its path matches creation rule #{rule.index + 1} (`path_regex: {rule.path_regex}`) of .sops.yaml"
    for pattern in name_patterns:
        if fnmatch.fnmatchcase(name, pattern):
            return f"its name matches `{pattern}`"
    return None


def encryption_required(path: str, text: str | None, config: SopsConfig | None, *,
                        name_patterns: tuple[str, ...] = NAME_PATTERNS,
                        secret_fields: tuple[str, ...] = SECRET_FIELDS, files: Container[str] = ()) -> str | None:
    """Why `path` (with content `text`, when known) must be a SOPS file: a creation rule with path_regex matches,
    it is named *.sops.*, or it is a Kubernetes Secret with literal data/stringData. None if it need not be.
    `files`: the tracked paths (a Helm chart's `templates/` is not a manifest)."""
    reason = required_by_path(path, config, name_patterns)
    if reason is not None:
        return reason
    if text is not None and literal_secret_line(text, secret_fields, path, files) is not None:
        return "it is a Kubernetes Secret with literal data/stringData"
    return None
