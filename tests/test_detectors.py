"""Our secret detectors read everything: RE2 only, any size (windows with overlap), any encoding, base64."""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cloudlab_lint import linear
from cloudlab_lint.checks import hygiene
from cloudlab_lint.stack import clientconfig, detectors, novelty, secrets, textstream
from cloudlab_lint.stack.detectors import DETECTORS, FileScan, b64_fragments, detect
from cloudlab_lint.stack.secrets import Scanner
from cloudlab_lint.stack.textstream import Normaliser, normalise, windows

from .helpers import commit_all, git, init_repo, run_cli, write_files

# Built at run time so that no scanner (ours included) finds them in this file.
TOKEN = "ghp_" + "FAKE" * 9
AGE = "AGE-SECRET-KEY-1" + "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L" + "QPZRY9X8GF2TVDW0S3JN54KHCE"
PLUGINS = ["AWSKeyDetector", "AzureStorageKeyDetector", "BasicAuthDetector", "GitLabTokenDetector", "JwtTokenDetector",
           "MailchimpDetector", "NpmDetector", "OpenAIDetector", "PypiTokenDetector", "SendGridDetector",
           "SlackDetector", "SquareOAuthDetector", "StripeDetector"]


def names(data: bytes | str) -> list[tuple[str, int]]:
    return [(d.detector, d.line) for d in detect(data)]


# -- RE2 only ------------------------------------------------------------------------------------


def test_every_detector_compiles_and_runs_under_re2() -> None:
    samples = {"age-secret-key": AGE, "github-token": f"t: {TOKEN}",
               "private-key": "-----BEGIN " + "PRIVATE KEY-----\n" + "QUJD" * 12,
               "private-key-base64": "k: " + base64.b64encode(b"-----BEGIN RSA " + b"PRIVATE KEY-----\n" + b"A" * 60)
               .decode(),
               "kubeconfig-credential": "kind: Config\nclusters: []\nusers:\n- user:\n    token: fake-" + "x" * 20,
               "talosconfig-credential": "contexts:\n  a:\n    ca: x\n    crt: y\n    key: " + base64.b64encode(
                   b"-----BEGIN ED25519 PRIVATE KEY-----\n" + b"A" * 40).decode(),
               "talos-machine-secret": "bootstraptoken: fake00.fakefakefakefake",
               "proxmox-api-token": "PVEAPIToken=t@pve!tf=" + "22222222-3333-4444-5555-666666666666"}
    for det in DETECTORS:
        pattern = linear.compile(det.regex)  # raises on syntax RE2 cannot run
        assert type(pattern).__module__.startswith("re2"), det.name
        assert det.name in samples, f"{det.name}: add a sample"
        assert det.name in [d.detector for d in detect(samples[det.name])], det.name


@pytest.mark.parametrize("module", [detectors, secrets, novelty, textstream, hygiene, clientconfig])
def test_no_detector_module_keeps_a_backtracking_pattern(module: object) -> None:
    """Every module-level pattern of the detectors is RE2 (the baseline's own excludes are not ours)."""
    compiled = 0
    for name, value in vars(module).items():
        for item in value.values() if isinstance(value, dict) else (value,):
            assert not isinstance(item, re.Pattern), f"{module.__name__}.{name} is a Python `re` pattern"
            if isinstance(item, linear.Lazy):
                assert type(item.compiled()).__module__.startswith("re2"), name  # compiles under RE2
                compiled += 1
    # textstream and novelty build theirs per run; hygiene's kubeconfig and talosconfig patterns are clientconfig's
    assert compiled or module in (textstream, novelty, hygiene)
    scanner = Scanner(plugins=PLUGINS)
    assert all(isinstance(p, linear.Lazy) for p in scanner.line_patterns)
    assert scanner.may_hold(b"x://user:" + b"p4ss" + b"@host") and not scanner.may_hold(b"plain text\n")


def test_a_pattern_that_needs_backtracking_fails_loudly() -> None:
    for pattern in (rb"(?<![a-z])ghp_", rb"ghp_(?!x)", rb"(a)\1"):
        with pytest.raises(linear.error):
            linear.compile(pattern + b"|unique")  # never falls back to a backtracking engine


