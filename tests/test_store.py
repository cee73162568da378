"""The fact store: what a commit hook keeps of each file in the git folder, keyed by the file's content.

Every test works on a real git repository and the real CLI. The stat of a file written moments ago is never
remembered (the "racy" window: its content is digested again next time), and a run opens the store only once
it has read a few dozen files itself, so tests that need entries set both to zero.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from cloudlab_lint import views
from cloudlab_lint.runner import store

from .helpers import commit_all, git, init_repo, run_cli, runner_settings, write_files

MANIFEST = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  key: value\n"
# Same length as MANIFEST, but not YAML (an unclosed flow mapping, reported on line 5).
BROKEN = "apiVersion: v1\nkind: ConfigMap\nmetadata: {\n  name: a\ndata:\n  key: value\n"
assert len(BROKEN) == len(MANIFEST)


def cache_file(root: Path) -> Path:
    """The table of whole documents (what CL000's parses keep)."""
    return root / ".git" / "cloudlab-lint" / store.WHOLE_FILE


def journal_file(root: Path) -> Path:
    return root / ".git" / "cloudlab-lint" / store.WHOLE_JOURNAL


def views_file(root: Path) -> Path:
    return root / ".git" / "cloudlab-lint" / store.NAME


def repo_with(tmp_path: Path, files: dict[str, str]) -> Path:
    root = init_repo(tmp_path / "repo")
    write_files(root, files)
    commit_all(root)
    return root


def parse_problems(root: Path, *extra: str) -> set[tuple[str, str, int]]:
    out = run_cli(["--all", "--select", "CL000", "--format", "json", *extra], cwd=root)
    assert "Traceback" not in out.err, out.err
    return out.found()


def hook_problems(root: Path, *args: str) -> set[tuple[str, str, int]]:
    out = run_cli(["--select", "CL000", "--format", "json", *args], cwd=root)
    assert "Traceback" not in out.err, out.err
    return out.found()


@pytest.fixture
def no_racy_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep files written moments ago, and open the cache from the first file on (fixtures are small)."""
    runner_settings(monkeypatch, racy_ns=0)
    runner_settings(monkeypatch, open_after=0)


def read_table(root: Path) -> tuple[dict, dict]:
    """The store with its journal (stamps, entries). Through the product's restricted loader: should a run ever
    leave a hostile store in place, the test fails instead of running its payload in the test process."""
    base = store._read(cache_file(root))
    assert base is not None, "no store of this code's format"
    journal = store._read(journal_file(root)) or ({}, {})
    return {**base[0], **journal[0]}, {**base[1], **journal[1]}


def read_entries(root: Path) -> tuple[dict, dict]:
    """(stamps, {path: entry}) of the whole documents kept."""
    stamps, entries = read_table(root)
    return stamps, {path: e for (name, path), e in entries.items() if name == views.WHOLE}


def plant(root: Path, path: str, outcome: tuple) -> None:
    """Replace the kept parse of `path` (its content key unchanged) with `outcome` (documents, problem)."""
    stamps, entries = read_table(root)
    key, _, _, digest = entries[(views.WHOLE, path)]
    entries[(views.WHOLE, path)] = (key, *outcome, digest)
    cache_file(root).write_bytes(pickle.dumps((store.identity(), (stamps, entries))))
    journal_file(root).unlink(missing_ok=True)


def test_the_hook_keeps_parses_and_a_later_run_uses_them(tmp_path: Path, no_racy_window: None) -> None:
    root = repo_with(tmp_path, {"k/a.yaml": MANIFEST, "k/b.yaml": MANIFEST})
    assert run_cli(["--all", "--select", "CL000"], cwd=root).code == 0
    assert not cache_file(root).exists(), "--all (CI) must not create a cache"
    run_cli(["k/a.yaml", "--select", "CL000"], cwd=root)
    assert set(read_entries(root)[1]) == {"k/a.yaml"}
    # The kept parse is what a later hook run sees (planted here: a problem the file does not have) ...
    plant(root, "k/a.yaml", (None, ("planted problem", 3, 1)))
    assert hook_problems(root, "k/a.yaml") == {("CL000", "k/a.yaml", 3)}
    # ... unless the cache is switched off; and `--all` (CI) never reads it: nothing kept changes its verdict.
    assert hook_problems(root, "k/a.yaml", "--no-cache") == set()
    assert parse_problems(root) == set()


def test_an_edited_file_is_parsed_again_even_with_its_old_size_and_mtime(tmp_path: Path,
                                                                         no_racy_window: None) -> None:
    root = repo_with(tmp_path, {"k/a.yaml": MANIFEST})
    run_cli(["k/a.yaml", "--select", "CL000"], cwd=root)
    assert "k/a.yaml" in read_entries(root)[1]
    target = root / "k/a.yaml"
    before = os.stat(target)
    target.write_text(BROKEN, encoding="utf-8")
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))  # what `touch -d` or an unpacker does
    after = os.stat(target)
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert parse_problems(root) == {("CL000", "k/a.yaml", 5)}


def test_a_file_changed_moments_ago_is_kept_by_content_but_its_stamp_is_not_remembered(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner_settings(monkeypatch, open_after=0)
    root = repo_with(tmp_path, {"k/a.yaml": MANIFEST})
    run_cli(["k/a.yaml", "--select", "CL000"], cwd=root)
    # Its change time is within the racy window: a second write in the same clock tick could keep every
    # stamp, so the stamp must not vouch for the content next time; the entry is keyed by the content itself.
    stamps, entries = read_entries(root)
    assert "k/a.yaml" in entries and "k/a.yaml" not in stamps
    (root / "k/a.yaml").write_text(BROKEN, encoding="utf-8")  # same size, maybe the same clock tick
    assert hook_problems(root, "k/a.yaml") == {("CL000", "k/a.yaml", 5)}


def test_a_staged_file_is_keyed_by_its_blob_and_the_work_tree_by_its_bytes(tmp_path: Path,
                                                                           no_racy_window: None) -> None:
    root = repo_with(tmp_path, {"k/a.yaml": MANIFEST})
    run_cli(["--staged", "k/a.yaml", "--select", "CL000"], cwd=root)
    blob = git(root, "rev-parse", ":k/a.yaml").strip()
    assert read_entries(root)[1]["k/a.yaml"][0] == "g" + blob
    # The work tree differs from the index: a run on the work tree is never served the index's parse.
    (root / "k/a.yaml").write_text(BROKEN, encoding="utf-8")
    assert hook_problems(root, "k/a.yaml") == {("CL000", "k/a.yaml", 5)}
    assert read_entries(root)[1]["k/a.yaml"][0].startswith("c")
    assert hook_problems(root, "--staged", "k/a.yaml") == set()


class Hostile:
    def __reduce__(self) -> tuple:
        return os.system, ("touch pwned-by-cache",)


@pytest.mark.parametrize("content", [
    b"", b"not a pickle at all", b"\x80\x05\x95", pickle.dumps(("header", "not a dict")),
    pickle.dumps(Hostile()), pickle.dumps((("old", "parser"), {"k/a.yaml": ("stamp", b"x")})),
], ids=["empty", "garbage", "truncated", "wrong-shape", "hostile-global", "other-parser"])
def test_a_damaged_foreign_or_hostile_cache_is_ignored_and_rewritten(tmp_path: Path, no_racy_window: None,
                                                                    content: bytes) -> None:
    root = repo_with(tmp_path, {"k/a.yaml": BROKEN})
    cache_file(root).parent.mkdir(parents=True)
    cache_file(root).write_bytes(content)
    out = run_cli(["k/a.yaml", "--select", "CL000", "--format", "json"], cwd=root)
    assert "Traceback" not in out.err and out.found() == {("CL000", "k/a.yaml", 5)}
    assert not (root / "pwned-by-cache").exists() and not (tmp_path / "pwned-by-cache").exists()
    assert set(read_entries(root)[1]) == {"k/a.yaml"}
    # A kept parse problem is reported exactly as a fresh one.
    assert parse_problems(root) == {("CL000", "k/a.yaml", 5)}


def test_an_entry_hostile_inside_a_valid_store_drops_the_store(tmp_path: Path, no_racy_window: None) -> None:
    root = repo_with(tmp_path, {"k/a.yaml": BROKEN})
    run_cli(["k/a.yaml", "--select", "CL000"], cwd=root)
    stamps, entries = read_table(root)
    key, _, problem, digest = entries[(views.WHOLE, "k/a.yaml")]
    entries[(views.WHOLE, "k/a.yaml")] = (key, [Hostile()], problem, digest)
    cache_file(root).write_bytes(pickle.dumps((store.identity(), (stamps, entries))))
    assert parse_problems(root) == {("CL000", "k/a.yaml", 5)}
    assert not (root / "pwned-by-cache").exists()


def test_entries_of_files_no_longer_tracked_are_dropped(tmp_path: Path, no_racy_window: None,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    runner_settings(monkeypatch, journal_min=0)  # every save writes the store whole
    root = repo_with(tmp_path, {"k/a.yaml": MANIFEST, "k/b.yaml": MANIFEST})
    run_cli(["k/a.yaml", "k/b.yaml", "--select", "CL000"], cwd=root)
    assert set(read_entries(root)[1]) == {"k/a.yaml", "k/b.yaml"}
    (root / "k/b.yaml").unlink()
    write_files(root, {"k/c.yaml": MANIFEST})
    commit_all(root)
    run_cli(["k/c.yaml", "--select", "CL000"], cwd=root)
    assert set(read_entries(root)[1]) == {"k/a.yaml", "k/c.yaml"}


def test_no_cache_outside_git_and_none_with_no_cache(tmp_path: Path, no_racy_window: None) -> None:
    root = repo_with(tmp_path, {"k/a.yaml": MANIFEST})
    run_cli(["k/a.yaml", "--select", "CL000", "--no-cache"], cwd=root)
    assert not cache_file(root).exists()
    plain = tmp_path / "plain"
    write_files(plain, {"k/a.yaml": BROKEN})
    out = run_cli(["--root", str(plain), "--all", "--select", "CL000", "--format", "json"], cwd=plain)
    assert out.found() == {("CL000", "k/a.yaml", 5)}
    assert [p.name for p in plain.rglob("*") if p.is_file()] == ["a.yaml"]


def test_a_run_that_parses_a_few_files_leaves_the_cache_alone(tmp_path: Path, no_racy_window: None,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    many = {f"k/m{i:02}.yaml": MANIFEST for i in range(12)}
    root = repo_with(tmp_path, many)
    run_cli([*many, "--select", "CL000"], cwd=root)
    plant(root, "k/m11.yaml", (None, ("planted problem", 3, 1)))
    runner_settings(monkeypatch, open_after=10)
    before = cache_file(root).read_bytes()
    # Three files: parsed directly, the cache neither read (no planted problem) nor rewritten.
    out = run_cli(["k/m09.yaml", "k/m10.yaml", "k/m11.yaml", "--select", "CL000", "--format", "json"], cwd=root)
    assert out.found() == set() and cache_file(root).read_bytes() == before
    # Every file: past ten files the cache is opened and used (files are parsed in name order).
    assert hook_problems(root, *many) == {("CL000", "k/m11.yaml", 3)}


def test_a_few_new_entries_go_to_the_journal_and_the_store_is_written_whole_once_it_grows(
        tmp_path: Path, no_racy_window: None, monkeypatch: pytest.MonkeyPatch) -> None:
    many = {f"k/m{i:02}.yaml": MANIFEST.replace("app", f"app{i}") for i in range(6)}
    root = repo_with(tmp_path, many)
    run_cli([*many, "--select", "CL000"], cwd=root)
    runner_settings(monkeypatch, journal_min=2, journal_share=1000)
    whole = cache_file(root).read_bytes()
    for i, path in enumerate(["k/m00.yaml", "k/m01.yaml"]):
        (root / path).write_text(BROKEN if i == 0 else MANIFEST + "# edited\n", encoding="utf-8")
        run_cli([path, "--select", "CL000"], cwd=root)
        assert cache_file(root).read_bytes() == whole, "a few new entries rewrote the whole store"
    assert set(store._read(journal_file(root))[1]) == {(views.WHOLE, "k/m00.yaml"), (views.WHOLE, "k/m01.yaml")}
    assert hook_problems(root, *many) == {("CL000", "k/m00.yaml", 5)}  # served from the journal
    (root / "k/m02.yaml").write_text(MANIFEST + "# edited\n", encoding="utf-8")
    run_cli(["k/m02.yaml", "--select", "CL000"], cwd=root)  # a third entry: written whole, the journal emptied
    assert cache_file(root).read_bytes() != whole and store._read(journal_file(root)) == ({}, {})
    assert hook_problems(root, *many) == {("CL000", "k/m00.yaml", 5)}


def test_a_run_that_finds_every_file_as_kept_does_not_rewrite_the_cache(tmp_path: Path, no_racy_window: None,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    many = {f"k/m{i:02}.yaml": MANIFEST for i in range(6)}
    root = repo_with(tmp_path, many)
    run_cli([*many, "--select", "CL000"], cwd=root)
    runner_settings(monkeypatch, open_after=3)  # three files parsed before it is opened, all kept already
    before = os.stat(cache_file(root))
    run_cli([*many, "--select", "CL000"], cwd=root)
    after = os.stat(cache_file(root))
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


# -- the built-in rules, kept as JSON beside the parses -------------------------------------------


def rules_file(root: Path) -> Path:
    return root / ".git" / "cloudlab-lint" / "rules.json"


def test_the_hook_keeps_the_rule_files_parsed_and_later_runs_use_them(tmp_path: Path) -> None:
    import json

    root = repo_with(tmp_path, {"README.md": "# lab\n"})
    run_cli(["--all"], cwd=root)
    assert not rules_file(root).exists(), "--all (CI) must not create it"
    run_cli(["README.md"], cwd=root)
    kept = json.loads(rules_file(root).read_text(encoding="utf-8"))
    assert [d["id"] for d in kept["data"]][:3] == ["CL000", "CL001", "CL002"]
    # What is kept is what later hook runs use (planted: CL401's description); --no-cache and --all do not.
    planted = next(d for d in kept["data"] if d["id"] == "CL401")
    planted["short"] = "planted description"
    rules_file(root).write_text(json.dumps(kept), encoding="utf-8")
    assert "planted description" in run_cli(["README.md", "--format", "sarif"], cwd=root).out
    assert "planted description" not in run_cli(["README.md", "--format", "sarif", "--no-cache"], cwd=root).out
    assert "planted description" not in run_cli(["--all", "--format", "sarif"], cwd=root).out


@pytest.mark.parametrize("damage", ["{not json", '{"key": [], "data": []}', '[1, 2]', '{"key": 1}'])
def test_a_damaged_or_stale_rules_file_is_parsed_again_and_replaced(tmp_path: Path, damage: str) -> None:
    import json

    root = repo_with(tmp_path, {"README.md": "# lab\n"})
    expected = run_cli(["README.md", "--format", "sarif", "--no-cache"], cwd=root).out
    rules_file(root).parent.mkdir(parents=True, exist_ok=True)
    rules_file(root).write_text(damage, encoding="utf-8")
    out = run_cli(["README.md", "--format", "sarif"], cwd=root)
    assert out.code == 0 and "Traceback" not in out.err
    assert out.out == expected
    assert len(json.loads(rules_file(root).read_text(encoding="utf-8"))["data"]) >= 26


def test_kept_views_share_their_position_pairs_and_keys_and_equal_a_fresh_parse(tmp_path: Path,
                                                                                 no_racy_window: None) -> None:
    """A hook at 20,000 manifests holds every manifest's facts: their (line, column) pairs, key names and short
    values are held once for all files (each pickled once), never at the cost of a wrong position."""
    from cloudlab_lint.parsing.yamlx import load_documents

    other = MANIFEST.replace("name: app", "name: other") + "  second: two\n"
    root = repo_with(tmp_path, {"kubernetes/apps/a.yaml": MANIFEST, "kubernetes/apps/b.yaml": other})
    out = run_cli(["kubernetes/apps/a.yaml", "--select", "CL1"], cwd=root)  # the Flux model reads every file's facts
    assert "Traceback" not in out.err, out.err
    _, entries = store._read(views_file(root)) or ({}, {})
    assert not any(name == views.WHOLE for name, _ in entries), "whole documents are kept in a table of their own"
    a = entries[(views.MANIFEST, "kubernetes/apps/a.yaml")][1][0].data
    b = entries[(views.MANIFEST, "kubernetes/apps/b.yaml")][1][0].data
    assert a.keys_pos["kind"] is b.keys_pos["kind"] and a.pos["metadata"] is b.pos["metadata"]
    assert next(iter(a)) is next(iter(b))  # "apiVersion", interned
    assert a["kind"] is b["kind"] and a["metadata"]["name"] is not b["metadata"]["name"]  # "ConfigMap", shared
    for path, text in (("kubernetes/apps/a.yaml", MANIFEST), ("kubernetes/apps/b.yaml", other)):
        kept = entries[(views.MANIFEST, path)][1][0].data
        fresh = load_documents(text)[0].data
        assert (kept.keys_pos, kept.pos) == (fresh.keys_pos, fresh.pos)
        assert (kept["metadata"].keys_pos, kept["metadata"].pos) == (fresh["metadata"].keys_pos,
                                                                    fresh["metadata"].pos)


def test_a_components_file_s_crds_are_kept_apart_and_served_without_parsing_it(
        tmp_path: Path, no_racy_window: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """A hook staging one Flux object reads a handful of files: it never opens the facts of every manifest, yet
    the schemas of the repository's own CRDs (half a megabyte of YAML in a real gotk-components.yaml) are
    served by the file's content from a small file of their own; damaged, it is ignored and replaced."""
    from cloudlab_lint.repo import Repo

    from .test_flux_crd_rule import KS, OLD_COMPONENTS

    components, ks = "kubernetes/flux-system/gotk-components.yaml", "kubernetes/apps/ks.yaml"
    root = repo_with(tmp_path, {components: OLD_COMPONENTS, ks: KS})
    runner_settings(monkeypatch, open_after=10_000)  # the store of every manifest's facts stays closed
    parsed: list[str] = []
    original = Repo._parse

    def counting(self: Repo, path: str, *args: object) -> object:
        parsed.append(path)
        return original(self, path, *args)

    monkeypatch.setattr(Repo, "_parse", counting)

    def hook(edit: str) -> set[tuple[str, str, int]]:
        with open(root / ks, "a") as fh:
            fh.write(f"# {edit}\n")
        git(root, "add", ks)
        parsed.clear()
        return hook_problems(root, "--select", "CL112")

    # `deletionPolicy` is no field of this repository's (older) Kustomization CRD
    expected = {("CL112", ks, 7)}
    assert hook("first") == expected and components in parsed
    apart = cache_file(root).with_name(store.APART_FILE)
    assert store._read(apart) is not None and not cache_file(root).exists() and not views_file(root).exists()
    assert hook("second") == expected and components not in parsed
    apart.write_bytes(apart.read_bytes()[:100])
    assert hook("third") == expected and components in parsed
    assert store._read(apart) is not None


def test_a_hook_that_re_judges_the_pipeline_loads_the_workflows_not_every_manifest_s_facts(
        tmp_path: Path, no_racy_window: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole documents of the files rules read whole have a table of their own: a hook on an edited
    workflow serves the pipeline rules' parses from it and never loads the views of every manifest."""
    workflow = ".github/workflows/ci.yaml"
    manifests = {f"kubernetes/apps/m{i:02}.yaml": MANIFEST.replace("app", f"app{i}") for i in range(8)}
    workflows = {f".github/workflows/{name}.yaml": f"on: push\njobs:\n  a:\n    steps:\n      - run: echo {name}\n"
                 for name in ("ci", "lint", "release")}
    root = repo_with(tmp_path, {**manifests, **workflows})
    run_cli(["kubernetes/apps/m00.yaml", workflow], cwd=root)  # every table written
    assert views_file(root).exists() and (views.WHOLE, workflow) in read_table(root)[1]
    runner_settings(monkeypatch, open_after=1)
    loaded: list[str] = []
    original = store._read

    def recording(path: Path) -> object:
        loaded.append(path.name)
        return original(path)

    monkeypatch.setattr(store, "_read", recording)
    with open(root / workflow, "a") as fh:
        fh.write("# edited\n")
    git(root, "add", workflow)
    served = run_cli([workflow, "--format", "json"], cwd=root)
    assert store.WHOLE_FILE in loaded and store.NAME not in loaded, loaded
    assert served.json == run_cli([workflow, "--format", "json", "--no-cache"], cwd=root).json


def test_a_hook_reads_the_kept_sops_config_without_parsing_yaml(tmp_path: Path, no_racy_window: None) -> None:
    """Every hook asks `.sops.yaml` whether a staged file must be encrypted (CL004): its creation rules are kept
    apart by the file's content, so a hook on a file that is not YAML imports no YAML parser at all."""
    import subprocess
    import sys

    sops = ("creation_rules:\n  - path_regex: .*\\.env$\n"
            "    age: age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p\n")
    root = repo_with(tmp_path, {".sops.yaml": sops, "README.md": "# lab\n"})
    code = ("import sys; from cloudlab_lint.cli import main; code = main(sys.argv[1:]); "
            "sys.stderr.write('YAML=%s' % ('yaml' in sys.modules))")

    def hook(text: str) -> tuple[str, str]:
        write_files(root, {"app.env": text})
        git(root, "add", "app.env")
        proc = subprocess.run([sys.executable, "-c", code, "--format", "json"], cwd=root, capture_output=True,
                              text=True, check=False, env={**os.environ, "GIT_INDEX_FILE": ".git/index"})
        assert "YAML=" in proc.stderr, proc.stderr
        return proc.stdout, proc.stderr.rsplit("YAML=", 1)[1]

    first, _ = hook("LOG_LEVEL=info\n")  # parses .sops.yaml, keeps its rules
    assert '"CL004"' in first and "app.env" in first
    again, imported = hook("LOG_LEVEL=debug\n")
    assert imported == "False" and '"CL004"' in again
    assert store._read(views_file(root).with_name(store.APART_FILE)) is not None
