"""What a SOPS file holds, whatever its format: its leaves (values and comments) and its metadata.

The value types the format readers (formats.py) build and the rules (file.py, checks/sops.py) read, with
the metadata's reading, which is the same for every format once INI and dotenv keys are unflattened.
"""

from __future__ import annotations

import re
from typing import Any

from ...record import record
from .model import RULE_KEYS, Recipient, azure_id, norm_kms, norm_pgp, vault_id

RECIPIENT_KINDS = ("age", "pgp", "kms", "gcp_kms", "azure_kv", "hc_vault", "hckms")


class Typed(str):
    """A scalar that YAML/JSON resolves to a non-string type (int, bool, float, time): never ciphertext."""


@record
class Leaf:
    """A value or comment SOPS walks: key path (list indexes excluded), where, and what precedes it."""

    path: tuple[str, ...]
    line: int
    value: Any  # str, or int/float/bool for typed scalars; comments: their text after `#`/`;`
    is_comment: bool = False
    stack: tuple[tuple[str, ...], ...] = ((),)  # comments preceding it at each nesting level (SOPS' commentsStack)
    doc: int = 0

    @property
    def shown(self) -> str:
        return ".".join(self.path) or "(top level)"


@record
class Meta:
    line: int  # where the metadata starts
    keys: dict[str, tuple[Any, int]]  # scalar metadata key -> (value, line)
    recipients: frozenset[Recipient]
    recipient_lines: dict[Recipient, int]


@record
class SopsFile:
    path: str
    format: str  # yaml, json, ini, dotenv, binary
    meta: Meta
    leaves: tuple[Leaf, ...]

    @property
    def rule(self) -> tuple[str, str] | None:
        """The one recorded encryption rule (key, value); SOPS assumes `unencrypted_suffix: _unencrypted`."""
        for key in RULE_KEYS:
            value = self.meta.keys.get(key, (None, 0))[0]
            if value not in (None, ""):
                return key, str(value)
        return None

    @property
    def mac_only_encrypted(self) -> bool:
        value = self.meta.keys.get("mac_only_encrypted", (False, 0))[0]
        return value is True or str(value).lower() == "true"


# -- metadata ------------------------------------------------------------------------------------

_RECIPIENT_FIELDS = {"age": "recipient", "pgp": "fp", "kms": "arn", "gcp_kms": "resource_id", "hckms": "key_id"}


def _recipient(kind: str, entry: Any) -> Recipient | None:
    if not isinstance(entry, dict):
        return None
    if kind == "azure_kv":
        if not entry.get("vault_url"):
            return None
        return kind, azure_id(entry.get("vault_url", ""), entry.get("name", ""), entry.get("version", ""))
    if kind == "hc_vault":
        if not entry.get("vault_address"):
            return None
        return kind, vault_id(entry.get("vault_address", ""), entry.get("engine_path", ""), entry.get("key_name", ""))
    value = entry.get(_RECIPIENT_FIELDS[kind])
    if value in (None, ""):
        return None
    if kind == "pgp":
        return kind, norm_pgp(value)
    if kind == "kms":
        return kind, norm_kms(value)
    return kind, str(value).strip()


def build_meta(block: dict[str, Any], line: int, line_of: Any = None) -> Meta:
    """Metadata from the (unflattened) `sops` mapping; `line_of(container, key)` gives lines when known."""
    def where(container: Any, key: Any) -> int:
        if line_of is not None:
            try:
                return line_of(container, key)
            except (KeyError, IndexError, TypeError, AttributeError):
                return line
        return line

    keys = {k: (v, where(block, k)) for k, v in block.items() if not isinstance(v, (dict, list))}
    recipients: dict[Recipient, int] = {}

    def collect(source: dict[str, Any]) -> None:
        for kind in RECIPIENT_KINDS:
            entries = source.get(kind)
            if isinstance(entries, list):
                for i, entry in enumerate(entries):
                    r = _recipient(kind, entry)
                    if r is not None:
                        recipients.setdefault(r, where(entries, i))

    collect(block)
    if not recipients:  # a single group is written at top level; key_groups only when there are several
        for group in block.get("key_groups") or []:
            if isinstance(group, dict):
                collect(group)
    return Meta(line, keys, frozenset(recipients), recipients)


def unflatten(flat: dict[str, Any]) -> dict[str, Any]:
    """INI/dotenv metadata: `pgp__list_0__map_fp` -> {"pgp": [{"fp": …}]} (SOPS stores/flatten.go)."""
    root: dict[Any, Any] = {}
    for key, value in flat.items():
        tokens = re.split(r"(__list_\d+|__map_)", key)
        parts: list[Any] = [tokens[0]]
        for sep, name in zip(tokens[1::2], tokens[2::2], strict=True):
            if sep.startswith("__list_"):
                parts.append(int(sep[len("__list_"):]))
            if name:
                parts.append(name)
        node = root
        for part in parts[:-1]:
            nxt = node.setdefault(part, {})
            if not isinstance(nxt, dict):
                break
            node = nxt
        else:
            node[parts[-1]] = value

    def fix(node: Any) -> Any:
        if isinstance(node, dict):
            if node and all(isinstance(k, int) for k in node):
                return [fix(node[k]) for k in sorted(node)]
            return {k: fix(v) for k, v in node.items()}
        return node

    return fix(root)
