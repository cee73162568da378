"""Terraform as the rules see it: modules (one per folder of `.tf` files), which are root modules, the
providers they require and use, their lock files and backends.

A root module is a folder with `.tf` files that holds a `terraform` block (and so a backend) or a
`provider` block, and that no `module` block in the repository calls by a local `source` (child
modules declare lower bounds only, as HashiCorp advises). Each file is parsed once per run through
`Repo.hcl` (a file that does not parse is a CL000 problem and adds nothing here).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ...record import record

if TYPE_CHECKING:
    from ...parsing.hcl import Attribute, Block
    from ...repo import Repo

LOCK_NAME = ".terraform.lock.hcl"
TFVARS_SUFFIXES = (".tfvars", ".tfvars.json")
DEFAULT_HOSTS = ("registry.terraform.io", "registry.opentofu.org")
BUILTIN_PROVIDERS = frozenset(("terraform",))  # terraform_data, terraform_remote_state


def is_tf(path: str) -> bool:
    return path.endswith(".tf") and "/.terraform/" not in f"/{path}"


def is_tfvars(path: str) -> bool:
    return path.endswith(TFVARS_SUFFIXES) and "/.terraform/" not in f"/{path}"


def is_terraform_input(path: str) -> bool:
    """Whether a change to `path` can change what the Terraform rules say (with `.gitignore`)."""
    name = path.rpartition("/")[2]
    return is_tf(path) or is_tfvars(path) or name in (LOCK_NAME, ".gitignore")


def folder_of(path: str) -> str:
    return path.rpartition("/")[0]


def in_folder(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


@record
class Module:
    folder: str
    files: tuple[tuple[str, Block], ...]  # each parsed .tf file: (path, body)
    is_root: bool = False

    def blocks(self, block_type: str) -> Iterator[tuple[str, Block]]:
        for path, body in self.files:
            for block in body.blocks:
                if block.type == block_type:
                    yield path, block

    @property
    def lock_path(self) -> str:
        return in_folder(self.folder, LOCK_NAME)

    def locals(self) -> dict[str, Attribute]:
        return {a.name: a for _, block in self.blocks("locals") for a in block.attributes}


def modules(repo: Repo) -> list[Module]:
    """Every folder of tracked `.tf` files, parsed, with its root-module verdict (once per run)."""
    return repo.cached(("terraform-modules",), lambda: _build(repo))


def _build(repo: Repo) -> list[Module]:
    by_folder: dict[str, list[tuple[str, Block]]] = {}
    for path in repo.files:
        if is_tf(path):
            body = repo.hcl(path)
            by_folder.setdefault(folder_of(path), [])
            if body is not None:
                by_folder[folder_of(path)].append((path, body))
    found = [Module(folder, tuple(files)) for folder, files in sorted(by_folder.items())]
    called = {target for module in found for target in local_calls(module)}
    out = []
    for module in found:
        marked = any(True for _ in module.blocks("terraform")) or any(True for _ in module.blocks("provider"))
        out.append(Module(module.folder, module.files, marked and module.folder not in called))
    return out


def root_modules(repo: Repo) -> list[Module]:
    return [m for m in modules(repo) if m.is_root]


def local_calls(module: Module) -> list[str]:
    """The folders this module calls as local child modules (`source = "./modules/vm"`)."""
    return [target for _, _, target in _calls(module)]


def _calls(module: Module) -> Iterator[tuple[str, Block, str]]:
    for path, block in module.blocks("module"):
        source = block.attr("source")
        text = source.value.text if source is not None else None
        if text and text.startswith(("./", "../")):
            target = posixpath.normpath(posixpath.join(module.folder, text))
            yield path, block, "" if target == "." else target


@record
class Call:
    """A local child module a root module reaches (directly or through other children), and where."""

    path: str
    line: int
    label: str
    module: Module


def child_modules(repo: Repo, root: Module) -> list[Call]:
    """Every local child module the root calls, transitively, each once, pointing at the root's call."""
    by_folder = {m.folder: m for m in modules(repo)}
    out: list[Call] = []
    seen = {root.folder}
    for path, block, target in _calls(root):
        pending = [target]
        while pending and len(seen) < 500:
            folder = pending.pop()
            child = by_folder.get(folder)
            if folder in seen or child is None:
                continue
            seen.add(folder)
            out.append(Call(path, block.line, block.labels[0] if block.labels else "?", child))
            pending.extend(local_calls(child))
    return out


