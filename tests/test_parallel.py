"""`--all` on a big tree runs the file-by-file rules in a forked process: the result must not show it.

The threshold is lowered to zero so that every fixture repository runs both ways; each is compared
with the single-process run (CLOUDLAB_LINT_JOBS=1) on every default rule at once.
"""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import pytest

from cloudlab_lint import runner as runner_pkg
from cloudlab_lint.runner import fork as parallel

from .helpers import FIXTURES, load_case, materialise, run_cli, runner_settings

CASES = sorted(p.parent for p in FIXTURES.glob("*/*/case.yaml"))


def report(root: Path, args: list[str]) -> tuple[dict, int]:
    out = run_cli([*args, "--format", "json", "--no-cache"], cwd=root)
    assert "Traceback" not in out.err, out.err
    doc = json.loads(out.out)
    doc["notes"] = sorted(doc.get("notes", []))  # the two processes' notes may interleave differently
    return doc, out.code


def cl002_repo(tmp_path: Path) -> Path:
    """The first fail case of CL002 (a rule of a forked family) as a repository."""
    folder = FIXTURES / "CL002-forbidden-file-tracked"
    return materialise(load_case(folder / sorted(p.name for p in folder.iterdir() if p.name.startswith("fail-"))[0]),
                       tmp_path / "repo")


@pytest.fixture
def always_fork(monkeypatch: pytest.MonkeyPatch) -> None:
    runner_settings(monkeypatch, fork_min_work=0)
    runner_settings(monkeypatch, jobs=2)


