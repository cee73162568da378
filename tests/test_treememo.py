"""The whole-tree result a commit hook keeps (`treememo`): used only while what the Flux rules read is unchanged.

Every test runs the real CLI on a real git repository. A kept result is proved used by planting a
finding in it that the tree does not have; it is proved dropped when the planted finding is gone and
the run reports exactly what a run without any cache reports.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from pathlib import Path

import pytest

from cloudlab_lint import runner as runner_pkg
from cloudlab_lint import views
from cloudlab_lint.model import Hit, Location
from cloudlab_lint.parsing.yamlx import load_documents
from cloudlab_lint.runner import keptfile
from cloudlab_lint.runner import keptformat as treememo_file
from cloudlab_lint.stack.gitops import facts as gitops_facts

from .helpers import FIXTURES, commit_all, git, init_repo, load_case, materialise, run_cli, runner_settings, write_files

CASES = sorted(p.parent for p in FIXTURES.glob("*/*/case.yaml"))
BASE = FIXTURES / "CL109-kustomize-orphan" / "fail-unlisted-manifest"  # one finding: apps/extra.yaml line 3
SETTINGS = "kubernetes/apps/settings.yaml"
DEPLOY = "kubernetes/apps/web.yaml"
HELM = "kubernetes/apps/release.yaml"
TALOS = "talos/talconfig.yaml"
STRAY = "setup/flux/sources.yaml"
STRAY_SOURCE = """apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: platform
  namespace: flux-system
spec:
  interval: 1h
  url: https://github.com/example/platform
  ref: {branch: main}
"""
PLANTED = Hit("planted by the test", Location("kubernetes/apps/namespace.yaml", 2))

CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: web
immutable: false
data:
  LOG_LEVEL: info
  COLOUR: blue
"""
DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: web
spec:
  replicas: 1
  template:
    spec:
      containers:
        - name: web
          image: nginx:1.27.0
"""
RELEASE = """apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: bitnami
  namespace: web
spec:
  interval: 1h
  url: https://charts.bitnami.com/bitnami
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: cache
  namespace: web
spec:
  interval: 30m
  chart:
    spec:
      chart: redis
      version: 20.1.0
      sourceRef:
        kind: HelmRepository
        name: bitnami
  values:
    image:
      tag: 7.4.0
"""
APPS_KUSTOMIZATION = """apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - namespace.yaml
  - settings.yaml
  - web.yaml
  - release.yaml
