"""The SOPS family: the file model, .sops.yaml, Go regexes, age keys, the real corpus, and secrecy of output."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from cloudlab_lint.stack.goregex import GoRegexError, compile_go
from cloudlab_lint.stack.sops.age import bech32_decode, recipient_problem
from cloudlab_lint.stack.sops.document import unflatten
from cloudlab_lint.stack.sops.file import Leaf, Typed, enc_problem, parse_sops_text, should_be_encrypted
from cloudlab_lint.stack.sops.model import encryption_required, is_sops_text, parse_sops_config

from .helpers import FIXTURES, commit_all, git, init_repo, load_case, materialise, run_cli, shared_or_skip, write_files

IV = "A" * 43 + "="
TAG = "B" * 22 + "=="
GOOD = f"ENC[AES256_GCM,data:Zm9vYmFy,iv:{IV},tag:{TAG},type:str]"
AGE_A = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"
AGE_B = "age1zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygs0dsc5v"


def meta(rule: str = "", recipient: str = AGE_A) -> str:
    return (f"sops:\n    age:\n        - recipient: {recipient}\n          enc: x\n"
            f"    lastmodified: '2026-01-01T00:00:00Z'\n    mac: {GOOD}\n{rule}    version: 3.10.2\n")


# -- ciphertext grammar ------------------------------------------------------------------------


@pytest.mark.parametrize("value, ok", [
    (GOOD, True),
    (GOOD.replace("type:str", "type:comment"), True),
    (GOOD.replace("type:str", "type:blob"), False),
    (GOOD.replace(IV, "A" * 42 + "=="), False),  # 31-byte IV
    (GOOD.replace(IV, "A" * 44), False),  # 33 bytes
    (GOOD.replace(TAG, "B" * 22), False),  # unpadded tag
    (GOOD.replace("Zm9vYmFy", "Zm9vYmF"), False),  # bad base64 length
    (GOOD.replace("Zm9vYmFy", ""), False),
    (GOOD.replace("AES256_GCM", "AES128_GCM"), False),
    ("ENC[anything]", False),
    (GOOD + " trailing", False),
])
def test_enc_grammar(value: str, ok: bool) -> None:
    assert (enc_problem(value) is None) == ok


def test_enc_problem_never_quotes_the_value() -> None:
    bad = GOOD.replace(IV, "SECRETSECRET" * 3 + "A" * 7 + "=")
    assert "SECRET" not in (enc_problem(bad) or "")


# -- what SOPS encrypts ------------------------------------------------------------------------


def _selected(text: str, path: str = "f.yaml") -> dict[str, bool]:
    sf = parse_sops_text(path, text)
    assert sf is not None
    return {(("#" if leaf.is_comment else "") + leaf.shown): should_be_encrypted(sf, leaf) for leaf in sf.leaves}


def test_default_rule_unencrypted_suffix_covers_the_subtree() -> None:
    sel = _selected(f"a: {GOOD}\nb_unencrypted:\n    c: x\n    d: [y]\n" + meta())
    assert sel == {"a": True, "b_unencrypted.c": False, "b_unencrypted.d": False}


def test_encrypted_regex_is_unanchored_per_component() -> None:
    # `data` without anchors also matches `metadata` (facts a3): SOPS would encrypt metadata.name.
    sel = _selected("metadata:\n    name: x\nstringData:\n    k: v\nother: y\n" + meta("    encrypted_regex: data\n"))
    assert sel == {"metadata.name": True, "stringData.k": False, "other": False}
    sel = _selected("metadata:\n    name: x\ndata:\n    k: v\n" + meta("    encrypted_regex: ^(data|stringData)$\n"))
    assert sel == {"metadata.name": False, "data.k": True}


def test_suffix_and_unencrypted_regex_rules() -> None:
    sel = _selected("a_enc: x\nb: y\nc:\n    d_enc: z\n" + meta("    encrypted_suffix: _enc\n"))
    assert sel == {"a_enc": True, "b": False, "c.d_enc": True}
    sel = _selected("name: x\npassword: y\n" + meta("    unencrypted_regex: ^name$\n"))
    assert sel == {"name": False, "password": True}


def test_comments_follow_their_containing_mapping() -> None:
    text = "# top\nstringData:\n    # nested\n    k: v\n# between\nother: w\n" + meta(
        "    encrypted_regex: ^(data|stringData)$\n")
    assert _selected(text) == {"#(top level)": False, "#stringData": True, "stringData.k": True, "other": False}


def test_comment_regex_rules_use_the_comment_stack() -> None:
    text = "# sops:enc\na: 1\nb: 2\n# sops:enc\n# hidden note\nc: 3\n" + meta("    encrypted_comment_regex: sops:enc\n")
    sel = _selected(text)
    assert sel == {"#(top level)": True, "a": True, "b": False, "c": True}
    sf = parse_sops_text("f.yaml", text)
    assert sf is not None
    comments = {leaf.line: should_be_encrypted(sf, leaf) for leaf in sf.leaves if leaf.is_comment}
    assert comments == {1: False, 4: False, 5: True}  # the marker stays clear, what follows it not
    text = "a: 1 # sops:clear\nb: 2\n" + meta("    unencrypted_comment_regex: sops:clear\n")
    assert {k: v for k, v in _selected(text).items() if not k.startswith("#")} == {"a": False, "b": True}


def test_typed_values_and_nulls() -> None:
    sf = parse_sops_text("f.yaml", f"a: 5432\nb: true\nc: ~\nd: ''\ne: {GOOD}\n" + meta())
    assert sf is not None
    values = {leaf.shown: leaf.value for leaf in sf.leaves}
    assert isinstance(values["a"], Typed) and isinstance(values["b"], Typed)
    assert "c" not in values and values["d"] == ""


def test_multi_document_metadata_from_first_document() -> None:
    text = f"a: {GOOD}\n" + meta() + "---\nb: clear\n" + meta()
    sf = parse_sops_text("f.yaml", text)
    assert sf is not None
    assert [(leaf.doc, leaf.shown, leaf.line) for leaf in sf.leaves] == [(0, "a", 1), (1, "b", 10)]


def test_flat_formats_metadata_and_values() -> None:
    env = f"foo ={GOOD}\n#note\nsops_age__list_0__map_recipient={AGE_A}\nsops_mac={GOOD}\nsops_version=3.13.1\n" \
          "sops_lastmodified=2026-01-01T00:00:00Z\nsops_mac_only_encrypted=true\n"
    sf = parse_sops_text("x.env", env)
    assert sf is not None and sf.format == "dotenv" and sf.mac_only_encrypted
    assert [(leaf.path, leaf.is_comment) for leaf in sf.leaves] == [(("foo ",), False), ((), True)]
    assert sf.meta.recipients == {("age", AGE_A)}
    ini = f"[a]\nk = {GOOD}\n; c\n[sops]\nage__list_0__map_recipient = {AGE_A}\nmac = {GOOD}\n"
    sf = parse_sops_text("x.ini", ini)
    assert sf is not None and sf.format == "ini"
    assert [(leaf.path, leaf.line) for leaf in sf.leaves] == [(("a", "k"), 2), ((), 3)]
    assert unflatten({"key_groups__list_1__map_pgp__list_0__map_fp": "F"}) == {"key_groups": [{"pgp": [{"fp": "F"}]}]}


def test_binary_store_by_extension() -> None:
    text = json.dumps({"data": GOOD, "sops": {"mac": GOOD, "version": "3", "lastmodified": "x",
                                              "pgp": [{"fp": "ab cd"}]}}, indent="\t")
    sf = parse_sops_text("secret.env.enc", text)
    assert sf is not None and sf.format == "binary"
    assert sf.meta.recipients == {("pgp", "ABCD")}
    assert all(should_be_encrypted(sf, leaf) for leaf in sf.leaves)


def test_not_sops() -> None:
    assert parse_sops_text("a.yaml", "image: x\nsops:\n  enabled: true\n") is None  # a Helm value named sops
    assert parse_sops_text("a.json", '{"sops": {"enabled": true}}') is None
    assert not is_sops_text("kind: Secret\nstringData:\n  a: b\n")
    assert parse_sops_text("a.json", '{"a": 1}') is None


def test_should_be_encrypted_stack_levels() -> None:
    sf = parse_sops_text("f.yaml", "a:\n    # m\n    b: 1\n" + meta("    encrypted_comment_regex: m\n"))
    assert sf is not None
    leaf = next(leaf for leaf in sf.leaves if leaf.shown == "a.b")
    assert leaf.stack == ((), (" m",))  # SOPS keeps the text after `#` as is
    assert should_be_encrypted(sf, Leaf(("a", "b"), 3, "1", False, ((), ()))) is False


# -- .sops.yaml and encryption_required ------------------------------------------------------------


def test_parse_sops_config_forms() -> None:
    assert parse_sops_config("stores:\n  yaml: {indent: 2}\n") is None
    assert parse_sops_config("creation_rules: [\n") is None
    config = parse_sops_config(f"""creation_rules:
  - path_regex: a/.*
    age: "{AGE_A}, ,{AGE_B}"
    pgp: ab cd, EF
    kms: arn:aws:kms:x+arn:aws:iam::role
  - path_regex: b/
    key_groups:
      - age: [{AGE_A}]
        merge:
          - pgp: [AA]
      - hc_vault: [https://v:8200/v1/transit/keys/k]
  - unencrypted-regex: ignored
""")
    assert config is not None and len(config.rules) == 3
    assert config.rules[0].recipients == {("age", AGE_A), ("age", AGE_B), ("pgp", "ABCD"), ("pgp", "EF"),
                                          ("kms", "arn:aws:kms:x")}
    assert config.rules[1].recipients == {("age", AGE_A), ("pgp", "AA"), ("hc_vault", "https://v:8200/v1/transit/keys/k")}
    assert config.match("x/b/c").index == 1  # unanchored
    assert config.match("zzz").index == 2  # the catch-all
    assert config.rules[2].path_regex is None


def test_encryption_required_reasons() -> None:
    config = parse_sops_config("creation_rules:\n  - path_regex: ^talos/\n    age: x\n  - age: y\n")
    assert "creation rule #1" in (encryption_required("talos/a.yaml", None, config) or "")
    assert encryption_required("kubernetes/a.yaml", None, config) is None  # catch-all is no claim
    assert "*.sops.*" in (encryption_required("k/a.sops.json", None, None) or "")
    assert encryption_required(".sops.yaml", None, config) is None
    secret = "apiVersion: v1\nkind: Secret\ndata:\n  k: {v}\n"
    assert encryption_required("k/s.yaml", secret.format(v="eA=="), None)
    for v in ('""', "${A}", '"${A}:${B}"', "~"):
        assert encryption_required("k/s.yaml", secret.format(v=v), None) is None, v
    # Only a Helm chart's templates/ (a Chart.yaml beside it) is skipped; any other templates/ is a manifest.
    chart = {"chart/Chart.yaml", "chart/templates/s.yaml"}
    assert encryption_required("chart/templates/s.yaml", secret.format(v="eA=="), None, files=chart) is None
    assert encryption_required("ops/templates/s.yaml", secret.format(v="eA=="), None, files=chart)
    assert encryption_required("k/cm.yaml", "kind: ConfigMap\ndata:\n  k: v\n", None) is None


# -- Go regexes ----------------------------------------------------------------------------------


@pytest.mark.parametrize("pattern, text, hit", [
    ("((?i)(pass|secret($|[^N])|ca|crt|key|token|^data$|^stringData$))", "PASSWORD", True),
    ("((?i)(pass|secret($|[^N])|ca|crt|key|token|^data$|^stringData$))", "secretName", False),
    ("((?i)(pass|secret($|[^N])|ca|crt|key|token|^data$|^stringData$))", "metadata", False),
    ("kubernetes/.*(?i)\\.SOPS\\.yaml$", "kubernetes/a.sops.yaml", True),
    ("kubernetes/.*(?i)\\.SOPS\\.yaml$", "KUBERNETES/a.sops.yaml", False),  # the flag starts mid-pattern
    ("a(b(?i)c)d", "abCd", True),
    ("a(b(?i)c)d", "abcD", False),  # the flag ends with its group
    ("^data$", "data\n", False),  # Go's $ is the end of text
    ("[[:digit:]]+x", "12x", True),
    ("\\Qa.b\\E", "a.b", True),
    ("\\Qa.b\\E", "axb", False),
    ("(?<n>ab)", "ab", True),
    ("\\pL+x", "éx", True),  # Unicode classes: RE2 runs them as Go does
    ("^\\p{Greek}$", "α", True),
    ("(?U)a+$", "aa", True),
])
def test_go_regex_semantics(pattern: str, text: str, hit: bool) -> None:
    assert bool(compile_go(pattern).search(text)) == hit


@pytest.mark.parametrize("pattern", ["a(?=b)", "(?<!a)b", "(a)\\1", "a*+", "(a", "a)", "[a", "a\\C", "a{1001}", "\\Z"])
def test_go_regex_refusals(pattern: str) -> None:
    """What Go's regexp refuses, RE2 refuses (or we do, where C++ RE2 alone would accept it)."""
    with pytest.raises(GoRegexError):
        compile_go(pattern)


# -- age ------------------------------------------------------------------------------------------


def test_age_recipients() -> None:
    assert recipient_problem(AGE_A) is None and recipient_problem(AGE_B) is None
    assert recipient_problem(AGE_A.upper()) is None  # bech32 allows one case throughout
    assert recipient_problem(AGE_A[:-1] + "q") and "checksum" in recipient_problem(AGE_A[:-1] + "q")
    assert recipient_problem(AGE_A[:-2]) is not None
    assert "SECRET" in (recipient_problem("AGE-SECRET-KEY-1" + "Q" * 58) or "")
    assert recipient_problem("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFake comment") is None
    assert recipient_problem("pgp:ABCDEF") is not None
    decoded = bech32_decode(AGE_A)
    assert decoded is not None and decoded[0] == "age" and len(decoded[1]) == 32


# -- the real corpus -----------------------------------------------------------------------------


def _corpus_repo(tmp_path: Path, folder: str, original_paths: bool) -> Path:
    src = shared_or_skip("corpus", "sops", folder)
    repo = init_repo(tmp_path / folder)
    for entry in json.loads((src / "INDEX.json").read_text()):
        dst = repo / (entry["source_path"] if original_paths else entry["file"])
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src / entry["file"], dst)
    commit_all(repo)
    return repo


