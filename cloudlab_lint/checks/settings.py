"""CL301 branch-protection: the design's protection of `main`, read through the GitHub REST API.

Three outcomes, each said with its reason: holds (no finding); fails (every requirement not met, and which
sources were read); cannot be verified (no token, no repository, an answer that does not let us know). A
requirement holds if classic protection or a ruleset enforces it in a way administrators cannot bypass; a source
we could not read may be the one that enforces it, so it turns "missing" into "unknown", never into "met".
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..model import Hit, Location
from ..record import record, replace
from . import Context, check

if TYPE_CHECKING:
    from ..repo import Repo
    from ..stack.github import Client

WORKFLOWS = ".github/workflows"
ACTIONS_DOC = "docs/github-token.md"  # a page of the project (not of the repository being linted): see doc_url()


def _doc_url() -> str:
    from ..project import blob_url

    return blob_url(ACTIONS_DOC)


REQUIREMENTS = {
    "pull_request": "a pull request before merging",
    "status_check": "the status check of the job that runs `mise run check`",
    "force_push": "blocked force pushes",
    "deletion": "blocked deletion",
}


@record
class Source:
    """What one source of protection enforces, and whether administrators are bound by it (None: unknown)."""

    name: str
    enforces: frozenset[str]
    binds_admins: bool | None
    notes: tuple[str, ...] = ()


# -- the CI job the required check must be -------------------------------------------------------


def mise_check_jobs(repo: Repo) -> list[Any]:
    """Jobs of pull_request workflows that run `mise run check`, with their check names (the pipeline model)."""
    from ..stack.pipeline.model import mise_check_jobs as from_model

    return list(from_model(repo))


def _workflows(repo: Repo) -> list[str]:
    return [p for p in repo.files_under(WORKFLOWS) if p.endswith((".yml", ".yaml")) and p.count("/") == 2]


def _on_pull_request(data: Any) -> bool:
    on = data.get("on") if isinstance(data, dict) else None
    names = [on] if isinstance(on, str) else list(on) if isinstance(on, (list, dict)) else []
    return any(n in ("pull_request", "pull_request_target") for n in names)


def _location(repo: Repo, jobs: list[Any]) -> Location:
    """The workflow that defines the required check; else the best workflow candidate; line 1 at worst."""
    if jobs:
        return Location(jobs[0].workflow, jobs[0].line)
    workflows = _workflows(repo)
    for path in workflows:
        docs = repo.yaml(path) or []
        if docs and _on_pull_request(docs[0].data):
            return Location(path, 1)
    return Location(workflows[0] if workflows else WORKFLOWS, 1)


# -- reading the two sources ---------------------------------------------------------------------


def _enabled(data: dict[str, Any], key: str) -> bool | None:
    value = data.get(key)
    return bool(value.get("enabled")) if isinstance(value, dict) else None


def _count(value: Any) -> int:
    """An approval count as the server sent it; anything odd counts as 0 (the weakest reading)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _classic_source(data: dict[str, Any], checks: set[str], min_approvals: int) -> Source:
    enforces, notes = set(), []
    reviews = data.get("required_pull_request_reviews")
    if isinstance(reviews, dict):
        count = _count(reviews.get("required_approving_review_count"))
        if count >= min_approvals:
            enforces.add("pull_request")
        else:
            notes.append(f"classic protection requires {count} approval(s), fewer than min_approvals {min_approvals}")
    status = data.get("required_status_checks")
    if isinstance(status, dict):
        contexts = {c for c in _list(status.get("contexts")) if isinstance(c, str)}
        contexts |= {c["context"] for c in _list(status.get("checks"))
                     if isinstance(c, dict) and isinstance(c.get("context"), str)}
        if contexts & checks:
            enforces.add("status_check")
        else:
            notes.append(f"classic protection requires {_names(contexts)}")
    # Absent object = setting off: classic protection blocks force pushes and deletion unless allowed.
    if not _enabled(data, "allow_force_pushes"):
        enforces.add("force_push")
    if not _enabled(data, "allow_deletions"):
        enforces.add("deletion")
    return Source("classic protection", frozenset(enforces), bool(_enabled(data, "enforce_admins")), tuple(notes))


