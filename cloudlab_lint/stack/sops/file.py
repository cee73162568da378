"""A SOPS file as SOPS reads it: loaded once per run, its ciphertexts judged, what its rule encrypts.

Its leaves and metadata are `document.py`'s types (the ones checks/sops.py reads are re-exported here);
each format's reader is in `formats.py`.

Formats by extension as SOPS picks them (facts a4): .yaml/.yml YAML, .json JSON,
.env dotenv, .ini INI, anything else the binary store (a JSON envelope with one
`data` key). When the extension's format does not parse, the others are tried
(`--input-type` exists). YAML metadata comes from the first document only; the
values of every document are judged by it.
"""

from __future__ import annotations

import base64
import re
from typing import TYPE_CHECKING

from ..goregex import GoRegexError, compile_go
from .document import RECIPIENT_KINDS as RECIPIENT_KINDS
from .document import Leaf as Leaf
from .document import SopsFile as SopsFile
from .document import Typed as Typed
from .model import RULE_KEYS, is_sops_text

if TYPE_CHECKING:
    from ...repo import Repo

# `comment_inline`: newer SOPS marks encrypted inline comments so (aes/cipher tests); accepted ahead of time.
KNOWN_TYPES = ("str", "int", "float", "bool", "bytes", "time", "comment", "comment_inline")
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