NEGATIVES = {
    ("getsops-sops", "comments_unencrypted_comments.yaml"): {1, 3},  # comments left in clear
    ("getsops-sops", "no_mac.yaml"): {2},
    ("xunholy-k8s-gitops", "kagent__values.enc.age.yaml"): {3},  # apiKey: the regex encrypted nothing
    ("xunholy-k8s-gitops", "n8n__values.enc.age.yaml"): {1},  # only a sops block
}


@pytest.mark.parametrize("folder", ["getsops-sops", "xunholy-k8s-gitops"])
def test_corpus_ciphertext_only(folder: str, tmp_path: Path) -> None:
    repo = _corpus_repo(tmp_path, folder, original_paths=False)
    outcome = run_cli(["--all", "--select", "CL003", "--format", "json", "--fail-on", "never"], cwd=repo)
    found: dict[str, set[int]] = {}
    for f in outcome.json["findings"]:
        found.setdefault(f["path"], set()).add(f["line"])
    expected = {name: lines for (where, name), lines in NEGATIVES.items() if where == folder}
    assert found == expected


def test_corpus_metadata_matches_index() -> None:
    for folder in ("getsops-sops", "xunholy-k8s-gitops"):
        src = shared_or_skip("corpus", "sops", folder)
        for entry in json.loads((src / "INDEX.json").read_text()):
            text = (src / entry["file"]).read_text()
            sf = parse_sops_text(entry["file"], text)
            info = entry.get("sops")
            if not info or entry["role"].startswith("sops config"):
                assert sf is None, entry["file"]
                continue
            assert sf is not None, entry["file"]
            assert sorted({kind for kind, _ in sf.meta.recipients}) == sorted(info["recipients"]), entry["file"]
            rule = sf.rule or ("unencrypted_suffix", "_unencrypted")
            assert info.get(rule[0]) == rule[1], entry["file"]
            assert bool(sf.meta.keys.get("mac", ("", 0))[0]) == info["has_mac"], entry["file"]


