"""What Flux leaves out of what it applies: a GitRepository artifact's exclusions (the defaults, or
`spec.ignore`, plus `.sourceignore` files at any depth) and a Kustomization's own `spec.ignore`.

Patterns are gitignore's, matched as source-controller's go-git matcher does: each pattern against a file's
whole path (a folder pattern matches everything below that folder), the last matching pattern deciding, so a
negation may re-include a file below an excluded folder.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable

# source-controller's default exclusions when the GitRepository sets no `spec.ignore`
DEFAULT_EXCLUDED = (".git/", ".gitignore", ".gitmodules", ".gitattributes", "*.jpg", "*.jpeg", "*.gif", "*.png",
                    "*.wmv", "*.flv", "*.tar.gz", "*.zip", ".github/", ".circleci/", ".travis.yml", ".gitlab-ci.yml",
                    "appveyor.yml", ".drone.yml", "cloudbuild.yaml", "codeship-services.yml", "codeship-steps.yml",
                    "**/.goreleaser.yml", "**/.sops.yaml", "**/.flux.yaml")

Pattern = tuple[str, bool]  # (regular expression, negated): compiled by `matcher`, all in one where it can


def _glob(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        if text.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif text.startswith("/**", i) and i + 3 == len(text):
            out.append("/.*")
            i += 3
        elif text[i] == "*":
            out.append("[^/]*")
            i += 1
        elif text[i] == "?":
            out.append("[^/]")
            i += 1
        elif text[i] == "[":
            end = text.find("]", i + 1)
            if end < 0:
                out.append(re.escape(text[i]))
                i += 1
            else:
                body = text[i + 1:end]
                out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
                i = end + 1
        else:
            out.append(re.escape(text[i]))
            i += 1
    return "".join(out)


def compile_patterns(lines: Iterable[str], base: str = ".") -> list[Pattern]:
    """gitignore lines of a file in folder `base` (repository-relative), as regular expressions on paths."""
    prefix = "" if base in ("", ".") else re.escape(base.strip("/")) + "/"
    out: list[Pattern] = []
    for raw in lines:
        line = raw.rstrip("\n").rstrip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        if negated:
            line = line[1:]
        line = line.replace("\\#", "#").replace("\\!", "!")
        folder = line.endswith("/")
        line = line.rstrip("/")
        if not line:
            continue
        anchored = "/" in line
        body = _glob(line.lstrip("/"))
        where = prefix + ("" if anchored else "(?:.*/)?")
        tail = "/.*" if folder else "(?:/.*)?"
        out.append((f"^{where}{body}{tail}$", negated))
    return out


def matcher(patterns: list[Pattern]) -> Callable[[str], bool]:
    """Whether a repository path is excluded: the last pattern matching it decides. A pattern that is no valid
    regular expression (a bracket git reads and Python does not) matches nothing."""
    if not any(negated for _, negated in patterns):  # any match excludes: one pass over the path, not one per pattern
        try:
            one = re.compile("|".join(f"(?:{regex})" for regex, _ in patterns))
        except (re.error, RecursionError):  # an invalid one among them: each compiled alone below
            one = None
        if one is not None:
            return lambda path: one.match(path) is not None
    compiled = [(regex, negated) for regex, negated in ((_compiled(r), n) for r, n in patterns) if regex is not None]

    def excluded(path: str) -> bool:
        verdict = False
        for regex, negated in compiled:
            if regex.match(path):
                verdict = not negated
        return verdict
    return excluded


def _compiled(regex: str) -> re.Pattern[str] | None:
    try:
        return re.compile(regex)
    except re.error:
        return None


def source_ignore(repo: object, spec_ignore: str | None) -> Callable[[str], bool] | None:
    """The exclusions of the repository's own GitRepository artifact: the defaults (or `spec.ignore`, which
    replaces them) and every `.sourceignore` file; None when nothing is excluded beyond what no rule reads."""
    files = [p for p in repo.files if posixpath.basename(p) == ".sourceignore"]  # type: ignore[attr-defined]
    patterns = compile_patterns(DEFAULT_EXCLUDED if spec_ignore is None else [])
    for path in sorted(files, key=lambda p: (p.count("/"), p)):
        text = repo.read_text(path, strict=False) or ""  # type: ignore[attr-defined]
        patterns += compile_patterns(text.splitlines(), posixpath.dirname(path) or ".")
    if spec_ignore is not None:
        patterns += compile_patterns(spec_ignore.splitlines())
    return matcher(patterns) if patterns else None