# -- windows: bounded memory, nothing lost at a boundary -------------------------------------------


def chunked(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)] or [b""]


def scan_small(data: bytes, chunk: int, window: int = 2048, overlap: int = 256) -> list[tuple[str, int]]:
    scan = FileScan()
    for w in windows(chunked(data, chunk), window, overlap):
        assert len(w.data) <= window + overlap + chunk
        scan.window(w)
    return [(d.detector, d.line) for d in scan.finish()]


def test_a_token_across_every_chunk_and_window_boundary_is_found_once() -> None:
    filler = b"".join(b"line %04d of some text\n" % i for i in range(400))  # 9.6 KB, several windows
    for cut in range(1800, 2300, 7):  # the token straddles the first window's end at some of these
        data = filler[:cut] + b" " + TOKEN.encode() + b"\n" + filler[cut:]
        line = data.count(b"\n", 0, cut) + 1
        for chunk in (1, 5, 1000, len(data)):
            if chunk == 1 and cut % 5:
                continue  # byte by byte is slow: a few cuts suffice
            assert scan_small(data, chunk) == [("github-token", line)], (cut, chunk)


def test_window_lines_and_ranges_cover_the_file_exactly_once() -> None:
    data = b"".join(b"%d\n" % i for i in range(5000))
    seen = []
    for w in windows(chunked(data, 333), 2048, 256):
        part = w.data[w.start:w.end]
        first = int(w.data[w.start:].split(b"\n", 1)[0]) if part else None
        if first is not None:
            assert first + 1 == w.line + w.data.count(b"\n", 0, w.start)  # the line number of the range's start
        seen.append(part)
    assert b"".join(seen) == data


def test_one_endless_line_is_cut_anyway() -> None:
    data = b"x" * 10_000 + TOKEN.encode().join([b" ", b" "]) + b"y" * 10_000
    assert scan_small(data, 4096) == [("github-token", 1)]