def test_corpus_xunholy_in_place(tmp_path: Path) -> None:
    """At their original paths under their own .sops.yaml: no missing encryption; the two files outside every
    creation rule are CL007 warnings; the two values files are CL003 errors."""
    repo = _corpus_repo(tmp_path, "xunholy-k8s-gitops", original_paths=True)
    outcome = run_cli(["--all", "--select", "CL003,CL004,CL007", "--format", "json", "--fail-on", "never"], cwd=repo)
    got = {(f["rule"], f["path"]) for f in outcome.json["findings"]}
    assert got == {
        ("CL003", "kubernetes/apps/base/ai-system/kagent/app/values.enc.age.yaml"),
        ("CL003", "kubernetes/apps/base/ai-system/n8n/app/values.enc.age.yaml"),
        ("CL007", "kubernetes/clusters/cluster-00/secrets/sops-age.encrypted.yaml"),
        ("CL007", ".archive/kubernetes/cloudflare-ddns/app/secret.enc.yaml"),
    }


# -- secrecy in every output format ------------------------------------------------------------------


FORMATS = ("text", "json", "sarif", "github", "markdown")
SECRET_CASES = sorted(p.parent for d in ("CL003-*", "CL004-*") for p in FIXTURES.glob(f"{d}/fail-*/case.yaml")
                      if "never_printed" in p.read_text(encoding="utf-8"))