"""


def memo_file(root: Path) -> Path:
    return root / ".git" / "cloudlab-lint" / treememo_file.NAME


@pytest.fixture
def no_racy_window(monkeypatch: pytest.MonkeyPatch) -> None:
    runner_settings(monkeypatch, racy_ns=0)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = materialise(load_case(BASE), tmp_path / "repo")
    write_files(root, {SETTINGS: CONFIGMAP, DEPLOY: DEPLOYMENT, HELM: RELEASE,
                       "kubernetes/apps/kustomization.yaml": APPS_KUSTOMIZATION,
                       # outside the GitOps tree: YAML the Flux model searches for sources, one holding one
                       TALOS: "clusterName: lab\nendpoint: https://10.0.0.10:6443\n", STRAY: STRAY_SOURCE})
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "more")
    return root


def findings(root: Path, *args: str) -> set[tuple[str, str, int, str]]:
    out = run_cli([*args, "--format", "json", "--fail-on", "never"], cwd=root)
    assert "Traceback" not in out.err, out.err
    return {(f["rule"], f["path"], f["line"], f["message"]) for f in out.json["findings"]}


def load_memo(root: Path) -> tuple[tuple, dict]:
    # Through the product's restricted loader: a hostile file left in place fails the test, never runs.
    return keptfile._Restricted(memo_file(root).read_bytes(), treememo_file._ALLOWED).load()


def reads_of(stored: dict, rule: str = "CL101") -> dict[str, tuple[list[str], list[int], bytes]]:
    """What `rule` read: path -> (the views it read, [] for the whole file; the stamp; the digest)."""
    reads = treememo_file.Reads.of(stored["reads"])
    assert reads is not None
    return {reads.paths[i]: (views.views_in(reads.viewed[i]), list(reads.stamps[4 * i:4 * i + 4]),
                             reads.digests[16 * i:16 * i + 16]) for i in stored["rules"][rule][2]}


def plant(root: Path) -> None:
    identity, stored = load_memo(root)
    key, hits, indices, notes = stored["rules"]["CL101"]
    stored["rules"]["CL101"] = (key, [*hits, PLANTED], indices, notes)
    memo_file(root).write_bytes(pickle.dumps((identity, stored)))


def planted(found: set[tuple[str, str, int, str]]) -> bool:
    return ("CL101", PLANTED.location.path, PLANTED.location.line, PLANTED.message) in found


def test_the_hook_keeps_the_result_and_the_next_run_uses_it(repo: Path, no_racy_window: None) -> None:
    assert ("CL109", "kubernetes/apps/extra.yaml", 3) in {f[:3] for f in findings(repo, "--all")}
    assert not memo_file(repo).exists(), "--all (CI) must not keep a tree result"
    first = findings(repo, SETTINGS)
    assert ("CL109", "kubernetes/apps/extra.yaml", 3) in {f[:3] for f in first}
    _, stored = load_memo(repo)
    assert set(stored["rules"]) == {"CL1" + n for n in ("01", "02", "03", "04", "05", "06", "07", "08", "09",
                                                          "10", "11")}
    reads = reads_of(stored)
    assert reads[SETTINGS][0] == [views.MANIFEST], "a ConfigMap is read through the model's view only"
    assert reads["kubernetes/apps/kustomization.yaml"][0] == [], "a kustomization file is read whole"
    st = os.lstat(repo / SETTINGS)
    assert reads[SETTINGS][1] == [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino], "its stamp"
    plant(repo)
    assert findings(repo, SETTINGS) == first | {("CL101", PLANTED.location.path, 2, PLANTED.message)}
    assert findings(repo, "--no-cache", SETTINGS) == first
    assert findings(repo, "--all") >= first and not planted(findings(repo, "--all"))


def test_a_hook_no_tree_rule_reads_neither_reads_nor_writes_it(repo: Path, no_racy_window: None) -> None:
    write_files(repo, {"notes.txt": "lab\n"})
    git(repo, "add", "notes.txt")
    findings(repo, "notes.txt")
    assert not memo_file(repo).exists()


def edit(path: str, old: str, new: str) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        target = root / path
        text = target.read_text(encoding="utf-8")
        assert old in text
        target.write_text(text.replace(old, new, 1), encoding="utf-8")
    return apply


KEEPING = {
    "a ConfigMap value": edit(SETTINGS, "LOG_LEVEL: info", "LOG_LEVEL: debug"),
    "a ConfigMap key added at the end": edit(SETTINGS, "COLOUR: blue\n", "COLOUR: blue\n  SIZE: large\n"),
    "a Deployment's image": edit(DEPLOY, "nginx:1.27.0", "nginx:1.27.1"),
    "a HelmRelease's values": edit(HELM, "tag: 7.4.0", "tag: 7.4.1"),
    "a comment after the document": edit(SETTINGS, "COLOUR: blue\n", "COLOUR: blue\n# tuned\n"),
    "a YAML file outside the tree, no Flux source in it": edit(TALOS, "clusterName: lab", "clusterName: home"),
}


def _stage_new(root: Path) -> None:
    write_files(root, {"kubernetes/apps/more.yaml": CONFIGMAP.replace("settings", "more")})
    git(root, "add", "kubernetes/apps/more.yaml")


def _remove(root: Path) -> None:
    git(root, "rm", "-q", "kubernetes/apps/extra.yaml")


def _link(root: Path) -> None:
    (root / DEPLOY).unlink()
    os.symlink("settings.yaml", root / DEPLOY)


DROPPING = {
    "a ConfigMap renamed": edit(SETTINGS, "name: settings", "name: tunables"),
    "a line above the document": edit(SETTINGS, "apiVersion: v1\n", "# settings\napiVersion: v1\n"),
    "a top-level scalar": edit(SETTINGS, "immutable: false", "immutable: true"),
    "a new top-level field": edit(SETTINGS, "immutable: false\n", "immutable: false\nsops:\n  version: 3.9.0\n"),
    "a label": edit(DEPLOY, "  namespace: web\n", "  namespace: web\n  labels: {tier: front}\n"),
    "a Flux Kustomization": edit("kubernetes/flux-system/apps.yaml", "interval: 10m", "interval: 11m"),
    "a HelmRelease's chart version": edit(HELM, "version: 20.1.0", "version: 20.1.1"),
    "a HelmRelease's values removed": edit(HELM, "  values:\n    image:\n      tag: 7.4.0\n", ""),
    "a HelmRepository's url": edit(HELM, "charts.bitnami.com", "charts.example.com"),
    "a comment in a kustomization file": edit("kubernetes/apps/kustomization.yaml", "resources:\n",
                                              "# all\nresources:\n"),
    "a file staged": _stage_new,
    "a file removed": _remove,
    "a manifest replaced by a link": _link,
    "the configuration": lambda root: (write_files(root, {".cloudlab-lint.yaml":
                                                          "flux:\n  chain: [flux-system, apps]\n"}),
                                       git(root, "add", ".cloudlab-lint.yaml")),
    "a file that no longer parses": edit(SETTINGS, "data:\n", "data: [\n"),
    "a Flux source outside the tree": edit(STRAY, "interval: 1h", "interval: 2h"),
    "a Flux source written into a YAML file outside the tree": edit(
        TALOS, "clusterName: lab\n", "clusterName: lab\n---\n" + STRAY_SOURCE.replace("platform", "extra")),
}


EDITS = {**{what: (change, True) for what, change in KEEPING.items()},
         **{what: (change, False) for what, change in DROPPING.items()}}


@pytest.mark.parametrize("judged", ["worktree", "index"])
@pytest.mark.parametrize(("change", "keeps"), EDITS.values(), ids=EDITS.keys())
def test_an_edit_keeps_the_result_only_where_the_flux_rules_cannot_see_it(
        repo: Path, no_racy_window: None, change: Callable[[Path], None], keeps: bool, judged: str) -> None:
    """The same edits through a named path (the work tree) and staged (a commit hook: files are stamped by
    their staged blob)."""
    mode = ("--staged",) if judged == "index" else ()
    findings(repo, *mode, SETTINGS)
    plant(repo)
    change(repo)
    if mode:
        git(repo, "add", "-A")
    found = findings(repo, *mode, SETTINGS)
    assert planted(found) is keeps
    fresh = findings(repo, "--no-cache", *mode, SETTINGS)
    assert found == fresh | ({("CL101", PLANTED.location.path, 2, PLANTED.message)} if keeps else set())


def test_a_file_changed_moments_ago_is_kept_without_its_stamp(repo: Path) -> None:
    # The fixture was written just now: inside the racy window, so no stamp can vouch for it ...
    findings(repo, SETTINGS)
    _, stored = load_memo(repo)
    assert reads_of(stored)[SETTINGS][1] == list(treememo_file.MISSING)
    # ... and the next run compares its digest instead: still the same result, planted finding included.
    plant(repo)
    assert planted(findings(repo, SETTINGS))
    edit(SETTINGS, "name: settings", "name: tunables")(repo)
    assert not planted(findings(repo, SETTINGS))


def test_without_the_cache_nothing_is_kept(repo: Path, no_racy_window: None) -> None:
    findings(repo, "--no-cache", SETTINGS)
    assert not memo_file(repo).exists()


HOSTILE = {
    "garbage": lambda identity, stored: b"\x80\x05not a pickle",
    "truncated": lambda identity, stored: pickle.dumps((identity, stored))[:-40],
    "foreign class": lambda identity, stored: b"cos\nsystem\n(S'touch MARKER'\ntR.",
    "older format": lambda header, stored: pickle.dumps(((header[0] - 1, header[1]), stored)),
    "other code": lambda header, stored: pickle.dumps(((header[0], ("other",)), stored)),
    "findings not Hits": lambda identity, stored: pickle.dumps(
        (identity, {**stored, "rules": {k: (v[0], ["not a hit"], *v[2:]) for k, v in stored["rules"].items()}})),
    "a location of the wrong type": lambda identity, stored: pickle.dumps(
        (identity, {**stored, "rules": {k: (v[0], [Hit("x", "nowhere")], *v[2:])  # type: ignore[arg-type]
                                        for k, v in stored["rules"].items()}})),
    "reads of the wrong shape": lambda identity, stored: pickle.dumps(
        (identity, {**stored, "reads": (SETTINGS, b"", b"", b"")})),
    "reads of the wrong type": lambda identity, stored: pickle.dumps((identity, {**stored, "reads": {SETTINGS: 1}})),
    "problems of the wrong shape": lambda identity, stored: pickle.dumps((identity, {**stored, "problems": [("a",)]})),
}


@pytest.mark.parametrize("damage", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_damaged_or_hostile_file_is_ignored_and_replaced(repo: Path, no_racy_window: None,
                                                           damage: Callable[[tuple, dict], bytes]) -> None:
    expected = findings(repo, SETTINGS)
    identity, stored = load_memo(repo)
    memo_file(repo).write_bytes(damage(identity, stored))
    os.utime(repo / SETTINGS)  # a changed stamp: the run has to judge the file, not just compare stamps
    assert findings(repo, SETTINGS) == expected
    assert not (repo / "MARKER").exists()
    identity, stored = load_memo(repo)  # replaced by a good one
    assert identity == (treememo_file.FORMAT, treememo_file.identity()) and stored["rules"]


@pytest.fixture
def whole_tree_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    real = runner_pkg.check_rule

    def counted(rule, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if rule.scope.tree and rule.requires is None:  # the rules whose results a hook keeps
            seen.append(rule.id)
        return real(rule, *args, **kwargs)

    monkeypatch.setattr(runner_pkg, "check_rule", counted)
    return seen


def report(root: Path, args: list[str]) -> dict:
    out = run_cli([*args, "--format", "json", "--fail-on", "never"], cwd=root)
    assert "Traceback" not in out.err, out.err
    return out.json


def test_the_view_keeps_what_names_and_places_a_document() -> None:
    labelled = DEPLOYMENT.replace("name: web\n  namespace", "name: web\n  labels: {a: b}\n  namespace")
    text = CONFIGMAP + "---\n" + labelled + "---\n" + RELEASE + "---\n- not a manifest\n"
    docs = load_documents(text)
    view = gitops_facts.facts_of(docs, "x.yaml")
    assert view is not None and len(view) == 5
    cm = view[0].data
    assert isinstance(cm["data"], gitops_facts.OmittedMap) and cm.line_of("data") == docs[0].data.line_of("data") == 8
    assert cm["immutable"] is False and cm["metadata"] is docs[0].data["metadata"]
    assert cm.key_line("metadata") == 3 and (view[0].index, view[0].line) == (docs[0].index, docs[0].line)
    dep = view[1].data
    assert isinstance(dep["spec"], gitops_facts.OmittedMap) and dep["metadata"]["labels"] == {"a": "b"}
    assert view[2] is docs[2] and view[4] is docs[4], "Flux's own kinds and non-manifests are kept whole"
    release = view[3].data
    assert isinstance(release["spec"]["values"], gitops_facts.OmittedMap)
    assert release["spec"].line_of("values") == docs[3].data["spec"].line_of("values")
    assert release["spec"]["chart"] is docs[3].data["spec"]["chart"] and release["metadata"]["name"] == "cache"
    assert docs[3].data["spec"]["values"] == {"image": {"tag": "7.4.0"}}
    assert gitops_facts.facts_of(None, "x.yaml") is None
    assert pickle.dumps(docs[0].data) != pickle.dumps(cm)  # the original is untouched
    assert docs[0].data["data"] == {"LOG_LEVEL": "info", "COLOUR": "blue"}


def test_parse_problems_come_back_with_the_kept_result(repo: Path, no_racy_window: None,
                                                       whole_tree_calls: list[str]) -> None:
    """What only the model parses (a `Kustomization` file has no .yaml suffix) and cannot, CL000 reports
    for a staged file in the run that uses the kept result too."""
    write_files(repo, {"kubernetes/extra/Kustomization": "resources: [\n"})
    git(repo, "add", "-A")
    targets = [SETTINGS, "kubernetes/extra/Kustomization"]
    first = report(repo, targets)
    assert ("CL000", "kubernetes/extra/Kustomization") in {(f["rule"], f["path"]) for f in first["findings"]}
    whole_tree_calls.clear()
    assert report(repo, targets) == first
    assert whole_tree_calls == []


def test_a_hook_notes_only_the_files_it_was_given_kept_result_or_not(repo: Path, no_racy_window: None,
                                                                     whole_tree_calls: list[str]) -> None:
    """A link under the tree is noted when it is staged; when another file is, it is CI's (--all) to note,
    whichever files this run or the one that kept the result happened to read."""
    os.symlink("settings.yaml", repo / "kubernetes/apps/link.yaml")
    git(repo, "add", "-A")
    note = "kubernetes/apps/link.yaml: symbolic link, not followed"
    first = report(repo, ["kubernetes/apps/link.yaml"])
    assert first["notes"] == [note]
    assert first == report(repo, ["--no-cache", "kubernetes/apps/link.yaml"])
    whole_tree_calls.clear()
    later = report(repo, [SETTINGS])
    assert whole_tree_calls == []
    assert later == report(repo, ["--no-cache", SETTINGS]) and later["notes"] == []
    assert note in report(repo, ["--all"])["notes"]


# -- the pipeline rules' kept sets of involved files ----------------------------------------------

PUSH = "on: push\njobs:\n  a:\n    steps:\n      - run: tools/a\n"
PULL = "on: pull_request\njobs:\n  b:\n    steps:\n      - run: echo hi\n"


def test_a_pipeline_rule_sees_what_another_rule_read_for_the_model_they_share(tmp_path: Path,
                                                                             no_racy_window: None) -> None:
    """CL201 builds the workflows' model first; CL202 gets it from the run's cache. The workflows are
    still what CL202's kept set depends on: an edited workflow that now runs a staged script must count."""
    root = init_repo(tmp_path / "repo")
    write_files(root, {".github/workflows/push.yml": PUSH, ".github/workflows/pull.yml": PULL,
                       "tools/a": "#!/bin/sh\necho a\n", "tools/b": "#!/bin/sh\nterraform apply -auto-approve\n",
                       "README.md": "# lab\n"})
    commit_all(root)
    report(root, ["README.md"])
    write_files(root, {".github/workflows/pull.yml": PULL.replace("echo hi", "tools/b")})  # not staged
    kept = report(root, ["tools/b"])
    assert kept == report(root, ["--no-cache", "tools/b"])
    assert {f["rule"] for f in kept["findings"]} >= {"CL201", "CL202"}