def test_a_file_larger_than_a_window_through_the_cli(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    line = b"# " + b"generated filler " * 6 + b"\n"
    body = line * ((textstream.WINDOW + 3 * (1 << 20)) // len(line))  # past the cap, the 1 MiB reads, a window
    cut = textstream.WINDOW - textstream.OVERLAP  # near the first window's end
    cut = body.rfind(b"\n", 0, cut) + 1 - 20
    data = body[:cut] + b"t: " + TOKEN.encode() + b"\n" + body[cut:] + b"last: " + AGE.encode() + b"\n"
    write_files(repo, {"vendor/huge.txt": data})
    commit_all(repo)
    outcome = run_cli(["--all", "--select", "CL002,CL005", "--format", "json"], cwd=repo)
    assert outcome.found() == {("CL005", "vendor/huge.txt", data.count(b"\n", 0, cut) + 1),
                               ("CL005", "vendor/huge.txt", data.count(b"\n")),
                               ("CL002", "vendor/huge.txt", data.count(b"\n"))}
    assert TOKEN not in outcome.out + outcome.err and AGE not in outcome.out + outcome.err


# -- encodings and line endings --------------------------------------------------------------------


def test_utf16_and_crlf_split_anywhere_across_chunks() -> None:
    text = f"a: 1\r\nb: 2\rc: {TOKEN}\r\nd: é\r\n"
    for encoded in (text.encode("utf-16"), b"\xfe\xff" + text.encode("utf-16-be"), b"\xef\xbb\xbf" + text.encode(),
                    text.encode("utf-16-le"), text.encode("utf-16-be")):  # the last two: no BOM
        whole, binary = normalise(encoded)
        assert not binary and whole == text.replace("\r\n", "\n").replace("\r", "\n").encode()
        for size in range(1, 12):
            norm = Normaliser()
            out = b"".join(norm.feed(c) for c in chunked(encoded, size)) + norm.finish()
            assert out == whole, size
        assert names(encoded) == [("github-token", 3)]


def test_binary_content_is_scanned_on_its_raw_bytes() -> None:
    head = b"\x89PNG\x00\x00\r\n" + bytes(range(256))  # a CR and a LF among the bytes: lines 1-4
    data = head + b"\n" + TOKEN.encode() + b" \x00\xff " + b"\n\x00" + AGE.encode() + b"\x00"
    assert normalise(data)[1]
    assert names(data) == [("age-secret-key", 6), ("github-token", 5)]


# -- base64 ----------------------------------------------------------------------------------------


def test_base64_fragments_find_a_keyword_at_every_offset() -> None:
    for keyword in (b"AGE-SECRET-KEY-1", b"ghp_", b"users:"):
        fragments = b64_fragments(keyword)
        for prefix in range(12):
            encoded = base64.b64encode(b"x" * prefix + keyword + b"tail")
            assert any(f in encoded for f in fragments), (keyword, prefix)


def test_a_base64_value_is_decoded_at_any_alignment_and_reported_at_its_line() -> None:
    for prefix in (b"", b"#", b"# created\n", b"# created: 2026\n# public key: age1xyz\n"):
        value = base64.b64encode(prefix + AGE.encode() + b"\n").decode()
        doc = f"apiVersion: v1\nkind: Secret\ndata:\n  age.agekey: {value}\n"
        found = list(detect(doc))
        assert [(d.detector, d.line) for d in found] == [("age-secret-key", 4)], prefix
        assert "base64" in found[0].title
        assert found[0].column == len("  age.agekey: ") + 1
    # JSON, flow style, a List item: the value is found wherever it sits.
    value = base64.b64encode(b"token=" + TOKEN.encode()).decode()
    for doc in (f'{{"kind": "Secret", "data": {{"t": "{value}"}}}}', f"kind: Secret\ndata: {{t: {value}}}\n",
                f"kind: List\nitems:\n  - kind: Secret\n    data:\n      t: {value}\n"):
        assert [d.detector for d in detect(doc)] == ["github-token"], doc


def test_harmless_base64_is_not_a_finding() -> None:
    for raw in (b"token-mode: strict", b"-----BEGIN CERTIFICATE-----\nQUJD\n", b"users: []\n", b"\x00\xff" * 40):
        assert names(f"data:\n  k: {base64.b64encode(raw).decode()}\n") == [], raw


def test_age_key_line_for_cl002_reads_base64_and_big_files() -> None:
    value = base64.b64encode(b"# key\n" + AGE.encode()).decode()
    assert hygiene.age_key_line([f"kind: Secret\ndata:\n  k: {value}\n".encode()]) == 3
    assert hygiene.age_key_line([b"x\n" * 10, b"\n" + AGE.encode()]) == 12
    assert hygiene.age_key_line([b"nothing here\n"]) is None


# -- bounded time on crafted input -----------------------------------------------------------------

CRAFTED = {
    # Against the old private-key pattern: header lines of JSON-escaped newlines (2.8 KB took over 100 s).
    "keys/crafted.txt": "-----BEGIN " + "PRIVATE KEY-----\n" + "A: \\n" * 8000,
    # Against the old Proxmox pattern: a 60 KB line of word characters before an `@`.
    "terraform/crafted.tf": "a" * 60000 + "@\n" + "b." * 30000 + "@c!d\n",
    # Against detect-secrets' quadratic plugins: lines that pass our screening, kept short for them.
    "scripts/crafted.sh": ("sk-" * 20000 + "sk-" + "A1b2" * 5 + "T3BlbkFJ\n") + ("//" * 30000 + "/:_authToken=x\n"),
}


def test_crafted_inputs_finish_in_bounded_time(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    vendored = "".join(f"def f{i}(token, password, secret):\n    return users_{i} + '@' + 'x' * {i}\n"
                       for i in range(30000))  # ~2.3 MB of Python
    write_files(repo, {**CRAFTED, "vendor/big.py": vendored})
    commit_all(repo)
    script = ("import sys; from cloudlab_lint.cli import main; "
              "sys.exit(main(['--all', '--history', '--select', 'CL002,CL005,CL006', '--format', 'json']))")
    # A safety net, not a timing: the old patterns did not finish in hours on these inputs.
    proc = subprocess.run([sys.executable, "-c", script], cwd=repo, capture_output=True, text=True, timeout=300,
                          check=False)
    assert proc.returncode in (0, 1), proc.stderr
    assert "Traceback" not in proc.stderr


# -- Repo.stream: guarded like read_bytes, without the size cap --------------------------------------


def test_stream_is_guarded_and_reads_past_the_cap(tmp_path: Path) -> None:
    import os

    from cloudlab_lint.repo import STREAM_CHUNK, Repo

    root = tmp_path / "plain"
    root.mkdir()
    (tmp_path / "outside.txt").write_text(TOKEN, encoding="utf-8")
    os.symlink(tmp_path / "outside.txt", root / "link.yaml")
    os.mkfifo(root / "pipe.yaml")  # never opened: it would block
    (root / "ok.yaml").write_text("a: 1\n", encoding="utf-8")
    big = b"x" * (2 * STREAM_CHUNK + 5)
    (root / "big.bin").write_bytes(big)
    repo = Repo(root, ["link.yaml", "pipe.yaml", "ok.yaml", "../outside.txt", "missing.yaml", "big.bin"],
                is_git=False, max_bytes=1024)
    for path in ("link.yaml", "pipe.yaml", "missing.yaml", "../outside.txt"):
        assert repo.stream(path) is None, path
    assert any("pipe.yaml" in n and "not a regular file" in n for n in repo.notes), repo.notes
    assert any("link.yaml" in n for n in repo.notes)
    chunks = list(repo.stream("big.bin") or [])
    assert b"".join(chunks) == big and max(map(len, chunks)) <= STREAM_CHUNK  # bounded pieces, every byte
    assert list(repo.stream("ok.yaml") or []) == [b"a: 1\n"]
    assert repo._bytes["ok.yaml"] == b"a: 1\n"  # read once, shared with read_bytes


def test_a_commit_hook_streams_the_staged_blobs_whatever_the_work_tree_holds(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    write_files(repo, {".cloudlab-lint.yaml": "max_file_size: 1024\n", "README.md": "# lab\n"})
    commit_all(repo, "start")
    filler = b"".join(b"# filler line %d\n" % i for i in range(150_000))  # ~2.5 MB: several chunks of a blob
    value = base64.b64encode(b"# created: 2026\n" + AGE.encode() + b"\n").decode()
    staged = {"notes/utf16.md": f"a\ntoken: {TOKEN}\n".encode("utf-16"),
              "assets/blob.bin": b"\x00\x01\n" + TOKEN.encode() + b"\n",
              "docs/big.md": filler + b"t: " + TOKEN.encode() + b"\n",
              "kubernetes/sops-age.yaml": f"kind: Secret\ndata:\n  age.agekey: {value}\n".encode()}
    write_files(repo, staged)
    git(repo, "add", *staged)
    write_files(repo, {path: b"cleaned, but only on disk\n" for path in staged})
    outcome = run_cli(["--staged", "--select", "CL002,CL005", "--format", "json"], cwd=repo)
    assert outcome.found() == {("CL005", "notes/utf16.md", 2), ("CL005", "assets/blob.bin", 2),
                               ("CL005", "docs/big.md", 150_001), ("CL005", "kubernetes/sops-age.yaml", 3),
                               ("CL002", "kubernetes/sops-age.yaml", 3)}, outcome.out
    assert TOKEN not in outcome.out + outcome.err and value[:20] not in outcome.out + outcome.err


def test_detect_secrets_plugins_see_a_long_line_in_bounded_pieces() -> None:
    seen: list[int] = []
    scanner = Scanner(plugins=["AWSKeyDetector"])
    plugin = scanner._load_plugins()[0][1]
    original = plugin.analyze_string

    def spy(line: str) -> object:
        seen.append(len(line))
        return original(line)

    plugin.analyze_string = spy
    key = "AKIA" + "FAKE" * 4
    line = "x" * 5000 + " " + key + " " + "y" * 5000
    found = scanner.scan(f"# config\n{line}\n".encode())
    assert [(d.detector, d.line, d.column) for d in found] == [("detect-secrets:AWSKeyDetector", 2, 5002)]
    assert seen and max(seen) <= secrets.MAX_PLUGIN_LINE  # only screened pieces, each bounded