@pytest.mark.parametrize("folder", SECRET_CASES, ids=[f"{p.parent.name}/{p.name}" for p in SECRET_CASES])
def test_no_plaintext_in_any_format(folder: Path, tmp_path: Path) -> None:
    case = load_case(folder)
    repo = materialise(case, tmp_path / "repo")
    needles = list(case.spec.get("never_printed") or [])
    outputs = {}
    for fmt in FORMATS:
        outcome = run_cli(["--all", "--select", case.rule, "--format", fmt, "--fail-on", "never"], cwd=repo)
        assert outcome.code == 0, outcome.err
        outputs[fmt] = outcome.out + outcome.err
    # Besides the case's own needles: the value on every reported line (what a careless message would quote).
    for finding in json.loads(outputs["json"])["findings"]:
        line = (repo / finding["path"]).read_text().splitlines()[finding["line"] - 1]
        value = re.split(r"[:=]", line, maxsplit=1)[-1].strip().lstrip("#; ")
        if len(value) >= 8 and not value.startswith(("ENC[", "age1")):
            needles.append(value)
    assert needles, "the case plants no secret"
    for fmt, out in outputs.items():
        for needle in needles:
            assert needle not in out, (fmt, needle)


# -- pre-commit mode ------------------------------------------------------------------------------


