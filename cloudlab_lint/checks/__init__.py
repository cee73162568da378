"""The check registry: rule files name a check; `@check("name")` registers the function.

`MODULE_OF` below says which module registers each check (greppable, no import-order magic), so a
run imports a check module only when a selected rule calls one of its checks: a commit hook does
not import the history or GitHub checks, nor the Flux checks when it uses their kept result
(`treememo`). A test holds the table to what the modules register. Check modules import nothing
heavy at module level.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..model import Hit, Rule
from ..record import factory, record

if TYPE_CHECKING:
    from ..config import Config
    from ..repo import Repo

MODULE_OF = {
    "parse-error": "hygiene", "gitignore-coverage": "hygiene", "forbidden-file-tracked": "hygiene",
    "sops-ciphertext-only": "sops", "sops-encryption-required": "sops", "sops-recipients-current": "sops",
    "no-plaintext-secrets": "secrets",
    "history-secrets": "history",
    "flux-layout": "flux", "flux-dependency-chain": "flux", "flux-watch-scope": "flux",
    "flux-kustomization-spec": "flux_spec", "helm-release-source": "flux_spec",
    "kustomize-references": "flux_tree", "flux-sops-decryption": "flux_tree", "flux-single-owner": "flux_tree",
    "kustomize-orphan": "flux_tree", "flux-api-removed": "flux_tree", "infrastructure-component-layout": "flux_tree",
    "manifest-schema": "team", "flux-schema": "flux_crd",
    "ci-no-terraform-plan": "pipeline", "forbidden-command": "team", "ci-runs-check": "pipeline",
    "mise-check-coverage": "pipeline", "lefthook-fast-subset": "pipeline", "actions-hardening": "pipeline",
    "branch-protection": "settings",
    "roadmap-numbering": "docs",
    "terraform-providers-pinned": "terraform", "terraform-no-literal-credentials": "terraform",
    "terraform-secret-outputs": "terraform", "terraform-state-local": "terraform",
    "required-ignore": "team",
}
MODULES = tuple(dict.fromkeys(MODULE_OF.values()))
# Where a check of the first kind reports lines, one of the second does not report them again (the
# catalog: "Where CL502 reports a line, CL005 does not report it again"). The engine applies it to the
# rules that ran together; each one alone still reports everything it finds.
SUPERSEDES = {"terraform-no-literal-credentials": ("no-plaintext-secrets",)}
# Checks that judge the whole Flux tree through its model (`stack/gitops/tree.py`): a commit hook may keep
# their outcomes between runs while what they read is unchanged (`treememo`). Known before their module
# is imported; `@check(..., whole_tree=True)` must agree.
WHOLE_TREE = frozenset(name for name, module in MODULE_OF.items() if module in ("flux", "flux_spec", "flux_tree"))


@record
class Options:
    """What the command line asked for, as far as checks need to know."""

    fix: bool = False
    history: bool = False
    github: bool = False
    github_repo: str | None = None
    progress: bool = False
    history_revs: tuple[str, ...] | None = None  # what CL006 scans: git log's revisions (None: every ref)
    history_scope: str = "every ref"


@record(mutable=True)
class Context:
    """What a check gets: the repository, the configuration, its rule and parameters."""

    repo: Repo
    config: Config
    rule: Rule
    options: Options = factory(Options)
    fixes: list[str] = factory(list)  # what --fix changed, said in the report
    modified: list[str] = factory(list)  # the files --fix wrote (the run then fails, as ruff's does)

    @property
    def params(self) -> Mapping[str, Any]:
        return self.rule.params


CheckFn = Callable[[Context], Iterable[Hit]]
REGISTRY: dict[str, CheckFn] = {}


def check(name: str, *, whole_tree: bool = False) -> Callable[[CheckFn], CheckFn]:
    if whole_tree != (name in WHOLE_TREE):
        raise RuntimeError(f"check {name!r}: whole_tree={whole_tree} disagrees with checks.WHOLE_TREE")

    def register(fn: CheckFn) -> CheckFn:
        if name in REGISTRY and REGISTRY[name] is not fn:
            raise RuntimeError(f"check {name!r} registered twice")
        REGISTRY[name] = fn
        return fn

    return register


IMPORT_ERRORS: dict[str, str] = {}


class Registry:
    """The checks by name, each module imported when one of its checks is first asked for; a module
    that fails to import costs only its own rules."""

    def get(self, name: str) -> CheckFn | None:
        if name not in REGISTRY and name in MODULE_OF:
            import_module(MODULE_OF[name])
        return REGISTRY.get(name)


def import_module(module: str) -> None:
    if module in IMPORT_ERRORS:
        return
    try:
        importlib.import_module(f"{__name__}.{module}")
    except Exception as exc:  # noqa: BLE001 - reported per rule by the engine
        IMPORT_ERRORS[module] = f"{type(exc).__name__}: {exc}"


def load_checks() -> Registry:
    return Registry()


def load_all_checks() -> dict[str, CheckFn]:
    """Every check, every module imported (`rules` listings, tests)."""
    for module in MODULES:
        import_module(module)
    return REGISTRY