@pytest.fixture
def calls_here(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The rules whose checks ran in this process (a forked child's calls are not seen here)."""
    seen: list[str] = []
    real = runner_pkg.check_rule

    def counted(rule, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        seen.append(rule.id)
        return real(rule, *args, **kwargs)

    monkeypatch.setattr(runner_pkg, "check_rule", counted)
    return seen


def test_the_file_rules_really_run_elsewhere(tmp_path: Path, always_fork: None, calls_here: list[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    runner_settings(monkeypatch, steal=False)  # else this process may take queued rules: which is timing
    repo = cl002_repo(tmp_path)
    doc, code = report(repo, ["--all"])
    assert code == 1 and any(f["rule"] == "CL002" for f in doc["findings"])
    assert "CL002" not in calls_here and "CL005" not in calls_here  # they ran in the child
    assert "CL101" in calls_here and calls_here[-1] == "CL000"  # the Flux half here, CL000 last


def single_process_report(repo: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[dict, int]:
    """`--all` with forking switched off: what a forked run must report too."""
    monkeypatch.setenv("CLOUDLAB_LINT_JOBS", "1")
    expected = report(repo, ["--all"])
    monkeypatch.delenv("CLOUDLAB_LINT_JOBS")
    return expected


def test_a_failed_child_changes_nothing_its_rules_run_here(tmp_path: Path, always_fork: None,
                                                          calls_here: list[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    repo = cl002_repo(tmp_path)
    expected = single_process_report(repo, monkeypatch)
    calls_here.clear()

    def broken(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202 - the child cannot send its outcome
        raise pickle.PicklingError("cannot send")

    monkeypatch.setattr(parallel.pickle, "dumps", broken)
    assert report(repo, ["--all"]) == expected
    assert "CL002" in calls_here  # run here after the child failed


def test_no_fork_for_small_trees_fix_or_one_core(tmp_path: Path, calls_here: list[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    repo = cl002_repo(tmp_path)
    report(repo, ["--all"])
    assert "CL002" in calls_here  # a fixture repository is far below MIN_WORK
    runner_settings(monkeypatch, fork_min_work=0)
    monkeypatch.setattr(parallel, "cores", lambda: 1)
    calls_here.clear()
    report(repo, ["--all"])
    assert "CL002" in calls_here


def test_what_the_child_could_not_parse_is_reported_by_cl000_here(tmp_path: Path, always_fork: None,
                                                                  calls_here: list[str],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from .helpers import commit_all, init_repo, write_files

    runner_settings(monkeypatch, steal=False)

    repo = init_repo(tmp_path / "repo")
    # Only the pipeline rules (forked) read .mise.toml; CL000 (here) must still report it.
    write_files(repo, {".mise.toml": "[tasks.check]\nrun = 'make check\n",
                       ".github/workflows/ci.yml": "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n"
                                                   "      - run: mise run check\n"})
    commit_all(repo)
    doc, _ = report(repo, ["--all"])
    assert "CL201" not in calls_here
    assert ("CL000", ".mise.toml", 2) in {(f["rule"], f["path"], f["line"]) for f in doc["findings"]}


def test_when_this_process_is_done_first_it_takes_the_rest_of_the_queue(tmp_path: Path, always_fork: None,
                                                                        calls_here: list[str],
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    repo = cl002_repo(tmp_path)
    expected = single_process_report(repo, monkeypatch)
    # A child that finds the queue empty at once (this process took every rule first, or the child was
    # slow to start) and reports no outcome: this process must have run each queued rule itself, once.
    parent = os.getpid()
    real_take = parallel._take

    def child_takes_nothing(queue: int) -> int | None:
        return real_take(queue) if os.getpid() == parent else None

    monkeypatch.setattr(parallel, "_take", child_takes_nothing)
    calls_here.clear()
    assert report(repo, ["--all"]) == expected
    queued = [r for r in calls_here if r != "CL000" and not r.startswith("CL1")]
    assert "CL002" in queued and len(queued) == len(set(queued))


def test_the_fork_is_decided_by_the_bytes_to_read_not_the_count_of_files(tmp_path: Path, calls_here: list[str],
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Hundreds of tiny files are little work: no fork; a few large ones are: a fork."""
    from .helpers import commit_all, init_repo, write_files

    runner_settings(monkeypatch, steal=False)
    monkeypatch.setattr(parallel, "cores", lambda: 2)
    tiny = init_repo(tmp_path / "tiny")
    write_files(tiny, {f"docs/n{i}.md": "note\n" for i in range(450)})
    commit_all(tiny)
    report(tiny, ["--all"])
    assert "CL005" in calls_here  # 450 files, about 0.9 MB of work: here
    calls_here.clear()
    large = init_repo(tmp_path / "large")
    write_files(large, {f"docs/big{i}.md": ("words of prose " * 20 + "\n") * 400 for i in range(12)})
    write_files(large, {f"kubernetes/apps/a{i}/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"
                        f"data:\n  pad: {'x' * 4000}\n" for i in range(300)})
    commit_all(large)
    report(large, ["--all"])
    assert "CL005" not in calls_here  # 12 files, 1.45 MB, beside 1.2 MB of manifests: in the forked process


def test_the_fork_is_worth_it_only_when_both_halves_have_work_of_their_own(tmp_path: Path) -> None:
    """Measured on real repositories: a fork pays only when the forked rules have bytes of their own to read (not
    only the manifests this process parses anyway), and this process has manifests to parse meanwhile."""
    from cloudlab_lint.repo import Repo
    from cloudlab_lint.runner.settings import Settings

    from .helpers import commit_all, init_repo, write_files

    root = init_repo(tmp_path / "repo")
    manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n"
    write_files(root, {f"kubernetes/apps/a{i}/cm.yaml": manifest + f"  pad: {'x' * 4000}\n" for i in range(400)})
    commit_all(root)
    settings = Settings()
    files = [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and ".git" not in p.parts]
    assert parallel._work(Repo(root, files), settings) < settings.fork_min_work  # 1.6 MB of manifests alone
    write_files(root, {f"scripts/vendored{i}.py": "# " + "y" * 300_000 + "\n" for i in range(4)})
    commit_all(root)
    files = [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and ".git" not in p.parts]
    assert parallel._work(Repo(root, files), settings) >= settings.fork_min_work  # and 1.2 MB of other files
    write_files(root, {f"kubernetes/apps/a{i}/cm.yaml": manifest for i in range(400)})
    commit_all(root)
    assert parallel._work(Repo(root, files), settings) < settings.fork_min_work  # scripts alone: nothing to overlap