def _ruleset_sources(rules: list[Any], bypass: dict[int, bool | None], checks: set[str],
                     min_approvals: int) -> list[Source]:
    by_id: dict[int, list[dict[str, Any]]] = {}
    for rule in rules:
        if isinstance(rule, dict) and rule.get("ruleset_id") in bypass:
            by_id.setdefault(rule["ruleset_id"], []).append(rule)
    sources = []
    for ruleset_id, items in sorted(by_id.items()):
        enforces, notes = set(), []
        name = f"ruleset {ruleset_id}"
        for rule in items:
            kind, params = rule.get("type"), rule.get("parameters")
            params = params if isinstance(params, dict) else {}
            if kind == "pull_request":
                count = _count(params.get("required_approving_review_count"))
                if count >= min_approvals:
                    enforces.add("pull_request")
                else:
                    notes.append(f"{name} requires {count} approval(s), fewer than min_approvals {min_approvals}")
            elif kind == "required_status_checks":
                contexts = {c.get("context") for c in _list(params.get("required_status_checks"))
                            if isinstance(c, dict) and isinstance(c.get("context"), str)}
                if contexts & checks:
                    enforces.add("status_check")
                else:
                    notes.append(f"{name} requires {_names(contexts)}")
            elif kind == "non_fast_forward":
                enforces.add("force_push")
            elif kind == "deletion":
                enforces.add("deletion")
        sources.append(Source(name, frozenset(enforces), bypass.get(ruleset_id), tuple(notes)))
    return sources


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _names(contexts: set[Any]) -> str:
    return ("checks " + ", ".join(f"`{c}`" for c in sorted(contexts))) if contexts else "no status check"


def _bypass(client: Client, slug: str, ruleset_id: int) -> tuple[bool | None, str | None]:
    """Whether administrators are bound by a ruleset (no bypass actors), and why we cannot tell if so."""
    from ..stack.github import repo_path

    answer = client.get(repo_path(slug, "rulesets", str(ruleset_id)) + "?includes_parents=true")
    data = answer.data if answer.status == 200 and isinstance(answer.data, dict) else None
    if data is None:
        return None, f"ruleset {ruleset_id} unreadable ({f'{answer.status} {answer.message}'.strip()})"
    actors = data.get("bypass_actors")
    if isinstance(actors, list):
        return not actors, None
    # Absent is not empty: GitHub hides the list from tokens that cannot edit the ruleset. If this token's
    # own user may bypass it, someone can: that much is known.
    if data.get("current_user_can_bypass") in ("always", "pull_requests_only", "exempt"):
        return False, None
    return None, f"ruleset {ruleset_id}'s bypass actors are hidden from this token"


# -- the verdict ----------------------------------------------------------------------------------


@record
class Reading:
    sources: tuple[Source, ...]
    read: tuple[str, ...]  # what was read, for the message
    unknown: tuple[str, ...]  # why a source could not be read
    classic_read: bool = False  # the classic endpoint answered (protection, or "Branch not protected")
    rules_read: bool = False  # the rules endpoint answered


def _classic_answer(status: int, message: str, data: Any) -> tuple[str, str | None]:
    """('read'|'absent'|'unknown', reason) for the classic endpoint's answer."""
    if status == 200 and isinstance(data, dict):
        return "read", None
    if status == 404 and message == "Branch not protected":
        return "absent", None
    if status == 404 and message == "Branch not found":
        return "unknown", "the branch does not exist (classic protection cannot be read for it)"
    return "unknown", _explain(status, message, "classic protection")


def _explain(status: int, message: str, what: str) -> str:
    said = f"{status} {message}".strip()
    if status == 401:
        return f"{what}: {said} (the token is invalid or expired)"
    if status == 403 and "upgrade" in message.lower():
        return f"{what}: {said} (this plan has no branch protection for private repositories)"
    if status == 403:
        return (f"{what}: {said} (the token lacks Administration: read; the Actions GITHUB_TOKEN can never "
                f"read it, see {_doc_url()})")
    if status == 404:
        return f"{what}: {said} (no such repository, or this token may not read it: GitHub answers 404 then)"
    return f"{what}: {said}"


def read_protection(client: Client, slug: str, branch: str, checks: set[str], min_approvals: int) -> Reading:
    from ..stack.github import repo_path

    sources: list[Source] = []
    read: list[str] = []
    unknown: list[str] = []
    answer = client.get(repo_path(slug, "branches", branch, "protection"))
    state, why = _classic_answer(answer.status, answer.message, answer.data)
    if state == "read":
        sources.append(_classic_source(answer.data, checks, min_approvals))
        read.append("classic protection")
    elif state == "absent":
        read.append("classic protection (none)")
    else:
        unknown.append(why or "classic protection unreadable")
    rules = client.get_list(repo_path(slug, "rules", "branches", branch))
    if rules.status == 200 and isinstance(rules.data, list):
        bypass: dict[int, bool | None] = {}
        ids = {r.get("ruleset_id") for r in rules.data if isinstance(r, dict)}
        for ruleset_id in sorted(i for i in ids if isinstance(i, int) and not isinstance(i, bool)):
            bypass[ruleset_id], hidden = _bypass(client, slug, ruleset_id)
            if hidden:
                unknown.append(hidden)
        found = _ruleset_sources(rules.data, bypass, checks, min_approvals)
        sources.extend(found)
        read.append(f"rulesets ({', '.join(s.name for s in found)})" if found else "rulesets (none)")
    else:
        unknown.append(_explain(rules.status, rules.message, "rulesets"))
    return Reading(tuple(sources), tuple(read), tuple(unknown), classic_read=state in ("read", "absent"),
                   rules_read=rules.status == 200 and isinstance(rules.data, list))


