"""CL000 parse-error, CL001 gitignore-coverage, CL002 forbidden-file-tracked."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import PurePosixPath

from ..model import Edit, Hit, Location
from ..repo import Repo
from ..stack.ignores import Verdict, judge
from ..stack.refs import is_public_key_name, is_template_name
from ..stack.sops.model import is_sops_text
from . import Context, check

YAML_SUFFIXES = (".yaml", ".yml")


@check("parse-error")
def parse_error(ctx: Context) -> Iterator[Hit]:
    """Parse every judged YAML file (other models parse what they need), then report what failed in them: a
    commit hook reports what it was given; problems in other files are CI's (--all) to report."""
    for path in ctx.files:
        if path.lower().endswith(YAML_SUFFIXES):  # kubectl reads `.YAML` as it reads `.yaml`
            ctx.repo.parse_yaml(path)
    judged = set(ctx.files)
    for problem in ctx.repo.problems.values():
        if problem.path not in judged:
            continue
        yield Hit(problem.message, Location(problem.path, problem.line, problem.column), key=problem.message)


# -- CL001 ---------------------------------------------------------------------------------


def must_commit_paths(repo: Repo, extra: Iterable[str]) -> list[str]:
    """Paths that ignore rules must never hide: the parameter's examples plus every tracked SOPS file."""
    names = ((p, p.rpartition("/")[2]) for p in repo.files)  # not PurePosixPath: 5,000 of them cost 0.1 s
    tracked = [p for p, name in names if name == ".sops.yaml" or (
        ".sops." in name and not is_template_name(name) and not is_public_key_name(name))]  # templates are not
    return sorted(set(extra) | set(tracked[:500]))


def fix_pattern(probe: str) -> str:
    """The pattern --fix adds for a probe: its file name, unanchored, so it holds at every depth."""
    return PurePosixPath(probe).name


def coverage_hits(ctx: Context, probes: list[str], must_commit: list[str]) -> Iterator[Hit | Edit]:
    """Shared by CL001 and the team rule kind `required-ignore`. The fix it offers appends the patterns that
    hide no must-commit path to the root .gitignore; it resolves the hits of those that no other .gitignore
    re-includes (an appended pattern cannot override a deeper file's `!pattern`)."""
    repo = ctx.repo
    verdicts = judge(repo, probes + must_commit)
    missing = [p for p in probes if not verdicts[p].ignored]
    by_pattern: dict[str, list[str]] = {}
    for probe in missing:
        by_pattern.setdefault(fix_pattern(probe), []).append(probe)
    safe = _safe_patterns(repo, missing, must_commit) if missing else []
    if safe:
        resolves = tuple(f"probe:{p}" for p in safe if not any(verdicts[q].pattern for q in by_pattern[p]))
        yield Edit(".gitignore", ("# never commit (added by cloudlab-lint --fix, CL001)", *safe), resolves,
                   ", ".join(safe))
    for pattern, group in by_pattern.items():
        listed = ", ".join(f"`{p}`" for p in group)
        reincluded = [verdicts[p] for p in group if verdicts[p].pattern]
        why = "".join(f" (`{v.pattern}` in {v.source} re-includes `{v.path}`)" for v in reincluded)
        yield Hit(f"the committed .gitignore files do not ignore {listed}{why}; add `{pattern}` to .gitignore "
                  f"(or run with --fix)", Location(".gitignore", 1), key=f"probe:{pattern}")
    for path in must_commit:
        verdict = verdicts[path]
        if verdict.ignored and verdict.source:
            yield Hit(f"`{verdict.pattern}` ignores `{path}`, which must be committed (SOPS files, .sops.yaml "
                      f"and .gitignore belong in git)", Location(verdict.source, verdict.line), key=f"hides:{path}")


def _safe_patterns(repo: Repo, missing: list[str], must_commit: list[str]) -> list[str]:
    candidates = list(dict.fromkeys(fix_pattern(p) for p in missing))
    # A pattern is safe only if it hides none of the must-commit paths.
    return [c for c in candidates if not any(_glob_hides(c, m) for m in must_commit)]


def _glob_hides(pattern: str, path: str) -> bool:
    import fnmatch

    return fnmatch.fnmatchcase(PurePosixPath(path).name, pattern)