@pytest.mark.parametrize("folder", [p for p in CASES if p.parent.name.startswith("CL2")],
                         ids=[f"{p.parent.name}/{p.name}" for p in CASES if p.parent.name.startswith("CL2")])
def test_kept_pipeline_sets_serve_any_staged_file(folder: Path, tmp_path: Path, no_racy_window: None) -> None:
    """Kept with one file staged, used with each other one: the same report as a run without caches."""
    root = materialise(load_case(folder), tmp_path / "repo")
    files = [f for f in git(root, "ls-files", "-z").split("\0") if f][:12]
    if not files:
        pytest.skip("no files")
    report(root, [files[0]])
    for path in files:
        assert report(root, [path]) == report(root, ["--no-cache", path]), path


@pytest.mark.parametrize("damage", [b"garbage", b"cos\nsystem\n(S'touch MARKER'\ntR."])
def test_a_damaged_kept_pipeline_set_is_ignored_and_replaced(tmp_path: Path, no_racy_window: None,
                                                             damage: bytes) -> None:
    root = init_repo(tmp_path / "repo")
    write_files(root, {".github/workflows/push.yml": PUSH, "tools/a": "#!/bin/sh\nterraform apply\n"})
    commit_all(root)
    expected = report(root, ["--no-cache", "tools/a"])
    report(root, ["tools/a"])
    kept = memo_file(root)
    kept.write_bytes(damage)
    assert report(root, ["tools/a"]) == expected
    assert not (root / "MARKER").exists()
    _, stored = keptfile._Restricted(kept.read_bytes(), treememo_file._ALLOWED).load()
    assert "tools/a" in stored["reads"][0].split("\0") and "CL201" in stored["rules"]


