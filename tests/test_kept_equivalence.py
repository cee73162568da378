"""What a commit hook keeps between runs never changes what it reports (issue #17).

Every fixture, materialised as a real git repository, goes through a seeded random sequence of edits: files added
(a copied manifest, a Flux Kustomization, a kustomization.yaml resource entry, plain text, a plaintext Secret),
modified (a scalar such as an interval, name, namespace, path or dependsOn entry; a key inserted; a comment; a
HelmRelease's values; YAML broken; a fake secret), deleted, renamed, and reverted (a path checked out of an
earlier commit or the index, unstaged, restored from an earlier state, stashed and popped), some staged and some
left in the work tree, with commits between. After each edit the run that keeps and is served from what the
earlier runs kept (a hook judging the index through `GIT_INDEX_FILE`, with or without the staged names;
`--staged` with names; named paths judged in the work tree) reports exactly what a `--no-cache` run of the same
arguments reports: findings, notes, exit code. Also a generated repository of realistic shape.

A failure names its seed: `CLOUDLAB_EQUIV_SEED=<seed> pytest tests/test_kept_equivalence.py -k <case>` replays it.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import posixpath
import random
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from cloudlab_lint import catalog
from cloudlab_lint.runner.kept import KeptResults
from cloudlab_lint.runner.settings import Settings

from .helpers import (
    FIXTURES,
    PROJECT,
    commit_all,
    git,
    init_repo,
    load_case,
    materialise,
    run_cli,
    runner_settings,
    write_files,
)

CASES = sorted(p.parent for p in FIXTURES.glob("*/*/case.yaml"))
EDITS = 5  # per fixture: ~180 fixtures x 2 runs per edit are most of this file's CPU (the budget: well under 60 s)
RACY_FROM = 4  # the edits from this one on run with the default racy window (the racy-guard path)
BIG_EDITS = 30
CONFIG = ".cloudlab-lint.yaml"
MODES = ("hook", "hook-named", "staged", "worktree")
SCALAR = re.compile(r"^([ \t]*(?:- +)?(interval|name|namespace|path|targetNamespace|timeout|dependsOn|chart|"
                    r"version|branch|kind|url|replicas|tag|repository)[ \t]*:[ \t]*)([^\s#][^\n#]*?)[ \t]*$", re.M)
PARENT = re.compile(r"^([ \t]*)(metadata|spec|values|data|stringData|resources|dependsOn):[ \t]*$", re.M)
# Secret-looking lines, obviously fake, assembled here so this file holds none.
FAKE_SECRETS = (
    "AGE-SECRET-KEY-1" + "Q" * 58,
    "GH_TOKEN: ghp_" + "FAKE" * 9,
    "-----BEGIN OPENSSH " + "PRIVATE KEY-----\n" + "b3BlbnNzaC1rZXktdjEAAAAA" * 3
    + "\n-----END OPENSSH " + "PRIVATE KEY-----",
)


def seed_for(name: str) -> int:
    """The case's seed: stable across processes (not `hash`), different per case; the environment may replay one."""
    forced = os.environ.get("CLOUDLAB_EQUIV_SEED")
    if forced:
        return int(forced)
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=4).digest(), "big")


