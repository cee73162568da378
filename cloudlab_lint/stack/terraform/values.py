"""What Terraform values hold: literal credentials (CL502), reads of Talos and cluster credentials
(CL503), and the repository paths a file resource or a shell redirection writes to."""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ...record import record
from .model import Module

if TYPE_CHECKING:
    from ...parsing.hcl import Attribute, Block, Expr
    from ...repo import Repo

# Functions that pass a literal through unchanged in substance: `sensitive("x")` is still a literal.
TRANSPARENT = frozenset(("sensitive", "nonsensitive", "tostring", "trimspace", "chomp", "base64decode",
                         "base64encode", "trim", "lower", "upper"))
# Literals that are references or placeholders (see the catalog: templates and references are not values)
# or public material (an SSH public key, a certificate): never credentials.
NOT_SECRET_PREFIXES = ("op://", "ref+", "{{", "#{", "<<", "ssh-rsa ", "ssh-ed25519 ", "ssh-dss ", "ecdsa-sha2-",
                       "sk-ssh-", "sk-ecdsa-", "-----BEGIN PUBLIC KEY", "-----BEGIN CERTIFICATE",
                       "-----BEGIN SSH2 PUBLIC")
EXPANDED_PATHS = ("pathexpand", "abspath")


def says_credential(name: str, words: Iterable[str]) -> bool:
    """`api_token`, `admin_password`, `client_secret`: the name is a credential word or ends with
    `_<word>`; `token_ttl` is not."""
    low = name.lower()
    return any(low == w or low.endswith("_" + w) for w in words)


def literal_text(expr: Expr) -> str | None:
    """The literal a value is, when it is one (through pass-through functions); else None."""
    if expr.kind in ("string", "heredoc"):
        return expr.text
    if expr.kind == "call" and expr.name in TRANSPARENT and len(expr.parts) == 1:
        return literal_text(expr.parts[0])
    return None


def is_secret_literal(text: str | None) -> bool:
    if text is None:
        return False
    stripped = text.strip()
    if not stripped or stripped.startswith(NOT_SECRET_PREFIXES):
        return False
    return not (stripped.startswith("<") and stripped.endswith(">"))  # `<your token here>`


@record
class LiteralCredential:
    line: int
    end_line: int
    what: str  # e.g. "provider \"proxmox\" argument `api_token`"; never the value
    key: str


def literal_credentials(repo: Repo, path: str, words: Iterable[str]) -> list[LiteralCredential]:
    """Every literal credential in one committed Terraform file (`.tf`, `.tfvars`, `.tfvars.json`):
    CL502's findings, and the lines CL005 leaves to it."""
    words = tuple(words)
    text = repo.read_text(path, strict=False)
    if text is None:
        return []
    from ..sops.model import is_sops_text

    if is_sops_text(text):
        return []
    if path.endswith(".json"):
        return list(_json_credentials(repo.json(path), text, words))
    body = repo.hcl(path)
    if body is None:
        return []
    if path.endswith(".tfvars"):
        return list(_attributes(body.attributes, words, "variable value"))
    out: list[LiteralCredential] = []
    for block in body.blocks:
        if block.type == "variable":  # the variable's own name and default are CL502's check; its object's keys here
            default = block.attr("default")
            if default is not None and default.value.kind == "object":
                out.extend(_attributes(default.value.items, words, f"{_describe(block)} default"))
        elif block.type != "output":
            out.extend(_block_credentials(block, words, _describe(block)))
    return out


def _describe(block: Block) -> str:
    return " ".join([block.type, *(f'"{label}"' for label in block.labels)])


def _block_credentials(block: Block, words: tuple[str, ...], where: str) -> Iterator[LiteralCredential]:
    yield from _attributes(block.attributes, words, where)
    for child in block.blocks:
        yield from _block_credentials(child, words, where)


def _attributes(attributes: Iterable[Attribute], words: tuple[str, ...], where: str,
                depth: int = 0) -> Iterator[LiteralCredential]:
    for attribute in attributes:
        value = attribute.value
        if says_credential(attribute.name, words):
            candidates = value.parts if value.kind == "tuple" else (value,)
            if any(is_secret_literal(literal_text(v)) for v in candidates):
                yield LiteralCredential(attribute.line, attribute.end_line, f"{where}: `{attribute.name}`",
                                        f"{where}:{attribute.name}")
                continue
        if value.kind == "object" and depth < 20:
            yield from _attributes(value.items, words, where, depth + 1)


