"""The check registry: rule files name a check; `@check("name")` registers the function.

Modules are imported by the explicit list below (greppable, no import-order
magic). Check modules import nothing heavy at module level.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..model import Hit, Rule

if TYPE_CHECKING:
    from ..config import Config
    from ..repo import Repo

MODULES = ("hygiene", "sops", "secrets", "history", "flux", "pipeline", "settings", "docs", "generic")


@dataclass(frozen=True)
class Options:
    """What the command line asked for, as far as checks need to know."""

    fix: bool = False
    history: bool = False
    github: bool = False
    github_repo: str | None = None
    progress: bool = False


@dataclass
class Context:
    """What a check gets: the repository, the configuration, its rule and parameters."""

    repo: Repo
    config: Config
    rule: Rule
    options: Options = field(default_factory=Options)
    fixes: list[str] = field(default_factory=list)  # what --fix changed, said in the report

    @property
    def params(self) -> Mapping[str, Any]:
        return self.rule.params


CheckFn = Callable[[Context], Iterable[Hit]]
REGISTRY: dict[str, CheckFn] = {}


# Checks that judge the whole Flux tree through its model (`stack/gitops.py`): a commit hook may keep
# their outcomes between runs while what they read is unchanged (`treememo`).
WHOLE_TREE: set[str] = set()


def check(name: str, *, whole_tree: bool = False) -> Callable[[CheckFn], CheckFn]:
    if whole_tree:
        WHOLE_TREE.add(name)

    def register(fn: CheckFn) -> CheckFn:
        if name in REGISTRY and REGISTRY[name] is not fn:
            raise RuntimeError(f"check {name!r} registered twice")
        REGISTRY[name] = fn
        return fn

    return register


IMPORT_ERRORS: dict[str, str] = {}


def load_checks() -> dict[str, CheckFn]:
    """Import every check module; one that fails to import costs only its own rules."""
    for module in MODULES:
        try:
            importlib.import_module(f"{__name__}.{module}")
        except Exception as exc:  # noqa: BLE001 - reported per rule by the engine
            IMPORT_ERRORS[module] = f"{type(exc).__name__}: {exc}"
    return REGISTRY
