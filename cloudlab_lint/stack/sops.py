"""SOPS files: detection by content (the full model comes with the SOPS rules)."""

from __future__ import annotations

import re

# Markers of the metadata SOPS writes: YAML `sops:` block, JSON/binary `"sops": {`, INI `[sops]`, dotenv `sops_`.
_SOPS_MARKER = re.compile(r'(?m)^sops:\s*$|"sops"\s*:\s*\{|^\[sops\]\s*$|^sops_(?:mac|version|lastmodified)=')


def is_sops_text(text: str) -> bool:
    """Whether the text carries SOPS metadata (any format SOPS writes)."""
    return bool(_SOPS_MARKER.search(text)) and ("ENC[AES256_GCM" in text or "lastmodified" in text)
