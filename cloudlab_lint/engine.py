"""Select the rules, run them (through the runner), and assemble what they found into a Result: stamp each hit
with its rule, fingerprint it, apply suppressions and the baseline, and sort."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from .catalog import Catalog
from .checks import SUPERSEDES, Options
from .config import Config
from .model import Finding, Hit, Result, Rule, ToolError
from .repo import Repo
from .runner import RUNS_LAST, Outcome, Settings, run_rules
from .suppress import MARK, Suppressions, is_excluded, is_path_ignored


def select_rules(catalog: Catalog, select: Iterable[str] = (), ignore: Iterable[str] = (),
                 *, history: bool = False, github: bool = False) -> list[Rule]:
    """Enabled rules matching `select` (ids or id prefixes; all when empty) and not `ignore`.

    Rules that need history or the GitHub API run only when those are asked for.
    """
    select, ignore = tuple(select), tuple(ignore)
    chosen = []
    for rule in catalog.rules:
        if not rule.enabled:
            continue
        if rule.requires == "history" and not history or rule.requires == "github" and not github:
            continue
        if select and not any(rule.id.startswith(s) for s in select):
            continue
        if any(rule.id.startswith(s) for s in ignore):
            continue
        chosen.append(rule)
    return sorted(chosen, key=lambda r: (r.check == RUNS_LAST, r.id))


def fingerprint_base(rule: Rule, hit: Hit, repo: Repo) -> str:
    """Stable across unrelated line moves: the rule, the file and the text of the line (not its number)."""
    key = hit.key
    if key is None:
        lines = repo.lines(hit.location.path) if repo.exists(hit.location.path) else []
        index = hit.location.line - 1
        key = " ".join(lines[index].split()) if 0 <= index < len(lines) else hit.message
    try:  # only when there is a finding; SHA-256 without hashlib, whose import loads OpenSSL
        from _sha256 import sha256
    except ImportError:  # an interpreter without the module (3.12 names it _sha2)
        from hashlib import sha256

    digest = sha256(f"{rule.id}\0{hit.location.path}\0{key}".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()[:16]


def _with_directives(repo: Repo) -> list[str]:
    """The files judged this run that hold a suppression comment (a byte search, no decoding)."""
    out = []
    for path in repo.targets:
        data = repo.read_bytes(path) if repo.readable(path) else None
        if data is not None and MARK in data:
            out.append(path)
    return out


def drop_superseded(rules: list[Rule], outcomes: dict[str, Outcome]) -> None:
    """Drop the hits of a superseded check on lines a superseding check reported (`checks.SUPERSEDES`)."""
    spans: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for rule in rules:
        outcome = outcomes.get(rule.id)
        for other in SUPERSEDES.get(rule.check, ()) if outcome is not None else ():
            for hit in outcome.hits:
                where = hit.location
                spans.setdefault((other, where.path), []).append((where.line, where.end_line or where.line))
    if not spans:
        return
    for rule in rules:
        outcome = outcomes.get(rule.id)
        if outcome is not None and any(check == rule.check for check, _ in spans):
            outcome.hits = [h for h in outcome.hits if not any(
                a <= h.location.line <= b for a, b in spans.get((rule.check, h.location.path), ()))]


def run(repo: Repo, rules: list[Rule], config: Config, options: Options | None = None, *,
        baseline: set[tuple[str, str, str]] | None = None, debug: bool = False,
        known_rules: frozenset[str] | None = None, report_unused: bool = False,
        settings: Settings | None = None) -> Result:
    """Run `rules` (`runner.run_rules`), then stamp, suppress and sort what they found. With `known_rules` (every id
    and name a suppression may use), suppressions that name none are noted; with `report_unused` too, so are
    those of the rules run here that hid nothing."""
    options = options or Options()
    ran = run_rules(rules, repo, config, options, settings or Settings(), debug)
    outcomes = ran.outcomes
    drop_superseded(rules, outcomes)
    inline = Suppressions(repo.lines)
    findings, errors, suppressed = _assemble(rules, outcomes, repo, config, inline, baseline)
    notes = list(ran.fixes)
    if known_rules is not None:
        unused = {r.id: r.name for r in rules if outcomes[r.id].error is None} if report_unused else None
        notes.extend(inline.notes(_with_directives(repo), known_rules, unused))
    notes.extend(_run_notes(repo))
    return Result(tuple(findings), tuple(errors), tuple(sorted(set(notes))), suppressed,
                  tuple(r.id for r in rules), len(repo.targets), tuple(sorted(ran.modified)))


def _assemble(rules: list[Rule], outcomes: dict[str, Outcome], repo: Repo, config: Config, inline: Suppressions,
              baseline: set[tuple[str, str, str]] | None) -> tuple[list[Finding], list[ToolError], int]:
    """Findings (fingerprinted, suppressions and the baseline applied, sorted), tool errors, and the count hidden."""
    findings: list[Finding] = []
    errors: list[ToolError] = []
    suppressed = 0
    for rule in rules:
        outcome = outcomes[rule.id]
        if outcome.error is not None:
            errors.append(outcome.error)
            continue
        seen: Counter[str] = Counter()
        for hit in sorted(set(outcome.hits), key=lambda h: (h.location, h.message)):
            base = fingerprint_base(rule, hit, repo)
            seen[base] += 1
            finding = Finding(rule.id, rule.name, rule.severity, hit.message, hit.location, f"{base}:{seen[base]}",
                              hit.related, hit.commit)
            if is_excluded(finding, config.exclude) or is_path_ignored(finding, config.ignore) \
                    or inline.hides(finding):
                suppressed += 1
            elif baseline is not None and (finding.rule_id, finding.location.path, finding.fingerprint) in baseline:
                suppressed += 1
            else:
                findings.append(finding)
    findings.sort(key=lambda f: (f.location.path, f.location.line, f.location.column, f.rule_id, f.message))
    return findings, errors, suppressed


def _run_notes(repo: Repo) -> list[str]:
    """What the run says about files it could not read. A commit hook reports it for what it was given, like
    CL000: why another file could not be read is CI's (--all) to say; which other files a run reads depends
    on what it could keep from earlier runs."""
    notes = list(repo.notes)
    if repo.all_mode:
        return notes
    targets = set(repo.targets)
    elsewhere = {note for path, note in repo.file_notes.items() if path not in targets}
    return [n for n in notes if n not in elsewhere]