class Editor:
    """A seeded random sequence of edits on a real git repository, with a log that says what each step did."""

    def __init__(self, root: Path, rng: random.Random) -> None:
        self.root, self.rng = root, rng
        self.n = 0
        self.log: list[str] = []
        self.states: list[dict[str, bytes]] = [self.snapshot()]
        # Stamps (size, mtime, ctime, inode) must change with content, as they do for a user between two edits.
        # Edits here follow each other within one clock tick of coarse file systems, so every file whose content
        # an edit changed gets a modification time no other content had (in the past: no racy window holds it).
        self.clock = time.time_ns() - 86_400 * 10**9
        self.stashes = 0

    # -- the repository ------------------------------------------------------------------

    def git(self, *args: str, check: bool = True) -> str:
        return git(self.root, *args, check=check)

    def snapshot(self) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        for folder, dirs, files in os.walk(self.root):
            if folder == str(self.root):
                dirs[:] = [d for d in dirs if d != ".git"]
            for name in files:
                path = os.path.join(folder, name)
                if not os.path.islink(path):
                    with open(path, "rb") as f:
                        out[os.path.relpath(path, self.root).replace(os.sep, "/")] = f.read()
        return out

    def files(self) -> list[str]:
        return sorted(self.states[-1])

    def text(self, path: str) -> str | None:
        try:
            return self.states[-1][path].decode("utf-8")
        except (KeyError, UnicodeDecodeError):
            return None

    def texts(self, suffixes: tuple[str, ...] = (), pattern: re.Pattern[str] | None = None,
              editable: bool = True) -> list[str]:
        """Text files, by suffix and content; `editable`: not the tool's own config (a broken one ends every run)."""
        out = []
        for path in self.files():
            text = self.text(path)
            if text is None or (suffixes and not path.endswith(suffixes)) or (editable and path == CONFIG):
                continue
            if pattern is None or pattern.search(text):
                out.append(path)
        return out

    def folders(self) -> list[str]:
        return sorted({"", *(posixpath.dirname(p) for p in self.files())})

    def write(self, path: str, text: str | bytes) -> None:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text.encode() if isinstance(text, str) else text)

    def fresh_name(self, folder: str, stem: str, suffix: str) -> str:
        return posixpath.join(folder, f"{stem}{self.n}{suffix}")

    def stage(self, paths: list[str]) -> None:
        here = [p for p in paths if os.path.lexists(self.root / p)]
        if here:  # -f: a fixture may track what its .gitignore ignores
            self.git("add", "-A", "-f", "--", *here)
        if len(here) < len(paths):
            self.git("rm", "-q", "--cached", "--ignore-unmatch", "--", *(p for p in paths if p not in here))

    def settle(self) -> None:
        """After an edit: give each changed file a stamp of its own, and remember the state (for reverts)."""
        before, now = self.states[-1], self.snapshot()
        for path, data in now.items():
            if before.get(path) != data:
                self.clock += 1_000_000_000
                os.utime(self.root / path, ns=(self.clock, self.clock))
        self.states.append(now)

    # -- edits: each returns what it did, or None when the repository offers it nothing ----

    def edit(self) -> str:
        self.n += 1
        kinds: list[tuple[Callable[[], str | None], int]] = [
            (self.add_copy, 3), (self.add_flux_kustomization, 2), (self.add_resource_entry, 2), (self.add_text, 1),
            (self.add_secret_manifest, 1), (self.modify_scalar, 5), (self.insert_key, 2), (self.append_comment, 2),
            (self.helm_values, 2), (self.break_yaml, 1), (self.fake_secret, 1), (self.modify_line, 2),
            (self.delete, 2), (self.rename, 2), (self.revert_from_commit, 1), (self.revert_from_index, 1),
            (self.unstage, 1), (self.revert_to_earlier_state, 2), (self.stash, 1), (self.commit, 2),
        ]
        edits, weights = zip(*kinds, strict=True)
        while True:
            done = self.rng.choices(edits, weights)[0]()
            if done is not None:
                break
        self.settle()
        self.log.append(done)
        return done

    def _then_maybe_stage(self, what: str, paths: list[str]) -> str:
        """Half the edits are staged (what a hook judges), half left in the work tree (what named paths judge)."""
        if self.rng.random() < 0.5:
            self.stage(paths)
            return f"{what} (staged)"
        return what

    def add_copy(self) -> str | None:
        sources = self.texts((".yaml", ".yml")) or self.texts()
        if not sources:
            return None
        src = self.rng.choice(sources)
        folder = self.rng.choice([posixpath.dirname(src), *self.folders()])
        new = self.fresh_name(folder, "copy", "-" + posixpath.basename(src))
        self.write(new, self.states[-1][src])
        return self._then_maybe_stage(f"add {new} (a copy of {src})", [new])

    def add_flux_kustomization(self) -> str | None:
        names = [m.group(3) for p in self.texts((".yaml", ".yml")) for m in SCALAR.finditer(self.text(p) or "")
                 if m.group(2) == "name"]
        folders = [f for f in self.folders() if f] or ["kubernetes"]
        folder = self.rng.choice([f for f in folders if "flux-system" in f] or folders)
        target = self.rng.choice([*folders, "kubernetes/nowhere"])
        depends = "".join(f"    - name: {n}\n" for n in self.rng.sample(names, min(len(names), self.rng.randint(0, 2))))
        text = (f"apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: edit{self.n}\n"
                f"  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./{target}\n  prune: true\n"
                f"  sourceRef:\n    kind: GitRepository\n    name: flux-system\n"
                + (f"  dependsOn:\n{depends}" if depends else ""))
        new = self.fresh_name(folder, "ks-edit", ".yaml")
        self.write(new, text)
        return self._then_maybe_stage(f"add the Flux Kustomization {new} (path ./{target})", [new])

    def add_resource_entry(self) -> str | None:
        names = ("kustomization.yaml", "kustomization.yml")
        kustomizations = [p for p in self.texts() if posixpath.basename(p) in names]
        if not kustomizations:
            folder = self.rng.choice(self.folders())
            siblings = [posixpath.basename(p) for p in self.files() if posixpath.dirname(p) == folder]
            path = posixpath.join(folder, "kustomization.yaml")
            self.write(path, "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n"
                       + "".join(f"  - {s}\n" for s in siblings[:3]))
            return self._then_maybe_stage(f"add {path} listing {siblings[:3]}", [path])
        path = self.rng.choice(kustomizations)
        folder = posixpath.dirname(path)
        near = [posixpath.relpath(p, folder) for p in self.files() if p.startswith(folder) and p != path]
        entry = self.rng.choice([*near, f"missing{self.n}.yaml", "../"]) if near else f"missing{self.n}.yaml"
        try:
            doc = yaml.safe_load(self.text(path) or "")
        except yaml.YAMLError:
            doc = None
        if isinstance(doc, dict) and isinstance(doc.get("resources", []), list):
            doc["resources"] = [*(doc.get("resources") or []), entry]
            self.write(path, yaml.safe_dump(doc, sort_keys=False))
        else:
            self.write(path, (self.text(path) or "").rstrip("\n") + f"\nresources:\n  - {entry}\n")
        return self._then_maybe_stage(f"list {entry} in {path}", [path])

    def add_text(self) -> str | None:
        path = self.fresh_name(self.rng.choice(self.folders()), "notes", self.rng.choice([".txt", ".md"]))
        self.write(path, f"# notes {self.n}\n\nnothing to see here\n")
        return self._then_maybe_stage(f"add the text file {path}", [path])

    def add_secret_manifest(self) -> str | None:
        path = self.fresh_name(self.rng.choice(self.folders()), "secret", ".yaml")
        self.write(path, f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: edit{self.n}\n  namespace: default\n"
                   f"stringData:\n  password: not-encrypted-{self.n}\n")
        return self._then_maybe_stage(f"add the plaintext Secret {path}", [path])

    def modify_scalar(self) -> str | None:
        candidates = self.texts((".yaml", ".yml"), SCALAR, editable=False)
        if not candidates:
            return None
        path = self.rng.choice(candidates)
        text = self.text(path) or ""
        match = self.rng.choice(list(SCALAR.finditer(text)))
        key, old = match.group(2), match.group(3)
        same_key = [m.group(3) for p in candidates for m in SCALAR.finditer(self.text(p) or "")
                    if m.group(2) == key and m.group(3) != old]
        choice = self.rng.random()
        if choice < 0.35 and same_key:  # another one's value: a reference that now resolves, or a clash
            new = self.rng.choice(same_key)
        elif choice < 0.7 and old[-1:].isalnum():  # the same length: only the stamp's times say it changed
            new = old[:-1] + self.rng.choice([c for c in "0123456789abcxyz" if c != old[-1]])
        else:
            new = old + f"-x{self.n}"
        text = text[:match.start(3)] + new + text[match.end(3):]
        self.write(path, text)
        return self._then_maybe_stage(f"{key}: {old} -> {new} in {path}", [path])

    def insert_key(self) -> str | None:
        candidates = self.texts((".yaml", ".yml"), PARENT)
        if not candidates:
            return None
        path = self.rng.choice(candidates)
        text = self.text(path) or ""
        match = self.rng.choice(list(PARENT.finditer(text)))
        indent = match.group(1) + "  "
        key = self.rng.choice(["suspend: true", "wait: false", "prune: false", f"edited: \"{self.n}\"",
                               "targetNamespace: elsewhere", "decryption:\n" + indent + "  provider: sops",
                               f"annotations:\n{indent}  edit: \"{self.n}\""])
        if match.group(2) in ("resources", "dependsOn"):
            key = f"- name: extra{self.n}" if match.group(2) == "dependsOn" else f"- extra{self.n}.yaml"
        text = text[:match.end()] + "\n" + indent + key + text[match.end():]
        self.write(path, text)
        return self._then_maybe_stage(f"insert `{key.splitlines()[0]}` under {match.group(2)} in {path}", [path])

    def append_comment(self) -> str | None:
        candidates = self.texts()
        if not candidates:
            return None
        path = self.rng.choice(candidates)
        text = self.text(path) or ""
        self.write(path, text + ("" if text.endswith("\n") or not text else "\n") + f"# edit {self.n}\n")
        return self._then_maybe_stage(f"append a comment to {path}", [path])

    def helm_values(self) -> str | None:
        releases = self.texts((".yaml", ".yml"), re.compile(r"kind:\s*HelmRelease"))
        if not releases:
            return None
        path = self.rng.choice(releases)
        text = self.text(path) or ""
        values = re.search(r"^([ \t]*)values:[ \t]*$", text, re.M)
        if values is not None:
            text = text[:values.end()] + f"\n{values.group(1)}  replicaCount: {self.n}" + text[values.end():]
        else:
            spec = re.search(r"^([ \t]*)spec:[ \t]*$", text, re.M)
            if spec is None:
                return None
            values_key = f"\n{spec.group(1)}  values:\n{spec.group(1)}    edit: {self.n}"
            text = text[:spec.end()] + values_key + text[spec.end():]
        self.write(path, text)
        return self._then_maybe_stage(f"change the HelmRelease values in {path}", [path])

    def break_yaml(self) -> str | None:
        candidates = self.texts((".yaml", ".yml"))
        if not candidates:
            return None
        path = self.rng.choice(candidates)
        lines = (self.text(path) or "").splitlines(keepends=True)
        at = self.rng.randint(0, len(lines))
        how = self.rng.choice(["unclosed", "tab", "truncate"])
        if how == "truncate":
            lines = lines[:at]
        else:
            lines.insert(at, "broken: [unclosed\n" if how == "unclosed" else "\tkey: : value\n")
        self.write(path, "".join(lines))
        return self._then_maybe_stage(f"break the YAML of {path} ({how} at line {at + 1})", [path])

    def fake_secret(self) -> str | None:
        candidates = self.texts()
        path = self.rng.choice(candidates) if candidates and self.rng.random() < 0.7 else \
            self.fresh_name(self.rng.choice(self.folders()), "leak", ".env")
        secret = self.rng.choice(FAKE_SECRETS)
        text = self.text(path) or ""
        self.write(path, text + ("" if text.endswith("\n") or not text else "\n") + secret + "\n")
        return self._then_maybe_stage(f"put a fake secret in {path}", [path])

    def modify_line(self) -> str | None:
        """Any text file (Terraform, a workflow, a script): one character of one line changed."""
        candidates = [p for p in self.texts() if (self.text(p) or "").strip()]
        if not candidates:
            return None
        path = self.rng.choice(candidates)
        lines = (self.text(path) or "").splitlines(keepends=True)
        i = self.rng.choice([k for k, line in enumerate(lines) if line.strip()])
        line = lines[i]
        j = self.rng.randrange(len(line.rstrip("\n")))
        lines[i] = line[:j] + self.rng.choice("az09_-") + line[j + 1:]
        self.write(path, "".join(lines))
        return self._then_maybe_stage(f"change line {i + 1} of {path}", [path])

    def delete(self) -> str | None:
        candidates = [p for p in self.files() if p != CONFIG]
        if not candidates:
            return None
        path = self.rng.choice(candidates)
        if self.rng.random() < 0.5 and self.git("ls-files", "--", path).strip():
            self.git("rm", "-q", "-f", "--", path)
            return f"git rm {path}"
        os.remove(self.root / path)
        return f"delete {path} from the work tree"

    def rename(self) -> str | None:
        candidates = [p for p in self.files() if p != CONFIG]
        if not candidates:
            return None
        path = self.rng.choice(candidates)
        folder = self.rng.choice([posixpath.dirname(path), *self.folders()])
        new = self.fresh_name(folder, "renamed", "-" + posixpath.basename(path))
        (self.root / new).parent.mkdir(parents=True, exist_ok=True)
        if self.rng.random() < 0.6 and self.git("ls-files", "--", path).strip():
            self.git("mv", "--", path, new)
            return f"git mv {path} {new}"
        os.rename(self.root / path, self.root / new)
        return f"rename {path} to {new} in the work tree"

    def revert_from_commit(self) -> str | None:
        commits = self.git("rev-list", "--all", check=False).split()
        if not commits:
            return None
        commit = self.rng.choice(commits)
        paths = [p for p in self.git("ls-tree", "-r", "-z", "--name-only", commit).split("\0") if p]
        if not paths:
            return None
        path = self.rng.choice(paths)
        self.git("checkout", commit, "--", path)
        return f"check out {path} of {commit[:8]} (index and work tree)"

    def revert_from_index(self) -> str | None:
        changed = [p for p in self.git("diff", "--name-only", "-z").split("\0") if p]
        if not changed:
            return None
        path = self.rng.choice(changed)
        self.git("checkout", "--", path)
        return f"restore {path} from the index"

    def unstage(self) -> str | None:
        if not self.git("rev-list", "-1", "--all", check=False).strip():
            return None
        staged = [p for p in self.git("diff", "--cached", "--name-only", "-z").split("\0") if p]
        if not staged:
            return None
        path = self.rng.choice(staged)
        self.git("reset", "-q", "--", path)
        return f"unstage {path}"

    def revert_to_earlier_state(self) -> str | None:
        """A path of the work tree put back as it was a few edits ago (an editor's undo, a copy from a backup)."""
        earlier = self.rng.choice(self.states[:-1]) if len(self.states) > 1 else self.states[0]
        now = self.states[-1]
        differ = sorted(p for p in {*earlier, *now} if earlier.get(p) != now.get(p))
        if not differ:
            return None
        path = self.rng.choice(differ)
        if path in earlier:
            self.write(path, earlier[path])
        else:
            os.remove(self.root / path)
        return self._then_maybe_stage(f"put {path} back as it was earlier", [path])

    def stash(self) -> str | None:
        if not self.git("rev-list", "-1", "--all", check=False).strip():
            return None
        if self.stashes and self.rng.random() < 0.7:
            popped = subprocess.run(["git", "stash", "pop", "-q"], cwd=self.root, capture_output=True, check=False)
            if popped.returncode != 0:  # a conflict: left in the work tree, the index back to HEAD
                self.git("reset", "-q")
                return "git stash pop (conflicted, index reset)"
            self.stashes -= 1
            return "git stash pop"
        if not self.git("status", "--porcelain", "--untracked-files=all").strip():
            return None
        self.git("stash", "push", "-q", "--include-untracked")
        self.stashes += 1
        return "git stash push --include-untracked"

    def commit(self) -> str | None:
        done = subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", f"edit {self.n}"], cwd=self.root,
                              capture_output=True, check=False)
        return "git commit" if done.returncode == 0 else None

    # -- how a hook (or a person) then runs the tool -------------------------------------

    def invocation(self) -> tuple[str, list[str]]:
        """A mode and its arguments: a hook judging the index (all of its change, or the staged names as pre-commit
        passes them), `--staged` with names, or names judged in the work tree (untracked new files included)."""
        mode = self.rng.choice(MODES)
        if mode == "hook":
            return mode, []
        if mode == "hook-named":
            return mode, [p for p in self.git("diff", "--cached", "--name-only", "-z", "--diff-filter=d").split("\0")
                          if p]
        tracked = {p for p in self.git("ls-files", "-z").split("\0") if p}
        pool = sorted(tracked | set(self.files()) if mode == "worktree" else tracked)
        if not pool:
            return mode, ["--staged"] if mode == "staged" else []
        if self.rng.random() < 0.25:
            names = pool
        else:
            names = self.rng.sample(pool, self.rng.randint(1, min(len(pool), 4)))
            if self.rng.random() < 0.2:  # a folder named: everything below it
                names = [posixpath.dirname(names[0]) or "."]
        return mode, ["--staged", *names] if mode == "staged" else names


