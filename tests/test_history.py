"""CL006 on real multi-commit repositories: removed secrets, side branches, tags, merges, shallow and partial clones."""

from __future__ import annotations

import io
import json
import threading
from pathlib import Path

import pytest

from cloudlab_lint.stack.history import BlobStreams, Progress, read_all, read_blobs, read_stream, walk

from .helpers import commit_all, git, init_repo, run_cli, write_files

# Built at run time so that no scanner (ours included) finds them in this file.
TOKEN = "ghp_" + "FAKE" * 9
OTHER = "gho_" + "TEST" * 9
SOPS_YAML = ("creation_rules:\n  - path_regex: secrets/.*\\.yaml$\n"
             "    age: age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p\n")
ENC = "ENC[AES256_GCM,data:Zm9v,iv:" + "A" * 43 + "=,tag:" + "A" * 22 + "==,type:str]"
ENCRYPTED = (f"password: {ENC}\nsops:\n    lastmodified: \"2026-01-01T00:00:00Z\"\n    mac: {ENC}\n"
             "    age:\n        - recipient: age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p\n"
             "    version: 3.9.4\n")


def head(repo: Path, ref: str = "HEAD") -> str:
    return git(repo, "rev-parse", ref).strip()


def history_findings(repo: Path, *extra: str) -> tuple[set[tuple[str, int]], list[dict], str]:
    outcome = run_cli(["--all", "--history", "--select", "CL006", "--format", "json", *extra], cwd=repo)
    assert outcome.code in (0, 1), outcome.err
    findings = outcome.json["findings"]
    return {(f["path"], f["line"]) for f in findings}, findings, outcome.err


def make_repo(tmp_path: Path) -> Path:
    repo = init_repo(tmp_path / "repo")
    write_files(repo, {"README.md": "# lab\n"})
    commit_all(repo, "initial")
    return repo