def _json_credentials(data: Any, text: str, words: tuple[str, ...]) -> Iterator[LiteralCredential]:
    """`*.tfvars.json`: the lines come from finding each key in order in the text (JSON keeps no marks)."""
    offset = 0
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if not isinstance(value, dict) or depth > 20:
            continue
        for key, item in value.items():
            found = text.find(_json_key(key), offset)
            if found >= 0:
                offset = found
            line = text.count("\n", 0, max(found, 0)) + 1
            if isinstance(key, str) and says_credential(key, words) and isinstance(item, str) \
                    and is_secret_literal(item):
                yield LiteralCredential(line, line, f"variable value: `{key}`", f"variable value:{key}")
            elif isinstance(item, dict):
                stack.append((item, depth + 1))


def _json_key(key: Any) -> str:
    import json

    return json.dumps(str(key))


# -- credentials read (CL503) --------------------------------------------------------------------


@record
class CredentialSpec:
    sources: frozenset[str]  # resource and data source types that hold credentials
    attributes: frozenset[str]  # their attributes that are credentials
    public: frozenset[str]  # parts of those attributes that are public (a CA certificate)


def credential_read(module: Module, expr: Expr, spec: CredentialSpec) -> str | None:
    """The first credential attribute the value reads (`talos_cluster_kubeconfig.this.kubeconfig_raw`),
    following `local.` values of the module; None when it reads none."""
    local_values = module.locals()
    pending, seen = list(expr.refs), set()
    while pending:
        ref = pending.pop(0)
        if ref[0] == "local" and len(ref) > 1:
            if ref[1] not in seen and ref[1] in local_values and len(seen) < 200:
                seen.add(ref[1])
                pending.extend(local_values[ref[1]].value.refs)
            continue
        steps = ref[1:] if ref[0] == "data" else ref
        if len(steps) < 2 or steps[0] not in spec.sources:
            continue
        if len(steps) == 2:  # the whole object, every credential attribute with it
            return ".".join(ref)
        if steps[2] in spec.attributes and not (len(steps) > 3 and steps[3] in spec.public):
            return ".".join(ref[:4] if ref[0] == "data" else ref[:3])
    return None


# -- paths written ---------------------------------------------------------------------------------

OUTSIDE = "<outside the repository>"


def written_path(module: Module, expr: Expr) -> str | None:
    """The repository path a `filename` names; OUTSIDE for a home or absolute path; None if unknown."""
    if expr.kind == "call" and expr.name in EXPANDED_PATHS and len(expr.parts) == 1:
        inner = written_path(module, expr.parts[0])
        return OUTSIDE if expr.name == "pathexpand" else inner
    if expr.kind not in ("string", "heredoc") or expr.raw is None:
        return None
    return repo_path(module.folder, expr.raw)


def repo_path(folder: str, template: str) -> str | None:
    """A written path, with `${path.module}`, `${path.root}` and `${path.cwd}` taken as the module's folder."""
    text = template.strip()
    for name in ("${path.module}", "${path.root}", "${path.cwd}"):
        text = text.replace(name, ".")
    if "${" in text or "%{" in text or "$" in text and text.startswith("$"):
        return None
    if text.startswith(("/", "~")):
        return OUTSIDE
    full = posixpath.normpath(posixpath.join(folder or ".", text))
    return OUTSIDE if full == ".." or full.startswith("../") else full


def redirect_targets(command: str) -> list[str]:
    """Files a shell command line writes by redirection (`> kubeconfig`, `>> out`, `&> log`, `| tee f`)."""
    import shlex

    lexer = shlex.shlex(command, posix=True, punctuation_chars=";&|<>")
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)[:10000]
    except ValueError:
        return []
    out = []
    for i, token in enumerate(tokens[:-1]):
        target = None
        if token in (">", ">>", ">|", "&>", "&>>"):
            target = tokens[i + 1]
        elif token == "tee" and i > 0 and tokens[i - 1] in ("|", "|&"):
            target = next((t for t in tokens[i + 1:i + 4] if not t.startswith("-")), None)
        if target and not target.isdigit() and target[0] not in "&;|<>":
            out.append(target)
    return out
