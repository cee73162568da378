"""Select rules, run their checks, stamp findings, apply suppressions, return a Result."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .catalog import Catalog
from .checks import IMPORT_ERRORS, SUPERSEDES, WHOLE_TREE, Context, Options, Registry, load_checks
from .config import Config
from .model import Finding, Hit, Result, Rule, ToolError
from .record import factory, record
from .repo import Repo
from .suppress import MARK, Suppressions, is_excluded, is_path_ignored

# CL000 reports what every other rule could not read or parse, so it runs last.
RUNS_LAST = "parse-error"


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
    import hashlib  # only when there is a finding: not on the path of a clean commit

    digest = hashlib.sha256(f"{rule.id}\0{hit.location.path}\0{key}".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()[:16]


def _crash_message(rule: Rule, exc: BaseException) -> str:
    # Never the exception's text: it may quote file content, and so a secret.
    import traceback  # only when a check crashed: it costs a clean run ~3 ms to import

    frames = traceback.extract_tb(exc.__traceback__)
    where = ""
    if frames:
        last = frames[-1]
        where = f" at {Path(last.filename).name}:{last.lineno}"
    return (f"{rule.id} {rule.name}: the check crashed ({type(exc).__name__}{where}); other rules still ran. "
            "Rerun with --debug for the traceback.")


@record(mutable=True)
class Outcome:
    """What one rule's check gave: its hits, or the error that ended it, and the fixes it applied."""

    hits: list[Hit] = factory(list)
    error: ToolError | None = None
    fixes: list[str] = factory(list)
    modified: list[str] = factory(list)


def check_rule(rule: Rule, registry: Registry, repo: Repo, config: Config, options: Options,
               debug: bool = False) -> Outcome:
    fn = registry.get(rule.check)
    if fn is None:
        broken = "; ".join(f"checks/{m}.py failed to import ({e})" for m, e in IMPORT_ERRORS.items())
        return Outcome(error=ToolError(f"{rule.source}: check {rule.check!r} does not exist"
                                       + (f" ({broken})" if broken else ""), rule.id))
    ctx = Context(repo=repo, config=config, rule=rule, options=options)
    try:
        hits = list(fn(ctx))
    except Exception as exc:  # noqa: BLE001 - one crashing rule must not stop the others
        if debug:
            import traceback

            traceback.print_exc(file=sys.stderr)
        return Outcome(error=ToolError(_crash_message(rule, exc), rule.id))
    return Outcome(hits, None, list(ctx.fixes), list(ctx.modified))


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


def _tree_memo(repo: Repo, config: Config, options: Options, rules: list[Rule]) -> Any:
    """The whole-tree outcomes kept by an earlier hook run (`treememo`), where a hook may use them."""
    if not rules or repo.all_mode or repo.parse_cache is None:
        return None  # before importing it: `--all` never uses it
    from .runner.kept import open_memo

    return open_memo(repo, config, rules, options.fix)


def run(repo: Repo, rules: list[Rule], config: Config, options: Options | None = None, *,
        baseline: set[tuple[str, str, str]] | None = None, debug: bool = False,
        known_rules: frozenset[str] | None = None, report_unused: bool = False) -> Result:
    """Run `rules`, then stamp, suppress and sort what they found. With `known_rules` (every id and name a
    suppression may use), suppressions that name none are noted; with `report_unused` too, so are those
    of the rules run here that hid nothing."""
    from .runner.fork import plan, start

    options = options or Options()
    registry = load_checks()
    last = [r for r in rules if r.check == RUNS_LAST]
    first = [r for r in rules if r.check != RUNS_LAST]
    here, elsewhere = plan(first, repo, options)
    outcomes: dict[str, Outcome] = {}
    forked = start(elsewhere, registry, repo, config, options, debug) if elsewhere else None
    memo = _tree_memo(repo, config, options, [r for r in first if r.check in WHOLE_TREE])
    for rule in here if forked is not None else first:
        if memo is not None and rule.id in memo.rule_ids:
            outcomes[rule.id] = memo.outcome(rule, lambda r=rule: check_rule(r, registry, repo, config, options, debug))
        else:
            outcomes[rule.id] = check_rule(rule, registry, repo, config, options, debug)
    if memo is not None:
        memo.finish()
    if forked is not None:
        outcomes.update(forked.join(repo))
    for rule in last:  # after every other rule, forked ones included: it reports what they could not parse
        outcomes[rule.id] = check_rule(rule, registry, repo, config, options, debug)

    drop_superseded(rules, outcomes)
    findings: list[Finding] = []
    errors: list[ToolError] = []
    notes: list[str] = []
    suppressed = 0
    inline = Suppressions(repo.lines)
    modified: set[str] = set()
    for rule in rules:
        outcome = outcomes[rule.id]
        if outcome.error is not None:
            errors.append(outcome.error)
            continue
        notes.extend(outcome.fixes)
        modified.update(outcome.modified)
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
    if known_rules is not None:
        ran = {r.id: r.name for r in rules if outcomes[r.id].error is None} if report_unused else None
        notes.extend(inline.notes(_with_directives(repo), known_rules, ran))
    notes.extend(repo.notes)
    if not repo.all_mode:
        # A commit hook reports what it was given, like CL000: why another file could not be read is CI's
        # (--all) to say. Which other files a run reads depends on what it could keep from earlier runs.
        targets = set(repo.targets)
        elsewhere = {note for path, note in repo.file_notes.items() if path not in targets}
        notes = [n for n in notes if n not in elsewhere]
    findings.sort(key=lambda f: (f.location.path, f.location.line, f.location.column, f.rule_id, f.message))
    # Sorted: which rule happened to read a file first (or whether a kept result served) must not show.
    return Result(tuple(findings), tuple(errors), tuple(sorted(set(notes))), suppressed,
                  tuple(r.id for r in rules), len(repo.targets), tuple(sorted(modified)))