def test_a_hook_served_by_kept_results_imports_neither_model(repo: Path) -> None:
    """What the kept results spare a commit hook is the models themselves: not built, not even imported."""
    import subprocess
    import sys

    write_files(repo, {".github/workflows/push.yml": PUSH, "tools/a": "#!/bin/sh\necho a\n"})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "pipeline")
    code = ("import sys; from cloudlab_lint.cli import main; main(sys.argv[1:]); "
            "sys.stderr.write('MODELS=%s' % sorted(m for m in ('cloudlab_lint.stack.gitops.tree', "
            "'cloudlab_lint.stack.pipeline.model') if m in sys.modules))")

    def models() -> str:
        proc = subprocess.run([sys.executable, "-c", code, SETTINGS], cwd=repo, capture_output=True, text=True,
                              check=False)
        assert "MODELS=" in proc.stderr, proc.stderr
        return proc.stderr.rsplit("MODELS=", 1)[1]

    # The first builds the Flux model and keeps its result; the pipeline's prefilter rules the change out.
    assert models() == "['cloudlab_lint.stack.gitops.tree']"
    assert models() == "[]"


PUSH_WORKFLOW = """on: push
jobs:
  push:
    runs-on: ubuntu-latest
    steps:
      - run: echo start
      - run: |
          flux push artifact oci://ghcr.io/example/manifests:main \\
            --path="./deploy" \\
            --source=example
"""
OCI_INSTANCE = """apiVersion: fluxcd.controlplane.io/v1
kind: FluxInstance
metadata:
  name: flux
  namespace: flux-system
spec:
  distribution:
    version: 2.x
  sync:
    kind: OCIRepository
    url: oci://ghcr.io/example/manifests
    ref: main
    path: ./clusters/home
"""