@check("gitignore-coverage")
def gitignore_coverage(ctx: Context) -> Iterator[Hit]:
    probes = list(ctx.params.get("probes", []))
    yield from coverage_hits(ctx, probes, must_commit_paths(ctx.repo, ctx.params.get("must_commit", [])))


# -- CL002 ---------------------------------------------------------------------------------

AGE_KEY_FILE = "a file holding an age secret key"


def _stem(name: str) -> str:
    for suffix in (".yaml", ".yml", ".json", ".conf", ".config"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def classify(repo: Repo, path: str) -> tuple[str, int] | None:
    """Why `path` must never be committed, and the line to point at; None if it may be."""
    text = repo.read_text(path, strict=False)
    verdict = classify_text(path, text)
    if verdict is None and text is None:
        # Binary, over the parse size cap or undecodable: an age key in it is found all the same.
        chunks = repo.stream(path)
        line = age_key_line(chunks) if chunks is not None else None
        if line is not None:
            return AGE_KEY_FILE, line
    return verdict


def age_key_line(chunks: Iterable[bytes]) -> int | None:
    """The line of the first age secret key in a file (in clear, or base64-encoded as in a Secret's
    `data:`), read whole in bounded windows; None if it holds none."""
    from ..stack.detectors import scan_chunks

    found = scan_chunks(chunks, frozenset({"age-secret-key"})).finish()
    return min(d.line for d in found) if found else None


def needs_content(path: str) -> bool:
    """A name that says kubeconfig or talosconfig: whether it is one is its content's to say."""
    name = path.rpartition("/")[2]
    stem = _stem(name)
    return stem in ("kubeconfig", "talosconfig") or name.endswith(".kubeconfig")


def classify_text(path: str, text: str | None, *, age_line: int | None = None) -> tuple[str, int] | None:
    """`classify` on given content (None: unknown or binary), e.g. a blob from history (CL006). `age_line`:
    where the caller's detectors already found an age secret key.

    A file named kubeconfig or talosconfig is one when its content is (credentials in clear); when the
    content is unknown, the name decides. An Ansible task file named `kubeconfig.yaml`, a kubeconfig whose
    users authenticate through `exec`, are neither."""
    name = path.rpartition("/")[2]
    if text is not None and is_sops_text(text):
        return None
    if name == ".age-key.txt" or name.endswith(".agekey"):
        return "an age private key file", 1
    if name.endswith(".tfstate") or ".tfstate." in name:
        return "Terraform state (it holds every secret Terraform knows, in clear)", 1
    if text is None:
        if needs_content(path):
            what = "talosconfig" if _stem(name) == "talosconfig" else "kubeconfig"
            return f"a {what} (its content could not be read to check for credentials)", 1
        return None
    if age_line is None:
        from ..stack.detectors import may_hold_age_key

        data = text.encode("utf-8", "surrogateescape")
        age_line = age_key_line((data,)) if may_hold_age_key(data) else None
    if age_line is not None:
        return AGE_KEY_FILE, age_line
    if '"terraform_version"' in text and '"lineage"' in text and _is_tfstate_text(text):
        return "Terraform state JSON", 1
    from ..stack.clientconfig import client_config

    return client_config(text, needs_content(path))


def _is_tfstate_text(text: str) -> bool:
    import json

    try:
        data = json.loads(text)
    except ValueError:
        return False
    return isinstance(data, dict) and "terraform_version" in data and "lineage" in data


@check("forbidden-file-tracked")
def forbidden_file_tracked(ctx: Context) -> Iterator[Hit]:
    found = {}
    for path in ctx.files:
        verdict = classify(ctx.repo, path)
        if verdict:
            found[path] = verdict
    ignored: dict[str, Verdict] = judge(ctx.repo, found) if found else {}
    for path, (what, line) in found.items():
        v = ignored.get(path)
        tail = (f"; it is ignored by `{v.pattern}` in {v.source} but tracked anyway" if v and v.ignored else "")
        yield Hit(f"{what} must never be committed{tail}: remove it with `git rm --cached {path}` "
                  f"(and rotate what it held if it was ever pushed)", Location(path, line), key=what)