def test_staged_sops_config_rechecks_the_tree(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "r")
    write_files(repo, {"talos/a.yaml": "machine: {token: FIXTURE-X}\n", "README.md": "x\n"})
    commit_all(repo)
    # Only README staged: nothing about talos/a.yaml (not matched by anything yet).
    write_files(repo, {"README.md": "y\n"})
    git(repo, "add", "README.md")
    assert run_cli(["--select", "CL004", "--format", "json"], cwd=repo).found() == set()
    # A new creation rule staged: the whole tree is judged against it.
    write_files(repo, {".sops.yaml": f"creation_rules:\n  - path_regex: ^talos/\n    age: {AGE_A}\n"})
    git(repo, "add", ".sops.yaml")
    assert run_cli(["--select", "CL004", "--format", "json"], cwd=repo).found() == {("CL004", "talos/a.yaml", 1)}


def test_staged_file_only_judges_targets(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "r")
    plain = "apiVersion: v1\nkind: Secret\nstringData:\n  k: FIXTURE-LITERAL\n"
    write_files(repo, {"a/secret.yaml": plain, "b/secret.yaml": plain})
    git(repo, "add", "a/secret.yaml", "b/secret.yaml")
    outcome = run_cli(["--select", "CL003,CL004,CL007", "--format", "json", "a/secret.yaml"], cwd=repo)
    assert outcome.found() == {("CL004", "a/secret.yaml", 4)}
    assert "FIXTURE-LITERAL" not in outcome.out