def judge(reading: Reading) -> tuple[list[str], list[str]]:
    """(requirements definitely not met, requirements we cannot settle), as phrases."""
    source_unknown = not (reading.classic_read and reading.rules_read)
    failed, unsure, bypassable = [], [], []
    for key, label in REQUIREMENTS.items():
        enforcers = [s for s in reading.sources if key in s.enforces]
        if any(s.binds_admins for s in enforcers):
            continue
        if source_unknown or any(s.binds_admins is None for s in enforcers):
            unsure.append(label)
        elif enforcers:
            bypassable.append(label)
        else:
            failed.append(f"no source requires {label}")
    if bypassable:
        who = [s.name + (" (Include administrators is off)" if s.name == "classic protection" else
                         " (has bypass actors)") for s in reading.sources if s.binds_admins is False]
        failed.append(f"administrators are not included: {', '.join(bypassable)} can be bypassed "
                      f"({'; '.join(who)})")
    return failed, unsure


def _details(reading: Reading, checks: set[str]) -> str:
    """What the sources do require where they fall short, and the check name we looked for."""
    notes = [n for s in reading.sources for n in s.notes]
    if checks:
        notes.append(f"the job's check is {', '.join(f'`{c}`' for c in sorted(checks))}")
    return f" ({'; '.join(notes)})" if notes else ""


def _with_deadline(settings: Any, deadline: Any) -> Any:
    """The settings with the rule's `deadline` (seconds for the whole API conversation; a bad value: 30)."""
    ok = isinstance(deadline, (int, float)) and not isinstance(deadline, bool) and 0 < deadline <= 3600
    return replace(settings, deadline=float(deadline) if ok else 30.0)


@check("branch-protection")
def branch_protection(ctx: Context) -> Iterator[Hit]:
    from ..stack import github

    repo = ctx.repo
    branch = str(ctx.params.get("branch", "main"))
    min_approvals = int(ctx.params.get("min_approvals", 0))
    jobs = mise_check_jobs(repo)
    where = _location(repo, jobs)
    key = f"branch-protection:{branch}"
    token = github.token_from_env()
    slug, slug_from = github.resolve_repository(ctx.options.github_repo, repo.root)
    settings = _with_deadline(github.settings_from_env(), ctx.params.get("deadline", 30.0))
    head = f"branch protection of `{branch}`"
    if token is None:
        yield Hit(f"{head} cannot be verified: no token (set GH_TOKEN or GITHUB_TOKEN to a token with "
                  f"Administration: read, see {_doc_url()})", where, key=key)
        return
    problem = github.token_problem(token)
    if problem:  # never sent, never printed: a line break would split the header or reach an error message
        yield Hit(f"{head} cannot be verified: the token in GH_TOKEN or GITHUB_TOKEN {problem}; it was not used",
                  where, key=key)
        return
    if slug is None:
        yield Hit(f"{head} cannot be verified: no GitHub repository (OWNER/NAME) from {slug_from} "
                  "(give --github-repo OWNER/NAME)", where, key=key)
        return
    refused = github.check_base_url(settings.base_url)
    if refused:
        yield Hit(f"{head} in {slug} cannot be verified: {refused}", where, key=key)
        return
    checks = {job.check_name for job in jobs}
    client = github.client(token, settings)
    try:
        reading = read_protection(client, slug, branch, checks, min_approvals)
    except github.ApiUnavailable as exc:
        yield Hit(client.scrub(f"{head} in {slug} cannot be verified: {exc}"), where, key=key)
        return
    failed, unsure = judge(reading)
    if not checks:
        failed.insert(0, "no job of a workflow triggered by pull_request runs `mise run check`, so no required "
                         "status check can be it")
    read = f"read: {', '.join(reading.read) or 'nothing'}"
    if failed:
        also = f"; cannot verify: {'; '.join(reading.unknown)}" if reading.unknown else ""
        message = (f"{head} in {slug} does not meet the design: {'; '.join(failed)}{_details(reading, checks)} "
                   f"({read}){also}")
    elif unsure:
        message = (f"{head} in {slug} cannot be verified: {'; '.join(reading.unknown)}; unsettled: "
                   f"{', '.join(unsure)} ({read})")
    else:
        return
    yield Hit(client.scrub(message), where, key=key)
