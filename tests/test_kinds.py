"""The document walker (`stack.kinds`) and the template/public-key/reference predicates (`stack.refs`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloudlab_lint.parsing.yamlx import load_documents
from cloudlab_lint.stack.kinds import (
    flatten,
    is_manifest_name,
    may_be_kind_value_bytes,
    may_name_kind,
    may_name_kind_bytes,
    objects,
    text_objects,
)
from cloudlab_lint.stack.refs import is_chart_template, is_public_key_name, is_reference, is_template_name

from .helpers import commit_all, init_repo, run_cli, shared_or_skip, write_files


def test_list_items_are_objects_with_indices_of_their_own() -> None:
    text = ("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nkind: List\nitems:\n"
            "- {apiVersion: v1, kind: Secret, metadata: {name: s}}\n"
            "- {apiVersion: v1, kind: SecretList, items: [{apiVersion: v1, kind: Secret, metadata: {name: t}}]}\n"
            "- not an object\n")
    docs = load_documents(text)
    flat = flatten(docs)
    assert flat is not None
    assert [(d.data["kind"], d.line) for d in flat] == [("Namespace", 1), ("Secret", 8), ("Secret", 9)]
    indices = [d.index for d in flat]
    assert len(set(indices)) == 3 and all(i >= 0 for i in indices)
    assert flat[0] is docs[0]  # documents that are no List stay the same objects
    assert flatten(docs[:1]) is not None and flatten(docs[:1])[0] is docs[0]


def test_a_kind_ending_in_list_without_items_is_an_object() -> None:
    docs = load_documents("apiVersion: example.com/v1\nkind: AllowList\nspec: {}\n")
    assert [d.data["kind"] for d in objects(docs)] == ["AllowList"]


@pytest.mark.parametrize("text", [
    'kind: "\\x53ecret"', 'kind: "\\u0053ecret"', 'kind: "\\U00000053ecret"', 'kind: "Sec\\\n  ret"',
    '{"kind": "\\u0053\\u0065cret"}', "kind: Secret", "{kind: Secret}", "kind: !!str Secret",
    "kind: &k Secret\nother: *k",
])
def test_prefilter_is_never_less_complete_than_the_parser(text: str) -> None:
    """Every spelling that parses to `Secret` passes the prefilter (a property of the spellings YAML has)."""
    docs = load_documents(text)
    assert any(isinstance(d.data, dict) and "Secret" in d.data.values() for d in docs)
    assert may_name_kind(text)
    assert may_name_kind_bytes(text.encode())
    assert may_name_kind_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    assert may_be_kind_value_bytes(text.encode()) and may_be_kind_value_bytes(b"\xff\xfe" + text.encode("utf-16-le"))


def test_prefilter_skips_what_cannot_be_a_secret() -> None:
    assert not may_name_kind("apiVersion: v1\nkind: ConfigMap\ndata: {a: 'b\\tc'}\n")
    assert not may_name_kind_bytes(b"kind: ConfigMap\npath: C:\\\\temp\n")


def test_text_objects_reads_json_and_any_case() -> None:
    json_text = '{\n\t"apiVersion": "v1",\n\t"kind": "Secret",\n\t"stringData": {"a": "b"}\n}\n'
    assert [d.line for d in text_objects(json_text, "x/secret.JSON", "Secret")] == [1]
    assert text_objects("kind: Secret\n", "x/S.YAML", "Secret")
    assert not text_objects("kind: Secret\n", "x/secret.yaml.j2", "Secret")  # a template
    assert not text_objects("kind: [unclosed\n", "x/s.yaml", "Secret")  # a parse error: no objects


def test_names() -> None:
    assert is_manifest_name("a/B.Yml") and is_manifest_name("a/s.json") and not is_manifest_name("a/s.yaml.example")
    for name in ("talos/cluster.sops.yaml.j2", ".sops.yaml.example", "x.tmpl", "values.yaml.gotmpl", "a.DIST"):
        assert is_template_name(name), name
    assert not is_template_name("kubernetes/templates/secret.yaml")
    for name in ("k/.sops.pub.asc", "id_ed25519.pub", "key.asc", ".sops.pub.age"):
        assert is_public_key_name(name), name
    assert not is_public_key_name("secret.sops.yaml")
    files = {"charts/app/Chart.yaml"}
    assert is_chart_template("charts/app/templates/deep/secret.yaml", files)
    assert not is_chart_template("ops/templates/secret.yaml", files)
    assert not is_chart_template("charts/app/crds/templates.yaml", files)


@pytest.mark.parametrize("value", [
    None, "", "  ", "${DB_PASSWORD}", "${A:=x}", "$DB_PASSWORD", "op://vault/item/field", "ref+vault://a/b#/c",
    "{{ .Values.password }}", "#{TOKEN}#", "<placeholder>", "<your token here>", "<< inputs.token >>",
    "${SCHEME}://${USER}:${PASS}@${HOST}", '"${QUOTED}"', "{{ op://vault/item/field }}",
])
def test_references_hold_no_secret(value: object) -> None:
    assert is_reference(value)


@pytest.mark.parametrize("value", [
    "hunter2", "pa$$word", "abc$VAR", "op:/not-a-ref", "${A}literal", 5432, True, "<a>b</a>",
    "{{ x }}" + "a" * 2000, "{{" * 3000,
])
def test_literals_are_values(value: object) -> None:
    assert not is_reference(value)


def test_json_manifest_with_tabs_is_no_parse_error(tmp_path: Path) -> None:
    """JSON allows tabs as whitespace; YAML, which reads it, does not as indentation: never a CL000."""
    repo = init_repo(tmp_path / "repo")
    write_files(repo, {"k/kustomization.yaml": "resources: [s.json]\n",
                       "k/s.json": '\t{\n\t"apiVersion": "v1",\n\t"kind": "Secret",\n'
                                   '\t"stringData": {"a": "${A}"}\n}\n\t\n'})
    commit_all(repo)
    outcome = run_cli(["--all", "--select", "CL000,CL004", "--format", "json"], cwd=repo)
    assert outcome.json["findings"] == [], outcome.out


# -- the real repositories in ../shared/corpus/realworld ------------------------------------------------------

REALWORLD_EXPECTED = {
    "onedr0p-home-ops": set(),
    "xunholy-k8s-gitops": {
        ("CL004", "talos/integrations/cilium/cilium.yaml", 13159),
        ("CL006", "talos/integrations/cilium/cilium.yaml", 1),
        ("CL006", "talos/integrations/cilium/cilium.yaml", 13160),
        ("CL006", "talos/integrations/cilium/cilium.yaml", 13175),
        ("CL006", "talos/integrations/cilium/cilium.yaml", 13191),
    },
    "fluxcd-flux2-kustomize-helm-example": set(),
}


@pytest.mark.parametrize("name", sorted(REALWORLD_EXPECTED))
def test_realworld_templates_references_and_public_keys_are_no_findings(name: str, tmp_path: Path) -> None:
    """CL002, CL004 and CL006 on real repositories give only true findings (checked by hand).

    Gone (false positives before): onedr0p-home-ops' three bootstrap Secrets holding only 1Password `op://`
    references (`bootstrap/kustomize/*/secret.yaml`, CL004 and CL006 each) and xunholy-k8s-gitops'
    `kubernetes/clusters/cluster-00/secrets/.sops.pub.asc`, the public key Flux's SOPS guide commits (CL004
    and CL006). Templates in these snapshots (onedr0p's `talos/*.yaml.j2` full of `op://` references, the
    helmfile `*.gotmpl`) were never flagged and stay so.

    Remaining, all true: xunholy-k8s-gitops' `talos/integrations/cilium/cilium.yaml` is rendered Cilium
    output holding plain Secrets (`cilium-ca`, `hubble-relay-client-certs`, `hubble-server-certs`) whose
    `data` are base64 PEM certificates and RSA private keys: CL004 at the first literal value (13159), CL006
    for the plaintext Secret in history (line 1) and, from the content detectors, the three base64-encoded
    private keys (13160, 13175, 13191).
    """
    import shutil

    src = shared_or_skip("corpus", "realworld", name)
    repo = tmp_path / "repo"
    shutil.copytree(src, repo)
    for path in [repo, *repo.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    init_repo(repo)
    commit_all(repo)
    outcome = run_cli(["--all", "--history", "--select", "CL002,CL004,CL006", "--format", "json"], cwd=repo)
    assert outcome.code in (0, 1), outcome.err
    assert outcome.found() == REALWORLD_EXPECTED[name]


def test_name_exemptions_never_exempt_the_content_detectors(tmp_path: Path) -> None:
    """A template, a chart's templates/ file and a `.pub` file are no SOPS files and no manifests, yet a real
    token or age secret key in them is still a CL005/CL002 finding; CL001 does not count templates as SOPS
    files that must be committed."""
    token = "ghp_" + "FAKE" * 9
    age_key = "AGE-SECRET-KEY-1" + "Q" * 58
    repo = init_repo(tmp_path / "repo")
    write_files(repo, {
        "talos/secret.sops.yaml.j2": f"token: {token}\n",
        "chart/Chart.yaml": "apiVersion: v2\nname: chart\nversion: 1.0.0\n",
        "chart/templates/secret.yaml": f"apiVersion: v1\nkind: Secret\nstringData:\n  token: {token}\n",
        "keys/age.pub": f"{age_key}\n",
    })
    commit_all(repo)
    outcome = run_cli(["--all", "--select", "CL002,CL004,CL005", "--format", "json"], cwd=repo)
    assert outcome.found() == {("CL005", "talos/secret.sops.yaml.j2", 1), ("CL005", "chart/templates/secret.yaml", 4),
                               ("CL002", "keys/age.pub", 1), ("CL005", "keys/age.pub", 1)}, outcome.out
    assert token not in outcome.out and age_key not in outcome.out


@pytest.mark.parametrize("text", [
    "apiVersion: v1\nkind: List\nitems:\n- kind: Secret\n  stringData: {a: b}\n",  # a List: items any way
    "- kind: Secret\n---\nkind:\n  Secret\n",  # the kind on the line after its key
    "  kind: Secret\n  stringData: {a: b}\n",  # an indented root mapping
    "kind: Secret # a comment\n",
])
def test_prefilter_skips_valuesfrom_lines_only(text: str) -> None:
    assert may_name_kind(text) and may_name_kind_bytes(text.encode()) and may_be_kind_value_bytes(text.encode())


def test_history_prefilter_skips_prose_schemas_and_nested_kinds() -> None:
    """The history scan's narrower prefilter: `Secret` in prose or a schema's enum, and `kind: Secret` below
    a root whose own kind is another, make no Secret (the parser agrees); the forms that may, pass."""
    crd = (b"apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nspec:\n  names:\n"
           b"    listKind: ExternalSecretList\n  versions:\n  - schema:\n      description: |\n"
           b"        Secret values should not be specified here.\n      items:\n        enum:\n        - Secret\n")
    release = (b"apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nspec:\n  valuesFrom:\n"
               b"    - name: db\n      kind: Secret\n  values:\n    kind: Secret\n")
    for text in (crd, release):
        assert may_name_kind_bytes(text) and not may_be_kind_value_bytes(text)
        assert not [d for d in objects(load_documents(text.decode())) if d.data.get("kind") == "Secret"]
    for text in (release + b"---\nkind: Secret\n", release + b"---\n  kind: Secret\n", b"a: &s Secret\nkind: *s\n",
                 release.replace(b"kind: HelmRelease", b'"kind": HelmRelease'), b"kind: Foo\nkind: Secret\n",
                 b"? kind\n: Secret\n", b"--- {kind: Secret}\n", crd + b"  x: {kind: Secret}\n"):
        assert may_be_kind_value_bytes(text), text


def test_prefilter_skips_helmrelease_values_from_secrets() -> None:
    """`- kind: Secret` entries (valuesFrom) and `existingSecret` alone make no Secret object: not parsed."""
    release = ("apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nspec:\n  valuesFrom:\n"
               "    - kind: Secret\n      name: db\n    -   kind: Secret   \n        name: x\n"
               "  values:\n    existingSecret: db\n")
    assert not may_name_kind(release) and not may_name_kind_bytes(release.encode())
    assert not objects(load_documents(release))[0].data["kind"] == "Secret"


def test_lists_nested_as_deep_as_the_parser_allows() -> None:
    depth = 90  # each List is two levels (mapping, items): the parser's limit is 200
    text = "".join(f"{'  ' * (2 * i)}kind: List\n{'  ' * (2 * i)}items:\n{'  ' * (2 * i)}-\n" for i in range(depth))
    text += f"{'  ' * (2 * depth)}kind: Secret\n{'  ' * (2 * depth)}stringData: {{a: b}}\n"
    flat = objects(load_documents(text))
    assert [d.data["kind"] for d in flat] == ["Secret"]


# -- the prefilter against the parser, on generated spellings -------------------------------------------------

_LETTER = {"x": lambda c: f"\\x{ord(c):02x}", "u": lambda c: f"\\u{ord(c):04x}", "U": lambda c: f"\\U{ord(c):08x}",
           "plain": lambda c: c}


@pytest.mark.slow
def test_prefilter_never_misses_what_the_walker_finds() -> None:
    """For generated manifests (block or flow, a plain document or a List item, at root or under valuesFrom,
    each letter of the kind plain or escaped, quoted or not, a comment after it), whenever the walker finds a
    Secret the prefilter said it may: on text and on bytes, UTF-8 and UTF-16."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from cloudlab_lint.parsing import ParseError

    escapes = st.lists(st.sampled_from(sorted(_LETTER)), min_size=6, max_size=6)

    @settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])
    @given(escapes, st.sampled_from(["plain", "single", "double"]), st.sampled_from(["block", "flow"]),
           st.sampled_from(["doc", "list", "values", "indented"]), st.booleans())
    def check(letters: list[str], quote: str, style: str, where: str, comment: bool) -> None:
        if any(e != "plain" for e in letters):
            quote = "double"  # escapes exist only in double-quoted scalars
        body = "".join(_LETTER[e](c) for e, c in zip(letters, "Secret", strict=True))
        value = {"plain": body, "single": f"'{body}'", "double": f'"{body}"'}[quote]
        tail = " # note" if comment and style == "block" else ""
        if style == "flow":
            obj = f"{{apiVersion: v1, kind: {value}, stringData: {{a: b}}}}"
            text = {"doc": obj, "list": f"kind: List\nitems: [{obj}]", "indented": f"  {obj}",
                    "values": f"spec:\n  valuesFrom: [{obj}]"}[where] + "\n"
        else:
            block = f"apiVersion: v1\nkind: {value}{tail}\nstringData:\n  a: b\n"
            text = {"doc": block, "indented": "".join(f"  {line}\n" for line in block.splitlines()),
                    "list": "kind: List\nitems:\n" + "".join(
                        f"{'- ' if i == 0 else '  '}{line}\n" for i, line in enumerate(block.splitlines())),
                    "values": "spec:\n  valuesFrom:\n" + "".join(
                        f"    {'- ' if i == 0 else '  '}{line}\n" for i, line in enumerate(block.splitlines()))}[where]
        try:
            found = [d for d in objects(load_documents(text)) if d.data.get("kind") == "Secret"]
        except ParseError:
            return
        if found:
            assert may_name_kind(text), text
            assert may_name_kind_bytes(text.encode()), text
            assert may_name_kind_bytes(b"\xff\xfe" + text.encode("utf-16-le")), text
            assert may_be_kind_value_bytes(text.encode()), text

    check()


_PIECES = ("kind: ", "kind:", "Secret", "Other", "\n", "\n", "\n  ", "\n- ", "---\n", "...\n", "&a ", "*a", "!!str ",
           "{", "}", "[", "]", ", ", "? ", ": ", '"', "'", "# c", "items: ", "data: x", "apiVersion: v1", "x: ",
           "  ", "-", "|\n", ">-\n")


@pytest.mark.slow
def test_history_prefilter_never_misses_what_the_walker_finds() -> None:
    """Random YAML-ish texts built from the pieces that matter (markers, anchors, tags, flow and block,
    indentation): whenever the walker finds a Secret object, the history prefilter said it may."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from cloudlab_lint.parsing import ParseError

    @settings(deadline=None, max_examples=3000, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(st.sampled_from(_PIECES), max_size=24).map("".join))
    def check(text: str) -> None:
        try:
            found = [d for d in objects(load_documents(text)) if d.data.get("kind") == "Secret"]
        except ParseError:
            return
        if found:
            assert may_be_kind_value_bytes(text.encode()), text

    check()
