"""A SOPS file as SOPS reads it: metadata, every leaf value and comment, and what its rule encrypts.

Formats by extension as SOPS picks them (facts a4): .yaml/.yml YAML, .json JSON,
.env dotenv, .ini INI, anything else the binary store (a JSON envelope with one
`data` key). When the extension's format does not parse, the others are tried
(`--input-type` exists). YAML metadata comes from the first document only; the
values of every document are judged by it.
"""

from __future__ import annotations

import base64
import re
from typing import TYPE_CHECKING, Any

from ...record import record
from ..goregex import GoRegexError, compile_go
from .model import RULE_KEYS, Recipient, azure_id, is_sops_text, norm_kms, norm_pgp, vault_id

if TYPE_CHECKING:
    from ...repo import Repo

# `comment_inline`: newer SOPS marks encrypted inline comments so (aes/cipher tests); accepted ahead of time.
KNOWN_TYPES = ("str", "int", "float", "bool", "bytes", "time", "comment", "comment_inline")
RECIPIENT_KINDS = ("age", "pgp", "kms", "gcp_kms", "azure_kv", "hc_vault", "hckms")
_ENC = re.compile(r"^ENC\[AES256_GCM,data:([^,]*),iv:([^,]*),tag:([^,]*),type:([^\]]*)\]$")
_B64 = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")


def enc_problem(value: str, known_types: tuple[str, ...] = KNOWN_TYPES) -> str | None:
    """Why `value` is not a well-formed SOPS ciphertext, or None. Says what is wrong, never the value."""
    m = _ENC.match(value.strip())
    if not m:
        return "not a well-formed `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` value"
    data, iv, tag, kind = m.groups()

    def decoded(b64: str) -> bytes | None:
        if not b64 or len(b64) % 4 or not _B64.match(b64):
            return None
        try:
            return base64.b64decode(b64, validate=True)
        except ValueError:
            return None

    if decoded(data) is None:
        return "its `data` is not valid padded base64"
    iv_bytes = decoded(iv)
    if iv_bytes is None or len(iv_bytes) != 32:
        return "its `iv` is not 32 bytes of padded base64 (hand-edited or corrupted)"
    tag_bytes = decoded(tag)
    if tag_bytes is None or len(tag_bytes) != 16:
        return "its `tag` is not 16 bytes of padded base64 (hand-edited or corrupted)"
    if kind not in known_types:
        return "its `type` is not one SOPS knows"
    return None


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


def should_be_encrypted(sf: SopsFile, leaf: Leaf) -> bool:
    """SOPS' `shouldBeEncrypted` (sops.go) for this leaf under the file's recorded rule(s)."""
    keys = {k: str(sf.meta.keys[k][0]) for k in RULE_KEYS if sf.meta.keys.get(k, (None, 0))[0] not in (None, "")}
    if not keys:
        keys = {"unencrypted_suffix": "_unencrypted"}
    if sf.format == "binary":
        return True

    def search(pattern: str, text: str) -> bool:
        try:
            return bool(compile_go(pattern).search(text))
        except GoRegexError:
            return False  # Go's regexp.Match error is ignored by SOPS: no match

    encrypted = True
    path = leaf.path
    if "unencrypted_suffix" in keys and any(p.endswith(keys["unencrypted_suffix"]) for p in path):
        encrypted = False
    if "encrypted_suffix" in keys:
        encrypted = any(p.endswith(keys["encrypted_suffix"]) for p in path)
    if "unencrypted_regex" in keys and any(search(keys["unencrypted_regex"], p) for p in path):
        encrypted = False
    if "encrypted_regex" in keys:
        encrypted = any(search(keys["encrypted_regex"], p) for p in path)
    if "unencrypted_comment_regex" in keys:
        if any(search(keys["unencrypted_comment_regex"], c) for level in leaf.stack for c in level):
            encrypted = False
    if "encrypted_comment_regex" in keys:
        encrypted = False
        last = len(leaf.stack) - 1
        for i, level in enumerate(leaf.stack):
            for j, c in enumerate(level):
                if leaf.is_comment and i == last and j == len(level) - 1:
                    continue  # the marker comment itself stays clear
                if search(keys["encrypted_comment_regex"], c):
                    encrypted = True
    return encrypted


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


# -- loading -------------------------------------------------------------------------------------


def format_of(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    if name.endswith((".yaml", ".yml")):
        return "yaml"
    if name.endswith(".json"):
        return "json"
    if name.endswith(".env"):
        return "dotenv"
    if name.endswith(".ini"):
        return "ini"
    return "binary"


def parse_sops_text(path: str, text: str) -> SopsFile | None:
    """The SOPS file in `text`, or None when it carries no SOPS metadata in any format."""
    from . import formats as fm

    first = format_of(path)
    order = [first] + [f for f in ("yaml", "json", "dotenv", "ini") if f != first]
    for fmt in order:
        sf = fm.PARSERS["json" if fmt == "binary" else fmt](path, text)
        if sf is not None:
            if fmt == "binary":
                sf = SopsFile(sf.path, "binary", sf.meta, sf.leaves)
            return sf
    return None


def load(repo: Repo, path: str) -> SopsFile | None:
    """The SOPS file at `path`, parsed once per run (None: not a SOPS file)."""

    def build() -> SopsFile | None:
        text = repo.read_text(path, strict=False)
        if text is None or not is_sops_text(text):
            return None
        if path.endswith((".yaml", ".yml")) and repo.yaml(path) is None:
            return None  # a YAML error: CL000 reports it
        return parse_sops_text(path, text)

    return repo.cached(("sops-file", path), build)
