"""Which files the pipeline model can involve, decided without building it (a commit hook's fast path).

The pipeline rules (CL201-CL204) judge the whole pipeline, and in pre-commit mode only when a staged file is
one they read: a workflow, a mise or lefthook config, a task, a Makefile, a shell script, or any file a
command they follow runs. `may_matter` answers "can any target be such a file?" before the model (and its
modules) are loaded, and it must never say no where the model would say yes. So it computes a superset of
what the model can reach:

- the files the model reads on its own (workflows, composite actions, mise configs and includes, task
  folders, lefthook configs and scripts, Makefiles, `*.sh`), matched by path as `pipeline_touched` does;
- every tracked file whose name occurs in the text of a file already in the set, repeated until nothing
  is added. The resolver reaches a script only through a path written in a file it reads: the script's
  name is one whole component of that path (or of the working directory it is joined to), and the shell
  words it comes from differ from the text only by removed quotes, backslashes, line continuations and
  here-document tabs. So the text is searched with those characters deleted (and YAML, TOML and JSON
  configs through their parsed strings, which undo their escapes); names holding such characters, texts
  that rebuild words in other ways (`eval` drops `$(...)` from a word; mise file-task headers are TOML),
  and sets that grow large are answered "yes" without further thought.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

WORKFLOW_DIR = ".github/workflows/"
# Where mise looks in a project folder (catalog order; the first definition of a task wins).
MISE_FILES = (".mise.toml", "mise.toml", ".mise/config.toml", ".config/mise.toml", "mise/config.toml",
              ".config/mise/config.toml")
LOCK_FILES = ("mise.lock", ".mise.lock")
TASK_DIRS = (".mise/tasks", "mise-tasks", ".config/mise/tasks", "mise/tasks", ".mise-tasks")
# lefthook reads the first of these it finds (`lefthook-local.*` is personal, never shared).
PRE_COMMIT_CONFIG = ".pre-commit-config.yaml"  # CL204's other hook runner
LEFTHOOK_FILES = tuple(f"{dot}lefthook.{ext}" for ext in ("yml", "yaml", "toml", "json") for dot in ("", "."))
ACTION_FILES = ("action.yml", "action.yaml")
MAKEFILES = ("GNUmakefile", "makefile", "Makefile")

_TASK_PREFIXES = tuple(d + "/" for d in TASK_DIRS)
# What a file name may hold for the text search to be exact: no quote, backslash, `$`, brackets or blanks.
_SAFE_NAME = re.compile(r"[A-Za-z0-9._+@%,=:~-]+")
_DELETED = str.maketrans("", "", "\\'\"\n\t")
MAX_FILES = 400  # a superset this big is no fast path any more: build the model
_MISE_HEADER_ESCAPE = re.compile(r"(?m)^#\s*\[?(?:MISE|mise)\]?\s+[A-Za-z_]+\s*=.*\\")
_EVAL = re.compile(r"\beval\b")


def is_workflow_path(path: str) -> bool:
    return (path.startswith(WORKFLOW_DIR) and "/" not in path[len(WORKFLOW_DIR):]
            and path.endswith((".yml", ".yaml")))


def matters(path: str, extra: frozenset[str] | set[str] = frozenset()) -> bool:
    """A file the pipeline rules read whatever the commands say (`extra`: files the model reached)."""
    return (is_workflow_path(path) or path in MISE_FILES or path in LOCK_FILES or path in LEFTHOOK_FILES
            or path == PRE_COMMIT_CONFIG
            or path.startswith(_TASK_PREFIXES) or path.startswith(".lefthook/")
            or path.rsplit("/", 1)[-1] in MAKEFILES or path.endswith(".sh")
            or path in extra)


def may_matter(repo: Any) -> bool:
    """False only when no target can be a file the pipeline model involves (then its rules say nothing)."""
    if repo.all_mode:
        return True
    return repo.cached(("pipeline", "may-matter"), lambda: _may_matter(repo))


def _may_matter(repo: Any) -> bool:
    targets = list(repo.targets)
    if not targets:
        return False
    for path in targets:
        name = path.rsplit("/", 1)[-1]
        if matters(path) or name in ACTION_FILES or not _SAFE_NAME.fullmatch(name):
            return True
    found = _roots(repo)
    if found is None:
        return True
    roots, includes = found
    wanted = set(targets)
    if wanted & roots:
        return True
    by_name: dict[str, list[str]] = {}
    for path in repo.files:
        if path not in roots:
            by_name.setdefault(path.rsplit("/", 1)[-1], []).append(path)
    pending = sorted(roots)
    seen = set(roots)
    while pending:
        texts = []
        for path in pending:
            text = _searchable(repo, path, path in includes)
            if text is None:
                return True
            texts.append(text)
        blob = "\0".join(texts)
        pending = []
        for name in [n for n in by_name if n in blob]:
            for path in by_name.pop(name):
                if path in wanted:
                    return True
                if path not in seen:
                    seen.add(path)
                    pending.append(path)
        if len(seen) > MAX_FILES:
            return True
    return False


def _roots(repo: Any) -> tuple[set[str], set[str]] | None:
    """The files the model reads without being pointed to them, and among them the mise includes (parsed
    as TOML by the model); None: give up (say it may matter)."""
    roots = _rooted(repo.files)
    includes: set[str] = set()
    # mise `task_config.includes`: tasks files and task folders anywhere (as load_mise reads them).
    for config in MISE_FILES:
        if not repo.exists(config):
            continue
        raw = repo.read_text(config, strict=False)
        if raw is None or "includes" not in raw and "\\" not in raw:
            continue  # no `includes` key, not even spelt with escapes: no TOML parse (nor its import)
        data = repo.toml(config)
        if not isinstance(data, dict):
            continue
        task_config = data.get("task_config")
        listed = task_config.get("includes") if isinstance(task_config, dict) else None
        for inc in listed if isinstance(listed, list) else [listed] if listed is not None else []:
            if not isinstance(inc, str) or not inc.strip("./"):
                continue
            inc = inc.strip("/").removeprefix("./")
            if inc.endswith(".toml") and repo.exists(inc):
                includes.add(inc)
            else:
                folder = inc.strip("/")
                if folder in ("", "."):
                    return None
                includes.update(p for p in repo.files if p.startswith(folder + "/"))
    roots |= includes
    return (roots, includes) if len(roots) <= MAX_FILES else None


def _is_root(path: str) -> bool:
    # Files with names the text search cannot find are read as if the model always did.
    name = path.rsplit("/", 1)[-1]
    return matters(path) or name in ACTION_FILES or not _SAFE_NAME.fullmatch(name)


# Every path `_is_root` holds contains one of these (a superset: they only say which lines to ask about):
# a character the text search cannot find, or a piece of a name or folder the model reads on its own.
_UNSAFE_CHAR = re.compile(r"[^A-Za-z0-9._+@%,=:~/\n-]")
_ROOT_HINTS = (".sh", "akefile", "action.y", "\n.github/", "\n.mise", "\nmise", "\n.config/", "\n.lefthook",
               "\nlefthook")


def _rooted(files: tuple[str, ...]) -> set[str]:
    """The files `_is_root` holds. Asked of 5,000 files one by one it costs a hook run ~15 ms; a few
    searches over the whole listing find the lines worth asking about."""
    listing = "\n" + "\n".join(files)
    if listing.count("\n") != len(files):  # a name holding a line break: one by one
        return {p for p in files if _is_root(p)}
    hits = [m.start() for m in _UNSAFE_CHAR.finditer(listing)]
    for hint in _ROOT_HINTS:
        at = listing.find(hint)
        while at >= 0:
            hits.append(at + 1 if hint[0] == "\n" else at)
            at = listing.find(hint, at + 1)
    lines = set()
    for at in hits:
        start = listing.rfind("\n", 0, at) + 1
        end = listing.find("\n", at)
        lines.add(listing[start:end if end >= 0 else len(listing)])
    return {p for p in lines if _is_root(p)}


def _searchable(repo: Any, path: str, include: bool) -> str | None:
    """The text in which a name the model can follow from `path` must occur; None: give up."""
    parts = []
    # A link or a file over the cap gives the model no text either; asked quietly, so that this search
    # (which reads more than the model) adds no note the model's own reads would not.
    text = repo.read_text(path, strict=False) if repo.readable(path) else None
    if text is not None:
        if _EVAL.search(text) or _MISE_HEADER_ESCAPE.search(text):
            return None
        parts.append(text)
    # Without a backslash, the strings of a YAML, TOML or JSON file are in its text as written (quotes
    # aside; folded line breaks only add blanks): the raw text serves, no parse needed.
    structured = _structured(repo, path, include) if text is not None and "\\" in text else []
    if structured:
        parts.extend(structured)
        if any(_EVAL.search(s) for s in structured):
            return None
    joined = "\0".join(parts).translate(_DELETED)
    # Rewrites of the model that join text: a task's `dir` drops `{{config_root}}`, make recipes say `make`.
    rewritten = (joined.replace("{{config_root}}", "").replace("{{ config_root }}", "")
                 .replace("$(MAKE)", "make").replace("${MAKE}", "make"))
    return joined if rewritten == joined else joined + "\0" + rewritten


def _structured(repo: Any, path: str, include: bool) -> list[str]:
    """Every string of a config the model reads parsed (escapes undone), keys included."""
    name = posixpath.basename(path)
    data: Any = None
    if path.endswith(".toml") and (path in MISE_FILES or include):
        data = repo.toml(path)
    elif path in LEFTHOOK_FILES and path.endswith(".json"):
        data = repo.json(path)
    elif path.endswith((".yml", ".yaml")) and (is_workflow_path(path) or name in ACTION_FILES
                                               or path in LEFTHOOK_FILES):
        data = [d.data for d in repo.yaml(path) or []]
    elif path in LEFTHOOK_FILES and path.endswith(".toml"):
        data = repo.toml(path)
    out: list[str] = []
    _strings(data, out, 0)
    return out


def _strings(value: Any, out: list[str], depth: int) -> None:
    if depth > 200:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            out.append(str(key))
            _strings(item, out, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _strings(item, out, depth + 1)
    elif value is not None:
        out.append(str(value))
