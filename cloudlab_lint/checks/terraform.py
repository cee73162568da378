"""CL501 terraform-providers-pinned, CL502 terraform-no-literal-credentials, CL503 terraform-secret-outputs,
CL504 terraform-state-local.

The Terraform model (`stack/terraform/model.py`, and python-hcl2 behind it) is imported only when a file these
rules depend on is being judged: a commit that stages no Terraform file and no `.gitignore` never
imports it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..model import Hit, Location
from . import Context, check

if TYPE_CHECKING:
    from ..repo import Repo
    from ..stack.terraform.model import Module

_VERSION = re.compile(r"^v?(\d+)(?:\.\d+){0,2}(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
_OPERATORS = ("~>", ">=", "<=", "!=", "=", ">", "<")


def _has_terraform(repo: Repo) -> bool:
    """Whether the rules have anything to judge (asked before the model is imported)."""
    return any(p.endswith(".tf") for p in repo.files)


def _at(path: str, line: int, end_line: int | None = None) -> Location:
    return Location(path, line, 1, end_line if end_line and end_line > line else None)


# -- CL501 ---------------------------------------------------------------------------------------


def constraint_problem(text: str | None) -> str | None:
    """What is wrong with a provider version constraint; None when it bounds the major version."""
    if text is None or not text.strip():
        return "has no `version` constraint"
    lower, uppers, bounded = 0, [], False
    for part in text.split(","):
        part = part.strip()
        op = next((o for o in _OPERATORS if part.startswith(o)), "")
        match = _VERSION.match(part[len(op):].strip())
        if match is None:
            return f"has `version = \"{text}\"`, which is not a version constraint"
        major = int(match.group(1))
        if op in ("", "=", "~>"):
            bounded = True
        elif op in (">", ">="):
            lower = max(lower, major)
        elif op in ("<", "<="):
            uppers.append(major)
    if bounded or any(u <= lower + 1 for u in uppers):
        return None
    return f"has `version = \"{text}\"`, which does not bound the major version"


@check("terraform-providers-pinned")
def providers_pinned(ctx: Context) -> Iterator[Hit]:
    repo = ctx.repo
    if not _has_terraform(repo):
        return
    from ..stack.ignores import judge
    from ..stack.terraform import model as tf

    roots = tf.root_modules(repo)
    ignored = judge(repo, [m.lock_path for m in roots if repo.exists(m.lock_path)])
    example = "e.g. `version = \"~> 0.66\"`"
    for module in roots:
        required = tf.required_providers(module)
        for req in required:
            if not req.source:
                yield Hit(f"provider `{req.name}` has no `source` in required_providers: add one "
                          f"(e.g. `source = \"bpg/proxmox\"`)", _at(req.path, req.line), key=f"source:{req.name}")
            problem = constraint_problem(req.version)
            if problem:
                yield Hit(f"provider `{req.name}` {problem}: pin it with `~>`, `=` or an upper bound ({example})",
                          _at(req.path, req.version_line), key=f"version:{req.name}")
        declared = {r.name for r in required}
        for name, (path, line) in sorted(tf.used_providers(module).items()):
            if name not in declared:
                yield Hit(f"provider `{name}` is used but not declared in `required_providers` with a `source` and a "
                          f"`version` constraint that bounds the major version", _at(path, line),
                          key=f"undeclared:{name}")
        for call in tf.child_modules(repo, module):
            yield from _child_hits(call, required, tf.required_providers(call.module), tf.used_providers(call.module))
        if required or tf.used_providers(module):  # no provider at all: `terraform init` writes no lock file
            yield from _lock_hits(repo, module, required, ignored)


def _child_hits(call: Any, required: list[Any], child_required: list[Any],
                child_used: dict[str, tuple[str, int]]) -> Iterator[Hit]:
    """A provider a local child module uses is pinned by the root that calls it (children give lower bounds)."""
    from ..stack.terraform.model import same_provider, source_address

    sources = [source_address(r.source) for r in required if r.source]
    names = {r.name for r in required}
    wanted = {r.name: r.source for r in child_required}
    wanted.update({name: None for name in child_used if name not in wanted})
    for name, source in sorted(wanted.items()):
        if source and any(same_provider(address, source) for address in sources) or not source and name in names:
            continue
        what = source or name
        yield Hit(f"`{call.module.folder}`, called through module `{call.label}`, uses provider `{what}`, which this "
                  "root module does not declare in `required_providers`: declare it here with a bounded `version` "
                  "(child modules give lower bounds only)", _at(call.path, call.line), key=f"child:{call.label}:{what}")


def _lock_hits(repo: Repo, module: Module, required: list[Any], ignored: dict[str, Any]) -> Iterator[Hit]:
    from ..stack.terraform.model import locked_providers, same_provider

    lock = module.lock_path
    if not repo.exists(lock):
        path, line = _anchor(module)
        yield Hit(f"`{lock}` is not committed: run `terraform init` (or `terraform providers lock`) in "
                  f"`{module.folder or '.'}` and commit the lock file, so every run installs the same provider "
                  "builds", _at(path, line), key=f"lock-missing:{lock}")
        return
    verdict = ignored.get(lock)
    if verdict is not None and verdict.ignored and verdict.source:
        yield Hit(f"`{verdict.pattern}` ignores `{lock}`, which must be committed: remove the pattern (or add "
                  f"`!{lock.rpartition('/')[2]}` after it)", _at(verdict.source, verdict.line),
                  key=f"lock-ignored:{lock}")
    names = locked_providers(repo, module)
    if names is None:
        return  # not parsed: a CL000 problem
    for req in required:
        if req.source and not any(same_provider(address, req.source) for address in names):
            yield Hit(f"`{lock}` does not name `{req.source}` (provider `{req.name}`): run `terraform init -upgrade` "
                      "and commit the lock file", _at(lock, 1), key=f"lock-lacks:{req.source}")


def _anchor(module: Module) -> tuple[str, int]:
    """Where a finding about the module as a whole points: its terraform block, else its first provider."""
    for kind in ("terraform", "provider"):
        for path, block in module.blocks(kind):
            return path, block.line
    return module.files[0][0], 1


# -- CL502 ---------------------------------------------------------------------------------------


@check("terraform-no-literal-credentials")
def no_literal_credentials(ctx: Context) -> Iterator[Hit]:
    repo = ctx.repo
    names = tuple(str(n).lower() for n in ctx.params.get("names", ()))
    paths = [p for p in ctx.files if p.endswith((".tf", ".tfvars", ".tfvars.json"))
             and "/.terraform/" not in f"/{p}"]
    if not paths:
        return
    from ..stack.terraform.values import (
        is_secret_literal,
        literal_credentials,
        literal_text,
        says_credential,
    )

    fix = "use a sensitive variable, a data source or an environment variable (and rotate it if it was pushed)"
    for path in paths:
        for cred in literal_credentials(repo, path, names):
            yield Hit(f"{cred.what} holds a literal credential: {fix}", _at(path, cred.line, cred.end_line),
                      key=cred.key)
        if not path.endswith(".tf"):
            continue
        body = repo.hcl(path)
        for block in body.blocks if body is not None else ():
            if block.type != "variable" or not block.labels or not says_credential(block.labels[0], names):
                continue
            name = block.labels[0]
            default = block.attr("default")
            if default is not None and is_secret_literal(literal_text(default.value)):
                yield Hit(f"variable `{name}` has a literal credential as its `default`: remove the default and pass "
                          "the value from the environment (`TF_VAR_...`) or a SOPS file",
                          _at(path, default.line, default.end_line), key=f"default:{name}")
            sensitive = block.attr("sensitive")
            if sensitive is None or sensitive.value.text != "true":
                yield Hit(f"variable `{name}` holds a credential but is not `sensitive = true`, so Terraform prints "
                          "it in plans and logs", _at(path, sensitive.line if sensitive else block.line),
                          key=f"sensitive:{name}")


# -- CL503 ---------------------------------------------------------------------------------------


def _spec(params: Any) -> Any:
    from ..stack.terraform.values import CredentialSpec

    return CredentialSpec(frozenset(params.get("sources", ())), frozenset(params.get("attributes", ())),
                          frozenset(params.get("public_parts", ())))


@check("terraform-secret-outputs")
def secret_outputs(ctx: Context) -> Iterator[Hit]:
    repo = ctx.repo
    if not _has_terraform(repo):
        return
    from ..stack.ignores import judge
    from ..stack.terraform.model import modules
    from ..stack.terraform.values import OUTSIDE, credential_read

    spec = _spec(ctx.params)
    writes: list[tuple[str, str, int, str]] = []  # (target, .tf path, line, credential)
    for module in modules(repo):
        for path, output in module.blocks("output"):
            value = output.attr("value")
            read = credential_read(module, value.value, spec) if value is not None else None
            if value is None or read is None:
                continue
            name = output.labels[0] if output.labels else "?"
            if "nonsensitive" in value.value.calls:
                yield Hit(f"output `{name}` unwraps `{read}` with nonsensitive(): Terraform then prints the "
                          "credential in plans and logs; keep it sensitive", _at(path, value.line, value.end_line),
                          key=f"nonsensitive:{name}")
            sensitive = output.attr("sensitive")
            if sensitive is None or sensitive.value.text != "true":
                yield Hit(f"output `{name}` reads `{read}` but is not `sensitive = true`",
                          _at(path, sensitive.line if sensitive else output.line), key=f"output:{name}")
        for path, line, target, read in _file_writes(module, spec):
            if target == "local_file":
                yield Hit(f"local_file writes `{read}`: use local_sensitive_file (local_file shows the content in "
                          "the plan output)", _at(path, line), key=f"local_file:{read}")
            elif target != OUTSIDE:
                writes.append((target, path, line, read))
    verdicts = judge(repo, [w[0] for w in writes]) if writes else {}
    for target, path, line, read in writes:
        if not verdicts[target].ignored:
            yield Hit(f"`{target}` receives `{read}` but the committed .gitignore files do not ignore it: add it to "
                      ".gitignore (or write it outside the repository)", _at(path, line), key=f"write:{target}")


def _file_writes(module: Module, spec: Any) -> Iterator[tuple[str, int, str, str]]:
    """(.tf path, line, written path or "local_file" for the resource kind itself, credential read)."""
    from ..stack.terraform.values import credential_read, redirect_targets, repo_path, written_path

    for path, resource in module.blocks("resource"):
        kind = resource.labels[0] if resource.labels else ""
        if kind in ("local_file", "local_sensitive_file"):
            contents = [a for a in resource.attributes if a.name in ("content", "sensitive_content", "content_base64")]
            read = next((r for a in contents for r in [credential_read(module, a.value, spec)] if r), None)
            if read is None:
                continue
            if kind == "local_file":
                content = next((a for a in contents if credential_read(module, a.value, spec)), None)
                yield path, content.line if content else resource.line, "local_file", read
            filename = resource.attr("filename")
            target = written_path(module, filename.value) if filename is not None else None
            if target is not None and filename is not None:
                yield path, filename.line, target, read
        elif kind in ("null_resource", "terraform_data"):
            for provisioner in resource.children("provisioner"):
                if provisioner.labels[:1] != ("local-exec",):
                    continue
                values = [a.value for a in provisioner.attributes]
                read = next((r for v in values for r in [credential_read(module, v, spec)] if r), None)
                command = provisioner.attr("command")
                if read is None or command is None or command.value.raw is None:
                    continue
                for word in redirect_targets(command.value.raw):
                    target = repo_path(module.folder, word)
                    if target is not None:
                        yield path, command.line, target, read


# -- CL504 ---------------------------------------------------------------------------------------


def _cl001_probes(ctx: Context) -> set[str]:
    """The paths CL001 already requires ignored (its parameter as configured), when it is enabled."""
    override = ctx.config.rules.get("CL001") or {}
    if override.get("enabled") is False:
        return set()
    probes = (override.get("params") or {}).get("probes")
    if probes is None:
        from ..catalog import load_catalog

        rule = load_catalog().get("CL001")
        probes = rule.params.get("probes", []) if rule is not None else []
    return {str(p) for p in probes}


@check("terraform-state-local")
def state_local(ctx: Context) -> Iterator[Hit]:
    repo = ctx.repo
    if not _has_terraform(repo):
        return
    from ..stack.ignores import judge
    from ..stack.terraform.model import local_state, root_modules

    states = [(m, s) for m in root_modules(repo) for s in [local_state(m)] if s is not None]
    if not states:
        return
    covered = _cl001_probes(ctx)
    wanted = {m.folder: [p for p in (s.state, s.state + ".backup") if p not in covered] for m, s in states}
    verdicts = judge(repo, [p for paths in wanted.values() for p in paths])
    for module, state in states:
        missing = [p for p in wanted[module.folder] if not verdicts[p].ignored]
        if missing:
            listed = " and ".join(f"`{p}`" for p in missing)
            yield Hit(f"root module `{module.folder or '.'}` keeps its state locally in {listed}, which the committed "
                      ".gitignore files do not ignore: add `*.tfstate` and `*.tfstate.*` to .gitignore (or configure "
                      "a remote backend)", _at(state.path, state.line), key=f"state:{state.state}")