def test_binary_file_where_a_rule_wants_sops(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "r")
    write_files(repo, {".sops.yaml": f"creation_rules:\n  - path_regex: \\.enc$\n    age: {AGE_A}\n",
                       "keys/blob.enc": b"\x00\x01raw key bytes\x00"})
    commit_all(repo)
    outcome = run_cli(["--all", "--select", "CL004", "--format", "json"], cwd=repo)
    assert outcome.found() == {("CL004", "keys/blob.enc", 1)}
    assert "binary" in outcome.json["findings"][0]["message"]


# -- metadata checks and recipient forms ------------------------------------------------------------


def _hits(text: str, path: str = "f.yaml") -> list[str]:
    from cloudlab_lint.checks.sops import ciphertext_hits

    sf = parse_sops_text(path, text)
    assert sf is not None
    return [hit.key or "" for hit in ciphertext_hits(sf)]


def test_metadata_checks() -> None:
    assert _hits(f"a: {GOOD}\n" + meta()) == []
    assert _hits(f"a: {GOOD}\n" + meta().replace("'2026-01-01T00:00:00Z'", "'2026-01-01 00:00'")) == \
        ["meta:lastmodified"]
    assert _hits(f"a: {GOOD}\n" + meta().replace(f"mac: {GOOD}", f"mac: {GOOD.replace('type:str', 'type:int')}")) \
        == ["meta:mac"]
    two_rules = "    encrypted_regex: ^data$\n    unencrypted_suffix: _u\n"
    assert "meta:rules" in _hits(f"data: {GOOD}\n" + meta(two_rules))
    assert _hits("a: ''\n" + meta()) == ["nothing-encrypted"]


def test_file_and_config_recipients_share_one_form() -> None:
    config = parse_sops_config("""creation_rules:
  - path_regex: x
    kms: arn:aws:kms:eu:1:key/k+arn:aws:iam::1:role/r
    gcp_kms: projects/p/locations/global/keyRings/r/cryptoKeys/k
    azure_keyvault: https://v.vault.azure.net/keys/name/ver
    hc_vault_transit_uri: https://vault:8200/v1/sops/keys/first
    pgp: fbc7 b9e2
    hckms: [tenant:key-id]
""")
    assert config is not None
    block = {"kms": [{"arn": "arn:aws:kms:eu:1:key/k", "role": "arn:aws:iam::1:role/r"}],
             "gcp_kms": [{"resource_id": "projects/p/locations/global/keyRings/r/cryptoKeys/k"}],
             "azure_kv": [{"vault_url": "https://v.vault.azure.net", "name": "name", "version": "ver"}],
             "hc_vault": [{"vault_address": "https://vault:8200", "engine_path": "sops", "key_name": "first"}],
             "pgp": [{"fp": "FBC7B9E2"}], "hckms": [{"key_id": "tenant:key-id"}],
             "mac": GOOD, "lastmodified": "2026-01-01T00:00:00Z", "version": "3.12.0"}
    sf = parse_sops_text("f.json", json.dumps({"a": GOOD, "sops": block}))
    assert sf is not None
    assert sf.meta.recipients == config.rules[0].recipients
    grouped = dict(block, pgp=[], key_groups=[{"pgp": [{"fp": "FBC7B9E2"}]}, {"age": [{"recipient": AGE_A}]}])
    sf = parse_sops_text("f.json", json.dumps({"a": GOOD, "sops": grouped}))
    assert sf is not None and ("pgp", "FBC7B9E2") not in sf.meta.recipients  # top-level lists win over key_groups
    only_groups = {"mac": GOOD, "lastmodified": "2026-01-01T00:00:00Z", "version": "3", "age": None,
                   "key_groups": grouped["key_groups"]}
    sf = parse_sops_text("f.json", json.dumps({"a": GOOD, "sops": only_groups}))
    assert sf is not None and sf.meta.recipients == {("pgp", "FBC7B9E2"), ("age", AGE_A)}
