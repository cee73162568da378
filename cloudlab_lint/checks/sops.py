"""CL003 sops-ciphertext-only, CL004 sops-encryption-required, CL007 sops-recipients-current.

Messages name keys, lines and kinds of problems, never a value: a plaintext
value found here is by definition a secret that leaked.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..model import Hit, Location
from ..stack.kinds import is_manifest_name, kind_objects
from ..stack.sops.model import (
    CONFIG_NAME,
    RULE_KEYS,
    first_literal_in,
    is_sops_text,
    parse_sops_config,
    required_by_path,
    sops_config,
)
from . import Context, check

if TYPE_CHECKING:
    from ..repo import Repo
    from ..stack.sops import file as sfm

# The SOPS file model (`stack/sops/file.py`) and the age rules are imported when a file needs them: a
# commit that stages no SOPS file never pays for them (the commit hook's start-up time).

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_PRIVATE_BLOCK = "PRIVATE KEY"  # -----BEGIN PGP PRIVATE KEY BLOCK----- and friends


def _is_sops_name(path: str) -> bool:
    return path.rpartition("/")[2] in (CONFIG_NAME, ".sops.yml")  # the name, without PurePosixPath's cost


# -- CL003 ----------------------------------------------------------------------------------------


def _rule_text(sf: sfm.SopsFile) -> str:
    rule = sf.rule
    return f"`{rule[0]}: {rule[1]}`" if rule else "the default `unencrypted_suffix: _unencrypted`"


def ciphertext_hits(sf: sfm.SopsFile, known_types: tuple[str, ...] | None = None,
                    recipient_kinds: tuple[str, ...] | None = None) -> Iterator[Hit]:
    """Everything CL003 says about one SOPS file (types and kinds default to `stack/sops/file.py`'s)."""
    from ..stack.sops import file as sfm

    known_types = sfm.KNOWN_TYPES if known_types is None else known_types
    recipient_kinds = sfm.RECIPIENT_KINDS if recipient_kinds is None else recipient_kinds
    path, meta = sf.path, sf.meta

    def at(line: int, message: str, key: str) -> Hit:
        return Hit(message, Location(path, line), key=key)

    recorded = [k for k in RULE_KEYS if meta.keys.get(k, (None, 0))[0] not in (None, "")]
    if len(recorded) > 1:
        yield at(meta.line, f"the sops metadata records {len(recorded)} encryption rules ({', '.join(recorded)}); "
                 "SOPS allows one and refuses to load this file", "meta:rules")
    mac, mac_line = meta.keys.get("mac", (None, meta.line))
    if mac in (None, ""):
        yield at(mac_line, "the sops metadata has no MAC: nothing protects the file against tampering, and Flux "
                 "applies an object without `mac` as-is (ENC[] strings and all); re-encrypt with `sops`", "meta:mac")
    else:
        problem = sfm.enc_problem(str(mac), known_types)
        if problem is None and not str(mac).strip().endswith(",type:str]"):
            problem = "its `type` is not `str`"
        if problem:
            yield at(mac_line, f"the sops `mac` is not ciphertext: {problem}", "meta:mac")
    for key in ("lastmodified", "version"):
        if meta.keys.get(key, (None, 0))[0] in (None, ""):
            yield at(meta.line, f"the sops metadata has no `{key}`", f"meta:{key}")
    stamp, stamp_line = meta.keys.get("lastmodified", (None, meta.line))
    if stamp not in (None, "") and not _RFC3339.match(str(stamp).strip()):
        yield at(stamp_line, "the sops `lastmodified` is not an RFC 3339 time: SOPS refuses to load the file (and it "
                 "is the MAC's authenticated data, so hand-editing it breaks the MAC)", "meta:lastmodified")
    if not any(kind in recipient_kinds for kind, _ in meta.recipients):
        yield at(meta.line, "the sops metadata names no recipient (age, pgp, kms, gcp_kms, azure_kv, hc_vault, "
                 "hckms or key_groups): nobody can decrypt this file", "meta:recipients")

    encrypted = 0
    value_hits = 0
    first_value: sfm.Leaf | None = None
    for leaf in sf.leaves:
        if not leaf.is_comment and first_value is None and str(leaf.value) != "":
            first_value = leaf
        if not sfm.should_be_encrypted(sf, leaf):
            continue
        where = f"`{leaf.shown}`" + (f" (document {leaf.doc + 1})" if leaf.doc else "")
        value = leaf.value
        if leaf.is_comment:
            text = str(value).strip()
            if not text:
                continue
            problem = sfm.enc_problem(text, known_types) if text.startswith("ENC[") else None
            if text.startswith("ENC[") and problem is None:
                continue
            what = f"an encrypted comment that is malformed: {problem}" if problem else \
                "a comment in clear where SOPS encrypts comments (comments can hold secrets too)"
            yield at(leaf.line, f"{what}, under {where}; {_rule_text(sf)} selects it",
                     f"comment:{leaf.doc}:{leaf.line}")
            continue
        if not isinstance(value, sfm.Typed) and value == "":
            continue  # SOPS never encrypts an empty string
        text = str(value)
        if not isinstance(value, sfm.Typed) and text.startswith("ENC["):
            problem = sfm.enc_problem(text, known_types)
            if problem is None:
                encrypted += 1
                continue
            value_hits += 1
            yield at(leaf.line, f"the ciphertext of {where} is malformed: {problem}; SOPS cannot decrypt it",
                     f"malformed:{leaf.doc}:{leaf.shown}")
            continue
        value_hits += 1
        yield at(leaf.line, f"plaintext value at {where} in a SOPS file: {_rule_text(sf)} selects it for encryption, "
                 "so it must be `ENC[AES256_GCM,…]`; encrypt the file again with `sops -e` (and rotate the secret "
                 "if it was pushed)", f"plain:{leaf.doc}:{leaf.shown}")
    if encrypted == 0 and value_hits == 0:
        if first_value is not None:
            yield at(first_value.line, f"no value in this SOPS file is encrypted: {_rule_text(sf)} selects none of "
                     f"its keys, so `{first_value.shown}` and every other value are in clear despite the sops "
                     "metadata; fix the rule (e.g. in .sops.yaml) and encrypt again", "nothing-encrypted")
        else:
            yield at(meta.line, "this SOPS file holds no encrypted value at all (only a sops block)",
                     "nothing-encrypted")


@check("sops-ciphertext-only")
def sops_ciphertext_only(ctx: Context) -> Iterator[Hit]:
    repo = ctx.repo
    for path in ctx.files:
        if not _maybe_sops(repo, path):
            continue
        from ..stack.sops import file as sfm

        sf = sfm.load(repo, path)
        if sf is not None:
            known = tuple(ctx.params.get("known_types", sfm.KNOWN_TYPES))
            kinds = tuple(ctx.params.get("recipient_kinds", sfm.RECIPIENT_KINDS))
            yield from ciphertext_hits(sf, known, kinds)


def _maybe_sops(repo: Repo, path: str) -> bool:
    """`file.load` (stack/sops) returns None unless this holds (its own first test): decided without importing it."""
    text = repo.read_text(path, strict=False)
    return text is not None and is_sops_text(text)


# -- CL004 ----------------------------------------------------------------------------------------


def _binary_on_disk(repo: Repo, path: str) -> bool:
    """A tracked regular file that the guarded reader skipped as binary (not a link, not oversized)."""
    full = repo.root / path
    try:
        st = os.lstat(full)
        if not stat.S_ISREG(st.st_mode) or st.st_size > repo.max_bytes:
            return False
        fd = os.open(full, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as fh:
            return b"\0" in fh.read(8000)
    except OSError:
        return False


def _config_hits(repo: Repo, path: str) -> Iterator[Hit]:
    """A `.sops.yaml`: only public recipients, valid age recipients, path_regex valid RE2."""
    from ..stack.sops.age import SECRET_KEY, recipient_problem

    text = repo.read_text(path, strict=False)
    if text is None:
        return
    secret_lines = set()
    for number, line in enumerate(text.splitlines(), 1):
        if SECRET_KEY.search(line):
            secret_lines.add(number)
            yield Hit("an age SECRET key is in .sops.yaml: this file is committed and public, so the key decrypts "
                      "every SOPS file of the repository; remove it, generate a new key pair, `sops updatekeys` "
                      "every file and purge the old key from history", Location(path, number), key="age-secret-key")
        elif _PRIVATE_BLOCK in line and "-----BEGIN" in line:
            secret_lines.add(number)
            yield Hit("a private key block is in .sops.yaml: only public recipients belong there; remove it and "
                      "rotate the key", Location(path, number), key="private-key-block")
    if path.endswith(".sops.yml"):
        yield Hit("SOPS reads only `.sops.yaml`, never `.sops.yml`: these creation rules do nothing (and cloudlab-lint "
                  "does not apply them either); rename the file", Location(path, 1), key="yml")
    config = parse_sops_config(text)
    if config is None:
        return
    for rule in config.rules:
        if rule.path_regex is None and rule.index < len(config.rules) - 1:
            yield Hit(f"creation rule #{rule.index + 1} has no `path_regex`, so it matches every file and the "
                      f"{len(config.rules) - rule.index - 1} rule(s) after it never apply (SOPS takes the first "
                      "match); move the catch-all to the end", Location(path, rule.line), key=f"shadow:{rule.index}")
        if rule.conflicting:
            yield Hit(f"creation rule #{rule.index + 1} sets {', '.join(rule.conflicting)}: SOPS allows only one "
                      "of the encryption-selection keys and refuses to use this rule", Location(path, rule.line),
                      key=f"conflict:{rule.index}")
        if rule.regex_error:
            yield Hit(f"creation rule #{rule.index + 1}: `path_regex` is not a valid Go RE2 regex "
                      f"({rule.regex_error}); SOPS fails on every file that reaches this rule",
                      Location(path, rule.line), key=f"regex:{rule.index}")
        for recipient, line in rule.age:
            if line in secret_lines:
                continue
            problem = recipient_problem(recipient)
            if problem is None:
                continue
            shown = "" if "SECRET" in problem else f" `{recipient[:80]}`"
            yield Hit(f"creation rule #{rule.index + 1}: age recipient{shown} is {problem}",
                      Location(path, line), key=f"age:{rule.index}:{recipient[:12] if not shown else recipient}")


@check("sops-encryption-required")
def sops_encryption_required(ctx: Context) -> Iterator[Hit]:
    repo = ctx.repo
    names = tuple(ctx.params.get("name_patterns", ("*.sops.*",)))
    fields = tuple(ctx.params.get("secret_fields", ("data", "stringData")))
    config = sops_config(repo)
    for path in ctx.files:
        if _is_sops_name(path):
            yield from _config_hits(repo, path)
            continue
        reason = required_by_path(path, config, names)
        line = 1
        text = None
        if reason is None:
            if not is_manifest_name(path):
                continue
            text = repo.read_text(path, strict=False)
            if text is None or is_sops_text(text):
                continue
            found = first_literal_in(kind_objects(repo, path, "Secret"), fields)
            if found is None:
                continue
            reason, line = "it is a Kubernetes Secret with a literal value in data/stringData", found
        else:
            text = repo.read_text(path, strict=False)
            if text is None and not _binary_on_disk(repo, path):
                continue  # unreadable (link, too big): the run's notes say so
        if text is not None and is_sops_text(text):
            continue
        what = "binary content" if text is None else "plaintext"
        yield Hit(f"must be a SOPS-encrypted file ({reason}) but holds {what}: encrypt it with `sops -e -i {path}` "
                  "before committing (and rotate what it held if it was pushed)", Location(path, line),
                  key=f"unencrypted:{reason.split('(')[0]}")


# -- CL007 ----------------------------------------------------------------------------------------


def _show(recipients: set[tuple[str, str]]) -> str:
    return ", ".join(f"{kind} {rid}" for kind, rid in sorted(recipients))


@check("sops-recipients-current")
def sops_recipients_current(ctx: Context) -> Iterator[Hit]:
    repo = ctx.repo
    config = sops_config(repo)
    if config is None:
        return
    for path in ctx.files:
        if _is_sops_name(path):
            continue
        if not _maybe_sops(repo, path):
            continue
        from ..stack.sops import file as sfm

        sf = sfm.load(repo, path)
        if sf is None:
            continue
        rule = config.match(path)
        if rule is None:
            yield Hit("no creation rule of .sops.yaml matches this SOPS file's path: `sops updatekeys` and "
                      "re-encryption fail for it (fix the rule's `path_regex` or the file name)",
                      Location(path, sf.meta.line), key="no-rule")
            continue
        if not rule.recipients:
            continue  # a rule without keys: nothing to compare against
        have, want = set(sf.meta.recipients), set(rule.recipients)
        if have == want:
            continue
        parts = []
        if have - want:
            parts.append(f"still encrypted to {_show(have - want)}, which rule #{rule.index + 1} no longer names")
        if want - have:
            parts.append(f"not encrypted to {_show(want - have)}, which rule #{rule.index + 1} names")
        yield Hit(f"recipients differ from .sops.yaml: {'; '.join(parts)}; run `sops updatekeys {path}`",
                  Location(path, sf.meta.line), key="recipients")