# -- providers -----------------------------------------------------------------------------------


@record
class Required:
    """One `required_providers` entry."""

    name: str
    path: str
    line: int
    source: str | None
    version: str | None
    version_line: int


def required_providers(module: Module) -> list[Required]:
    out = []
    for path, block in module.blocks("terraform"):
        for req in block.children("required_providers"):
            for entry in req.attributes:
                value = entry.value
                if value.kind == "object":
                    items = {i.name: i for i in value.items}
                    source = items["source"].value.text if "source" in items else None
                    version = items.get("version")
                    out.append(Required(entry.name, path, entry.line, source,
                                        version.value.text if version is not None else None,
                                        version.line if version is not None else entry.line))
                else:  # the pre-0.13 shorthand `proxmox = "~> 0.66"`: a version, no source
                    out.append(Required(entry.name, path, entry.line, None, value.text, entry.line))
    return out


def used_providers(module: Module) -> dict[str, tuple[str, int]]:
    """Local provider names the module uses, each with the first place that uses it."""
    used: dict[str, tuple[str, int]] = {}
    for path, block in module.blocks("provider"):
        if block.labels:
            used.setdefault(block.labels[0], (path, block.line))
    for kind in ("resource", "data", "ephemeral"):
        for path, block in module.blocks(kind):
            if not block.labels:
                continue
            explicit = block.attr("provider")
            if explicit is not None and explicit.value.refs:
                name = explicit.value.refs[0][0]
            else:
                name = block.labels[0].partition("_")[0]
            if name not in BUILTIN_PROVIDERS:
                used.setdefault(name, (path, block.line))
    return used


def source_address(source: str) -> str:
    """`bpg/proxmox` -> `registry.terraform.io/bpg/proxmox` (lower case, as lock files write it)."""
    parts = source.strip().lower().split("/")
    if len(parts) == 2:
        parts.insert(0, DEFAULT_HOSTS[0])
    return "/".join(parts)


def same_provider(address: str, source: str) -> bool:
    wanted, have = source_address(source), address.strip().lower()
    if wanted == have:
        return True
    host, _, rest = wanted.partition("/")
    return host in DEFAULT_HOSTS and have.partition("/")[2] == rest and have.partition("/")[0] in DEFAULT_HOSTS


def locked_providers(repo: Repo, module: Module) -> list[str] | None:
    """The provider addresses the module's lock file names; None when it is not tracked or not parsed."""
    if not repo.exists(module.lock_path):
        return None
    body = repo.hcl(module.lock_path)
    if body is None:
        return None
    return [b.labels[0] for b in body.blocks if b.type == "provider" and b.labels]


# -- state ---------------------------------------------------------------------------------------


@record
class LocalState:
    """Where a root module keeps its state in the repository, and the block that says so."""

    state: str  # repository-relative
    path: str  # the .tf file to point at
    line: int


def local_state(module: Module) -> LocalState | None:
    """The state file of a root module without a remote backend; None for a remote one, or a path
    outside the repository."""
    where: tuple[str, int] | None = None
    for path, block in module.blocks("terraform"):
        for backend in block.children("backend"):
            kind = backend.labels[0] if backend.labels else ""
            if kind != "local":
                return None
            configured = backend.attr("path")
            if configured is not None:
                if configured.value.text is None:
                    return None  # computed: not ours to guess
                state = posixpath.normpath(posixpath.join(module.folder, configured.value.text))
                if configured.value.text.startswith("/") or state.startswith("../"):
                    return None
                return LocalState(state, path, configured.line)
            where = (path, backend.line)
        if block.children("cloud"):
            return None  # HCP Terraform keeps the state
        if where is None:
            where = (path, block.line)
    if where is None:
        path, block = next(module.blocks("provider"), (module.files[0][0], None))
        where = (path, block.line if block is not None else 1)
    return LocalState(in_folder(module.folder, "terraform.tfstate"), *where)
