"""age keys: recipients (`age1…`, bech32 with checksum) and secret keys (`AGE-SECRET-KEY-1…`)."""

from __future__ import annotations

import re

_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
SECRET_KEY = re.compile(r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}", re.IGNORECASE)
# SOPS (3.10+) also takes SSH public keys as age recipients.
_SSH_RECIPIENT = re.compile(r"^(ssh-ed25519|ssh-rsa) [A-Za-z0-9+/]+={0,2}( \S.*)?$")


def _polymod(values: list[int]) -> int:
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            if (top >> i) & 1:
                chk ^= _GEN[i]
    return chk


def bech32_decode(text: str) -> tuple[str, bytes] | None:
    """(hrp, data bytes) of a valid bech32 string (BIP 173 checksum, no length limit as age allows); else None."""
    if text != text.lower() and text != text.upper():
        return None
    text = text.lower()
    pos = text.rfind("1")
    if pos < 1 or pos + 7 > len(text) or any(ord(c) < 33 or ord(c) > 126 for c in text):
        return None
    hrp, data_part = text[:pos], text[pos + 1:]
    if any(c not in _CHARSET for c in data_part):
        return None
    values = [_CHARSET.index(c) for c in data_part]
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    if _polymod(expanded + values) != 1:
        return None
    acc, bits, out = 0, 0, bytearray()
    for v in values[:-6]:
        acc = (acc << 5) | v
        bits += 5
        while bits >= 8:
            bits -= 8
            out.append((acc >> bits) & 0xFF)
    if bits >= 5 or (acc & ((1 << bits) - 1)):
        return None  # non-zero padding
    return hrp, bytes(out)


def recipient_problem(recipient: str) -> str | None:
    """Why `recipient` is not a usable age recipient, or None. Never quotes a secret key."""
    if SECRET_KEY.search(recipient) or recipient.upper().startswith("AGE-SECRET-KEY-"):
        return "an age SECRET key where a public recipient belongs"
    if _SSH_RECIPIENT.match(recipient):
        return None
    if not recipient.lower().startswith("age1"):
        return "not an age recipient (it must start with `age1`)"
    decoded = bech32_decode(recipient)
    if decoded is None:
        return "not a valid age recipient (bech32 checksum or characters wrong: a typo or a truncated key)"
    hrp, data = decoded
    if hrp == "age" and len(data) != 32:
        return f"not a valid age recipient (an X25519 key is 32 bytes, this one is {len(data)})"
    return None