def test_token_added_then_removed_two_commits_later(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    write_files(repo, {"apps/bot.yaml": f"bot:\n  token: {TOKEN}\n"})
    commit_all(repo, "add bot")
    introduced = head(repo)
    write_files(repo, {"apps/bot.yaml": f"bot:\n  replicas: 2\n  token: {TOKEN}\n"})
    commit_all(repo, "scale bot")
    write_files(repo, {"apps/bot.yaml": "bot:\n  replicas: 2\n  token: ${BOT_TOKEN}\n"})
    commit_all(repo, "remove the token")
    # Today's tree is clean: CL005 is silent, the history gate is not.
    assert run_cli(["--all", "--select", "CL005", "--format", "json"], cwd=repo).json["findings"] == []
    found, findings, _ = history_findings(repo)
    assert found == {("apps/bot.yaml", 2)}  # once, at the commit that introduced it, not again when edited
    assert introduced[:12] in findings[0]["message"]
    assert TOKEN not in findings[0]["message"]


def test_near_miss_reference_only_in_history(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    write_files(repo, {"apps/bot.yaml": "bot:\n  token: ${BOT_TOKEN}\n",
                       ".github/workflows/ci.yaml": "env:\n  GH_TOKEN: ${{ secrets.GH_TOKEN }}\n"})
    commit_all(repo, "add bot")
    found, _, err = history_findings(repo)
    assert found == set()
    assert "CL006: 2 commits, 3 distinct blobs, 3 scanned" in err


def test_secret_only_on_a_side_branch(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    git(repo, "checkout", "-q", "-b", "experiment")
    write_files(repo, {"notes/todo.md": f"try with {OTHER}\n"})
    commit_all(repo, "wip")
    side = head(repo)
    git(repo, "checkout", "-q", "main")
    found, findings, _ = history_findings(repo)
    assert found == {("notes/todo.md", 1)}
    assert side[:12] in findings[0]["message"]


def test_tag_only_commit(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    git(repo, "checkout", "-q", "-b", "release")
    write_files(repo, {"release/notes.md": f"token {TOKEN}\n"})
    commit_all(repo, "release")
    tagged = head(repo)
    git(repo, "tag", "-a", "v1", "-m", "v1")
    git(repo, "checkout", "-q", "main")
    git(repo, "branch", "-q", "-D", "release")  # now only the tag reaches the commit
    found, findings, _ = history_findings(repo)
    assert found == {("release/notes.md", 1)}
    assert tagged[:12] in findings[0]["message"]
    git(repo, "tag", "-d", "v1")
    git(repo, "reflog", "expire", "--expire=now", "--all")
    assert history_findings(repo)[0] == set()  # unreachable objects are not history


def test_merge_commit_that_introduces_a_blob(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    write_files(repo, {"conf.yaml": "a: 1\n"})
    commit_all(repo, "conf")
    git(repo, "checkout", "-q", "-b", "side")
    write_files(repo, {"conf.yaml": "a: 2\n"})
    commit_all(repo, "side")
    git(repo, "checkout", "-q", "main")
    write_files(repo, {"conf.yaml": "a: 3\n"})
    commit_all(repo, "main")
    git(repo, "merge", "-q", "side", "-m", "merge", check=False)  # conflicts
    write_files(repo, {"conf.yaml": f"a: 4\ntoken: {TOKEN}\n"})  # the resolution brings a new blob
    commit_all(repo, "merge side")
    merge = head(repo)
    found, findings, _ = history_findings(repo)
    assert found == {("conf.yaml", 2)}
    assert merge[:12] in findings[0]["message"]


def test_plaintext_then_encrypted(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    write_files(repo, {".sops.yaml": SOPS_YAML, "secrets/db.yaml": "password: not-yet-encrypted\n"})
    commit_all(repo, "db secret (forgot sops -e)")
    plaintext = head(repo)
    write_files(repo, {"secrets/db.yaml": ENCRYPTED})
    commit_all(repo, "encrypt it")
    # Without --history, a prefix leaves CL006 out (its exact id would be exit 2): today's tree is clean.
    today = run_cli(["--all", "--select", "CL00", "--format", "json"], cwd=repo).json
    assert "CL006" not in today["summary"]["rules"]
    assert not [f for f in today["findings"] if f["rule"] in ("CL003", "CL004", "CL005", "CL006")]
    found, findings, _ = history_findings(repo)
    assert found == {("secrets/db.yaml", 1)}
    assert plaintext[:12] in findings[0]["message"]
    assert "not-yet-encrypted" not in findings[0]["message"]


def test_encrypted_from_the_start_is_clean(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    write_files(repo, {".sops.yaml": SOPS_YAML, "secrets/db.yaml": ENCRYPTED})
    commit_all(repo, "db secret")
    write_files(repo, {"secrets/db.yaml": ENCRYPTED.replace("3.9.4", "3.10.0")})
    commit_all(repo, "re-encrypt")
    assert history_findings(repo)[0] == set()


def test_forbidden_file_removed_later(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    write_files(repo, {"terraform/terraform.tfstate": '{"terraform_version": "1.9.8", "lineage": "x"}\n'})
    commit_all(repo, "oops")
    git(repo, "rm", "-q", "--cached", "terraform/terraform.tfstate")
    git(repo, "commit", "-q", "-m", "untrack")
    assert history_findings(repo)[0] == {("terraform/terraform.tfstate", 1)}


def _source_with_history(tmp_path: Path) -> Path:
    source = make_repo(tmp_path)
    write_files(source, {"old.md": f"{TOKEN}\n"})
    commit_all(source, "leak")
    git(source, "rm", "-q", "old.md")
    git(source, "commit", "-q", "-m", "remove")
    write_files(source, {"new.md": "clean\n"})
    commit_all(source, "later")
    return source


def test_shallow_clone_cannot_pass(tmp_path: Path) -> None:
    source = _source_with_history(tmp_path)
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{source}", "shallow")
    found, findings, _ = history_findings(tmp_path / "shallow")
    assert found == {(".git/shallow", 1)}  # the leak is before the cut: the gate says so rather than passing
    assert "shallow" in findings[0]["message"]
    git(tmp_path, "clone", "-q", f"file://{source}", "full")
    assert history_findings(tmp_path / "full")[0] == {("old.md", 1)}


def test_partial_clone_cannot_pass_and_never_fetches(tmp_path: Path) -> None:
    source = _source_with_history(tmp_path)
    git(source, "config", "uploadpack.allowFilter", "true")
    git(tmp_path, "clone", "-q", "--no-checkout", "--filter=blob:none", f"file://{source}", "partial")
    partial = tmp_path / "partial"
    git(partial, "checkout", "-q", "main")
    git(source, "config", "uploadpack.allowFilter", "false")
    (source / ".git").rename(source / "gone")  # any fetch would now fail loudly
    found, _, err = history_findings(partial)
    assert (".git/config", 1) in found
    assert ("old.md", 1) not in found  # never fetched, so not read: reported as missing
    assert "missing (partial clone)" in err


def test_repository_without_commits(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "empty")
    write_files(repo, {"a.md": "x\n"})
    git(repo, "add", "a.md")
    assert history_findings(repo)[0] == set()


def test_walk_and_read_each_blob_once(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    write_files(repo, {"a.txt": "same\n", "b.txt": "same\n", "big.txt": "x" * 5000 + "\n"})
    commit_all(repo, "two paths, one blob")
    history = walk(repo)
    assert history.commits == 2
    same = [oid for oid, uses in history.blobs.items() if {u.path for u in uses} == {"a.txt", "b.txt"}]
    assert len(same) == 1
    read = list(read_blobs(repo, list(history.blobs), max_bytes=1000))
    assert [oid for oid, _, _ in read] == list(history.blobs)
    sizes = {oid: (data, size) for oid, data, size in read}
    big = next(o for o, uses in history.blobs.items() if uses[0].path == "big.txt")
    assert sizes[big] == (None, 5001)  # over the cap: skipped, size known
    assert sizes[same[0]] == (b"same\n", 5)


def test_progress_line() -> None:
    ticks = iter([0.0, 0.0, 1.0, 2.0])
    stream = io.StringIO()
    progress = Progress(2, True, stream, clock=lambda: next(ticks))
    progress.step(1_000_000)
    progress.step(1_000_000)
    progress.close()
    text = stream.getvalue()
    assert "2/2 blobs, 2.0 MB" in text and "MB/s" in text and "ETA" in text
    quiet = io.StringIO()
    Progress(1, False, quiet).step(10)
    assert quiet.getvalue() == ""


def test_secret_manifest_gains_literal_data_in_a_later_version(tmp_path: Path) -> None:
    """Only new lines are searched for keywords, yet `kind: Secret` recurs: each version is judged whole."""
    repo = make_repo(tmp_path)
    head_lines = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n"
    release = ("apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nspec:\n  valuesFrom:\n"
               "    - kind: Secret\n      name: db\n")
    write_files(repo, {"apps/db.yaml": head_lines + "  password: ${DB_PASSWORD}\n", "apps/release.yaml": release})
    commit_all(repo, "reference only")
    write_files(repo, {"apps/db.yaml": head_lines + "  password: hunter2-fake\n",
                       "apps/release.yaml": release.replace("name: db", "name: db2")})
    commit_all(repo, "literal")
    literal = head(repo)
    found, findings, _ = history_findings(repo)
    assert found == {("apps/db.yaml", 1)}  # the HelmRelease's `- kind: Secret` is a reference, not a Secret
    assert literal[:12] in findings[0]["message"]


def test_second_process_finds_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the helper process forced on (every blob count pays), findings are the same as without it, and
    with the detection process on as well (the helper's flagged blobs are handed to it at the end)."""
    repo = make_repo(tmp_path)
    for n in range(6):
        files = {f"apps/a{i}/values.yaml": f"replicas: {n}\nname: a{i}\n" for i in range(8)}
        if n == 2:
            files["apps/a3/values.yaml"] += f"token: {TOKEN}\n"
            files[".sops.yaml"] = SOPS_YAML
            files["secrets/db.yaml"] = "password: not-yet-encrypted\n"
        if n == 3:
            files["secrets/db.yaml"] = ENCRYPTED
            files["img/logo.png"] = b"\x89PNG\0\0binary"
        write_files(repo, files)
        commit_all(repo, f"step {n}")
    single, _, _ = history_findings(repo)
    write_files(repo, {".cloudlab-lint.yaml": "rules:\n  CL006:\n    params:\n      parallel_min_blobs: 1\n"})
    commit_all(repo, "config")
    forked, _, err = history_findings(repo)
    assert single == forked == {("apps/a3/values.yaml", 3), ("secrets/db.yaml", 1)}
    assert "1 binary" in err
    from cloudlab_lint.checks import history as check

    monkeypatch.setattr(check, "PIPELINE_MIN_BYTES", 0)
    monkeypatch.setattr(check.os, "cpu_count", lambda: 2)
    piped, _, err = history_findings(repo)
    assert piped == single and "1 binary" in err


def test_two_readers_share_every_blob_once(tmp_path: Path) -> None:
    """Two `cat-file` readers (the helper's and ours) together read every blob once, as one reader does."""
    repo = make_repo(tmp_path)
    for n in range(5):
        write_files(repo, {f"f{i}.txt": "line\n" * (20 + i) + f"v{n}\n" for i in range(6)})
        commit_all(repo, f"v{n}")
    git(repo, "gc", "-q")  # deltas: a family goes to one reader
    one = {oid: data for oid, data, _ in read_all(repo, None, 1 << 20)}
    streams = BlobStreams(repo, 2)
    second = streams.output(1)
    rest: list[tuple[str, bytes | None, int]] = []
    reader = threading.Thread(target=lambda: rest.extend(read_stream(second, 1 << 20)))  # as the helper does
    reader.start()
    streams.start()
    first = list(read_stream(streams.output(0), 1 << 20))
    reader.join()
    streams.close()
    oids = [oid for oid, _, _ in first + rest]
    assert len(oids) == len(set(oids)) == len(one) == len(walk(repo).blobs)
    assert {oid: data for oid, data, _ in first + rest} == one
    assert first and rest  # both readers got a share


# -- every blob read whole: encodings, binary, CRLF, base64, over the size limit ------------------------

AGE_KEY = "AGE-SECRET-KEY-1" + "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L" + "QPZRY9X8GF2TVDW0S3JN54KHCE"
TALOS_CRLF = ("cluster:\r\n  id: RkFLRS1DTFVTVEVSLUlE\r\n"
              "  secret: RkFLRS1UQUxPUy1DTFVTVEVSLVNFQ1JFVC1GT1ItVEVTVFMtT05MWSEh\r\n"
              "secrets:\r\n  bootstraptoken: fake00.fakefakefakefake\r\n"
              "  secretboxencryptionsecret: RkFLRS1TRUNSRVRCT1gtRU5DUllQVElPTi1GT1ItVEVTVFMtT05MWSEh\r\n"
              "trustdinfo:\r\n  token: fake11.fakefakefakefake\r\n")


def sops_age_secret(key_file: bytes) -> str:
    import base64

    return ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: sops-age\n  namespace: flux-system\ndata:\n"
            f"  age.agekey: {base64.b64encode(key_file).decode()}\n")


def test_history_reads_utf16_binary_crlf_and_base64_blobs(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    write_files(repo, {"apps/utf16.yaml": f"a: 1\ntoken: {TOKEN}\n".encode("utf-16"),
                       "assets/blob.bin": b"\x00\x01binary\n" + f"t={OTHER}\n".encode() + bytes(200),
                       "talos/secrets.yaml": TALOS_CRLF.encode(),
                       "kubernetes/flux-system/sops-age.yaml": sops_age_secret(b"# public key: age1x\n"),
                       "assets/key.bin": b"\x00\x00" + AGE_KEY.encode() + b"\x00"})
    commit_all(repo, "leaks")
    found, findings, err = history_findings(repo, "--select", "CL006")
    assert found == {("apps/utf16.yaml", 2), ("assets/blob.bin", 2), ("talos/secrets.yaml", 3),
                     ("talos/secrets.yaml", 5), ("talos/secrets.yaml", 6), ("talos/secrets.yaml", 8),
                     ("assets/key.bin", 1), ("kubernetes/flux-system/sops-age.yaml", 1)}, findings
    # (the last: a Secret with literal data must be encrypted, whatever its data holds)
    # The Secret's key was harmless (a public key only); a later version puts the secret key in its data: only
    # the base64 value changes (the `kind: Secret` line is as before), and that is found, as CL005 and CL002.
    write_files(repo, {"kubernetes/flux-system/sops-age.yaml": sops_age_secret(
        b"# created: 2026-01-01\n# public key: age1x\n" + AGE_KEY.encode() + b"\n")})
    commit_all(repo, "the real key")
    introduced = head(repo)
    found, findings, _ = history_findings(repo, "--select", "CL006")
    age = [f for f in findings if f["path"] == "kubernetes/flux-system/sops-age.yaml"]
    new = [f for f in age if introduced[:12] in f["message"]]
    assert len(new) == 2 and {f["line"] for f in new} == {7}, age  # the secret, and the file that holds it
    assert "age secret key" in new[0]["message"] and "age secret key" in new[1]["message"]
    everything = json.dumps(findings) + err
    assert TOKEN not in everything and AGE_KEY not in everything and "fake00" not in everything


def test_history_streams_blobs_over_the_size_limit(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    filler = "".join(f"# filler line {i}\n" for i in range(3000))  # ~50 KB, over the limit set below
    write_files(repo, {"docs/big.md": filler + f"token: {TOKEN}\n" + filler,
                       "docs/big-age.md": filler + AGE_KEY + "\n",
                       "docs/big-clean.md": filler})
    commit_all(repo, "big files")
    for config in ("max_blob_bytes: 4096\n", "max_blob_bytes: 4096\n      parallel_min_blobs: 1\n"):
        write_files(repo, {".cloudlab-lint.yaml": f"rules:\n  CL006:\n    params:\n      {config}"})
        commit_all(repo, "config")
        found, findings, err = history_findings(repo)
        assert found == {("docs/big.md", 3001), ("docs/big-age.md", 3001)}, findings
        assert len(findings) == 3  # the age key: a plaintext secret (CL005) and a never-commit file (CL002)
        assert "over 4,096 bytes (read all the same)" in err


def test_plaintext_secret_in_any_form_in_a_past_commit(tmp_path: Path) -> None:
    """Flow style, a List item, JSON, `.YAML`, an escaped kind: each a plaintext Secret kubectl would apply,
    removed later; the history gate finds each one. References only (op://, ${VAR}) and a Helm chart's
    templates/ are near misses."""
    repo = make_repo(tmp_path)
    secret = "{apiVersion: v1, kind: Secret, metadata: {name: flow}, stringData: {password: hunter2-flow}}\n"
    listed = ("apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata: {name: x}\n"
              "  data: {key: aHVudGVyMi1saXN0}\n")
    write_files(repo, {
        "apps/flow.yaml": secret,
        "apps/list.yml": listed,
        "apps/api.json": '{\n\t"apiVersion": "v1", "kind": "Secret",\n\t"stringData": {"k": "hunter2-json"}\n}\n',
        "apps/UPPER.YAML": "apiVersion: v1\nkind: Secret\nstringData:\n  k: hunter2-upper\n",
        "apps/escaped.yaml": 'apiVersion: v1\nkind: "\\u0053ecret"\nstringData:\n  k: hunter2-escaped\n',
        "apps/refs.yaml": "{apiVersion: v1, kind: Secret, stringData: {a: 'op://vault/item/field', b: '${B}'}}\n",
        "chart/Chart.yaml": "apiVersion: v2\nname: chart\nversion: 1.0.0\n",
        "chart/templates/secret.yaml": "apiVersion: v1\nkind: Secret\nstringData:\n  k: chart-default\n",
    })
    commit_all(repo, "plaintext secrets")
    write_files(repo, {name: "# moved to SOPS\n" for name in (
        "apps/flow.yaml", "apps/list.yml", "apps/api.json", "apps/UPPER.YAML", "apps/escaped.yaml")})
    commit_all(repo, "remove them")
    found, findings, _ = history_findings(repo)
    assert found == {("apps/flow.yaml", 1), ("apps/list.yml", 1), ("apps/api.json", 1), ("apps/UPPER.YAML", 1),
                     ("apps/escaped.yaml", 1)}, findings
    assert not any("hunter2" in f["message"] for f in findings)


def test_client_configs_in_history_are_judged_by_content(tmp_path: Path) -> None:
    """A file named kubeconfig is one when it holds a credential: an Ansible task file of that name is not,
    in any version; a kubeconfig whose token was removed later still leaked it."""
    repo = make_repo(tmp_path)
    tasks = "- name: fetch the kubeconfig\n  ansible.builtin.fetch: {src: /etc/k3s.yaml, dest: kubeconfig}\n"
    kube = ("apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://10.0.0.1:6443'}}]\n"
            "users:\n- name: admin\n  user:\n    token: TOKEN\n")
    write_files(repo, {"ansible/tasks/kubeconfig.yaml": tasks,
                       "talos/kubeconfig": kube.replace("TOKEN", "hunter2-kube")})
    commit_all(repo, "kubeconfig in clear")
    leaked = head(repo)
    write_files(repo, {"ansible/tasks/kubeconfig.yaml": tasks + "- name: done\n  debug: {msg: ok}\n",
                       "talos/kubeconfig": kube.replace("TOKEN", "${KUBE_TOKEN}")})
    commit_all(repo, "token removed")
    found, findings, _ = history_findings(repo)
    assert found == {("talos/kubeconfig", 7)}, findings
    assert leaked[:12] in findings[0]["message"] and "hunter2" not in findings[0]["message"]


def test_detection_in_a_second_process_finds_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pipeline (detection forked off, fed while the stream goes on) finds exactly what one process finds,
    and really hands the flagged blobs over."""
    from cloudlab_lint.checks import history as check
    from cloudlab_lint.stack.history import Worker

    repo = make_repo(tmp_path)
    for n in range(4):
        files = {f"apps/a{i}/values.yaml": f"replicas: {n}\nname: a{i}\n" for i in range(6)}
        if n == 1:
            files["apps/a2/values.yaml"] += f"token: {TOKEN}\n"
            files[".sops.yaml"] = SOPS_YAML
            files["secrets/db.yaml"] = "password: not-yet-encrypted\n"
        if n == 2:
            files["apps/a2/values.yaml"] = f"replicas: 3\ntoken: {OTHER}\n"
        write_files(repo, files)
        commit_all(repo, f"step {n}")
    monkeypatch.setenv("CLOUDLAB_LINT_JOBS", "1")
    single, _, _ = history_findings(repo)
    monkeypatch.delenv("CLOUDLAB_LINT_JOBS")
    monkeypatch.setattr(check, "PIPELINE_MIN_BYTES", 0)
    monkeypatch.setattr(check.os, "cpu_count", lambda: 2)
    handed: list[str] = []
    put = Worker.put
    monkeypatch.setattr(Worker, "put", lambda self, oid, data, scan=True: (handed.append(oid),
                                                                         put(self, oid, data, scan)))
    piped, _, _ = history_findings(repo)
    assert single == piped == {("apps/a2/values.yaml", 3), ("apps/a2/values.yaml", 2), ("secrets/db.yaml", 1)}
    assert handed  # the second process did the detection


def test_blobs_only_the_judge_needs_are_judged_but_never_scanned(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A ConfigMap (`kind: Config` is CL002's hint), SOPS files and a HelmRelease whose `token` is a reference
    are not handed to the detectors; what they hold is judged all the same (a SOPS path in plaintext, then
    encrypted), in one process and in two."""
    from cloudlab_lint.checks import history as check
    from cloudlab_lint.stack.history import Worker

    repo = make_repo(tmp_path)
    write_files(repo, {".sops.yaml": SOPS_YAML, "secrets/db.yaml": "password: not-yet-encrypted\n",
                       "apps/cm.yaml": "apiVersion: v1\nkind: ConfigMap\ndata:\n  a: b\n",
                       "apps/release.yaml": "kind: HelmRelease\nspec:\n  values:\n    token: ${BOT_TOKEN}\n"})
    commit_all(repo, "plaintext")
    write_files(repo, {"secrets/db.yaml": ENCRYPTED, "apps/bot.yaml": f"bot:\n  token: {TOKEN}\n"})
    commit_all(repo, "encrypted")
    monkeypatch.setenv("CLOUDLAB_LINT_JOBS", "1")
    single, _, _ = history_findings(repo)
    monkeypatch.delenv("CLOUDLAB_LINT_JOBS")
    monkeypatch.setattr(check, "PIPELINE_MIN_BYTES", 0)
    monkeypatch.setattr(check.os, "cpu_count", lambda: 2)
    handed: list[tuple[str, bool]] = []
    put = Worker.put
    monkeypatch.setattr(Worker, "put", lambda self, oid, data, scan=True: (handed.append((oid, scan)),
                                                                         put(self, oid, data, scan)))
    piped, _, _ = history_findings(repo)
    assert single == piped == {("secrets/db.yaml", 1), ("apps/bot.yaml", 2)}
    # The token's blob alone is scanned; the SOPS file and the ConfigMap are handed over to be judged there
    # (the plaintext version holds no word of any test: its path alone is judged, here or there).
    assert [oid for oid, scan in handed if scan] == [git(repo, "rev-parse", "HEAD:apps/bot.yaml").strip()]
    assert {oid for oid, scan in handed if not scan} == {
        git(repo, "rev-parse", f"HEAD:{path}").strip() for path in ("secrets/db.yaml", "apps/cm.yaml")}


@pytest.mark.parametrize("late", ["walk", "blobs"])
def test_blobs_judged_as_they_come_or_at_the_end_say_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              late: str) -> None:
    """The second process judges a flagged blob as it comes once the walk is done, or all of them once the
    stream is (whichever comes last is made late here): the findings, commits and messages are the same
    as in one process."""
    import time

    from cloudlab_lint.checks import history as check
    from cloudlab_lint.stack import history as stack
    from cloudlab_lint.stack.history import Worker

    repo = make_repo(tmp_path)
    for n in range(3):
        files = {f"apps/a{i}/values.yaml": f"replicas: {n}\nname: a{i}\n" for i in range(4)}
        files["apps/a1/values.yaml"] += f"token: {TOKEN if n else OTHER}\n"
        files[".sops.yaml"] = SOPS_YAML
        files["secrets/db.yaml"] = ENCRYPTED if n == 2 else f"password: not-yet-encrypted-{n}\nsops: no\n"
        files["apps/cm.yaml"] = f"kind: ConfigMap\ndata:\n  n: '{n}'\n"
        write_files(repo, files)
        commit_all(repo, f"step {n}")
    monkeypatch.setenv("CLOUDLAB_LINT_JOBS", "1")
    _, single, _ = history_findings(repo)
    monkeypatch.delenv("CLOUDLAB_LINT_JOBS")
    monkeypatch.setattr(check, "PIPELINE_MIN_BYTES", 0)
    monkeypatch.setattr(check.os, "cpu_count", lambda: 2)
    if late == "walk":
        walk = stack.walk
        monkeypatch.setattr(stack, "walk", lambda *a: (time.sleep(0.5), walk(*a))[1])
    else:
        put = Worker.put
        monkeypatch.setattr(Worker, "put", lambda *a: (time.sleep(0.1), put(*a)))
    _, piped, _ = history_findings(repo)
    assert piped == single
    assert {f["path"] for f in single} == {"apps/a1/values.yaml", "secrets/db.yaml"}


def test_worker_failure_is_said_not_hidden() -> None:
    """A detection process that dies is an error of the run, never a silent pass."""
    from cloudlab_lint.stack.history import Worker

    worker = Worker(lambda oid, data, scan: 1 / 0, None, lambda final, side: [])
    worker.put("a" * 40, b"x")
    with pytest.raises(RuntimeError, match="detection process failed"):
        worker.results()


def test_worker_judges_once_every_blob_is_in_and_hands_back_its_errors() -> None:
    """`end` runs in the child after every blob and the side job; what it raises comes back as a value."""
    from cloudlab_lint.stack.history import Worker

    kept: dict[str, tuple[bytes, bool]] = {}
    worker = Worker(lambda oid, data, scan: kept.__setitem__(oid, (data, scan)), lambda: "walked",
                    lambda final, side: (sorted(kept.items()), final, side))
    worker.put("b" * 40, b"y", False)
    worker.put("a" * 40, b"x")
    assert worker.results("end") == ([("a" * 40, (b"x", True)), ("b" * 40, (b"y", False))], "end", "walked")
    assert kept == {}  # kept in the child only
    failing = Worker(lambda oid, data, scan: None, lambda: 1 / 0,
                     lambda final, side: (_ for _ in ()).throw(side) if isinstance(side, Exception) else side)
    assert isinstance(failing.results(), ZeroDivisionError)
