"""The CL006 filter: one search per blob, and no blob holding a keyword is missed."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudlab_lint import linear
from cloudlab_lint.stack.detectors import _PVE
from cloudlab_lint.stack.novelty import NoveltyFilter, keyword_regex, secret_kind
from cloudlab_lint.stack.secrets import _BASIC_AUTH

KEYWORDS = (b"token", b"pm_api_token", b"ghp_", b"gho_", b"github_pat_", b"AKIA", b"A3T", b"aws", b"AWS", b"-us",
            b"sk-", b"kind: Config", b"sops", b"glpat-", b"glrt-", b"glrtr-")
PATTERNS = (_PVE, _BASIC_AUTH)
# Pieces that make near misses and hits likely: keyword fragments, newlines, line starts that matter.
PIECES = (b"tok", b"en", b"gh", b"p_", b"o_", b"github", b"_pat_", b"AK", b"IA", b"A3", b"T", b"aw", b"s", b"-u",
          b"sk", b"-", b"kind: ", b"Secret", b"Config", b"so", b"ps", b"gl", b"pat", b"rt", b"r-", b"\n", b"\n",
          b"x", b" ", b"@u", b"!t=", b"://a:", b"${", b"b@", b"plain words ", b"value: 1234\n")


def whole(data: bytes) -> bool:
    """What the filter must never miss: a keyword, a top-level `kind: Secret`, a pattern, anywhere in the blob."""
    return (any(k in data for k in KEYWORDS) or secret_kind(data) or any(p.search(data) for p in PATTERNS))


@given(st.lists(st.sampled_from(PIECES), max_size=30).map(b"".join))
@settings(max_examples=400, deadline=None)
def test_keyword_regex_finds_exactly_the_keywords(text: bytes) -> None:
    regex = keyword_regex(KEYWORDS)
    assert (regex.search(text) is not None) == any(k in text for k in KEYWORDS)


def test_keyword_regex_drops_keywords_that_hold_another_and_handles_none() -> None:
    assert b"pm_api_token" not in keyword_regex(KEYWORDS).pattern
    assert keyword_regex([]).search(b"anything") is None
    assert keyword_regex([b"a.b"]).search(b"axb") is None  # literals, not regex syntax


def _edit(rng: random.Random, ref: bytes) -> bytes:
    data = bytearray(ref)
    for _ in range(rng.randint(1, 4)):
        at = rng.randint(0, len(data))
        data[at:at + rng.randint(0, 6)] = b"".join(rng.choice(PIECES) for _ in range(rng.randint(0, 3)))
    return bytes(data)


def test_filter_never_misses_a_blob_that_holds_a_keyword() -> None:
    """Versions of a few files, edited at random, with and without their paths known: every blob that holds a
    keyword (also in an unchanged line, or one seen before in a clean blob's context) is flagged."""
    rng = random.Random(7)
    for round_ in range(60):
        filt = NoveltyFilter(KEYWORDS, PATTERNS, False)
        versions = {f"f{i}": b"".join(rng.choice(PIECES) for _ in range(rng.randint(0, 60))) for i in range(4)}
        for _ in range(40):
            path = rng.choice(list(versions))
            data = versions[path] = _edit(rng, versions[path])
            flagged = filt.flagged(data, path if round_ % 3 else None)
            if whole(data):
                assert flagged, data


def test_filter_flags_a_keyword_line_kept_from_a_flagged_version() -> None:
    filt = NoveltyFilter(KEYWORDS, PATTERNS, False)
    base = b"".join(b"key%d: value\n" % i for i in range(50))
    assert not filt.flagged(base, "a.yaml")
    leaked = base.replace(b"key20: value", b"key20: token-abc")
    assert filt.flagged(leaked, "a.yaml")
    # The next version keeps the leaked line and edits another: still flagged (its reference is the clean one).
    assert filt.flagged(leaked.replace(b"key40: value", b"key40: other"), "a.yaml")
    # A Secret with data: judged by its content (CL004), wherever it is.
    secret = base.replace(b"key10: value\n", b"kind: Secret\n").replace(b"key11: value\n", b"stringData:\n")
    assert filt.flagged(secret, None) and filt.flagged(secret, "b.yaml")
    # Without `data` or `stringData` it holds no literal for CL004 to find; nor does a `kind: Secret` below
    # a root of another kind (a HelmRelease's valuesFrom entry).
    assert not filt.flagged(base.replace(b"key10: value\n", b"kind: Secret\n"))
    release = b"kind: HelmRelease\nspec:\n  valuesFrom:\n    - name: a\n      kind: Secret\n  values:\n    data: {}\n"
    assert not filt.flagged(release) and filt.flagged(release + b"---\nkind: Secret\n")


def test_plugin_without_keywords_tests_every_blob() -> None:
    assert NoveltyFilter(KEYWORDS, PATTERNS, True).flagged(b"plain\n")


def test_patterns_keep_their_own_flags_in_the_one_search() -> None:
    for pattern in (linear.compile(rb"(?i)zzq"), re.compile(rb"zzq", re.IGNORECASE)):
        filt = NoveltyFilter(KEYWORDS, (*PATTERNS, pattern), False)
        assert filt.flagged(b"a: 1\nb: ZZQ\n")
        assert not filt.flagged(b"a: 1\nb: 2\n")
    # Case-sensitive patterns stay case-sensitive next to a case-insensitive one.
    filt = NoveltyFilter((), (linear.compile(rb"(?i)zzq"), linear.compile(rb"ghp_")), False)
    assert not filt.flagged(b"GHP_\n") and filt.flagged(b"ghp_\n")


def test_a_pattern_that_needs_backtracking_is_refused_not_run() -> None:
    with pytest.raises(linear.error):
        NoveltyFilter(KEYWORDS, (re.compile(rb"(z)\1q"),), False)
    with pytest.raises(linear.error):
        NoveltyFilter(KEYWORDS, (re.compile(rb"a(?!b)"),), False)


@given(st.lists(st.sampled_from(PIECES), max_size=30).map(b"".join))
@settings(max_examples=400, deadline=None)
def test_literals_in_one_pass_are_the_in_tests(text: bytes) -> None:
    """The detectors' one-pass presence test (RE2::Set) answers as one `in` per literal, overlaps included
    (`token` inside `pm_api_token`, `-us` overlapping `sk-`)."""
    words = (*KEYWORDS, b"users:", b"kind: Config", b"ca:", b"s-u")
    assert linear.Literals(words).present(text) == {w for w in words if w in text}


# -- what the detectors need apart from what only the judge needs (CL006's own filter) ---------------------

# Pieces of what a detector finds and of what it must not (references, HelmRelease values, ConfigMaps, SOPS).
TALOS_PIECES = (b"token: ", b"bootstraptoken: ", b"secret: ", b"  ", b"\n", b"\"", b"fake00", b".", b"abcdef",
                b"fakefakefakefake", b"0123456789abcdef", b"RkFLRS1UQUxPUy1DTFVTVEVSLVNFQ1JFVC1GT1ItVEVTVFMt",
                b"${TOKEN}", b"existingSecret: x\n", b"kind: ConfigMap\n", b"kind: Config\n", b"sops:\n",
                b"machine:\n", b"trustdinfo:\n", b"secretboxencryptionsecret: ", b"users:\n", b"clusters:\n",
                b"ghp_", b"FAKE" * 9, b"value: 1\n")


def _cl006_filter_and_scanner():  # noqa: ANN202 - test helper
    import yaml

    from cloudlab_lint.catalog import builtin_rules_dir
    from cloudlab_lint.checks.history import history_filter
    from cloudlab_lint.stack.secrets import Scanner

    params = yaml.safe_load((builtin_rules_dir() / "CL006-history-secrets.yaml").read_text())["params"]
    scanner = Scanner(params["detectors"], params["detect_secrets_plugins"])
    return history_filter(scanner), scanner


@given(st.lists(st.sampled_from(TALOS_PIECES), max_size=30).map(b"".join))
@settings(max_examples=400, deadline=None)
def test_a_blob_the_filter_sends_past_the_detectors_holds_no_find(text: bytes) -> None:
    from cloudlab_lint.stack.novelty import DETECT

    filt, scanner = _cl006_filter_and_scanner()
    if filt.sort(text) != DETECT:
        assert scanner.scan(text) == []
    assert bool(filt.sort(text)) == filt.flagged(text)  # the judge still sees every blob it saw before


def test_sort_keeps_the_judges_words_apart() -> None:
    from cloudlab_lint.stack.novelty import DETECT, JUDGE

    filt, _ = _cl006_filter_and_scanner()
    release = b"kind: HelmRelease\nspec:\n  values:\n    token: ${TOKEN}\n    tokenSecret: bot\n"
    assert filt.sort(release) == 0  # `token` alone: no Talos token's shape, nothing to scan or judge
    assert filt.sort(b"kind: ConfigMap\ndata:\n  a: b\n") == JUDGE  # `kind: Config`: CL002's hint only
    assert filt.sort(b"password: ENC[x]\nsops:\n  lastmodified: x\n") == JUDGE
    assert filt.sort(b"sops: 1\n" + b"x" * 5000 + b"\ntoken: fake00.fakefakefakefake\n") == DETECT  # later on
    assert filt.sort(b"cluster:\n  secret: " + b"A" * 40 + b"\n") == DETECT
    assert filt.sort(b"kind: Config\nusers:\n- name: a\n") == DETECT  # `users:` is a detector's keyword too