def report(root: Path, args: list[str]) -> tuple[int, dict]:
    out = run_cli([*args, "--format", "json", "--fail-on", "warning"], cwd=root)
    assert "Traceback" not in out.err, out.err
    try:
        doc = json.loads(out.out)
    except json.JSONDecodeError:
        doc = {"stdout": out.out, "stderr": out.err}  # a usage error: the same for both runs
    else:
        doc["notes"] = sorted(doc.get("notes", []))
    return out.code, doc


def differences(kept: tuple[int, dict], fresh: tuple[int, dict]) -> str:
    def findings(doc: dict) -> set[str]:
        return {json.dumps(f, sort_keys=True) for f in doc.get("findings", [])}

    lines = [f"exit code: kept {kept[0]}, fresh {fresh[0]}"]
    lines += [f"only kept:  {f}" for f in sorted(findings(kept[1]) - findings(fresh[1]))]
    lines += [f"only fresh: {f}" for f in sorted(findings(fresh[1]) - findings(kept[1]))]
    for key in sorted({*kept[1], *fresh[1]} - {"findings"}):
        if kept[1].get(key) != fresh[1].get(key):
            lines.append(f"{key}: kept {kept[1].get(key)!r}, fresh {fresh[1].get(key)!r}")
    return "\n".join(lines)


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tree rules a run served from what an earlier one kept (their reads unchanged): the sequence must reach
    that path, not only the one where every rule runs again."""
    seen: list[str] = []
    real = KeptResults.served

    def counted(self: KeptResults, rule):  # noqa: ANN001, ANN202
        out = real(self, rule)
        if out is not None and out[2]:
            seen.append(rule.id)
        return out

    monkeypatch.setattr(KeptResults, "served", counted)
    return seen


_RULE_FILES: dict[tuple[Path, str | None], bytes] = {}


def _rule_file_once(path: Path, text: str | None = None) -> object:
    """The built-in rule files parsed once per process: a third of a `--no-cache` run's CPU, the same every run.
    Fresh objects each time (unpickled), as a real run gets."""
    key = (path, text)
    if key not in _RULE_FILES:
        _RULE_FILES[key] = pickle.dumps(_parse_rule_file(path, text))
    return pickle.loads(_RULE_FILES[key])


_parse_rule_file = catalog._load_yaml


def run_sequence(root: Path, name: str, edits: int, racy_from: int, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Edit `root` `edits` times; after each, the kept-and-served run must report what a fresh run reports.
    Yields each step's log line (the caller may count what was served)."""
    seed = seed_for(name)
    rng = random.Random(seed)
    editor = Editor(root, rng)
    # Stamps trusted however recent (kept.py's racy window) and the parse cache opened from the first file (fixtures
    # are small); one process, so what it serves is what this test watches.
    runner_settings(monkeypatch, racy_ns=0, jobs=1, open_after=0)
    monkeypatch.setattr(catalog, "_load_yaml", _rule_file_once)
    run_cli(["--format", "json"], cwd=root)  # the first hook run (nothing staged): what the sequence starts from
    for step in range(1, edits + 1):
        if step == racy_from:
            runner_settings(monkeypatch, racy_ns=Settings().racy_ns)
        editor.edit()
        mode, args = editor.invocation()
        editor.log[-1] += f"; then a {mode} run {args}"
        with monkeypatch.context() as m:
            if mode.startswith("hook"):  # git names the index for every hook it runs, relative in a main work tree
                m.setenv("GIT_INDEX_FILE", ".git/index")
            kept = report(root, args)
            fresh = report(root, [*args, "--no-cache"])
        if kept != fresh:
            history = "\n".join(f"  {i}. {line}" for i, line in enumerate(editor.log, 1))
            pytest.fail(f"{name}: seed {seed}, edit {step} ({'default' if step >= racy_from else 'no'} racy window), "
                        f"{mode} run {args}: the kept run reports what a fresh run does not\n"
                        f"{differences(kept, fresh)}\nedits:\n{history}\n"
                        f"replay: CLOUDLAB_EQUIV_SEED={seed} pytest tests/test_kept_equivalence.py -k '{name}'")
        yield editor.log[-1]