@pytest.mark.parametrize(("old", "new", "keeps"), [
    ("echo start", "echo begin", True),
    ('--path="./deploy"', '--path="./deploy/clusters"', False),
], ids=["a step that pushes nothing", "the folder it pushes"])
def test_a_workflow_edit_keeps_the_flux_result_unless_it_changes_the_pushed_folder(
        tmp_path: Path, no_racy_window: None, old: str, new: str, keeps: bool) -> None:
    """A FluxInstance syncing an OCI artifact: the Flux model reads of CI workflows only the folders they push
    (`views.PUSHED`), so an edit elsewhere in a workflow keeps the Flux rules' kept result."""
    root = init_repo(tmp_path / "repo")
    write_files(root, {"deploy/flux/instance.yaml": OCI_INSTANCE, ".github/workflows/push.yaml": PUSH_WORKFLOW,
                       "deploy/clusters/home/cm.yaml": CONFIGMAP, "deploy/apps/cm.yaml": CONFIGMAP})
    commit_all(root)
    staged = ("deploy/clusters/home/cm.yaml", ".github/workflows/push.yaml")  # the pipeline rules run too
    findings(root, "--staged", *staged)
    stored = load_memo(root)[1]
    assert views.PUSHED in reads_of(stored)[".github/workflows/push.yaml"][0], "the Flux rules read views only"
    assert reads_of(stored, "CL202")[".github/workflows/push.yaml"][0] == [], "the pipeline rules read it whole"
    plant(root)
    edit(".github/workflows/push.yaml", old, new)(root)
    git(root, "add", "-A")
    found = findings(root, "--staged", *staged)
    assert planted(found) is keeps
    fresh = findings(root, "--no-cache", "--staged", *staged)
    assert found == fresh | ({("CL101", PLANTED.location.path, 2, PLANTED.message)} if keeps else set())


def test_a_result_whose_reads_changed_is_never_kept_with_the_new_digests(
        repo: Path, no_racy_window: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run in which no tree rule runs (a file outside the tree named) still rewrites the kept result when
    many stamps were refreshed; a rule whose reads changed meanwhile is dropped then, never kept as if it held."""
    write_files(repo, {"notes.txt": "lab\n"})
    commit_all(repo)
    findings(repo, SETTINGS)
    plant(repo)
    edit("kubernetes/flux-system/apps.yaml", "interval: 10m", "interval: 11m")(repo)
    os.utime(repo / DEPLOY, ns=(1, 1))  # a new stamp, the same content: refreshed
    runner_settings(monkeypatch, save_after=1)
    assert not planted(findings(repo, "notes.txt"))
    found = findings(repo, SETTINGS)
    assert not planted(found) and found == findings(repo, "--no-cache", SETTINGS)
