"""CL005 beyond the fixtures: no output format ever shows a secret, lazy detect-secrets, baselines, SOPS corpus."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from cloudlab_lint.stack.detectors import detect
from cloudlab_lint.stack.secrets import Scanner, parse_baseline, sops_metadata_lines

from .helpers import PROJECT, commit_all, init_repo, run_cli, shared_or_skip, write_files

# Every planted value is built at run time: this file itself must stay clean for our own scanners.
PEM = "-----BEGIN " + "RSA PRIVATE KEY-----\n" + "RkFLRS1LRVktRk9S" * 4 + "\n-----END RSA PRIVATE KEY-----\n"
SECRETS = {
    "age": "AGE-SECRET-KEY-1" + "Q" * 58,
    "ghp": "ghp_" + "Fake" * 9,
    "pat": "github_pat_" + "F" * 22 + "_" + "K" * 59,
    "pem": "RkFLRS1LRVktRk9S" * 4,
    "b64": base64.b64encode(PEM.encode()).decode(),
    "kube": "fake-bearer-" + "token" * 4,
    "proxmox": "22222222-3333-4444-5555-666666666666",
    "aws": "AKIA" + "FAKE" * 4,
    "talos": "fake00.fakefakefakefake",
}
FILES = {
    "docs/notes.md": f"key:\n{SECRETS['age']}\n",
    ".github/workflows/ci.yaml": f"env:\n  GH_TOKEN: {SECRETS['ghp']}\n  PAT: {SECRETS['pat']}\n",
    "keys/id.yaml": ("k: |\n  -----BEGIN " + f"OPENSSH PRIVATE KEY-----\n  {SECRETS['pem']}\n"
                     "  -----END OPENSSH PRIVATE KEY-----\n"),
    "kubernetes/tls.yaml": f"apiVersion: v1\nkind: Secret\ndata:\n  tls.key: {SECRETS['b64']}\n",
    "talos/kc.yaml": (f"kind: Config\nclusters: []\nusers:\n  - name: a\n    user:\n      token: {SECRETS['kube']}\n"),
    "talos/secrets.yaml": f"secrets:\n  bootstraptoken: {SECRETS['talos']}\n",
    "terraform/pve.tf": f'api_token = "t@pve!tf={SECRETS["proxmox"]}"\n',
    "scripts/s3.sh": f"export AWS_ACCESS_KEY_ID={SECRETS['aws']}\n",
}


@pytest.fixture
def planted(tmp_path: Path) -> Path:
    repo = init_repo(tmp_path / "repo")
    write_files(repo, FILES)
    commit_all(repo, "planted")
    return repo


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github", "markdown"])
def test_no_output_format_prints_a_secret(planted: Path, fmt: str, tmp_path: Path) -> None:
    args = ["--all", "--history", "--select", "CL002,CL005,CL006", "--format", fmt]
    outcome = run_cli(args, cwd=planted)
    assert outcome.code == 1, outcome.err
    report = tmp_path / f"report.{fmt}"
    assert run_cli([*args, "--output", str(report)], cwd=planted).code == 1
    everything = outcome.out + outcome.err + report.read_text(encoding="utf-8")
    for name, value in SECRETS.items():
        for start in range(0, len(value) - 11, 6):  # no 12-character piece of any value either
            assert value[start:start + 12] not in everything, f"{name} leaked in {fmt}"
    if fmt == "json":
        found = {(f["rule"], f["path"]) for f in outcome.json["findings"]}
        assert {p for r, p in found if r == "CL005"} == set(FILES)  # every detector fired: the test can fail
        assert {p for r, p in found if r == "CL006"} >= set(FILES)


def _imports_detect_secrets(repo: Path, *args: str) -> bool:
    code = ("import sys; from cloudlab_lint.cli import main; main(sys.argv[1:]); "
            "sys.stderr.write('DS=%s' % ('detect_secrets' in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code, *args], cwd=repo, capture_output=True, text=True,
                          check=False)
    assert "DS=" in proc.stderr, proc.stderr
    return "DS=True" in proc.stderr


def test_detect_secrets_is_imported_only_when_needed(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    write_files(repo, {"kubernetes/app.yaml": "kind: ConfigMap\ndata:\n  token: ${TOKEN}\n", "a.md": "hello\n"})
    commit_all(repo)
    assert not _imports_detect_secrets(repo, "--all", "--select", "CL005")
    assert not _imports_detect_secrets(repo, "a.md", "--select", "CL005")  # the commit-hook path
    write_files(repo, {"s.sh": "export AWS_ACCESS_KEY_ID=" + SECRETS["aws"] + "\n"})
    commit_all(repo)
    assert _imports_detect_secrets(repo, "--all", "--select", "CL005")


def test_baseline_by_hash_and_excluded_files(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    token = SECRETS["ghp"]
    write_files(repo, {"a.yaml": f"x: 1\ny: 2\ntoken: {token}\n", "vendor/b.yaml": f"t: {token}\n",
                       "c.yaml": f"t: {token}\n"})
    baseline = {"version": "1.5.0", "results": {"a.yaml": [
        {"type": "GitHub Token", "filename": "a.yaml", "line_number": 1,  # moved since: the hash still matches
         "hashed_secret": hashlib.sha1(token.encode()).hexdigest(), "is_verified": False}]},  # noqa: S324
        "filters_used": [{"path": "detect_secrets.filters.regex.should_exclude_file", "pattern": ["^vendor/"]}]}
    write_files(repo, {".secrets.baseline": json.dumps(baseline)})
    commit_all(repo)
    outcome = run_cli(["--all", "--select", "CL005", "--format", "json"], cwd=repo)
    assert outcome.found() == {("CL005", "c.yaml", 1)}
    history = run_cli(["--all", "--history", "--select", "CL006", "--format", "json"], cwd=repo)
    assert history.found() == {("CL006", "c.yaml", 1)}


def test_invalid_baseline_is_a_note_not_a_crash(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    write_files(repo, {".secrets.baseline": "{not json", "c.yaml": f"t: {SECRETS['ghp']}\n"})
    commit_all(repo)
    outcome = run_cli(["--all", "--select", "CL005", "--format", "json"], cwd=repo)
    assert outcome.found() == {("CL005", "c.yaml", 1)}
    assert "not a detect-secrets baseline" in outcome.err
    assert parse_baseline("[]") is None


def test_sops_corpus_is_never_flagged_even_with_every_detect_secrets_plugin() -> None:
    corpus = shared_or_skip("corpus", "sops")
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.core.scan import scan_file
    from detect_secrets.settings import default_settings

    every = [cls.__name__ for cls in get_mapping_from_secret_type_to_class().values()]
    scanner = Scanner(plugins=every)
    files = [p for p in corpus.rglob("*") if p.is_file() and p.suffix in (".yaml", ".json", ".env", ".ini", ".txt")
             and "INDEX" not in p.name]
    assert len(files) > 10
    raw_hits = 0
    with default_settings():  # its defaults verify nothing, so no network
        for path in files:
            assert scanner.scan(path.read_bytes()) == [], path.name
            raw_hits += len(list(scan_file(str(path))))
    assert raw_hits > 20  # detect-secrets on its own flags the ciphertext and recipients; we do not


def test_detector_near_misses() -> None:
    def names(text: str) -> list[str]:
        return [d.detector for d in detect(text)]

    assert names("t: ghp_" + "a" * 35) == []  # too short
    assert names("t: xghp_" + "a" * 36) == []  # not at a word start
    assert names("t: ghp_" + "a" * 36) == ["github-token"]
    assert names("-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----") == []
    cert = base64.b64encode(b"-----BEGIN CERTIFICATE-----\n" + b"A" * 60).decode()
    assert names(f"ca.crt: {cert}") == []
    assert names("token: abcdef.0123456789abcdef") == ["talos-machine-secret"]
    assert names("token: abcdef.0123456789abcdeg-more") == []
    assert names("kind: Config\nclusters: []\nusers:\n- user:\n    password: ''\n") == []
    assert names("api_token = \"t@pve!tf\"") == []
    assert names("x: ENC[AES256_GCM,data:" + "AGE-SECRET-KEY-1" + "Q" * 58 + "]") == []


def test_sops_metadata_lines() -> None:
    yaml_text = "a: ENC[x]\nsops:\n    mac: y\n    age:\n        - recipient: age1x\nb: 1\n"
    assert sops_metadata_lines(yaml_text) == {2, 3, 4, 5}
    assert sops_metadata_lines("a=ENC[x]\nsops_mac=ENC[y]\nsops_version=3\n") == {2, 3}
    assert sops_metadata_lines("[app]\nk = ENC[x]\n[sops]\nmac = y\n") == {3, 4}
    assert sops_metadata_lines('{\n\t"a": "ENC[x]",\n\t"sops": {\n\t\t"mac": "y"\n\t}\n}\n') == {3, 4, 5, 6}


def test_project_itself_is_clean() -> None:
    """Our code, rules, example tree, bench and these tests hold no secret (other test files are their owners')."""
    paths = ["cloudlab_lint", "rules", "kubernetes", ".github", "bench", "tests/test_secrets.py",
             "tests/test_history.py"]
    outcome = run_cli([*[p for p in paths if (PROJECT / p).exists()], "--select", "CL005", "--format", "json"],
                      cwd=PROJECT)
    assert outcome.code == 0 and outcome.json["summary"]["files"] > 20, outcome.err
    assert outcome.json["findings"] == []


def test_detect_secrets_results_skip_references_and_placeholders() -> None:
    scanner = Scanner(plugins=["BasicAuthDetector", "AWSKeyDetector"])

    def found(line: str) -> list[str]:
        return [d.detector for d in scanner.scan(line.encode())]

    assert found("# https://user:token@host/x") == []  # documentation
    assert found('url = f"https://x-access-token:{TOKEN}@github.com/a"') == []  # a format string
    assert found("url: https://grafana:${GRAFANA_PASSWORD}@prometheus.lan") == []  # Flux substitution
    assert found("url: https://backup:" + "s3cr3t-Fake-99" + "@minio.lan/b") == ["detect-secrets:BasicAuthDetector"]
    assert found("key: AKIA" + "FAKE" * 4) == ["detect-secrets:AWSKeyDetector"]


def test_common_keywords_need_their_plugins_pattern_before_detect_secrets_runs() -> None:
    # `-us`, `sk-` and `aws` are in every region name, `task-`/`disk-` word and AWS provider: alone they
    # would load detect-secrets for most files. Each needs the plugin's own pattern, which every value the
    # plugin reports matches (the values are built here, never stored as literals).
    scanner = Scanner(plugins=["MailchimpDetector", "OpenAIDetector", "AWSKeyDetector"])
    quiet = [b"region: us-east-1\nzone: eu-west-us\n", b"name: task-runner\ndisk-size: 10\n",
             b'provider "aws" {\n  region = "eu-west-1"\n}\n', b"tz: ASIA/Tokyo\n"]
    for data in quiet:
        assert not scanner.may_hold(data), data
    mailchimp = "f" * 24 + "0a1b2c3d" + "-us" + "12"
    openai = "sk-" + "A1b2" * 5 + "T3BlbkFJ" + "Z9y8" * 5
    aws_secret = 'aws_secret_access_key = "' + "Ab1/" * 10 + '"'
    aws_id = "ASIA" + "Q7" * 8
    for line, detector in ((f"key: {mailchimp}", "MailchimpDetector"), (f"key: {openai}", "OpenAIDetector"),
                           (aws_secret, "AWSKeyDetector"), (f"id: {aws_id}", "AWSKeyDetector"),
                           (f"ключ: {aws_secret}", "AWSKeyDetector")):
        data = f"# config\n{line}\n".encode()
        assert scanner.may_hold(data), line
        assert [d.detector for d in scanner.scan(data)] == [f"detect-secrets:{detector}"], line
    # CL006 screens new lines with the same patterns: each of them matches its line alone.
    for pattern in scanner.line_patterns:
        assert pattern.search(b"\n") is None


class _Metered(bytes):
    """Bytes that add up how much of themselves `find`, `rfind` and `count` look at (up to what they find) and
    slices copy: the work of the scanner's line arithmetic, counted instead of timed."""

    seen = 0

    def _span(self, args: tuple) -> int:
        start = args[1] if len(args) > 1 and args[1] is not None else 0
        end = args[2] if len(args) > 2 and args[2] is not None else len(self)
        start, end = (max(0, i + len(self) if i < 0 else i) for i in (start, end))
        return max(0, min(end, len(self)) - start)

    def find(self, *args: object) -> int:  # type: ignore[override]
        at = super().find(*args)  # type: ignore[arg-type]
        start = args[1] if len(args) > 1 and args[1] is not None else 0
        _Metered.seen += self._span(args) if at < 0 else at - int(start) + 1  # type: ignore[call-overload]
        return at

    def rfind(self, *args: object) -> int:  # type: ignore[override]
        at = super().rfind(*args)  # type: ignore[arg-type]
        end = args[2] if len(args) > 2 and args[2] is not None else len(self)
        _Metered.seen += self._span(args) if at < 0 else int(end) - at  # type: ignore[call-overload]
        return at

    def count(self, *args: object) -> int:  # type: ignore[override]
        _Metered.seen += self._span(args)
        return super().count(*args)  # type: ignore[arg-type]

    def __getitem__(self, key: object) -> object:  # type: ignore[override]
        got = super().__getitem__(key)  # type: ignore[index]
        _Metered.seen += len(got) if isinstance(key, slice) else 1  # a slice copies what it takes
        return got


def _line_work(text: bytes) -> int:
    """Bytes the line arithmetic looks at when every detector and plugin reads `text` as one window."""
    from cloudlab_lint.stack.detectors import FileScan
    from cloudlab_lint.stack.secrets import _dropped_lines
    from cloudlab_lint.stack.textstream import Window

    window = Window(_Metered(text), 1, 0, len(text), False, True)
    _Metered.seen = 0
    assert list(Scanner(plugins=["AWSKeyDetector", "BasicAuthDetector"])._plugin_lines(window))
    FileScan().window(window)
    _dropped_lines(window)
    return _Metered.seen


@pytest.mark.parametrize("shape", ["one line", "many lines", "one line, not ASCII"])
def test_line_arithmetic_is_linear_in_the_file(shape: str) -> None:
    """A vendored file (a 2.3 MB script, a minified bundle) with a keyword every few hundred bytes: finding each
    hit's line must not rescan the file from its start or its long line whole (that was 0.8 s on one file)."""
    unit = (b"x" * 150 + b" aws s3 cp http://user@host/ " + ("y" if "ASCII" not in shape else "\u00e9").encode() * 150
            + b" # pragma: allowlist secret " + b"ghp_" + b"Fake" * 9 + b" ")
    sep = b"\n" if shape == "many lines" else b" "
    small, big = (sep.join([unit] * n) for n in (400, 1600))
    assert _line_work(small) > 0
    assert _line_work(big) <= 6 * _line_work(small)  # 4x the input: 4x the work (16x when quadratic)