# Cases whose sequence meets a defect found by this test on main (each with its own minimal test below).
KNOWN: dict[str, str] = {}


def _case_param(folder: Path) -> object:
    name = f"{folder.parent.name}/{folder.name}"
    marks = [pytest.mark.xfail(reason=KNOWN[name], strict=False)] if name in KNOWN else []
    return pytest.param(folder, id=name, marks=marks)


@pytest.mark.slow
@pytest.mark.parametrize("folder", [_case_param(p) for p in CASES])
def test_a_kept_run_reports_what_a_fresh_run_does_after_every_edit(folder: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch,
                                                                     served: list[str]) -> None:
    root = materialise(load_case(folder), tmp_path / "repo")
    for _ in run_sequence(root, f"{folder.parent.name}/{folder.name}", EDITS, RACY_FROM, monkeypatch):
        pass


@pytest.mark.slow
def test_a_kept_run_reports_what_a_fresh_run_does_on_a_generated_repository(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch,
                                                                           served: list[str]) -> None:
    root = tmp_path / "gen"
    subprocess.run([sys.executable, str(PROJECT / "bench" / "genrepo.py"), str(root), "--scale", "0.05"],
                   check=True, capture_output=True)
    for _ in run_sequence(root, "genrepo", BIG_EDITS, BIG_EDITS * 2 // 3, monkeypatch):
        pass
    assert served, "no run served a kept result: the sequence never reached what it tests"


# -- the defects this test found on main, each minimal (while one is open: a strict xfail, with its KNOWN entry
# above) ----------------------------------------------------------------------------------------------------------

def _found(root: Path, *args: str) -> tuple[list[tuple[str, str, int]], list[str]]:
    out = run_cli([*args, "--format", "json", "--fail-on", "never"], cwd=root)
    assert "Traceback" not in out.err, out.err
    return sorted((f["rule"], f["path"], f["line"]) for f in out.json["findings"]), out.json.get("notes", [])


def _repo(tmp_path: Path, files: dict[str, str]) -> Path:
    root = init_repo(tmp_path / "repo")
    write_files(root, files)
    commit_all(root)
    return root


OK_YAML = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ok\n"


def test_a_fixed_parse_error_is_not_reported_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner_settings(monkeypatch, racy_ns=0, jobs=1)
    root = _repo(tmp_path, {"kubernetes/ok.yaml": OK_YAML})
    write_files(root, {"kubernetes/ok.yaml": OK_YAML + " broken: [\n"})
    git(root, "add", "-A")
    assert _found(root)[0] == [("CL000", "kubernetes/ok.yaml", 5)]  # the hook blocks the commit, rightly
    write_files(root, {"kubernetes/ok.yaml": OK_YAML + "# fixed\n"})
    git(root, "add", "-A")
    assert _found(root) == _found(root, "--no-cache") == ([], [])  # fixed: it passes
    # Run again (another hook failed, `--amend`): the parse error of the broken version comes back.
    assert _found(root) == _found(root, "--no-cache")


@pytest.mark.parametrize("how", ["racy-then-deleted", "deleted-then-index-changed"])
def test_a_file_gone_from_the_work_tree_is_read_again(how: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    runner_settings(monkeypatch, jobs=1, **({} if how.startswith("racy") else {"racy_ns": 0}))
    root = _repo(tmp_path, {"terraform/a.tf": "# nothing yet\n", "terraform/b.tf": "# b\n"})
    write_files(root, {"terraform/a.tf": 'provider "proxmox" {\n}\n'})  # unpinned: CL501
    commit_all(root)
    if how.startswith("racy"):
        write_files(root, {"terraform/a.tf": "# changed, not staged\n"})  # kept with no stamp (racy)
        _found(root, "terraform/b.tf")
        os.remove(root / "terraform/a.tf")  # now read from the index: the provider again
    else:
        os.remove(root / "terraform/a.tf")  # read from the index, kept with no stamp (gone)
        _found(root, "terraform/b.tf")
        git(root, "reset", "-q", "HEAD~", "--", "terraform/a.tf")  # the index's blob changes, the file stays gone
    assert _found(root, "terraform/b.tf") == _found(root, "terraform/b.tf", "--no-cache")


def test_a_rule_that_reports_nothing_says_no_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner_settings(monkeypatch, racy_ns=0, jobs=1)
    root = _repo(tmp_path, {"README.md": "# readme\n", "lefthook.yml": (
        "remotes:\n  - git_url: https://github.com/example/hooks\n    ref: v1.0.0\n    configs: [lefthook/x.yml]\n"
        "pre-commit:\n  commands:\n    gitleaks:\n      run: gitleaks git --staged --redact\n")})
    assert _found(root, "lefthook.yml")[1]  # CL204 notes the remote it cannot follow
    write_files(root, {"README.md": "# readme, changed\n"})
    git(root, "add", "-A")
    assert _found(root) == _found(root, "--no-cache")  # a hook on the README: CL204 is not run, nothing noted


def test_a_rule_that_runs_and_reports_nothing_says_no_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its notes go with its hits: a fresh run whose prefilter cannot rule CL204 out (the README is named in the
    lefthook config) runs it, then drops what it found (it read no staged file), notes included, as a kept run
    that serves it does."""
    runner_settings(monkeypatch, racy_ns=0, jobs=1)
    root = _repo(tmp_path, {"README.md": "# readme\n", "lefthook.yml": (
        "# see README.md\nremotes:\n  - git_url: https://github.com/example/hooks\n    ref: v1.0.0\n"
        "    configs: [lefthook/x.yml]\npre-commit:\n  commands:\n    gitleaks:\n      run: gitleaks git --staged\n")})
    assert _found(root, "lefthook.yml")[1]  # CL204 notes the remote it cannot follow
    write_files(root, {"README.md": "# readme, changed\n"})
    git(root, "add", "-A")
    assert _found(root) == _found(root, "--no-cache") == ([], [])


def test_the_pipeline_prefilter_follows_a_config_gone_from_the_work_tree(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    runner_settings(monkeypatch, racy_ns=0, jobs=1)
    shared = ("pre-commit:\n  commands:\n    kustomize:\n      glob: \"kubernetes/**/*.yaml\"\n"
              "      run: kustomize build kubernetes > /dev/null\n")
    root = _repo(tmp_path, {"lefthook.yml": "extends:\n  - hooks/shared.yml\n",
                            "hooks/shared.yml": shared + "    gitleaks:\n      run: gitleaks git --staged\n"})
    _found(root, "lefthook.yml")
    os.remove(root / "lefthook.yml")  # still tracked: read from the index
    write_files(root, {"hooks/shared.yml": shared})  # gitleaks gone: CL204 (as --all says)
    assert ("CL204", "lefthook.yml", 1) in {f[:2] + (1,) for f in _found(root, "--all", "--no-cache")[0]}
    assert _found(root, "hooks/shared.yml") == _found(root, "hooks/shared.yml", "--no-cache")
